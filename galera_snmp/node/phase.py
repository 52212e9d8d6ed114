"""galera-init's phase, published through the agent while mysqld cannot speak for itself.

galera-init writes the file; the probe reads it, so galeraStatus says ``initiating``,
``bootstrapping`` or ``blocked`` (with the reason) to peers and operators. The file names
galera-init's pid: a file left by a galera-init that died is ignored, never published.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from ..handoff import read_regular, write_atomically
from ..state import ProcessState, Status
from .process import process_start, process_state

PHASES = frozenset({Status.INITIATING, Status.BOOTSTRAPPING, Status.BLOCKED})


def write_phase(path: Path, status: Status, reason: str) -> None:
    if status not in PHASES:
        raise ValueError(f"{status.value} is not a galera-init phase")
    path.parent.mkdir(parents=True, exist_ok=True)
    me = os.getpid()
    record = {"status": status.value, "reason": reason, "pid": me, "start": process_start(me)}
    write_atomically(path, json.dumps(record) + "\n")


def clear_phase(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def read_phase(path: Path) -> tuple[Status, str] | None:
    """The phase of a live galera-init, or None (no file, a dead writer, or garbage)."""
    try:
        data = json.loads(read_regular(path)[0])
        status, reason, pid, start = Status(data["status"]), str(data["reason"]), data["pid"], data["start"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if status not in PHASES or not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    if process_state(pid) is ProcessState.ABSENT or process_start(pid) != start:
        return None  # galera-init died (and maybe its pid went to another process)
    return status, reason
