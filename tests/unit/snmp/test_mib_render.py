"""mib.render: every served value is valid on the wire, whatever the snapshot holds."""

from __future__ import annotations

import itertools
import math
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import DONATING, synced_state

from galera_snmp.snmp.agentx import encode_varbind
from galera_snmp.snmp.mib import (
    BY_NAME,
    COUNTER_NAMES,
    GAUGE_NAMES,
    MEMBER_ENTRY,
    RATIO_SPECS,
    REJOIN,
    SCALARS,
    STATUS,
    TRANSFER,
    encode,
    render,
)
from galera_snmp.snmp.types import Syntax
from galera_snmp.state import (
    Health,
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
    WindowStats,
)
from galera_snmp.wsrep import Kind, WsrepValue, classify

UUID = "cf45eb64-e601-11f1-9293-5ec05f0f5611"
OTHER_UUID = "0b1c2d3e-0000-11f1-8000-000000000001"  # a history the node left
MEMBERS = (
    Member("11111111-0000-0000-0000-000000000001", "node1", "127.0.0.11:3306", UUID),
    Member("11111111-0000-0000-0000-000000000002", "node2", "127.0.0.12:3306", UUID),
    Member("11111111-0000-0000-0000-000000000003", "node3", "127.0.0.13:3306", UUID),
)
WSREP_RAW = {
    "wsrep_replicated": "1234",
    "wsrep_received_bytes": "18446744073709551615",
    "wsrep_local_send_queue": "0",
    "wsrep_local_recv_queue_max": "7",
    "wsrep_local_index": "0",
    "wsrep_local_cached_downto": "5",
    "wsrep_flow_control_paused": "1.42823e-05",
    "wsrep_local_send_queue_avg": "0.5",
    "wsrep_local_recv_queue_avg": "0.000000",
    "wsrep_cert_deps_distance": "1.25",
    "wsrep_cluster_status": "Primary",
}


def wsrep(**raw: str) -> dict[str, WsrepValue]:
    return {name: classify(name, value) for name, value in raw.items()}


def node_state(**changes) -> NodeState:
    fields = {"cluster_name": "galera-sandbox", "members": MEMBERS, "wsrep": wsrep(**WSREP_RAW)}
    fields.update(changes)
    fields["wsrep"] = MappingProxyType(dict(fields["wsrep"]))
    return synced_state(**fields)


NODE_SET = NodeSet("c77f8cedecd9b486", ("10.0.0.11", "10.0.0.12", "10.0.0.13"))


def context(health: Health | None = None, valid: bool = True, age: int = 0, node_set: NodeSet | None = NODE_SET, *,
            site_advice: str | None = None, window: WindowStats | None = None, evictions: int | None = None,
            last_eviction: str | None = None, rejoin: Rejoin | None = None, transfer: Transfer | None = None,
            **changes) -> NodeReport:
    return NodeReport(node_state(**changes), health or Health(True, "Synced, Primary, ready"), valid, age, "",
                      node_set, site_advice, window=window, evictions=evictions, last_eviction=last_eviction,
                      rejoin=rejoin, transfer=transfer)


def served(ctx: NodeReport) -> dict[tuple[int, ...], tuple[Syntax, int | bytes]]:
    rows = render(ctx)
    assert_valid(rows)
    return {oid: (syntax, value) for oid, syntax, value in rows}


def scalar(name: str) -> tuple[int, ...]:
    return (*BY_NAME[name].oid, 0)


def value_of(ctx: NodeReport, name: str) -> int | bytes | None:
    row = served(ctx).get(scalar(name))
    if row is None:
        return None
    assert row[0] is BY_NAME[name].syntax
    return row[1]


def assert_valid(rows) -> None:
    """Strictly increasing OIDs, and every value in its type's range and encodable."""
    oids = [oid for oid, _, _ in rows]
    assert all(a < b for a, b in itertools.pairwise(oids)), "OIDs not strictly increasing"
    for oid, syntax, value in rows:
        if syntax is Syntax.OCTET_STRING:
            assert isinstance(value, bytes)
            assert len(value) <= 255
            value.decode("utf-8")  # valid UTF-8
        else:
            assert type(value) is int, (oid, value)
            low, high = {
                Syntax.INTEGER: (-(2**31), 2**31 - 1),
                Syntax.GAUGE32: (0, 2**32 - 1),
                Syntax.COUNTER64: (0, 2**64 - 1),
            }[syntax]
            assert low <= value <= high, (oid, value)
        encode_varbind(oid, syntax, value)  # never raises for a served row


