"""How short-lived commands hand something to a long-running one: a file replaced in one
rename (never read half-written) and a datagram on the agent's wake socket; and how root reads
and writes files in folders other users can write (the datadir, state folders) without
following a symlink one of them planted.

Kept free of heavy imports: galera-snmp-notify runs while mysqld waits for it.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import tempfile
from pathlib import Path

MAX_READ = 1 << 20  # the files we read are a few hundred bytes; more is not one of them


def write_atomically(path: Path | str, text: str, mode: int = 0o644, owner: tuple[int, int] | None = None) -> None:
    """Replace ``path`` with ``text`` by temp file + rename (keepalived's inotify sees IN_MOVED_TO).

    Mode and owner are set on the open temporary file, never through the path (which another
    user may have swapped for a symlink meanwhile), and the data is on disk before the rename,
    so a crash leaves the old file or the new one, never an empty one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            if owner is not None:
                os.fchown(handle.fileno(), *owner)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    _sync_folder(path.parent)


def write_for_folder_owner(path: Path, text: str) -> None:
    """write_atomically into a folder of the agent's (its state_dir), the folder made if missing:
    written by root (galera-init, make-primary), the file still belongs to the folder's owner,
    who must be able to replace it."""
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    folder = os.stat(path.parent)
    write_atomically(path, text, owner=(folder.st_uid, folder.st_gid) if os.geteuid() == 0 else None)


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable; a folder that cannot be opened is left as it is."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder: the rename itself happened
    finally:
        os.close(fd)


def read_regular(path: Path | str, limit: int = MAX_READ, follow: bool = False) -> tuple[bytes, os.stat_result]:
    """The content of a regular file and its status, read without following a symlink at
    ``path`` (unless ``follow``: configuration files, which an operator may link into place); OSError for a
    symlink (ELOOP), anything but a regular file (EINVAL), or more than ``limit`` bytes (EFBIG).
    The status comes from the open file (fstat), not from a second look at the path, so whoever
    checks it checks the very file that was read."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes", str(path))
    return data, info


def wake(path: Path | str, payload: bytes) -> None:
    """Wake the agent (or track-file follower) listening on ``path``; never blocks."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.sendto(payload[:4096], str(path))


def poke(path: Path | str, payload: bytes) -> bool:
    """wake(), for callers to whom a missing listener is no error (it reads the state when it
    starts): False when nobody listens."""
    try:
        wake(path, payload)
    except OSError:
        return False
    return True
