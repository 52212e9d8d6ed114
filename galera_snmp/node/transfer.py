"""A state transfer followed from look to look: when it began, how far it got, how fast it goes,
when it last moved, and how it ended. Pure: fed with what the probe and /proc showed
(node/sst.py), so the agent and galera-init tell one transfer the same way.

What each method honestly gives: an SST's bytes are its copiers' I/O counters (either side,
where each method's bytes pass once: node/sst.py); the size to expect is what the donor's
datadir holds of what an SST copies, which the donor's own agent measures when it starts
donating and publishes (the joiner reads it from the donor's agent); an IST counts write-sets,
from the position the joiner has applied to the one the cluster has. Unknown stays unknown.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..address import host_of
from ..pace import Pace
from ..state import DONOR, SYNCED, NodeState, ProcessState, Status, Transfer, TransferRole, TransferState, TransferUnit
from .sst import SstProcesses, moved_bytes

JOINING, JOINED = 1, 3  # wsrep_local_state
RATE_SPAN = 20.0  # seconds of looks the rate is measured over
KEPT_FOR = 600.0  # seconds an ended transfer is still published (how it ended, how long it took)
COPY_BYTES = 1 << 20  # a joiner's copiers that stored this much made an SST (an idle script stores a few KiB)


# What an SST copies at the datadir's top: InnoDB's system, redo and undo files and Aria's logs
# (wsrep_sst_rsync's filter); mariabackup streams no redo log but what was written during the copy.
# Every other top-level file (the gcache, grastate.dat, logs, pid files) stays behind. Every
# database folder is copied whole.
COPIED_AT_TOP = ("ibdata", "ib_logfile", "undo", "aria_log")
COPIED_AT_TOP_BY = {"mariabackup": ("ibdata", "undo", "aria_log")}


def datadir_bytes(datadir: Path, copied_by: str | None = None) -> int | None:
    """The bytes of the files under ``datadir`` (links not followed); ``copied_by``: of those an
    SST of that method copies (COPIED_AT_TOP, and the folders but hidden ones and lost+found).
    None when it cannot be read."""
    total = 0

    def fail(err: OSError) -> None:
        raise err

    try:
        for folder, dirs, files in os.walk(datadir, onerror=fail, followlinks=False):
            counted = files
            if copied_by is not None and os.path.samefile(folder, datadir):
                dirs[:] = [d for d in dirs if not d.startswith(".") and d != "lost+found"]
                counted = [f for f in files if f.startswith(COPIED_AT_TOP_BY.get(copied_by, COPIED_AT_TOP))]
            for name in counted:
                try:
                    total += os.lstat(os.path.join(folder, name)).st_size
                except OSError:
                    continue  # a file renamed or removed while we walk
    except OSError:
        return None
    return total


def _role(state: NodeState, sst: SstProcesses | None, was: TransferRole | None) -> TransferRole | None:
    """Which side of a transfer the node is on now, if any. ``was``: its side at the last look,
    while that transfer had not ended. A donor is one while its SST script runs, and until its
    local state leaves Donor (a desync by hand is Donor/Desynced too, without a script: no
    transfer). A joiner is one while Joining or Joined, and until it is Synced or its mysqld is
    gone (between the SST's end and the server's first answer it shows neither a script nor a
    local state)."""
    if sst is not None:
        return TransferRole(sst.role)
    if was is TransferRole.DONOR and state.local_state == DONOR:
        return TransferRole.DONOR
    if state.local_state in (JOINING, JOINED) or state.status is Status.JOINING:
        return TransferRole.JOINER
    if was is TransferRole.JOINER and state.process is not ProcessState.ABSENT and state.local_state != SYNCED:
        return TransferRole.JOINER
    return None


class TransferWatch:
    """One node's transfers, look by look (:meth:`see`). ``stalled_after``: seconds without a
    move after which a transfer is stalled; ``donor_size``: what the donor's datadir holds of what
    an SST of the method given copies, asked once when a donation starts (a walk of the datadir)."""

    def __init__(self, stalled_after: float, donor_size: Callable[[str], int | None]) -> None:
        self.stalled_after = stalled_after
        self.donor_size = donor_size
        self.current: Transfer | None = None
        self._ended: float | None = None
        self._moved = 0.0
        self._shown: tuple[object, ...] | None = None
        self._moved_bytes: int | None = None  # the most the copiers counted (an ending one may take its count)
        self._pace = Pace(RATE_SPAN)
        self._first_applied: int | None = None
        self._expected: int | None = None

    def see(self, at: float, state: NodeState, sst: SstProcesses | None, *, peer: str | None = None,
            peer_expected: int | None = None, target: int | None = None) -> Transfer | None:
        """The transfer as of this look (None: none now or lately). ``peer`` and ``peer_expected``:
        the donor a joiner's agent found among the peers and the size it published; ``target``:
        the highest position the peers have committed (how far an IST must go)."""
        was = self.current.role if self.current is not None and self._ended is None else None
        role = _role(state, sst, was)
        if role is None:
            return self._end(at, state)
        if self.current is None or self._ended is not None or self.current.role is not role:
            self._begin(at, role, sst)
        assert self.current is not None
        method = self._method(state, sst)
        unit = TransferUnit.WRITE_SETS if method == "ist" else TransferUnit.BYTES
        if unit != self.current.unit:
            self._pace.clear()  # a rate is of one unit
        done = self._done(state, sst, unit)
        expected = self._expected
        if unit is TransferUnit.WRITE_SETS:
            expected = (target - self._first_applied) if target is not None and self._first_applied is not None \
                else None
        elif role is TransferRole.JOINER and peer_expected is not None:
            expected = self._expected = peer_expected
        shown = (state.status, state.local_state, state.local_state_comment, state.wsrep_int("wsrep_last_committed"),
                 done)
        if shown != self._shown:
            self._shown = shown
            self._moved = at
        rate = self._pace.add(at, done) if done is not None else self._pace.rate()
        left = None
        if rate and done is not None and expected is not None:
            left = max(0, int((expected - done) / rate))
        still = int(at - self._moved)
        # a side that counts nothing (an IST's or a mysqldump's donor) cannot tell a stall from work: its joiner can
        judged = done is not None or role is TransferRole.JOINER
        named = (peer if role is TransferRole.JOINER else None) or self._peer(sst) or self.current.peer
        self.current = Transfer(
            role=role, state=TransferState.STALLED if judged and still >= self.stalled_after else TransferState.RUNNING,
            method=method, unit=unit, started=self.current.started, seconds=int(at - self.current.started),
            still=still, peer=named, done=done, expected=expected,
            rate=rate, seconds_left=left)
        return self.current

    def _begin(self, at: float, role: TransferRole, sst: SstProcesses | None) -> None:
        self.current = Transfer(role, TransferState.RUNNING, "unknown", TransferUnit.BYTES, at, 0, 0)
        self._ended = None
        self._moved = at
        self._shown = None
        self._moved_bytes = None
        self._pace.clear()
        self._first_applied = None
        self._expected = None
        if role is TransferRole.DONOR and sst is not None and sst.method != "ist":  # Galera sends an IST itself
            self._expected = self.donor_size(sst.method)

    def _end(self, at: float, state: NodeState) -> Transfer | None:
        """No transfer now: the one that was ends (complete once Synced, else failed), and is
        published as it ended for a while."""
        if self.current is None:
            return None
        if self._ended is None:
            self._ended = at
            over = TransferState.COMPLETE if state.local_state == SYNCED else TransferState.FAILED
            self.current = Transfer(
                role=self.current.role, state=over, method=self.current.method, unit=self.current.unit,
                started=self.current.started, seconds=int(at - self.current.started), still=0,
                peer=self.current.peer, done=self.current.done, expected=self.current.expected)
        if at - self._ended > KEPT_FOR:
            self.current = self._ended = None
        return self.current

    def _method(self, state: NodeState, sst: SstProcesses | None) -> str:
        """The SST script's method; "ist" for a joiner that answers while Joining before any copy
        (MariaDB starts the SST script before it knows it gets an IST, and leaves it idle)."""
        assert self.current is not None
        if self.current.method == "ist":
            return "ist"
        joiner = self.current.role is TransferRole.JOINER
        if joiner and state.answered and state.local_state == JOINING and (self._moved_bytes or 0) < COPY_BYTES:
            return "ist"
        if sst is not None:
            return sst.method
        return self.current.method  # "unknown", or the SST's once its copiers are gone (the catch-up)

    def _done(self, state: NodeState, sst: SstProcesses | None, unit: TransferUnit) -> int | None:
        assert self.current is not None
        if unit is TransferUnit.WRITE_SETS and self.current.role is TransferRole.DONOR:
            return None  # Galera's own thread sends an IST: nothing here counts it
        if unit is TransferUnit.WRITE_SETS:
            applied = state.wsrep_int("wsrep_last_committed")
            if applied is None:
                return None
            if self._first_applied is None:
                self._first_applied = applied
            return applied - self._first_applied
        if sst is not None and sst.written:
            self._moved_bytes = max(self._moved_bytes or 0, moved_bytes(sst.written))
        return self._moved_bytes

    @staticmethod
    def _peer(sst: SstProcesses | None) -> str | None:
        """A donor's joiner, by the SST address its script was given (host part)."""
        if sst is None or sst.role != "donor" or not sst.address:
            return None
        return host_of(sst.address.split("/", 1)[0])  # the address is host:port[/module]