# --- the good case ---------------------------------------------------------------------------


def test_render_serves_a_synced_node():
    values = served(context())
    assert values[scalar("galeraStatus")] == (Syntax.INTEGER, 5)
    assert values[scalar("galeraStatusReason")] == (Syntax.OCTET_STRING, b"Primary, local state 4 (Synced)")
    assert values[scalar("galeraSeqno")] == (Syntax.COUNTER64, 17)
    assert values[scalar("galeraSeqnoText")] == (Syntax.OCTET_STRING, b"17")
    assert values[scalar("galeraSeqnoSource")] == (Syntax.INTEGER, 1)
    assert values[scalar("galeraLocalState")] == (Syntax.INTEGER, 4)
    assert values[scalar("galeraClusterStatus")] == (Syntax.INTEGER, 1)
    assert values[scalar("galeraClusterSize")] == (Syntax.GAUGE32, 3)
    assert values[scalar("galeraReady")] == (Syntax.INTEGER, 1)
    assert values[scalar("galeraDesync")] == (Syntax.INTEGER, 2)
    assert values[scalar("galeraSafeToBootstrap")] == (Syntax.INTEGER, 2)
    assert values[scalar("galeraRejectQueries")] == (Syntax.INTEGER, 1)
    assert values[scalar("galeraHealthy")] == (Syntax.INTEGER, 1)
    assert values[scalar("galeraDataValid")] == (Syntax.INTEGER, 1)
    assert values[scalar("galeraDataAge")] == (Syntax.GAUGE32, 0)
    assert values[scalar("galeraLastError")] == (Syntax.OCTET_STRING, b"")
    assert values[scalar("galeraReplicated")] == (Syntax.COUNTER64, 1234)
    assert values[scalar("galeraReceivedBytes")] == (Syntax.COUNTER64, 2**64 - 1)
    assert values[scalar("galeraLocalRecvQueueMax")] == (Syntax.GAUGE32, 7)
    assert values[scalar("galeraLocalCachedDownto")] == (Syntax.COUNTER64, 5)
    assert values[scalar("galeraCertDepsDistance")] == (Syntax.GAUGE32, 1250)
    assert values[(*MEMBER_ENTRY, 3, 2)] == (Syntax.OCTET_STRING, b"node2")
    assert values[(*MEMBER_ENTRY, 4, 3)] == (Syntax.OCTET_STRING, b"127.0.0.13:3306")
    assert values[(*MEMBER_ENTRY, 2, 1)] == (Syntax.OCTET_STRING, MEMBERS[0].uuid.encode())
    assert values[(*MEMBER_ENTRY, 5, 1)] == (Syntax.OCTET_STRING, UUID.encode())
    assert len([oid for oid in values if oid[: len(MEMBER_ENTRY)] == MEMBER_ENTRY]) == 4 * 3


def test_render_oids_strictly_increase_and_tables_sit_between_the_scalars_by_oid():
    rows = render(context(rejoin=Rejoin(RejoinMethod.IST, "5 write-sets from node2", "node2", 40, 300)))
    oids = [oid for oid, _, _ in rows]
    assert all(a < b for a, b in itertools.pairwise(oids))
    # table rows come column by column (column 2 for every member, then column 3, ...)
    table = [oid[len(MEMBER_ENTRY) :] for oid in oids if oid[: len(MEMBER_ENTRY)] == MEMBER_ENTRY]
    assert table == [(column, index) for column in (2, 3, 4, 5) for index in (1, 2, 3)]
    after = oids[oids.index((*MEMBER_ENTRY, 5, 3)) + 1 :]  # galeraRejoin (galeraObjects 8) follows the table (6)
    # then galeraTransfer (9): without a transfer, its enumerations only (role, state, unit: none)
    assert after == [(*REJOIN, column, 0) for column in (1, 2, 3, 4, 5)] + [(*TRANSFER, c, 0) for c in (1, 2, 5)]


