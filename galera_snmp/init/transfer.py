"""What a starting node's catching up shows while galera-init waits for it to be Synced, and
when it last moved: a state transfer may take hours, and only one that stopped moving is a
failure (``[init] synced_timeout`` counts from the last move, not from the start).

A move is any change of what the joiner shows: its local state (Joining, Joined, ...), Galera's
comment on it, the position it has applied (IST, then the catch-up), the bytes its SST's copiers
stored (node/sst.py: rsync rewrites the files of a rejoining node in place, its datadir does not
grow), or its datadir's size (a new node's files arrive there). How much is left comes from
the donor's agent, which publishes its size (galeraTransfer, docs/TRANSFERS.md): galera-init
reads it while a copy goes on.
"""

from __future__ import annotations

from ..record import record
from ..state import NodeState

LINE_EVERY = 10.0  # seconds between the lines galera-init says while it waits
SIZE_EVERY = 5.0  # seconds between two walks of the datadir (one stat per file)


@record
class Look:
    """What the joiner shows at one moment (``size``: None when the datadir was not walked;
    ``copied``: the bytes its SST's copiers stored so far, None when none runs)."""

    at: float
    local_state: int | None
    comment: str | None
    applied: int | None
    size: int | None = None
    copied: int | None = None


def look(at: float, state: NodeState, size: int | None = None, copied: int | None = None) -> Look:
    applied = state.wsrep_int("wsrep_last_committed")
    return Look(at, state.local_state, state.local_state_comment, applied, size, copied)


class Progress:
    """When the joiner last moved, and how its datadir grows (pure: fed with :class:`Look`s)."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.moved = started
        self._shown: tuple[object, ...] | None = None
        self._size: tuple[float, int] | None = None  # the first size seen, and when
        self.size: int | None = None
        self.copied: int | None = None

    def see(self, seen: Look) -> bool:
        """Take a look in; whether the joiner moved since the last one."""
        shown = (seen.local_state, seen.comment, seen.applied, seen.copied)
        moved = self._shown is not None and shown != self._shown
        self._shown = shown
        if seen.copied is not None:
            self.copied = seen.copied
        if seen.size is not None:
            moved = moved or (self.size is not None and seen.size != self.size)
            self.size = seen.size
            if self._size is None:
                self._size = (seen.at, seen.size)
        if moved:
            self.moved = seen.at
        return moved

    def still_for(self, now: float) -> float:
        """Seconds since the joiner last moved (since the start, before it first did)."""
        return now - self.moved

    def rate(self, now: float) -> float | None:
        """Bytes per second the datadir grew since it was first walked."""
        if self._size is None or self.size is None or now <= self._size[0]:
            return None
        return (self.size - self._size[1]) / (now - self._size[0])

    def line(self, now: float, state: NodeState) -> str:
        """What galera-init says every LINE_EVERY seconds while it waits."""
        words = [f"waiting {now - self.started:.0f} s for Synced: {state.status.value}"]
        if state.local_state_comment:
            words.append(f"({state.local_state_comment})")
        if self.copied is not None:
            words.append(f"SST copied {_mib(self.copied)};")
        if self.size is not None:
            rate = self.rate(now)
            grew = f", {_mib(rate)}/s" if rate else ""
            words.append(f"datadir {_mib(self.size)}{grew};")
        words.append(f"last moved {self.still_for(now):.0f} s ago")
        return " ".join(words)


def _mib(size: float) -> str:
    return f"{size / (1 << 20):.1f} MiB"
