"""Find the mysqld serving a datadir by looking at /proc, not at its pid file.

A mariadbd waiting for a Primary component may have no pid file yet, and one killed with
SIGKILL leaves a stale one behind; both would make a pid-file check lie.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..state import ProcessState

SERVER_NAMES = frozenset({"mariadbd", "mysqld"})
# A --wsrep-recover run is a short-lived mariadbd on the same datadir, not the server.
_NOT_A_SERVER = ("--wsrep-recover", "--wsrep_recover", "--help", "--version", "--bootstrap")


@dataclass(frozen=True)
class ProcessInfo:
    state: ProcessState
    pid: int | None = None


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _datadir_of(pid: int, argv: list[str]) -> Path | None:
    """The datadir of a server process: a --datadir argument, else its working directory
    (mysqld changes into its datadir early in start-up; reading another user's cwd needs root)."""
    for arg in argv:
        if arg.startswith("--datadir="):
            return Path(arg.split("=", 1)[1])
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name, from the state on; None when there
    is no such process. The name may contain spaces and parentheses: it ends at the last ")"."""
    raw = _read(f"/proc/{pid}/stat")
    return None if raw is None else raw.rsplit(b")", 1)[-1].split()


def process_state(pid: int) -> ProcessState:
    """RUNNING, SUSPENDED (stopped by a signal or traced), or ABSENT (gone, or a zombie)."""
    fields = _stat_fields(pid)
    if fields is None:
        return ProcessState.ABSENT
    letter = fields[0].decode() if fields else "X"
    if letter in ("Z", "X", "x"):
        return ProcessState.ABSENT
    return ProcessState.SUSPENDED if letter in ("T", "t") else ProcessState.RUNNING


def process_start(pid: int) -> int | None:
    """When the process started (clock ticks since boot): with the pid, it names one process
    even after the pid is reused. None when there is no such process."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    try:
        return int(fields[19])  # field 22 of stat(5); the first two are before the ")"
    except (IndexError, ValueError):
        return None


def find_mysqld(datadir: Path) -> ProcessInfo:
    """The state of the mysqld whose datadir is ``datadir``.

    A server process whose datadir cannot be determined (another user's process seen by a
    non-root caller, started without ``--datadir``) counts only when it is the only server on
    the host, which is the common single-instance case.
    """
    try:
        entries = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return ProcessInfo(ProcessState.UNKNOWN)
    wanted = _resolve(datadir)
    matches: list[int] = []
    undetermined: list[int] = []
    servers = 0
    for pid in entries:
        raw = _read(f"/proc/{pid}/cmdline")
        if not raw:
            continue
        argv = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
        if os.path.basename(argv[0]) not in SERVER_NAMES or any(a.startswith(_NOT_A_SERVER) for a in argv):
            continue
        servers += 1
        found = _datadir_of(pid, argv)
        if found is None:
            undetermined.append(pid)
        elif _resolve(found) == wanted:
            matches.append(pid)
    if not matches and servers == 1 and undetermined:
        matches = undetermined
    for pid in matches:
        state = process_state(pid)
        if state is not ProcessState.ABSENT:  # else it exited meanwhile, or is a zombie
            return ProcessInfo(state, pid)
    return ProcessInfo(ProcessState.ABSENT)


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path
