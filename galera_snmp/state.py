"""NodeState, the one immutable snapshot of a node, and the pure rules that interpret it.

Every consumer (galera-check, the agent, plugins, keepalived, the initiator) reads a
:class:`NodeState` and asks :func:`assess_health`; none re-derives either, so they cannot
disagree about a node.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum, StrEnum
from types import MappingProxyType

from .record import asdict, fields, record
from .wsrep import WsrepValue

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: check_galera starts faster
if TYPE_CHECKING:
    from typing import Any

SYNCED = 4
DONOR = 2
PRIMARY = "Primary"
UNKNOWN_SEQNO = -1
SEQNO_MAX = 2**63 - 1  # Galera's seqno is a signed 64-bit integer
ZERO_UUID = "00000000-0000-0000-0000-000000000000"  # Galera's "no history"

_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class Status(StrEnum):
    """galeraStatus: the seed's words plus what it could not express."""

    STOPPED = "stopped"
    INITIATING = "initiating"
    BOOTSTRAPPING = "bootstrapping"
    JOINING = "joining"
    RUNNING = "running"
    NONPRIMARY = "nonprimary"
    BLOCKED = "blocked"
    UNKNOWN = "unknown"


# mysqld not running, whatever galera-init is doing about it: what the election and make-primary
# count as a node that is down
DOWN_STATUSES = frozenset({Status.STOPPED, Status.INITIATING, Status.BLOCKED})


class SeqnoSource(StrEnum):
    LIVE = "live"  # wsrep_last_committed from a running server
    GRASTATE = "grastate"  # grastate.dat after a clean shutdown
    RECOVERED = "recovered"  # mariadbd --wsrep-recover after a crash
    UNKNOWN = "unknown"


def is_uuid(text: str) -> bool:
    """Whether ``text`` is a UUID in the 8-4-4-4-12 hexadecimal form (either case), as Galera writes one."""
    return _UUID_RE.fullmatch(text) is not None


@record
class Position:
    """Where a node is in Galera's history, as one value: the state UUID and seqno, where they
    came from, and grastate.dat's safe_to_bootstrap. Kept together so that no consumer pairs a
    seqno with another source's UUID, or re-derives which source counts."""

    uuid: str | None = None
    seqno: int = UNKNOWN_SEQNO
    source: SeqnoSource = SeqnoSource.UNKNOWN
    safe_to_bootstrap: bool | None = None  # None: grastate.dat unreadable, or older than Galera 25.3.19

    @property
    def is_known(self) -> bool:
        """The one rule for "names a real point in a real history": a well-formed, non-zero state
        UUID and a seqno of 0 .. 2^63-1. The probe's assemble() and galera-init ask it; GALERA-MIB
        carries a position unchanged, so a peer reading it back gets the same answer."""
        return (
            self.uuid is not None and is_uuid(self.uuid) and self.uuid != ZERO_UUID and 0 <= self.seqno <= SEQNO_MAX
        )

    @property
    def is_reset(self) -> bool:
        """A point in a reset history: the zero state UUID with a seqno of 0 or more (a cluster
        that pc.recovery re-formed without its start position, then stopped). Never electable;
        only an operator names one (galera-init --force-bootstrap)."""
        return self.uuid == ZERO_UUID and 0 <= self.seqno <= SEQNO_MAX

    @property
    def is_stated(self) -> bool:
        """A position the node can state: a real point (:attr:`is_known`) or a point in a reset
        history (:attr:`is_reset`). What a view reports and the operator may force, so that
        galera-init and make-primary can name a reset node and refuse it; never electable when
        reset: the rules ask is_reset or is_known for that."""
        return self.is_known or self.is_reset

    def __str__(self) -> str:
        return f"{self.uuid}:{self.seqno}"


class ProcessState(StrEnum):
    RUNNING = "running"
    SUSPENDED = "suspended"  # stopped by a signal (SIGSTOP) or traced
    ABSENT = "absent"
    UNKNOWN = "unknown"  # /proc could not be read


