"""find_mysqld: only the configured server binary, run by the configured user (or by root, before
it drops to that user), is the server."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from galera_snmp.node.process import find_mysqld
from galera_snmp.state import ProcessState

AS_ROOT = os.geteuid() == 0
# another user runs the impostor when we are root: the system's python, which every user may run
PYTHON = shutil.which("python3", path="/usr/bin:/bin") or "/usr/bin/python3"
IMPOSTOR_USER = "nobody" if AS_ROOT else pwd.getpwuid(os.geteuid()).pw_name
SOMEONE_ELSE = next(e.pw_name for e in pwd.getpwall() if e.pw_name not in (IMPOSTOR_USER, "root"))


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., tuple[Path, subprocess.Popen]]]:
    """Starts a program named mariadbd with --datadir= ours: what any local user can do."""
    datadir = tmp_path / "data"
    datadir.mkdir(mode=0o755)
    started: list[subprocess.Popen] = []

    def impostor(user: str = IMPOSTOR_USER) -> tuple[Path, subprocess.Popen]:
        process = subprocess.Popen(
            ["mariadbd", "-c", "import sys; sys.stdin.read()", f"--datadir={datadir}"],
            executable=PYTHON, stdin=subprocess.PIPE, cwd="/", user=user if AS_ROOT else None,
        )  # fmt: skip
        started.append(process)
        deadline = time.monotonic() + 10
        while not Path(f"/proc/{process.pid}/cmdline").read_bytes().startswith(b"mariadbd"):  # exec in flight
            assert time.monotonic() < deadline, "the impostor did not start"
            time.sleep(0.01)
        return datadir, process

    try:
        yield impostor
    finally:
        for process in started:
            process.kill()
            process.wait()


def test_without_an_identity_any_mariadbd_on_the_datadir_counts(start):
    datadir, process = start()
    assert find_mysqld(datadir) == find_mysqld(datadir, None, None)
    assert find_mysqld(datadir).pid == process.pid


def test_a_program_that_is_not_the_configured_binary_is_not_the_server(start):
    datadir, _process = start()
    found = find_mysqld(datadir, binary="/usr/sbin/mariadbd", user=IMPOSTOR_USER)
    assert (found.state, found.pid) == (ProcessState.ABSENT, None)


def test_the_configured_binary_and_user_are_the_server(start):
    datadir, process = start()
    found = find_mysqld(datadir, binary=PYTHON, user=IMPOSTOR_USER)
    assert (found.state, found.pid) == (ProcessState.RUNNING, process.pid)


def test_another_user_running_the_configured_binary_is_not_the_server(start):
    datadir, _process = start()
    found = find_mysqld(datadir, binary=PYTHON, user=SOMEONE_ELSE)
    assert (found.state, found.pid) == (ProcessState.ABSENT, None)


@pytest.mark.skipif(not AS_ROOT, reason="a process of root's needs root")
def test_a_server_still_running_as_root_is_the_server(start):
    """Started by root, mariadbd runs as root until it drops to its user: only root can do that."""
    datadir, process = start("root")
    found = find_mysqld(datadir, binary=PYTHON, user=SOMEONE_ELSE)
    assert (found.state, found.pid) == (ProcessState.RUNNING, process.pid)


def test_a_configured_user_that_does_not_exist_rules_nothing_out(start):
    datadir, _process = start()
    found = find_mysqld(datadir, binary=PYTHON, user="no-such-user-here")
    assert (found.state, found.pid) == (ProcessState.UNKNOWN, None)
