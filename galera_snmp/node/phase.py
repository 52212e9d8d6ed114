"""galera-init's phase, published through the agent while mysqld cannot speak for itself.

galera-init writes the file; the probe reads it, so galeraStatus says ``initiating``,
``bootstrapping`` or ``blocked`` (with the reason) to peers and operators. The file names
galera-init's pid: a file left by a galera-init that died is ignored, never published.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from ..safeio import read_regular, write_atomically
from ..state import Status
from .process import still_running, writer_stamp

PHASES = frozenset({Status.INITIATING, Status.BOOTSTRAPPING, Status.BLOCKED})


def write_phase(path: Path, status: Status, reason: str) -> None:
    if status not in PHASES:
        raise ValueError(f"{status.value} is not a galera-init phase")
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"status": status.value, "reason": reason, **writer_stamp()}
    write_atomically(path, json.dumps(record) + "\n")


def clear_phase(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def read_phase(path: Path) -> tuple[Status, str] | None:
    """The phase of a live galera-init, or None (no file, a dead writer, or garbage)."""
    try:
        data = json.loads(read_regular(path)[0])
        status, reason = Status(data["status"]), str(data["reason"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if status not in PHASES or not still_running(data):
        return None  # galera-init died (and maybe its pid went to another process)
    return status, reason
