"""GALERA-MIB as code: every object's OID, its SNMP type, and how its value is read from a
snapshot. ``GALERA-MIB.txt`` beside this module (package data) says the same for people and
NMSs; a test parses the MIB and checks the two are equal, so they cannot drift.

Values the node does not know are not served (noSuchInstance, skipped by walks), except
where the MIB has an explicit ``unknown`` (enumerations, ``galeraSeqnoText`` = "-1").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

from ..derived import evs_latency, gcache_write_sets
from ..record import record, replace
from ..state import (
    NODE_SET_DIGEST_DIGITS,
    SEQNO_MAX,
    Health,
    HealthCode,
    Member,
    NodeReport,
    NodeSet,
    NodeState,
    Position,
    Rejoin,
    RejoinMethod,
    SeqnoSource,
    Status,
    Transfer,
    TransferRole,
    TransferState,
    TransferUnit,
    history_reset,
    is_uuid,
)
from ..wsrep import COUNTER_NAMES, GAUGE_NAMES, WsrepValue, kind_of
from .types import MAX_INT32, MAX_STRING, MAX_UINT32, MAX_UINT64, MIN_INT32, OID, Syntax

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: check_galera starts faster
if TYPE_CHECKING:
    from typing import Any

MIB_FILE = Path(__file__).with_name("GALERA-MIB.txt")  # package data: the module for people and NMSs

# RFC 5612 documentation enterprise number, until a PEN is registered: the one place to change.
GALERA_MIB = (1, 3, 6, 1, 4, 1, 32473)

NOTIFICATIONS = (*GALERA_MIB, 0)
OBJECTS = (*GALERA_MIB, 1)
NODE = (*OBJECTS, 1)
AGENT = (*OBJECTS, 2)
COUNTERS = (*OBJECTS, 3)
GAUGES = (*OBJECTS, 4)
RATIOS = (*OBJECTS, 5)
MEMBER_ENTRY = (*OBJECTS, 6, 1)
DERIVED = (*OBJECTS, 7)
REJOIN = (*OBJECTS, 8)
TRANSFER = (*OBJECTS, 9)

Value = int | str | None


@record
class MibObject:
    name: str
    oid: OID  # without the .0 instance of a scalar
    syntax: Syntax
    mib_type: str  # the SYNTAX as the MIB writes it (checked by the drift test)
    read: Callable[[NodeReport], Value]


# Enumerations: the numbers are part of the contract.
STATUS = {
    Status.STOPPED: 1,
    Status.INITIATING: 2,
    Status.BOOTSTRAPPING: 3,
    Status.JOINING: 4,
    Status.RUNNING: 5,
    Status.NONPRIMARY: 6,
    Status.BLOCKED: 7,
    Status.UNKNOWN: 8,
}
SEQNO_SOURCE = {SeqnoSource.LIVE: 1, SeqnoSource.GRASTATE: 2, SeqnoSource.RECOVERED: 3, SeqnoSource.UNKNOWN: 4}
CLUSTER_STATUS = {"primary": 1, "non-primary": 2, "disconnected": 3}  # wsrep_cluster_status, lower-cased
CLUSTER_STATUS_UNKNOWN = 4
REJECT_QUERIES = {"NONE": 1, "ALL": 2, "ALL_KILL": 3}
REJECT_QUERIES_UNKNOWN = 4
TRUE, FALSE, UNKNOWN_TRUTH = 1, 2, 3  # GaleraTriState
LOCAL_STATE_UNKNOWN = 0  # GaleraWsrepLocalState: Galera's own 1..4, 0 = undefined or unknown
REJOIN_METHOD = {RejoinMethod.IST: 1, RejoinMethod.SST: 2, RejoinMethod.UNKNOWN: 3}
TRANSFER_ROLE = {None: 1, TransferRole.JOINER: 2, TransferRole.DONOR: 3}
TRANSFER_STATE = {None: 1, TransferState.RUNNING: 2, TransferState.STALLED: 3, TransferState.COMPLETE: 4,
                  TransferState.FAILED: 5}
TRANSFER_UNIT = {None: 1, TransferUnit.BYTES: 2, TransferUnit.WRITE_SETS: 3}


def tri_state(value: bool | None) -> int:
    return UNKNOWN_TRUTH if value is None else TRUE if value else FALSE


def _local_state(ctx: NodeReport) -> int:
    value = ctx.state.local_state
    return value if value in (1, 2, 3, 4) else LOCAL_STATE_UNKNOWN


def _seen(text: str | None) -> Position | None:
    """galeraSeenPosition read back: a known UUID:SEQNO, else None (garbage is no claim)."""
    uuid, _, seqno = (text or "").rpartition(":")
    if not seqno.isdigit() or len(seqno) > 19:
        return None
    position = Position(uuid.lower(), int(seqno))
    return position if position.is_known else None


def _seqno(ctx: NodeReport) -> int | None:
    """galeraSeqno: served whenever its source is known (Counter64 cannot say -1)."""
    position = ctx.state.position
    return position.seqno if position.source is not SeqnoSource.UNKNOWN and position.seqno >= 0 else None


def _wsrep_number(name: str) -> Callable[[NodeReport], Value]:
    def read(ctx: NodeReport) -> Value:
        return ctx.state.wsrep_int(name)

    return read


def _wsrep_scaled(name: str, scale: int) -> Callable[[NodeReport], Value]:
    def read(ctx: NodeReport) -> Value:
        item = ctx.state.wsrep.get(name)
        if item is None or not isinstance(item.value, int | float) or item.value < 0:
            return None
        return round(item.value * scale)

    return read


def _camel(wsrep_name: str) -> str:
    return "galera" + "".join(part.capitalize() for part in wsrep_name.removeprefix("wsrep_").split("_"))


def _history_reset(ctx: NodeReport) -> int:
    """true(1) for a Primary whose history was reset; unknown(3) when the cluster status is unknown."""
    if ctx.state.cluster_status is None:
        return tri_state(None)
    return tri_state(history_reset(ctx.state) is not None)


def _node_objects() -> list[MibObject]:
    s = Syntax
    spec: list[tuple[str, Syntax, str, Callable[[NodeReport], Value]]] = [
        ("galeraStatus", s.INTEGER, "INTEGER", lambda c: STATUS[c.state.status]),
        ("galeraStatusReason", s.OCTET_STRING, "GaleraUtf8String", lambda c: c.state.reason),
        ("galeraSeqno", s.COUNTER64, "GaleraGauge64", _seqno),
        ("galeraSeqnoText", s.OCTET_STRING, "DisplayString", lambda c: str(c.state.position.seqno)),
        ("galeraSeqnoSource", s.INTEGER, "INTEGER", lambda c: SEQNO_SOURCE[c.state.position.source]),
        ("galeraStateUUID", s.OCTET_STRING, "DisplayString", lambda c: c.state.position.uuid),
        (
            "galeraSafeToBootstrap",
            s.INTEGER,
            "GaleraTriState",
            lambda c: tri_state(c.state.position.safe_to_bootstrap),
        ),
        ("galeraLocalState", s.INTEGER, "GaleraWsrepLocalState", _local_state),
        ("galeraLocalStateComment", s.OCTET_STRING, "GaleraUtf8String", lambda c: c.state.local_state_comment),
        (
            "galeraClusterStatus",
            s.INTEGER,
            "INTEGER",
            lambda c: CLUSTER_STATUS.get((c.state.cluster_status or "").lower(), CLUSTER_STATUS_UNKNOWN),
        ),
        ("galeraClusterSize", s.GAUGE32, "Gauge32", lambda c: c.state.cluster_size),
        ("galeraClusterStateUUID", s.OCTET_STRING, "DisplayString", lambda c: c.state.cluster_state_uuid),
        ("galeraClusterConfId", s.INTEGER, "Integer32", lambda c: c.state.cluster_conf_id),
        ("galeraReady", s.INTEGER, "GaleraTriState", lambda c: tri_state(c.state.ready)),
        ("galeraConnected", s.INTEGER, "GaleraTriState", lambda c: tri_state(c.state.connected)),
        ("galeraNodeName", s.OCTET_STRING, "GaleraUtf8String", lambda c: c.state.node_name),
        ("galeraClusterName", s.OCTET_STRING, "GaleraUtf8String", lambda c: c.state.cluster_name),
        ("galeraDesync", s.INTEGER, "GaleraTriState", lambda c: tri_state(c.state.desync)),
        (
            "galeraRejectQueries",
            s.INTEGER,
            "INTEGER",
            lambda c: REJECT_QUERIES.get((c.state.reject_queries or "").upper(), REJECT_QUERIES_UNKNOWN),
        ),
        ("galeraHealthy", s.INTEGER, "GaleraTriState", lambda c: tri_state(c.health.healthy)),
        ("galeraHealthReason", s.OCTET_STRING, "GaleraUtf8String", lambda c: c.health.reason),
        ("galeraDrained", s.INTEGER, "GaleraTriState", lambda c: tri_state(c.state.drained)),
        ("galeraNodeSetDigest", s.OCTET_STRING, "DisplayString", lambda c: c.node_set.digest if c.node_set else None),
        (
            "galeraNodeSet",
            s.OCTET_STRING,
            "DisplayString",
            lambda c: ",".join(c.node_set.nodes) if c.node_set else None,
        ),
        ("galeraHistoryReset", s.INTEGER, "GaleraTriState", _history_reset),
        ("galeraLeftHistory", s.OCTET_STRING, "DisplayString", lambda c: c.state.left_history),
        ("galeraLastPromotion", s.OCTET_STRING, "GaleraUtf8String", lambda c: c.state.promotion),
        ("galeraSiteAdvice", s.OCTET_STRING, "GaleraUtf8String", lambda c: c.site_advice),
        ("galeraReadOnly", s.INTEGER, "GaleraTriState", lambda c: tri_state(c.state.read_only)),
        ("galeraMaintMode", s.OCTET_STRING, "DisplayString", lambda c: c.state.maint_mode),
        ("galeraWriter", s.INTEGER, "GaleraTriState", lambda c: tri_state(c.writer.healthy if c.writer else None)),
        ("galeraDonorRejectsQueries", s.INTEGER, "GaleraTriState", lambda c: tri_state(c.state.donor_rejects_queries)),
        ("galeraSeenPosition", s.OCTET_STRING, "DisplayString",
         lambda c: str(c.state.seen_position) if c.state.seen_position else None),
        ("galeraEvictions", s.COUNTER64, "Counter64", lambda c: c.evictions),
        ("galeraLastEviction", s.OCTET_STRING, "GaleraUtf8String", lambda c: c.last_eviction),
    ]
    return [MibObject(name, (*NODE, i), syntax, t, read) for i, (name, syntax, t, read) in enumerate(spec, 1)]


def _agent_objects() -> list[MibObject]:
    return [
        MibObject("galeraDataValid", (*AGENT, 1), Syntax.INTEGER, "TruthValue", lambda c: tri_state(c.valid)),
        MibObject("galeraDataAge", (*AGENT, 2), Syntax.GAUGE32, "Gauge32", lambda c: c.age),
        MibObject("galeraLastError", (*AGENT, 3), Syntax.OCTET_STRING, "GaleraUtf8String", lambda c: c.last_error),
    ]


# (name, scale, textual convention): floats served as scaled unsigned integers.
RATIO_SPECS = (
    ("wsrep_flow_control_paused", 10**6, "GaleraPartsPerMillion"),
    ("wsrep_local_send_queue_avg", 1000, "GaleraThousandths"),
    ("wsrep_local_recv_queue_avg", 1000, "GaleraThousandths"),
    ("wsrep_cert_deps_distance", 1000, "GaleraThousandths"),
    ("wsrep_apply_oooe", 10**6, "GaleraPartsPerMillion"),
    ("wsrep_apply_oool", 10**6, "GaleraPartsPerMillion"),
    ("wsrep_apply_window", 1000, "GaleraThousandths"),
    ("wsrep_commit_oooe", 10**6, "GaleraPartsPerMillion"),
    ("wsrep_commit_oool", 10**6, "GaleraPartsPerMillion"),
    ("wsrep_commit_window", 1000, "GaleraThousandths"),
    ("wsrep_cert_interval", 1000, "GaleraThousandths"),
)


def _wsrep_objects() -> list[MibObject]:
    objects = [
        MibObject(_camel(n), (*COUNTERS, i), Syntax.COUNTER64, "Counter64", _wsrep_number(n))
        for i, n in enumerate(COUNTER_NAMES, 1)
    ]
    objects += [
        MibObject(_camel(n), (*GAUGES, i), Syntax.GAUGE32, "Gauge32", _wsrep_number(n))
        for i, n in enumerate(GAUGE_NAMES, 1)
    ]
    objects.append(
        MibObject(
            "galeraLocalCachedDownto",
            (*GAUGES, len(GAUGE_NAMES) + 1),
            Syntax.COUNTER64,
            "GaleraGauge64",
            _wsrep_number("wsrep_local_cached_downto"),
        )
    )
    objects += [
        MibObject(_camel(n), (*RATIOS, i), Syntax.GAUGE32, tc, _wsrep_scaled(n, scale))
        for i, (n, scale, tc) in enumerate(RATIO_SPECS, 1)
    ]
    return objects


def _scaled(value: float | None, scale: int) -> Value:
    return None if value is None or value < 0 else round(value * scale)


def _derived_objects() -> list[MibObject]:
    """galeraDerived: derived.py's values (EVS latency in microseconds, averages in thousandths)."""

    def latency(field: str, scale: int = 10**6) -> Callable[[NodeReport], Value]:
        return lambda c: _scaled(getattr(found, field), scale) if (found := evs_latency(c.state)) else None

    def window(field: str, scale: int) -> Callable[[NodeReport], Value]:
        return lambda c: _scaled(getattr(c.window, field), scale) if c.window else None

    def text(name: str) -> Callable[[NodeReport], Value]:
        return lambda c: item.raw if (item := c.state.wsrep.get(name)) is not None else None

    s, g = Syntax, "Gauge32"
    spec: list[tuple[str, Syntax, str, Callable[[NodeReport], Value]]] = [
        ("galeraEvsReplLatencyMin", s.GAUGE32, g, latency("minimum")),
        ("galeraEvsReplLatencyAvg", s.GAUGE32, g, latency("average")),
        ("galeraEvsReplLatencyMax", s.GAUGE32, g, latency("maximum")),
        ("galeraEvsReplLatencyStddev", s.GAUGE32, g, latency("stddev")),
        ("galeraEvsReplLatencySamples", s.GAUGE32, g, latency("samples", 1)),
        ("galeraProviderName", s.OCTET_STRING, "DisplayString", text("wsrep_provider_name")),
        ("galeraProviderVersion", s.OCTET_STRING, "DisplayString", text("wsrep_provider_version")),
        ("galeraGcacheSize", s.COUNTER64, "GaleraGauge64", lambda c: c.state.gcache_size),
        ("galeraGcacheWriteSets", s.GAUGE32, g, lambda c: gcache_write_sets(c.state)),
        ("galeraGcacheSeconds", s.GAUGE32, g, window("gcache_seconds", 1)),
        ("galeraWindowSeconds", s.GAUGE32, g, window("seconds", 1)),
        ("galeraRecvQueueWindowAvg", s.GAUGE32, "GaleraThousandths", window("recv_queue_avg", 1000)),
        ("galeraSendQueueWindowAvg", s.GAUGE32, "GaleraThousandths", window("send_queue_avg", 1000)),
        ("galeraWriteSetsPerSecond", s.GAUGE32, "GaleraThousandths", window("write_sets_per_second", 1000)),
    ]
    return [MibObject(name, (*DERIVED, i), syntax, t, read) for i, (name, syntax, t, read) in enumerate(spec, 1)]


