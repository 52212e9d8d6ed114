"""Files root writes and reads in folders other users can write: never through their symlinks."""

from __future__ import annotations

import errno
import os
import pwd
from pathlib import Path

import pytest

from galera_snmp.init.initiator import InitError, mark_safe
from galera_snmp.node.galerafiles import parse_grastate
from galera_snmp.safeio import read_regular, write_atomically

GRASTATE = """# GALERA saved state
version: 2.1
uuid:    6b1e2c3d-0000-11ef-8000-0123456789ab
seqno:   42
safe_to_bootstrap: 0
"""
NOBODY = pwd.getpwnam("nobody")


def test_write_atomically_replaces_a_planted_symlink_instead_of_writing_through_it(tmp_path: Path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    path = tmp_path / "track"
    path.symlink_to(victim)
    write_atomically(path, "1\n", mode=0o640)
    assert victim.read_text() == "precious\n"
    assert not path.is_symlink()
    assert (path.read_text(), path.stat().st_mode & 0o777) == ("1\n", 0o640)


@pytest.mark.skipif(os.geteuid() != 0, reason="setting another owner needs root")
def test_write_atomically_sets_the_owner_on_the_new_file(tmp_path: Path):
    path = tmp_path / "grastate.dat"
    write_atomically(path, "x\n", owner=(NOBODY.pw_uid, NOBODY.pw_gid))
    info = path.stat()
    assert (info.st_uid, info.st_gid) == (NOBODY.pw_uid, NOBODY.pw_gid)
    assert [p.name for p in tmp_path.iterdir()] == ["grastate.dat"]  # no temporary file left


def test_read_regular_refuses_a_symlink_a_fifo_and_a_big_file(tmp_path: Path):
    target = tmp_path / "target"
    target.write_text("secret\n")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(OSError) as info:
        read_regular(link)
    assert info.value.errno == errno.ELOOP
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError) as info:
        read_regular(fifo)  # opened non-blocking: never hangs on a FIFO without a writer
    assert (info.value.errno, info.value.strerror) == (errno.EINVAL, "not a regular file")
    with pytest.raises(OSError) as info:
        read_regular(target, limit=3)
    assert info.value.errno == errno.EFBIG
    data, status = read_regular(target)
    assert (data, status.st_size) == (b"secret\n", 7)


def test_mark_safe_refuses_a_grastate_that_is_a_symlink(tmp_path: Path):
    elsewhere = tmp_path / "elsewhere.dat"
    elsewhere.write_text(GRASTATE)
    grastate = tmp_path / "grastate.dat"
    grastate.symlink_to(elsewhere)
    with pytest.raises(InitError, match="Too many levels of symbolic links"):
        mark_safe(grastate)
    assert grastate.is_symlink()
    assert elsewhere.read_text() == GRASTATE


@pytest.mark.skipif(os.geteuid() != 0, reason="files of another owner need root")
def test_mark_safe_keeps_owner_and_mode(tmp_path: Path):
    grastate = tmp_path / "grastate.dat"
    grastate.write_text(GRASTATE)
    os.chown(grastate, NOBODY.pw_uid, NOBODY.pw_gid)
    grastate.chmod(0o660)
    mark_safe(grastate)
    info = grastate.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (NOBODY.pw_uid, NOBODY.pw_gid, 0o660)
    assert parse_grastate(grastate.read_text()).position.safe_to_bootstrap is True