class MysqlFailure(StrEnum):
    """Why the probe got no answer from mysqld; None in a snapshot means it answered."""

    REFUSED = "refused"  # nothing accepts connections
    TIMEOUT = "timeout"  # accepted but did not answer in time (hung, SIGSTOP)
    ACCESS_DENIED = "access-denied"
    ERROR = "error"  # any other error


@record
class Member:
    """One row of mysql.wsrep_cluster_members (the cluster as this node sees it)."""

    uuid: str
    name: str
    address: str
    cluster_uuid: str


@record
class NodeState:
    """What one node looked like at ``taken_at`` (UNIX time). Unknown values are None."""

    taken_at: float
    status: Status
    reason: str
    position: Position = Position()
    gvwstate_present: bool | None = None
    sst_in_progress: bool | None = None
    process: ProcessState = ProcessState.UNKNOWN
    pid: int | None = None
    mysql_failure: MysqlFailure | None = None
    local_state: int | None = None
    local_state_comment: str | None = None
    cluster_status: str | None = None
    cluster_size: int | None = None
    cluster_state_uuid: str | None = None
    cluster_conf_id: int | None = None
    ready: bool | None = None
    connected: bool | None = None
    desync: bool | None = None
    reject_queries: str | None = None
    node_name: str | None = None
    cluster_name: str | None = None
    drained: bool = False
    read_only: bool | None = None  # read_only or super_read_only ON: no writes
    maint_mode: str | None = None  # pxc_maint_mode (Percona XtraDB Cluster): DISABLED, SHUTDOWN, MAINTENANCE
    donor_rejects_queries: bool | None = None  # wsrep_sst_donor_rejects_queries
    gcache_size: int | None = None  # bytes: gcache.size of wsrep_provider_options
    left_history: str | None = None  # the history this node's Primary replaced unrecorded (node/history.py)
    seen_position: Position | None = None  # the last position seen committed in the kept history (node/history.py)
    promotion: str | None = None  # what make-primary last did on this node (node/promotion.py)
    notes: tuple[str, ...] = ()
    members: tuple[Member, ...] | None = None
    wsrep: Mapping[str, WsrepValue] = MappingProxyType({})  # read-only: one empty mapping serves all

    @property
    def answered(self) -> bool:
        return self.mysql_failure is None

    @property
    def says_primary(self) -> bool:
        """mysqld says its component is Primary (wsrep_cluster_status), whatever our status word
        says of the node. :attr:`in_primary` is the rule for "in a Primary component" and asks
        the status too; this is the bare claim, which also counts from data not known to be current
        (a Primary that exists holds back a bootstrap) and is None-safe: an unknown status is no claim."""
        return self.cluster_status == PRIMARY

    @property
    def in_primary(self) -> bool:
        """In a Primary component: running, or joining one its mysqld confirms. A server refusing
        connections with a leftover sst_in_progress says "joining" without one."""
        return self.status is Status.RUNNING or (self.status is Status.JOINING and self.says_primary)

    @property
    def synced(self) -> bool:
        """Running and Synced: in a Primary component with every write-set applied (galera-init's
        and make-primary's "done")."""
        return self.status is Status.RUNNING and self.says_primary and self.local_state == SYNCED

    def wsrep_int(self, name: str) -> int | None:
        """The integer value of wsrep status ``name``; None when missing or not an integer."""
        item = self.wsrep.get(name)
        return item.value if item is not None and isinstance(item.value, int) else None

    def wsrep_number(self, name: str) -> int | float | None:
        """The numeric value of wsrep status ``name``; None when missing or not a number."""
        item = self.wsrep.get(name)
        return item.value if item is not None and isinstance(item.value, int | float) else None

    @property
    def seqno(self) -> int:
        """``position.seqno``: what ``galera-check seqno``, tables and perfdata print."""
        return self.position.seqno

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (enums as their words, wsrep values with their kinds). The position
        stays flat (seqno, seqno_source, state_uuid, safe_to_bootstrap), as scripts read it."""
        data: dict[str, Any] = {}
        for name in fields(self):
            value = getattr(self, name)
            data[name] = value.value if isinstance(value, Enum) else value
        position = data.pop("position")
        data["seqno"] = position.seqno
        data["seqno_source"] = position.source.value
        data["state_uuid"] = position.uuid
        data["safe_to_bootstrap"] = position.safe_to_bootstrap
        data["seen_position"] = None if self.seen_position is None else str(self.seen_position)
        data["notes"] = list(self.notes)
        data["members"] = None if self.members is None else [asdict(m) for m in self.members]
        data["wsrep"] = {
            name: {"kind": v.kind.value, "value": v.value, "raw": v.raw} for name, v in self.wsrep.items()
        }
        return data


def history_reset(state: NodeState) -> str | None:
    """Why the node's Primary component lost its history, or None.

    A Primary with a zero state UUID is a cluster that pc.recovery re-formed after a crash from
    nodes started without their recovered position (a start by hand, a container entrypoint):
    Galera reset the history ("Bootstrapped primary 00000000-..."), no state transfer reconciled
    nodes that died at different moments, and every later recovery reports the zero UUID. A
    Primary whose history UUID differs from the one the node was last seen in, with no change
    recorded by galera-init or accepted by the operator (``left_history``), is the same thing seen
    later (after ``galera_new_cluster`` on a reset node, say) or a node moved to another cluster.
    Every check says so in these words; the node still serves (its component is consistent with
    itself, and taking every node out of traffic would be an outage of its own).
    """
    if not state.says_primary:
        return None
    if state.cluster_state_uuid == ZERO_UUID:
        return (
            "history reset: a Primary component with a zero state UUID (restarted after a crash without "
            "the recovered start position); the nodes were not reconciled and may hold different data: "
            "compare them, then rebuild the others from one (docs/INIT.md)"
        )
    if state.left_history is not None:
        return (
            f"history reset: this node left history {state.left_history} for {state.cluster_state_uuid} "
            "without a bootstrap recorded by galera-init; nodes may hold different data: compare them, "
            "rebuild the others from one, then galera-snmp accept-history (docs/INIT.md)"
        )
    return None


def apply_phase(observed: tuple[Status, str], phase: tuple[Status, str] | None) -> tuple[Status, str]:
    """What a running galera-init says it is doing (initiating, bootstrapping, blocked) speaks
    for a node whose mysqld is stopped or not yet in a Primary component; otherwise mysqld does."""
    if phase is not None and observed[0] in (Status.STOPPED, Status.NONPRIMARY):
        return phase[0], f"galera-init: {phase[1]}"
    return observed


def derive_status(
    *,
    process: ProcessState,
    pid: int | None,
    failure: MysqlFailure | None,
    error: str | None,
    cluster_status: str | None,
    local_state: int | None,
    local_state_comment: str | None,
    sst_in_progress: bool | None,
) -> tuple[Status, str]:
    """The status word and why, from what the probe saw. Never guesses: unsure is ``unknown``."""
    who = f"mysqld (pid {pid})" if pid else "mysqld"
    if failure is None:
        if cluster_status is None:
            return Status.UNKNOWN, "mysqld answers but reports no wsrep_cluster_status (wsrep off?)"
        if cluster_status != PRIMARY:
            return Status.NONPRIMARY, f"cluster status is {cluster_status}"
        comment = f" ({local_state_comment})" if local_state_comment else ""
        if local_state in (SYNCED, DONOR):
            return Status.RUNNING, f"Primary, local state {local_state}{comment}"
        if local_state is None:
            return Status.UNKNOWN, "Primary, but wsrep_local_state is missing or garbled"
        return Status.JOINING, f"Primary, local state {local_state}{comment}"
    if process is ProcessState.ABSENT:
        return Status.STOPPED, "mysqld is not running"
    if process is ProcessState.SUSPENDED:
        return Status.UNKNOWN, f"{who} is suspended (stopped by a signal): {error}"
    if process is ProcessState.UNKNOWN:
        return Status.UNKNOWN, f"cannot tell whether mysqld runs, and it does not answer: {error}"
    if failure is MysqlFailure.REFUSED:
        if sst_in_progress:
            return Status.JOINING, f"{who} is receiving a state transfer (sst_in_progress)"
        return Status.NONPRIMARY, f"{who} is up but refuses connections: no Primary component yet"
    if failure is MysqlFailure.TIMEOUT:
        return Status.UNKNOWN, f"{who} does not answer: {error}"
    return Status.UNKNOWN, f"{who} runs but cannot be read: {error}"


@record
class HealthPolicy:
    """What the operator allows to serve besides a Synced node."""

    donor_serves: bool = False  # non-blocking SST (mariabackup); rsync/mysqldump block donors
    desync_serves: bool = False
    read_only_serves: bool = True  # a read_only node serves reads; never the writer (cluster/writer.py)


class HealthCode(StrEnum):
    """Which step of the health rule (:func:`assess_health`, README "Health rule") decided a
    verdict, in the rule's order. Consumers that serve a fixed vocabulary (the HTTP check's short
    reasons, the agent-check, /metrics' reason label) map the code; the reason's words may quote
    mysqld and are the rule's to change."""

    MYSQLD_ABSENT = "mysqld-absent"  # not answering, and no mysqld process: not healthy
    MYSQLD_NOT_ANSWERING = "mysqld-not-answering"  # refusing connections or not answering in time: not healthy
    MYSQLD_UNREADABLE = "mysqld-unreadable"  # runs, but our login is denied or fails otherwise: cannot tell
    WSREP_INCOMPLETE = "wsrep-incomplete"  # cluster status, wsrep_ready or local state missing: cannot tell
    NOT_PRIMARY = "not-primary"
    NOT_READY = "not-ready"  # wsrep_ready OFF
    DESYNCED = "desynced"  # wsrep_desync ON, and desync_serves = no
    DONOR_REJECTS_QUERIES = "donor-rejects-queries"  # a donor with wsrep_sst_donor_rejects_queries ON
    DONOR_NOT_SERVING = "donor-not-serving"  # a donor, and donors do not serve
    NOT_SYNCED = "not-synced"  # any other local state (joining, joined)
    REJECT_QUERIES_UNKNOWN = "reject-queries-unknown"  # wsrep_reject_queries not reported: cannot tell
    REJECTING_QUERIES = "rejecting-queries"  # wsrep_reject_queries other than NONE
    READ_ONLY = "read-only"  # read_only ON, and read_only_serves = no
    DRAINED = "drained"  # galera-snmp drain
    PXC_MAINT_MODE = "pxc-maint-mode"  # pxc_maint_mode other than DISABLED: drained
    SYNCED = "synced"  # healthy
    DONOR_SERVING = "donor-serving"  # healthy: a donor the policy lets serve
    # not steps of the rule
    NO_CURRENT_DATA = "no-current-data"  # the rule is not trusted on stale data (NodeReport.verdict)
    UNCLASSIFIED = "unclassified"  # the step is not known: read back over SNMP, which carries only the words
    WRITER = "writer"  # the writer rule's yes (cluster/writer.py)
    NOT_WRITER = "not-writer"  # the writer rule's no, when no step of the health rule says why