def test_every_scalar_is_served_for_a_complete_snapshot():
    full = {name: "1" for name in (*COUNTER_NAMES, *GAUGE_NAMES, "wsrep_local_cached_downto")}
    full.update({name: "0.25" for name, _, _ in RATIO_SPECS})
    full.update(wsrep_last_committed="40", wsrep_evs_repl_latency="0.000178/0.000391/0.00061/0.0001/5",
                wsrep_provider_name="Galera", wsrep_provider_version="26.4.16(r7dce5149)")
    window = WindowStats(60.0, 0.5, 0.25, 12.5, 3.2)
    values = served(context(wsrep=wsrep(**full), left_history=OTHER_UUID, promotion="make-primary: 10.0.0.11",
                            site_advice="site east (10.0.0.11) silent for 75 s", maint_mode="DISABLED",
                            gcache_size=128 << 20, window=window, seen_position=Position(OTHER_UUID, 38),
                            evictions=1, last_eviction="2026-12-06 09:00:00: a member evicted",
                            rejoin=Rejoin(RejoinMethod.IST, "2 write-sets from node2", "node2", 30, 600),
                            transfer=DONATING))
    missing = [obj.name for obj in SCALARS if scalar(obj.name) not in values]
    assert missing == []


def test_derived_values_are_served_in_their_units():
    values = served(context(wsrep=wsrep(wsrep_evs_repl_latency="0.000178/0.000391/0.00061/0.0001/5",
                                        wsrep_last_committed="40", wsrep_local_cached_downto="11"),
                            gcache_size=128 << 20, window=WindowStats(42.0, 1.5, None, 2.5, 12.0)))
    assert values[scalar("galeraEvsReplLatencyAvg")] == (Syntax.GAUGE32, 391)  # microseconds
    assert values[scalar("galeraEvsReplLatencySamples")] == (Syntax.GAUGE32, 5)
    assert values[scalar("galeraGcacheSize")] == (Syntax.COUNTER64, 128 << 20)
    assert values[scalar("galeraGcacheWriteSets")] == (Syntax.GAUGE32, 30)
    assert values[scalar("galeraRecvQueueWindowAvg")] == (Syntax.GAUGE32, 1500)
    assert values[scalar("galeraWriteSetsPerSecond")] == (Syntax.GAUGE32, 2500)
    assert scalar("galeraSendQueueWindowAvg") not in values  # not known: not instantiated
    bare = served(context())
    assert not any(scalar(name) in bare for name in ("galeraWindowSeconds", "galeraGcacheSize",
                                                     "galeraEvsReplLatencyMin"))


def test_the_left_history_is_served_only_when_there_is_one():
    assert value_of(context(), "galeraLeftHistory") is None
    assert value_of(context(left_history=OTHER_UUID), "galeraLeftHistory") == OTHER_UUID.encode()
    assert value_of(context(left_history=OTHER_UUID), "galeraHistoryReset") == 1  # true: the same words everywhere


# --- seqno -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seqno", "source"),
    [(-1, SeqnoSource.UNKNOWN), (-1, SeqnoSource.GRASTATE), (42, SeqnoSource.UNKNOWN)],
)
def test_unknown_seqno_is_not_served_but_its_text_is(seqno, source):
    values = served(context(position=Position(UUID, seqno, source)))
    assert scalar("galeraSeqno") not in values
    assert values[scalar("galeraSeqnoText")] == (Syntax.OCTET_STRING, str(seqno).encode())
    if seqno == -1:
        assert values[scalar("galeraSeqnoText")][1] == b"-1"


@pytest.mark.parametrize("seqno", [2**31 - 1, 2**31 + 5, 2**32 + 7, 2**63 + 1, 2**64 - 1])
def test_big_seqno_is_served_exactly_as_counter64(seqno):
    values = served(context(position=Position(UUID, seqno, SeqnoSource.RECOVERED)))
    assert values[scalar("galeraSeqno")] == (Syntax.COUNTER64, seqno)
    assert values[scalar("galeraSeqnoText")] == (Syntax.OCTET_STRING, str(seqno).encode())
    assert values[scalar("galeraSeqnoSource")] == (Syntax.INTEGER, 3)


# --- enumerations ----------------------------------------------------------------------------