def _amount(value: float, unit: TransferUnit) -> str:
    return f"{value / (1 << 20):.1f} MiB" if unit is TransferUnit.BYTES else f"{value:.0f} write-sets"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def describe(transfer: Transfer, bar: int = 0) -> str:
    """A transfer in one line: side, peer, method, progress (with a ``bar`` of that many cells),
    rate and time left; how long it has not moved once stalled; how it ended."""
    side = "joiner" if transfer.role is TransferRole.JOINER else "donor"
    peer = f" {'from' if transfer.role is TransferRole.JOINER else 'to'} {transfer.peer}" if transfer.peer else ""
    words = f"{transfer.method} {side}{peer}"
    percent = transfer.percent
    if transfer.state is TransferState.COMPLETE:
        return f"{words}: complete in {_duration(transfer.seconds)}"
    if transfer.state is TransferState.FAILED:
        return f"{words}: failed after {_duration(transfer.seconds)}"
    done = "" if transfer.done is None else _amount(transfer.done, transfer.unit)
    if done and transfer.expected:
        done += f" of {_amount(transfer.expected, transfer.unit)}"
    progress = "" if percent is None else f"{percent} %"
    if bar and percent is not None:
        filled = percent * bar // 100
        progress = f"[{'#' * filled}{'.' * (bar - filled)}] {progress}"
    head = f"{progress} ({done})" if progress and done else progress or done
    parts = [head] if head else []
    if transfer.state is TransferState.STALLED:
        parts.append(f"STALLED: nothing moved for {_duration(transfer.still)}")
    else:
        if transfer.rate:
            parts.append(f"{_amount(transfer.rate, transfer.unit)}/s")
        if transfer.seconds_left is not None:
            parts.append(f"ETA {_duration(transfer.seconds_left)}")
    parts.append(f"running {_duration(transfer.seconds)}")
    return f"{words}: {', '.join(parts)}"