def _rejoin_objects() -> list[MibObject]:
    """galeraRejoin: how this node would catch up if it joined now (cluster/rejoin.py)."""
    s = Syntax
    spec: list[tuple[str, Syntax, str, Callable[[NodeReport], Value]]] = [
        ("galeraRejoinMethod", s.INTEGER, "INTEGER",
         lambda c: REJOIN_METHOD[c.rejoin.method if c.rejoin else RejoinMethod.UNKNOWN]),
        ("galeraRejoinReason", s.OCTET_STRING, "GaleraUtf8String", lambda c: c.rejoin.reason if c.rejoin else None),
        ("galeraRejoinDonor", s.OCTET_STRING, "GaleraUtf8String", lambda c: c.rejoin.donor if c.rejoin else None),
        ("galeraRejoinWriteSetsLeft", s.GAUGE32, "Gauge32", lambda c: c.rejoin.write_sets_left if c.rejoin else None),
        ("galeraRejoinTimeLeft", s.GAUGE32, "Gauge32", lambda c: c.rejoin.seconds_left if c.rejoin else None),
    ]
    return [MibObject(name, (*REJOIN, i), syntax, t, read) for i, (name, syntax, t, read) in enumerate(spec, 1)]


def _transfer_objects() -> list[MibObject]:
    """galeraTransfer: the state transfer under way, or the last one (node/transfer.py)."""
    s = Syntax

    def of(read: Callable[[Transfer], Value]) -> Callable[[NodeReport], Value]:
        return lambda c: read(c.transfer) if c.transfer is not None else None

    spec: list[tuple[str, Syntax, str, Callable[[NodeReport], Value]]] = [
        ("galeraTransferRole", s.INTEGER, "INTEGER", lambda c: TRANSFER_ROLE[c.transfer and c.transfer.role]),
        ("galeraTransferState", s.INTEGER, "INTEGER", lambda c: TRANSFER_STATE[c.transfer and c.transfer.state]),
        ("galeraTransferMethod", s.OCTET_STRING, "GaleraUtf8String", of(lambda t: t.method)),
        ("galeraTransferPeer", s.OCTET_STRING, "GaleraUtf8String", of(lambda t: t.peer)),
        ("galeraTransferUnit", s.INTEGER, "INTEGER", lambda c: TRANSFER_UNIT[c.transfer and c.transfer.unit]),
        ("galeraTransferDone", s.COUNTER64, "GaleraGauge64", of(lambda t: t.done)),
        ("galeraTransferExpected", s.COUNTER64, "GaleraGauge64", of(lambda t: t.expected)),
        ("galeraTransferPercent", s.GAUGE32, "Gauge32", of(lambda t: t.percent)),
        ("galeraTransferRate", s.GAUGE32, "Gauge32",
         of(lambda t: round(t.rate) if t.rate is not None and t.live else None)),
        ("galeraTransferTimeLeft", s.GAUGE32, "Gauge32", of(lambda t: t.seconds_left if t.live else None)),
        ("galeraTransferSeconds", s.GAUGE32, "Gauge32", of(lambda t: t.seconds)),
        ("galeraTransferStill", s.GAUGE32, "Gauge32", of(lambda t: t.still)),
        ("galeraTransferStarted", s.COUNTER64, "GaleraGauge64", of(lambda t: int(t.started))),
    ]
    return [MibObject(name, (*TRANSFER, i), syntax, t, read) for i, (name, syntax, t, read) in enumerate(spec, 1)]


