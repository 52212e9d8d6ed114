"""The sandbox's wsrep_notify_cmd (galera_snmp/dev/sandbox.py) must be runnable by mysqld's user:
a checkout under /root (0700 on Debian) made every notification fail with Permission denied."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from galera_snmp.dev import sandbox


@pytest.fixture
def venv(monkeypatch: pytest.MonkeyPatch):
    """A venv whose interpreter resolves to the system one, its scripts in a folder of mode ``mode``
    (pytest's own tmp_path is private to root: a folder others can reach is needed)."""
    tmp_path = Path(tempfile.mkdtemp(prefix="gs-notify-", dir="/var/tmp"))
    home = tmp_path / "home"
    bin_dir = home / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "galera-snmp-notify").write_text("#!/bin/sh\n")
    (bin_dir / "galera-snmp-notify").chmod(0o755)
    system = shutil.which("python3", path="/usr/bin:/bin")
    assert system, "the system python3 is missing: apt-get install python3"
    (bin_dir / "python").symlink_to(Path(system).resolve())  # as `python3 -m venv` makes it on Debian
    monkeypatch.setattr(sandbox.sys, "executable", str(bin_dir / "python"))
    monkeypatch.delenv(sandbox.PROGRAMS_ENV, raising=False)
    tmp_path.chmod(0o755)

    def command(mode: int) -> str:
        home.chmod(mode)
        return sandbox._notify_command(tmp_path / "galera-snmp.conf", tmp_path / "hook")

    yield command, bin_dir
    shutil.rmtree(tmp_path)


def test_a_hook_mysqld_cannot_reach_is_replaced_by_a_copy_for_the_system_python(venv):
    command, bin_dir = venv
    assert command(0o755) == f"{bin_dir / 'galera-snmp-notify'} -c {bin_dir.parents[2] / 'galera-snmp.conf'}"
    private = command(0o700)  # the checkout under /root: the interpreter resolves elsewhere, the script does not
    assert private.startswith("env PYTHONPATH=") and "-m galera_snmp.cli.notify" in private
    copy = Path(private.split()[1].removeprefix("PYTHONPATH="))
    assert copy.parent == bin_dir.parents[2] / "hook"
    assert (copy / "galera_snmp" / "cli" / "notify.py").is_file()
    assert oct(copy.stat().st_mode & 0o777) == oct(0o755)


def test_the_copy_is_never_written_again_while_hooks_may_run_from_it(venv):
    """up() writes each node's configuration again while running nodes' hooks import the copy:
    a copy made once is reused as it is, not copied over in place."""
    command, _ = venv
    first = command(0o700)
    notify = Path(first.split()[1].removeprefix("PYTHONPATH=")) / "galera_snmp" / "cli" / "notify.py"
    written = notify.stat().st_mtime_ns, notify.stat().st_ino
    assert command(0o700) == first
    assert (notify.stat().st_mtime_ns, notify.stat().st_ino) == written