# The numbers are the MIB's contract: written out here, not read from mib.STATUS.
STATUS_NUMBERS = {
    "stopped": 1,
    "initiating": 2,
    "bootstrapping": 3,
    "joining": 4,
    "running": 5,
    "nonprimary": 6,
    "blocked": 7,
    "unknown": 8,
}


@pytest.mark.parametrize("status", list(Status))
def test_status_words_map_to_the_mib_numbers(status):
    assert STATUS[status] == STATUS_NUMBERS[status.value]
    assert value_of(context(status=status), "galeraStatus") == STATUS_NUMBERS[status.value]


def test_status_table_is_complete_and_one_to_one():
    assert set(STATUS) == set(Status)
    assert sorted(STATUS.values()) == list(range(1, 9))


@pytest.mark.parametrize(
    ("cluster_status", "number"),
    [
        ("Primary", 1),
        ("primary", 1),
        ("non-Primary", 2),
        ("NON-PRIMARY", 2),
        ("Disconnected", 3),
        (None, 4),
        ("", 4),
        ("primary?", 4),
    ],
)
def test_cluster_status(cluster_status, number):
    assert value_of(context(cluster_status=cluster_status), "galeraClusterStatus") == number


@pytest.mark.parametrize(
    ("reject", "number"), [("NONE", 1), ("none", 1), ("ALL", 2), ("ALL_KILL", 3), (None, 4), ("SOME", 4)]
)
def test_reject_queries(reject, number):
    assert value_of(context(reject_queries=reject), "galeraRejectQueries") == number


@pytest.mark.parametrize(("truth", "number"), [(True, 1), (False, 2), (None, 3)])
def test_tri_states(truth, number):
    ctx = context(ready=truth, connected=truth, desync=truth, position=Position(UUID, 17, SeqnoSource.LIVE, truth),
                  health=Health(truth, "x"))
    for name in ("galeraReady", "galeraConnected", "galeraDesync", "galeraSafeToBootstrap", "galeraHealthy"):
        assert value_of(ctx, name) == number, name


@pytest.mark.parametrize(("local_state", "number"), [(1, 1), (2, 2), (3, 3), (4, 4), (0, 0), (5, 0), (None, 0)])
def test_local_state(local_state, number):
    assert value_of(context(local_state=local_state), "galeraLocalState") == number


def test_seqno_source_numbers():
    numbers = {SeqnoSource.LIVE: 1, SeqnoSource.GRASTATE: 2, SeqnoSource.RECOVERED: 3, SeqnoSource.UNKNOWN: 4}
    for source, number in numbers.items():
        assert value_of(context(position=Position(UUID, 17, source)), "galeraSeqnoSource") == number


def test_invalid_data_is_flagged():
    ctx = NodeReport(node_state(), Health(False, "x"), valid=False, age=12, last_error="mysqld does not answer")
    values = served(ctx)
    assert values[scalar("galeraDataValid")] == (Syntax.INTEGER, 2)
    assert values[scalar("galeraDataAge")] == (Syntax.GAUGE32, 12)
    assert values[scalar("galeraLastError")] == (Syntax.OCTET_STRING, b"mysqld does not answer")


# --- ratios ----------------------------------------------------------------------------------


def test_ratios_are_scaled_and_rounded():
    ctx = context()
    assert value_of(ctx, "galeraFlowControlPaused") == 14  # 1.42823e-05 in ppm
    assert value_of(ctx, "galeraLocalSendQueueAvg") == 500  # 0.5 in thousandths
    assert value_of(ctx, "galeraLocalRecvQueueAvg") == 0
    ctx = context(wsrep=wsrep(wsrep_apply_oooe="0.125", wsrep_apply_window="2.375", wsrep_cert_interval="3"))
    assert value_of(ctx, "galeraApplyOooe") == 125_000
    assert value_of(ctx, "galeraApplyWindow") == 2375
    assert value_of(ctx, "galeraCertInterval") == 3000


@pytest.mark.parametrize("raw", ["-0.5", "nan", "inf", "1e400", "garbage", ""])
def test_bad_ratio_is_not_served(raw):
    assert value_of(context(wsrep=wsrep(wsrep_local_send_queue_avg=raw)), "galeraLocalSendQueueAvg") is None