SCALARS: tuple[MibObject, ...] = (
    *_node_objects(), *_agent_objects(), *_wsrep_objects(), *_derived_objects(), *_rejoin_objects(),
    *_transfer_objects(),
)

# galeraMemberEntry columns (galeraMemberIndex, column 1, is the not-accessible index).
MEMBER_COLUMNS = (
    ("galeraMemberUUID", 2, "DisplayString", "uuid"),
    ("galeraMemberName", 3, "GaleraUtf8String", "name"),
    ("galeraMemberAddress", 4, "DisplayString", "address"),
    ("galeraMemberClusterUUID", 5, "DisplayString", "cluster_uuid"),
)

BY_NAME: dict[str, MibObject] = {obj.name: obj for obj in SCALARS}


def encode(syntax: Syntax, value: object) -> int | bytes | None:
    """A value fit for the wire, or None when it cannot be represented (never raises).

    Gauges latch at their maximum (RFC 2578 7.1.7); strings are UTF-8, cut at a character
    boundary to 255 octets; anything else out of range is not served rather than wrapped.
    """
    if syntax is Syntax.OCTET_STRING:
        if not isinstance(value, str):
            return None
        data = value.encode("utf-8", "replace")
        return data[:MAX_STRING].decode("utf-8", "ignore").encode() if len(data) > MAX_STRING else data
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    if syntax is Syntax.INTEGER:
        return value if MIN_INT32 <= value <= MAX_INT32 else None
    if syntax is Syntax.GAUGE32:
        return min(value, MAX_UINT32) if value >= 0 else None
    return value if 0 <= value <= MAX_UINT64 else None


