"""galera_snmp/node/phase.py: galera-init's phase as the probe reads it — only a live writer's,
only a phase, never through a symbolic link."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from galera_snmp.node.phase import PHASES, clear_phase, read_phase, write_phase
from galera_snmp.node.process import writer_stamp
from galera_snmp.state import Status


@pytest.mark.parametrize("status", sorted(PHASES))
def test_a_phase_is_read_back_while_its_writer_lives(tmp_path: Path, status: Status) -> None:
    path = tmp_path / "run" / "phase.json"  # the folder is made
    write_phase(path, status, "no report from 10.0.0.12")
    assert read_phase(path) == (status, "no report from 10.0.0.12")
    clear_phase(path)
    assert read_phase(path) is None
    clear_phase(path)  # nothing there: no error


@pytest.mark.parametrize("status", sorted(set(Status) - PHASES))
def test_only_galera_inits_phases_are_written(tmp_path: Path, status: Status) -> None:
    with pytest.raises(ValueError, match="is not a galera-init phase"):
        write_phase(tmp_path / "phase.json", status, "")
    assert not (tmp_path / "phase.json").exists()


def written(path: Path, **record: object) -> Path:
    path.write_text(json.dumps(record))
    return path


def test_a_dead_writers_phase_is_never_published(tmp_path: Path) -> None:
    stamp = writer_stamp()
    alive = written(tmp_path / "alive.json", status="blocked", reason="r", **stamp)
    assert read_phase(alive) == (Status.BLOCKED, "r")
    # the same pid with another start time: a writer that died and left its pid to another process
    reused = written(tmp_path / "reused.json", status="blocked", reason="r", pid=stamp["pid"],
                     start=int(stamp["start"] or 0) + 1)
    assert read_phase(reused) is None
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert read_phase(written(tmp_path / "gone.json", status="blocked", reason="r", pid=gone.pid, start=1)) is None
    for pid in (0, -1, True, "1", None):
        assert read_phase(written(tmp_path / "bad.json", status="blocked", reason="r", pid=pid, start=1)) is None


@pytest.mark.parametrize("content", ["", "garbage", "[]", '{"status": "running", "reason": "r"}',
                                     '{"status": "blocked"}', '{"status": "nonsense", "reason": "r"}'])
def test_garbage_or_another_status_is_no_phase(tmp_path: Path, content: str) -> None:
    path = tmp_path / "phase.json"
    path.write_text(content)
    assert read_phase(path) is None


def test_a_symbolic_link_is_not_followed(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    write_phase(real, Status.BOOTSTRAPPING, "announcing")
    link = tmp_path / "phase.json"
    link.symlink_to(real)
    assert read_phase(real) == (Status.BOOTSTRAPPING, "announcing")
    assert read_phase(link) is None