def test_huge_ratio_latches_at_the_gauge_maximum():
    ctx = context(wsrep=wsrep(wsrep_cert_deps_distance="1e300"))
    assert value_of(ctx, "galeraCertDepsDistance") == 2**32 - 1


# --- bad data --------------------------------------------------------------------------------


def odd(name: str, value: object, kind: Kind = Kind.COUNTER) -> dict[str, WsrepValue]:
    return {name: WsrepValue(kind=kind, raw=str(value), value=value)}  # type: ignore[arg-type]


def test_float_where_an_int_is_expected_is_not_served():
    ctx = context(
        wsrep={
            **odd("wsrep_replicated", 1.5),
            **odd("wsrep_local_send_queue", 2.0, Kind.GAUGE),
            **odd("wsrep_local_recv_queue", math.nan, Kind.GAUGE),
            **odd("wsrep_received", "12", Kind.COUNTER),
            **odd("wsrep_local_commits", True, Kind.COUNTER),
            **wsrep(wsrep_received_bytes="10"),
        },
        cluster_size=2.5,
        cluster_conf_id=1.0,
    )
    values = served(ctx)
    for name in (
        "galeraReplicated",
        "galeraLocalSendQueue",
        "galeraLocalRecvQueue",
        "galeraReceived",
        "galeraLocalCommits",
        "galeraClusterSize",
        "galeraClusterConfId",
    ):
        assert scalar(name) not in values, name
    assert values[scalar("galeraReceivedBytes")] == (Syntax.COUNTER64, 10)
    assert scalar("galeraStatus") in values


def test_non_ascii_strings_are_utf8():
    name = "nöde✓-東京"
    ctx = context(node_name=name, members=(Member("u", "nœud", "[::1]:3306", UUID),))
    assert value_of(ctx, "galeraNodeName") == name.encode("utf-8")
    assert served(ctx)[(*MEMBER_ENTRY, 3, 1)] == (Syntax.OCTET_STRING, "nœud".encode())


@pytest.mark.parametrize("text", ["x" * 300, "é" * 150, "✓" * 100, "a" + "😀" * 75, "x" * 255])
def test_long_string_is_cut_at_a_character_boundary(text):
    value = value_of(context(reason=text), "galeraStatusReason")
    assert isinstance(value, bytes)
    assert len(value) <= 255
    decoded = value.decode("utf-8")  # valid UTF-8: no character cut in half
    assert text.startswith(decoded)
    # as much as fits: the next character would not have fitted
    if decoded != text:
        assert len(value) + len(text[len(decoded)].encode()) > 255


def test_lone_surrogate_is_replaced_not_raised():
    value = value_of(context(node_name="bad\udcffname"), "galeraNodeName")
    assert value == b"bad?name"


@pytest.mark.parametrize(
    ("value", "served_as"),
    [(2**64 + 5, None), (2**64, None), (2**64 - 1, 2**64 - 1), (2**63 + 5, 2**63 + 5), (-1, None), (0, 0)],
)
def test_counter_range(value, served_as):
    ctx = context(wsrep=odd("wsrep_replicated", value))
    assert value_of(ctx, "galeraReplicated") == served_as


@pytest.mark.parametrize(
    ("value", "served_as"),
    [(-1, None), (-(2**40), None), (2**32, 2**32 - 1), (2**40, 2**32 - 1), (2**32 - 1, 2**32 - 1), (5, 5)],
)
def test_gauge_range(value, served_as):
    ctx = context(wsrep=odd("wsrep_local_recv_queue", value, Kind.GAUGE), cluster_size=value)
    assert value_of(ctx, "galeraLocalRecvQueue") == served_as
    assert value_of(ctx, "galeraClusterSize") == served_as


@pytest.mark.parametrize(("value", "served_as"), [(2**31, None), (-(2**31) - 1, None), (-(2**31), -(2**31)), (7, 7)])
def test_integer32_range(value, served_as):
    assert value_of(context(cluster_conf_id=value), "galeraClusterConfId") == served_as