def render(ctx: NodeReport) -> list[tuple[OID, Syntax, int | bytes]]:
    """Every instance the agent serves for this context, in lexicographic OID order."""
    rows: list[tuple[OID, Syntax, int | bytes]] = []
    for obj in SCALARS:
        try:
            value = encode(obj.syntax, obj.read(ctx))
        except (KeyError, TypeError, ValueError, OverflowError):
            value = None  # a reader that cannot cope with odd data serves nothing, not garbage
        if value is not None:
            rows.append(((*obj.oid, 0), obj.syntax, value))
    for _name, column, _type, attribute in MEMBER_COLUMNS:
        for index, member in enumerate(ctx.state.members or (), 1):
            value = encode(Syntax.OCTET_STRING, getattr(member, attribute))
            if value is not None:
                rows.append(((*MEMBER_ENTRY, column, index), Syntax.OCTET_STRING, value))
    rows.sort(key=lambda row: row[0])
    return rows


# --- reading a node back from its GALERA-MIB values (check_galera, galera-init, status) --------


_CLUSTER_STATUS_WORDS = {1: "Primary", 2: "non-Primary", 3: "Disconnected"}
def _reverse(mapping: dict[Any, int]) -> dict[int, Any]:
    return {number: key for key, number in mapping.items()}


