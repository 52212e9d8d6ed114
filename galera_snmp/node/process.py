"""Find the mysqld serving a datadir by looking at /proc, not at its pid file.

A mariadbd waiting for a Primary component may have no pid file yet, and one killed with
SIGKILL leaves a stale one behind; both would make a pid-file check lie.

A process counts only when it is the configured server binary run by the configured user: any
local user can start a program named ``mariadbd`` with ``--datadir=`` ours, and it must not
make a stopped node look running (or hold back a recovery, or a bootstrap).
"""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from ..record import record
from ..state import ProcessState

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: check_galera starts faster
if TYPE_CHECKING:
    from ..config import ServerConfig

SERVER_NAMES = frozenset({"mariadbd", "mysqld"})
# A --wsrep-recover run is a short-lived mariadbd on the same datadir, not the server.
_NOT_A_SERVER = ("--wsrep-recover", "--wsrep_recover", "--help", "--version", "--bootstrap")


@record
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


def writer_stamp() -> dict[str, object]:
    """This process, as a file it writes names it: its pid and start time (see still_running)."""
    me = os.getpid()
    return {"pid": me, "start": process_start(me)}


def still_running(record: dict[str, object]) -> bool:
    """Whether the writer a file's writer_stamp() names is alive: the same pid and start time, so
    a writer that died (and maybe left its pid to another process) counts for nothing."""
    pid, start = record.get("pid"), record.get("start")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    return process_state(pid) is not ProcessState.ABSENT and process_start(pid) == start


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


def find_server(server: ServerConfig) -> ProcessInfo:
    """The state of the configured server on the configured datadir: its binary, its user."""
    return find_mysqld(server.datadir, binary=server.mysqld, user=server.user)


def find_mysqld(datadir: Path, binary: str | None = None, user: str | None = None) -> ProcessInfo:
    """The state of the mysqld whose datadir is ``datadir``; with ``binary`` and ``user``, only a
    process running that executable as that user counts (see the module's docstring).

    A server process whose datadir cannot be determined (another user's process seen by a
    non-root caller, started without ``--datadir``) counts only when it is the only server on
    the host, which is the common single-instance case. UNKNOWN when /proc cannot be read or
    ``user`` does not exist: then nothing can be ruled out.
    """
    try:
        entries = [int(name) for name in os.listdir("/proc") if name.isdigit()]
        uid = None if user is None else pwd.getpwnam(user).pw_uid
    except (OSError, KeyError):
        return ProcessInfo(ProcessState.UNKNOWN)
    executable = None if binary is None else _resolve(Path(shutil.which(binary) or binary))
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
        if not _is_ours(pid, executable, uid):
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


def _is_ours(pid: int, executable: Path | None, uid: int | None) -> bool:
    """Whether the process runs ``executable`` as ``uid`` (None: not checked) — or as root: a
    server started by root runs as root until it drops to its user, and only root can run a
    process as root. The effective uid is in /proc/PID/status for anyone; /proc/PID/exe only for
    root and the process's owner — where it cannot be read, the uid alone decides (a user who is
    the server's user owns the datadir)."""
    if uid is not None:
        status = _read(f"/proc/{pid}/status") or b""
        line = next((row for row in status.splitlines() if row.startswith(b"Uid:")), b"")
        ids = line.split()[1:3]
        if len(ids) < 2 or int(ids[1]) not in (uid, 0):
            return False
    if executable is not None:
        try:
            running = os.readlink(f"/proc/{pid}/exe")
        except PermissionError:
            return uid is not None
        except OSError:
            return False
        # a binary replaced by a package upgrade while the server runs reads "... (deleted)"
        if Path(running.removesuffix(" (deleted)")) != executable:
            return False
    return True


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path