# The rule's own verdicts when mysqld does not answer: stale data says nothing truer (NodeReport.verdict)
MYSQLD_SILENT = frozenset({HealthCode.MYSQLD_ABSENT, HealthCode.MYSQLD_NOT_ANSWERING, HealthCode.MYSQLD_UNREADABLE})
# The rule's last steps: every other step passed, the node may work but takes no new clients
# (HAProxy's agent-check says "drain", keeping the sessions it has)
DRAINING = frozenset({HealthCode.DRAINED, HealthCode.PXC_MAINT_MODE})


@record
class Health:
    """True: fit for client traffic. False: not. None: cannot tell (exit 3, UNKNOWN). ``code``:
    the rule's step that decided, for consumers that must not parse ``reason``."""

    healthy: bool | None
    reason: str
    code: HealthCode = HealthCode.UNCLASSIFIED


NODE_SET_DIGEST_DIGITS = 16  # galeraNodeSetDigest: this many lowercase hex digits


@record
class NodeSet:
    """The data nodes a node's galera-init elects with, as its agent publishes them: the digest of
    their ordered, normalised addresses (galeraNodeSetDigest) and the addresses (galeraNodeSet, cut
    short past 255 octets). Nodes that elect from different sets may elect different winners, so
    galera-init elects only when every digest equals its own (``galera_snmp/cluster/nodeset.py``)."""

    digest: str
    nodes: tuple[str, ...]