def read_node(values: Mapping[OID, object], members: tuple[Member, ...] | None = None) -> NodeReport:
    """The inverse of render(): what a node's agent says about it, from GET answers keyed by
    instance OID. Anything missing, of the wrong type or out of range reads as unknown: garbage
    from a peer never becomes a number."""

    def raw(name: str) -> object:
        return values.get((*BY_NAME[name].oid, 0))

    def number(name: str) -> int | None:
        """An integer in the range of the object's wire type, else None."""
        value = raw(name)
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        return value if encode(BY_NAME[name].syntax, value) == value else None

    def text(name: str) -> str | None:
        value = raw(name)
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else None

    def truth(name: str) -> bool | None:
        return {TRUE: True, FALSE: False}.get(number(name))  # type: ignore[arg-type]

    status = _reverse(STATUS).get(number("galeraStatus"), Status.UNKNOWN)
    position = Position(text("galeraStateUUID"), safe_to_bootstrap=truth("galeraSafeToBootstrap"))
    source = _reverse(SEQNO_SOURCE).get(number("galeraSeqnoSource"), SeqnoSource.UNKNOWN)
    seqno = number("galeraSeqno")
    if seqno is not None and seqno <= SEQNO_MAX and source is not SeqnoSource.UNKNOWN:
        position = replace(position, seqno=seqno, source=source)
    local_state = number("galeraLocalState")
    wsrep: dict[str, WsrepValue] = {}
    for obj in SCALARS:
        name = _WSREP_BY_OBJECT.get(obj.name)
        value = number(obj.name)
        if name is None or value is None:
            continue
        scale = _RATIO_SCALE.get(name)
        parsed: int | float = value / scale if scale else value
        wsrep[name] = WsrepValue(kind_of(name, str(parsed)), str(parsed), parsed)
    state = NodeState(
        taken_at=time.time(),
        status=status,
        reason=text("galeraStatusReason") or "",
        position=position,
        local_state=local_state if local_state in (1, 2, 3, 4) else None,
        local_state_comment=text("galeraLocalStateComment"),
        cluster_status=_CLUSTER_STATUS_WORDS.get(number("galeraClusterStatus")),  # type: ignore[arg-type]
        cluster_size=number("galeraClusterSize"),
        cluster_state_uuid=text("galeraClusterStateUUID"),
        cluster_conf_id=number("galeraClusterConfId"),
        ready=truth("galeraReady"),
        connected=truth("galeraConnected"),
        desync=truth("galeraDesync"),
        reject_queries=_reverse(REJECT_QUERIES).get(number("galeraRejectQueries")),  # type: ignore[arg-type]
        node_name=text("galeraNodeName"),
        cluster_name=text("galeraClusterName"),
        drained=truth("galeraDrained") is True,
        left_history=left if (left := text("galeraLeftHistory")) and is_uuid(left) else None,
        promotion=text("galeraLastPromotion"),
        read_only=truth("galeraReadOnly"),
        maint_mode=text("galeraMaintMode"),
        donor_rejects_queries=truth("galeraDonorRejectsQueries"),
        seen_position=_seen(text("galeraSeenPosition")),
        members=members,
        wsrep=MappingProxyType(wsrep),
    )
    # GALERA-MIB carries the verdict and its words, not the rule's step: UNCLASSIFIED, never a guess from the words
    health = Health(truth("galeraHealthy"), text("galeraHealthReason") or "the agent gave no reason",
                    HealthCode.UNCLASSIFIED)
    digest, listed = text("galeraNodeSetDigest"), text("galeraNodeSet")
    node_set = None
    if digest is not None and len(digest) == NODE_SET_DIGEST_DIGITS and set(digest) <= set("0123456789abcdef"):
        node_set = NodeSet(digest, tuple(listed.split(",")) if listed else ())
    return NodeReport(state, health, truth("galeraDataValid"), number("galeraDataAge"), text("galeraLastError") or "",
                      node_set, text("galeraSiteAdvice"), writer_of(truth("galeraWriter")),
                      evictions=number("galeraEvictions"), last_eviction=text("galeraLastEviction"),
                      rejoin=_rejoin(_reverse(REJOIN_METHOD).get(number("galeraRejoinMethod")),
                                     text("galeraRejoinReason"), text("galeraRejoinDonor"),
                                     number("galeraRejoinWriteSetsLeft"), number("galeraRejoinTimeLeft")),
                      transfer=_transfer(number, text))


