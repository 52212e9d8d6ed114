"""Whether a node that (re)joins now gets an incremental transfer (IST) or needs a full copy
(SST), from which donor, and for how long that will hold; and which donors to ask for so that
the writer is spared (pure).

Galera decides it when the joiner asks, from what every member's gcache still holds
(``wsrep_local_cached_downto``, the oldest write-set it can resend). Its rule, as galera-4's
group code applies it to a joiner in the same history at seqno ``s``:

- let ``lowest`` be the oldest write-set any member still caches, and ``last`` the group's
  position; a safety gap of ``(last - lowest) / 128`` write-sets (at most 2^20) keeps a joiner
  near the edge from racing the purge: IST only if ``s >= lowest + gap``;
- a donor must be Synced, hold data (not an arbitrator) and cache ``s + 1``
  (``cached_downto <= s + 1``): one in the joiner's segment first, the one caching the least
  among them (it keeps the others' caches for later joiners);
- otherwise SST, from any Synced member.

We apply the same rule to what the nodes' agents publish, before the node asks. What we do not
see makes the forecast err on the side of SST, never of IST: members without an agent
(garbd) and the joiner's own recovered gcache only lower Galera's ``lowest`` further (a lower
``lowest`` and gap let more joiners through), and a ``wsrep_sst_donor`` set on the joiner is
not known here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from ..pace import Pace
from ..record import record
from ..state import SEQNO_MAX, NodeReport, NodeState, Position, Rejoin, RejoinMethod, SeqnoSource
from .sites import segment_of

SAFETY_SHIFT = 7  # the gap is 1/128 of what the caches hold ...
SAFETY_CAP = 1 << 20  # ... and at most 2^20 write-sets
RATE_SECONDS = 60.0  # how far back the rate at which the caches forget is measured
# the node names a donor list carries: a peer's name goes into mariadbd's options (argv, a my.cnf
# drop-in written as root), so nothing that could end the value or start another line or group
_DONOR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@record
class Donor:
    """What a possible donor publishes: its name for Galera (wsrep_node_name, else its address),
    its segment, its history and position, and the oldest write-set its gcache holds."""

    name: str
    segment: int | None
    history: str
    committed: int
    cached_downto: int


def donor_of(name: str, state: NodeState) -> Donor | None:
    """``state`` as a possible donor: Synced in a Primary component, with a cache that holds
    something; None otherwise."""
    # the live position is wsrep_last_committed: GALERA-MIB carries it as galeraSeqno, not as a wsrep value
    committed = state.position.seqno if state.position.source is SeqnoSource.LIVE else None
    downto = state.wsrep_int("wsrep_local_cached_downto")
    if not state.synced or state.cluster_state_uuid is None or committed is None or downto is None:
        return None
    if committed > SEQNO_MAX or not 0 < downto <= committed + 1:  # 0, or 2^64-1, while the cache is empty
        return None
    return Donor(
        name=state.node_name or name,
        segment=segment_of(state),
        history=state.cluster_state_uuid.lower(),
        committed=committed,
        cached_downto=downto,
    )


def safety_gap(lowest: int, last: int) -> int:
    """Galera's margin below which a joiner inside the caches still gets SST (its arithmetic:
    an empty cache, ``lowest = last + 1``, makes it -1)."""
    return min((last - lowest) >> SAFETY_SHIFT, SAFETY_CAP)


def forecast(position: Position, segment: int | None, donors: Sequence[Donor],
             forget_rate: float | None = None, age: float = 0.0) -> Rejoin:
    """The forecast for a node at ``position`` (in ``segment``) joining the Synced ``donors`` now.
    ``forget_rate``: write-sets per second the oldest cached write-set advances; ``age``: seconds
    since the donors' values were true. What the caches forgot meanwhile (the rate times the age)
    is taken as gone: near the edge the forecast says SST while Galera may still send IST, not
    the reverse (as far as the rate holds)."""
    if not position.is_known or position.source is SeqnoSource.UNKNOWN:
        return Rejoin(RejoinMethod.UNKNOWN, f"this node's position is not known ({position})")
    if not donors:
        return Rejoin(RejoinMethod.UNKNOWN, "no Synced node with a gcache answers")
    histories = sorted({d.history for d in donors})
    if len(histories) > 1:
        return Rejoin(RejoinMethod.UNKNOWN, f"the Synced nodes report {len(histories)} histories")
    if histories[0] != position.uuid.lower():
        return Rejoin(RejoinMethod.SST, f"the cluster is in another history ({histories[0]})")
    seqno = position.seqno
    last = max(d.committed for d in donors)
    if seqno > last:
        if position.source is not SeqnoSource.LIVE:  # Galera refuses a joiner ahead of the group
            return Rejoin(RejoinMethod.UNKNOWN, f"this node is ahead of the cluster ({seqno} > {last})")
        last = seqno  # a member now: the others' answers are a little older than its own
    lowest = min(d.cached_downto for d in donors)
    floor = lowest + safety_gap(lowest, last)
    if seqno < floor:
        return Rejoin(RejoinMethod.SST, f"seqno {seqno} is older than the caches safely hold (from {floor})")
    # in steady state the caches forget one write-set per new one, and IST holds while seqno >= floor
    left = seqno - floor - math.ceil((forget_rate or 0.0) * max(0.0, age))
    if left < 0:
        return Rejoin(RejoinMethod.SST, f"seqno {seqno} is at the edge of the caches (from {floor}), which "
                                        f"forget {forget_rate:.0f} write-sets a second")
    able = [d for d in donors if d.cached_downto <= seqno + 1]  # past the floor, the lowest cache is one
    local = [d for d in able if segment is not None and d.segment == segment]
    donor = max(local or able, key=lambda d: (d.cached_downto, d.name))
    seconds = int(left / forget_rate) if forget_rate else None
    return Rejoin(RejoinMethod.IST, f"{last - seqno} write-sets from {donor.name}", donor.name, left, seconds)


def describe(rejoin: Rejoin) -> str:
    """The forecast in one line, for people (``galera-snmp status``)."""
    if rejoin.method is RejoinMethod.SST:
        return f"a rejoin now needs SST: {rejoin.reason}"
    if rejoin.method is RejoinMethod.UNKNOWN:
        return f"IST or SST for a rejoin is not known: {rejoin.reason}"
    left = "" if rejoin.seconds_left is None else f", about {_duration(rejoin.seconds_left)} at the current rate"
    return f"a rejoin now gets IST ({rejoin.reason}); it holds for {rejoin.write_sets_left} more write-sets{left}"


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


class ForgetRate:
    """How fast the oldest write-set the donors cache moves on: the pace of their lowest
    ``cached_downto`` over the last minute, from when the caches started to forget (pace.py).
    Measured anew whenever the donors or their history change, or a cache starts over (None until
    two looks apart)."""

    def __init__(self, seconds: float = RATE_SECONDS) -> None:
        self._pace = Pace(seconds)
        self._who: frozenset[tuple[str, str]] = frozenset()

    def add(self, now: float, donors: Sequence[Donor]) -> float | None:
        if not donors:
            self._pace.prune(now)
            return self._pace.rate()
        who = frozenset((d.name, d.history) for d in donors)
        if who != self._who:
            self._pace.clear()
            self._who = who
        return self._pace.add(now, min(d.cached_downto for d in donors))

    def rate(self) -> float | None:
        """Write-sets per second over the looks kept (as of the last :meth:`add`)."""
        return self._pace.rate()


def donors_of(states: Mapping[str, NodeState | None], joiner: str) -> list[Donor]:
    """The possible donors among ``states`` (by configured node), the joiner left out."""
    found = (donor_of(name, state) for name, state in states.items() if name != joiner and state is not None)
    return [d for d in found if d is not None]


def spared_donors(reports: Mapping[str, NodeReport | str], joiner: str, segment: int | None) -> str | None:
    """The value of ``wsrep_sst_donor`` for ``joiner`` that keeps the writer and drained nodes out
    of donor duty: the other Synced nodes on current data, by their wsrep_node_name, with the
    trailing comma that lets Galera fall back to any node when none of them can serve. Only those
    of the joiner's segment when it has any (Galera takes a listed IST donor whatever its segment).
    A name that begins another member's name is left out: Galera matches a listed name as a prefix
    (``node1`` would select ``node10``). None when no node is left: Galera then chooses, the writer
    included (a transfer from the writer beats no transfer)."""
    known = _names(reports)
    near: list[str] = []
    far: list[str] = []
    for node, report in reports.items():
        if node == joiner or isinstance(report, str) or report.valid is not True:
            continue
        state = report.state
        writer = report.writer is not None and report.writer.healthy is True
        name = state.node_name or ""
        if not state.synced or writer or state.drained or not _nameable(name):
            continue
        if any(other != name and other.startswith(name) for other in known):
            continue
        (near if segment is not None and segment_of(state) == segment else far).append(name)
    chosen = near or far
    return ",".join(chosen) + "," if chosen else None


def _names(reports: Mapping[str, NodeReport | str]) -> set[str]:
    """Every member name the answers mention: the nodes' own and those of their member tables."""
    names: set[str] = set()
    for report in reports.values():
        if isinstance(report, str):
            continue
        if report.state.node_name:
            names.add(report.state.node_name)
        names.update(member.name for member in report.state.members or () if member.name)
    return names


def _nameable(name: str) -> bool:
    return _DONOR_NAME.fullmatch(name) is not None