@record
class WindowStats:
    """What the agent's own window of snapshots says (derived.py)."""

    seconds: float  # the span the samples cover
    recv_queue_avg: float | None
    send_queue_avg: float | None
    write_sets_per_second: float | None
    gcache_seconds: float | None  # the write-sets the gcache holds, at that rate
    paused_share: float | None = None  # of the span, the share flow control paused replication (0..1)


class RejoinMethod(StrEnum):
    IST = "ist"
    SST = "sst"
    UNKNOWN = "unknown"


@record
class Rejoin:
    """How a node joining now would catch up (cluster/rejoin.py), and why. ``write_sets_left``:
    write-sets the caches may still forget with IST kept (IST only; the next one makes it SST);
    ``seconds_left``: those at
    the rate the caches forgot over the last minute (None while they forget nothing, or before it
    is measured)."""

    method: RejoinMethod
    reason: str
    donor: str | None = None
    write_sets_left: int | None = None
    seconds_left: int | None = None


class TransferRole(StrEnum):
    JOINER = "joiner"
    DONOR = "donor"


class TransferUnit(StrEnum):
    """What a transfer's ``done`` and ``expected`` count."""

    BYTES = "bytes"  # an SST
    WRITE_SETS = "write-sets"  # an IST


class TransferState(StrEnum):
    RUNNING = "running"  # moved within [agent] transfer_stalled_after
    STALLED = "stalled"  # nothing moved for that long: the copier stopped, hung or waits on a dead peer
    COMPLETE = "complete"  # the node is Synced again after it
    FAILED = "failed"  # mysqld went away (or left the Primary component) during it