def _rejoin(method: RejoinMethod | None, reason: str | None, donor: str | None, write_sets_left: int | None,
            seconds_left: int | None) -> Rejoin | None:
    """The galeraRejoin objects read back; None when the agent forecasts nothing (no peer watch)."""
    if method is None or reason is None:
        return None
    if method is not RejoinMethod.IST:
        return Rejoin(method, reason)
    return Rejoin(method, reason, donor, write_sets_left, seconds_left)


def _transfer(number: Callable[[str], int | None], text: Callable[[str], str | None]) -> Transfer | None:
    """The galeraTransfer objects read back; None when the agent reports no transfer (or garbage)."""
    role = _reverse(TRANSFER_ROLE).get(number("galeraTransferRole"))
    state = _reverse(TRANSFER_STATE).get(number("galeraTransferState"))
    unit = _reverse(TRANSFER_UNIT).get(number("galeraTransferUnit"))
    seconds, still = number("galeraTransferSeconds"), number("galeraTransferStill")
    if role is None or state is None or unit is None or seconds is None or still is None:
        return None
    rate, started = number("galeraTransferRate"), number("galeraTransferStarted")
    return Transfer(role, state, text("galeraTransferMethod") or "unknown", unit,
                    float(started) if started is not None else time.time() - seconds, seconds,
                    still, text("galeraTransferPeer"), number("galeraTransferDone"), number("galeraTransferExpected"),
                    None if rate is None else float(rate), number("galeraTransferTimeLeft"))


