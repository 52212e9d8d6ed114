"""find_mysqld: only the configured server binary, run by the configured user, is the server."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from galera_snmp.node.process import find_mysqld
from galera_snmp.state import ProcessState

ME = pwd.getpwuid(os.geteuid()).pw_name


@pytest.fixture
def impostor(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen]]:
    """A program named mariadbd with --datadir= ours: what any local user can start."""
    datadir = tmp_path / "data"
    datadir.mkdir()
    process = subprocess.Popen(
        ["mariadbd", "-c", "import sys; sys.stdin.read()", f"--datadir={datadir}"],
        executable=sys.executable,
        stdin=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while not Path(f"/proc/{process.pid}/cmdline").read_bytes().startswith(b"mariadbd"):  # exec may be in flight
        assert time.monotonic() < deadline, "the impostor did not start"
        time.sleep(0.01)
    try:
        yield datadir, process
    finally:
        process.kill()
        process.wait()


def test_without_an_identity_any_mariadbd_on_the_datadir_counts(impostor):
    datadir, process = impostor
    assert find_mysqld(datadir) == find_mysqld(datadir, None, None)
    assert find_mysqld(datadir).pid == process.pid


def test_a_program_that_is_not_the_configured_binary_is_not_the_server(impostor):
    datadir, _process = impostor
    found = find_mysqld(datadir, binary="/usr/sbin/mariadbd", user=ME)
    assert (found.state, found.pid) == (ProcessState.ABSENT, None)


def test_the_configured_binary_and_user_are_the_server(impostor):
    datadir, process = impostor
    found = find_mysqld(datadir, binary=sys.executable, user=ME)
    assert (found.state, found.pid) == (ProcessState.RUNNING, process.pid)


def test_another_user_running_the_configured_binary_is_not_the_server(impostor):
    datadir, _process = impostor
    others = [entry.pw_name for entry in pwd.getpwall() if entry.pw_uid != os.geteuid()]
    found = find_mysqld(datadir, binary=sys.executable, user=others[0])
    assert (found.state, found.pid) == (ProcessState.ABSENT, None)


def test_a_configured_user_that_does_not_exist_rules_nothing_out(impostor):
    datadir, _process = impostor
    found = find_mysqld(datadir, binary=sys.executable, user="no-such-user-here")
    assert (found.state, found.pid) == (ProcessState.UNKNOWN, None)