@record
class Transfer:
    """A state transfer this node takes part in, or took part in lately (node/transfer.py).
    ``unit``: what ``done`` and ``expected`` count;
    ``rate``: of those per second lately; ``seconds_left``: at that rate; ``still``: seconds since
    it last moved. None: not known (no peer published the size, nothing moved yet)."""

    role: TransferRole
    state: TransferState
    method: str  # rsync, mariabackup, mysqldump (the SST script), ist, or unknown
    unit: TransferUnit
    started: float  # UNIX time
    seconds: int  # how long it ran (so far, or in all once over)
    still: int
    peer: str | None = None
    done: int | None = None
    expected: int | None = None
    rate: float | None = None
    seconds_left: int | None = None

    @property
    def live(self) -> bool:
        """Under way (running or stalled), not ended."""
        return self.state in (TransferState.RUNNING, TransferState.STALLED)

    @property
    def percent(self) -> int | None:
        """Of ``expected``, done: 100 once complete, else at most 99 (the copier's counters include
        a little protocol, so a transfer may count past its size before it ends)."""
        if self.state is TransferState.COMPLETE:
            return 100
        if self.done is None or not self.expected:
            return None
        return max(0, min(99, self.done * 100 // self.expected))


@record
class NodeReport:
    """A node as a consumer sees it: the snapshot, the health verdict, and whether the data is
    current (``valid``) and how old (``age``, seconds) — from the probe, or from a peer's agent —
    and the node set its agent publishes (None: its configuration cannot tell)."""

    state: NodeState
    health: Health
    valid: bool | None
    age: int | None
    last_error: str = ""
    node_set: NodeSet | None = None
    site_advice: str | None = None  # a whole site silent while this side waits (cluster/sites.py)
    writer: Health | None = None  # whether this node takes the writes (cluster/writer.py); None: no peer watch
    window: WindowStats | None = None  # the agent's window (derived.py); None: a one-shot report
    evictions: int | None = None  # members this node's agent evicted on a crash notice; None: crash eviction off
    last_eviction: str | None = None  # the last of them, in words (eviction.py)
    rejoin: Rejoin | None = None  # IST or SST if this node joined now (cluster/rejoin.py); None: no peer watch
    transfer: Transfer | None = None  # the state transfer under way or lately over (node/transfer.py)

    def verdict(self) -> Health:
        """Whether to send client traffic now (keepalived, the HTTP check): the health rule,
        trusted only on current data — a stale "healthy" keeps traffic on a node that may be gone."""
        if self.valid is not True:
            # a silent mysqld is why the data is stale: its step stays the verdict's code
            code = self.health.code if self.health.code in MYSQLD_SILENT else HealthCode.NO_CURRENT_DATA
            return Health(False, f"no current data: {self.last_error or self.health.reason}", code)
        if self.health.healthy is not True:
            return Health(False, self.health.reason, self.health.code)
        return self.health


def assess_health(state: NodeState, policy: HealthPolicy) -> Health:
    """The health rule (README, "Health rule"): the one place that says whether a node may take
    traffic, and which step decided (:class:`HealthCode`)."""
    if not state.answered:
        reason = state.reason.strip() or f"mysqld does not answer ({state.mysql_failure})"
        if state.process is ProcessState.ABSENT:
            return Health(False, reason, HealthCode.MYSQLD_ABSENT)
        if state.mysql_failure in (MysqlFailure.ACCESS_DENIED, MysqlFailure.ERROR):
            return Health(None, reason, HealthCode.MYSQLD_UNREADABLE)
        return Health(False, reason, HealthCode.MYSQLD_NOT_ANSWERING)
    if state.cluster_status is None or state.ready is None or state.local_state is None:
        return Health(None, f"wsrep status incomplete: {state.reason}", HealthCode.WSREP_INCOMPLETE)
    if not state.says_primary:
        return Health(False, f"cluster status is {state.cluster_status}, not Primary", HealthCode.NOT_PRIMARY)
    if not state.ready:
        return Health(False, "wsrep_ready is OFF", HealthCode.NOT_READY)
    if state.desync and not policy.desync_serves:
        return Health(False, "wsrep_desync is ON", HealthCode.DESYNCED)
    if state.local_state == DONOR and state.donor_rejects_queries:
        return Health(False, "node is a donor with wsrep_sst_donor_rejects_queries ON",
                      HealthCode.DONOR_REJECTS_QUERIES)
    if state.local_state == DONOR and not (policy.donor_serves or (state.desync and policy.desync_serves)):
        return Health(False, f"node is a donor ({state.local_state_comment or 'state 2'}) and donors do not serve",
                      HealthCode.DONOR_NOT_SERVING)
    if state.local_state not in (SYNCED, DONOR):
        return Health(False, f"local state {state.local_state} ({state.local_state_comment}) is not Synced",
                      HealthCode.NOT_SYNCED)
    if state.reject_queries is None:
        return Health(None, "wsrep_reject_queries is not reported", HealthCode.REJECT_QUERIES_UNKNOWN)
    if state.reject_queries.upper() != "NONE":
        return Health(False, f"wsrep_reject_queries is {state.reject_queries}", HealthCode.REJECTING_QUERIES)
    if state.read_only and not policy.read_only_serves:
        return Health(False, "read_only is ON", HealthCode.READ_ONLY)
    if state.drained:  # the DRAINING steps
        return Health(False, "drained by the operator", HealthCode.DRAINED)
    if state.maint_mode is not None and state.maint_mode.upper() != "DISABLED":
        return Health(False, f"pxc_maint_mode is {state.maint_mode}", HealthCode.PXC_MAINT_MODE)
    comment = state.local_state_comment or f"state {state.local_state}"
    code = HealthCode.SYNCED if state.local_state == SYNCED else HealthCode.DONOR_SERVING
    return Health(True, f"{comment}, Primary, ready", code)