def writer_of(flag: bool | None) -> Health | None:
    """galeraWriter read back: the verdict without its reason (the agent's HTTP /writer gives that)."""
    if flag is None:
        return None
    if flag:
        return Health(True, "the writer", HealthCode.WRITER)
    return Health(False, "not the writer", HealthCode.NOT_WRITER)


def read_members(rows: Mapping[OID, object]) -> tuple[Member, ...]:
    """galeraMemberTable rows (walk answers keyed by instance OID) as Members, by index."""
    columns = {column: attribute for _, column, _, attribute in MEMBER_COLUMNS}
    found: dict[int, dict[str, str]] = {}
    for oid, value in rows.items():
        if len(oid) != len(MEMBER_ENTRY) + 2 or oid[: len(MEMBER_ENTRY)] != MEMBER_ENTRY:
            continue
        column, index = oid[-2], oid[-1]
        if column in columns and isinstance(value, bytes):
            found.setdefault(index, {})[columns[column]] = value.decode("utf-8", "replace")
    fields = [attribute for _, _, _, attribute in MEMBER_COLUMNS]
    return tuple(
        Member(**{f: row.get(f, "") for f in fields}) for _, row in sorted(found.items())  # type: ignore[arg-type]
    )


_WSREP_BY_OBJECT = {_camel(name): name for name in (*COUNTER_NAMES, *GAUGE_NAMES, "wsrep_local_cached_downto")} | {
    _camel(name): name for name, _, _ in RATIO_SPECS
}
_RATIO_SCALE = {name: scale for name, scale, _ in RATIO_SPECS}


def wsrep_object_names() -> dict[str, str]:
    """The objects that carry one wsrep status value (scaled if a float): object name -> wsrep name."""
    return dict(_WSREP_BY_OBJECT)