def test_gauge_printed_as_unsigned_minus_one_is_not_served():
    """Galera prints -1 as 2^64-1 for some gauges (wsrep_local_index when not in a component)."""
    ctx = context(wsrep=wsrep(wsrep_local_index="18446744073709551615", wsrep_local_send_queue="3"))
    assert value_of(ctx, "galeraLocalIndex") is None
    assert value_of(ctx, "galeraLocalSendQueue") == 3


def test_missing_wsrep_rows_are_absent_and_the_rest_present():
    values = served(context(wsrep={}))
    for name in (*COUNTER_NAMES, *GAUGE_NAMES, *(n for n, _, _ in RATIO_SPECS)):
        camel = "galera" + "".join(part.capitalize() for part in name.removeprefix("wsrep_").split("_"))
        assert scalar(camel) not in values, camel
    assert scalar("galeraLocalCachedDownto") not in values
    for name in ("galeraStatus", "galeraSeqno", "galeraNodeName", "galeraDataValid", "galeraHealthy"):
        assert scalar(name) in values, name
    assert (*MEMBER_ENTRY, 3, 1) in values


def test_none_strings_are_not_served():
    values = served(context(node_name=None, cluster_name=None, position=Position(seqno=17, source=SeqnoSource.LIVE),
                            local_state_comment=None))
    for name in ("galeraNodeName", "galeraClusterName", "galeraStateUUID", "galeraLocalStateComment"):
        assert scalar(name) not in values


@pytest.mark.parametrize("members", [None, ()])
def test_no_members_no_table_rows(members):
    values = served(context(members=members))
    assert not [oid for oid in values if oid[: len(MEMBER_ENTRY)] == MEMBER_ENTRY]
    assert scalar("galeraClusterSize") in values


def test_encode_never_serves_a_bool_or_a_float():
    for syntax in Syntax:
        assert encode(syntax, True) is None
        assert encode(syntax, 1.0) is None
        assert encode(syntax, None) is None
    assert encode(Syntax.OCTET_STRING, 5) is None


_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.binary(max_size=10),
)


@settings(max_examples=200, deadline=None)
@given(
    values=st.dictionaries(
        st.sampled_from([*COUNTER_NAMES, *GAUGE_NAMES, "wsrep_local_cached_downto", *(n for n, _, _ in RATIO_SPECS)]),
        _junk,
    ),
    text=st.text(max_size=400),
    number=st.integers(min_value=-(2**70), max_value=2**70) | st.none(),
    seqno=st.integers(min_value=-(2**70), max_value=2**70),
)
def test_render_never_raises_and_serves_only_valid_values(values, text, number, seqno):
    ctx = context(
        wsrep={name: WsrepValue(kind=Kind.TEXT, raw="", value=value) for name, value in values.items()},  # type: ignore[arg-type]
        node_name=text,
        reason=text,
        cluster_size=number,
        cluster_conf_id=number,
        local_state=number,
        position=Position(UUID, seqno, SeqnoSource.LIVE),
        members=(Member(text, text, text, text),),
    )
    rows = render(ctx)
    assert_valid(rows)
    oids = {oid for oid, _, _ in rows}
    assert scalar("galeraStatus") in oids


# --- the node set ------------------------------------------------------------------------------


def test_the_node_set_is_served_as_its_digest_and_its_list():
    values = served(context())
    assert values[scalar("galeraNodeSetDigest")] == (Syntax.OCTET_STRING, b"c77f8cedecd9b486")
    assert values[scalar("galeraNodeSet")] == (Syntax.OCTET_STRING, b"10.0.0.11,10.0.0.12,10.0.0.13")


def test_no_node_set_is_not_served():
    values = served(context(node_set=None))
    assert (values.get(scalar("galeraNodeSetDigest")), values.get(scalar("galeraNodeSet"))) == (None, None)


def test_a_long_node_set_list_is_cut_at_255_octets_and_its_digest_served_whole():
    nodes = tuple(f"db{i:02}.galera.example.org" for i in range(12))  # 12 * 23 octets + 11 commas = 287
    values = served(context(node_set=NodeSet("0123456789abcdef", nodes)))
    assert values[scalar("galeraNodeSet")] == (Syntax.OCTET_STRING, ",".join(nodes).encode()[:255])
    assert values[scalar("galeraNodeSetDigest")] == (Syntax.OCTET_STRING, b"0123456789abcdef")
