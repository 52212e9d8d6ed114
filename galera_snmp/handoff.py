"""How short-lived commands hand something to a long-running one: a file replaced in one
rename (never read half-written) and a datagram on the agent's wake socket.

Kept free of heavy imports: galera-snmp-notify runs while mysqld waits for it.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path


def write_atomically(path: Path | str, text: str, mode: int = 0o644) -> None:
    """Replace ``path`` with ``text`` by temp file + rename (keepalived's inotify sees IN_MOVED_TO)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            os.fchmod(handle.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


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
