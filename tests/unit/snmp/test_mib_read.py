"""mib.read_node is the inverse of mib.render, and garbage from a peer never becomes a value."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from support import DONATING, synced_state, wsrep_values

from galera_snmp.record import replace
from galera_snmp.snmp import mib
from galera_snmp.snmp.client import Missing
from galera_snmp.snmp.mib import BY_NAME, read_members, read_node, render
from galera_snmp.state import (
    SEQNO_MAX,
    ZERO_UUID,
    Health,
    Member,
    MysqlFailure,
    NodeReport,
    NodeSet,
    NodeState,
    Position,
    ProcessState,
    SeqnoSource,
    Status,
    TransferState,
)

UUID = "cf45eb64-e601-11f1-9293-5ec05f0f5611"
MEMBERS = (
    Member("a1", "node1", "127.0.0.11:3306", UUID),
    Member("b2", "nöde2", "127.0.0.12:3306", UUID),
)


def served(ctx: NodeReport) -> dict[tuple[int, ...], object]:
    return {oid: value for oid, _, value in render(ctx)}


def synced(**overrides: object) -> NodeState:
    fields: dict[str, object] = {
        "taken_at": 1.0,
        "position": Position(UUID, 2**40 + 7, SeqnoSource.LIVE, False),
        "pid": None,
        "cluster_conf_id": 7,
        "node_name": "nöde1",
        "cluster_name": "prod",
        "members": MEMBERS,
        "wsrep": wsrep_values(
            wsrep_local_cert_failures="12",
            wsrep_flow_control_paused_ns=str(2**63 + 5),
            wsrep_local_recv_queue="4",
            wsrep_flow_control_paused="0.25",
        ),
    }
    fields.update(overrides)
    return synced_state(**fields)


def test_round_trip_keeps_every_served_fact() -> None:
    state = synced()
    remote = read_node(served(NodeReport(state, Health(True, "Synced, Primary, ready"), True, 3)))
    got = remote.state
    for field in (
        "status", "reason", "position", "local_state",
        "local_state_comment", "cluster_status", "cluster_size", "cluster_state_uuid", "cluster_conf_id", "ready",
        "connected", "desync", "reject_queries", "node_name", "cluster_name", "drained",
    ):
        assert getattr(got, field) == getattr(state, field), field
    assert remote.health == Health(True, "Synced, Primary, ready")
    assert (remote.valid, remote.age) == (True, 3)
    assert got.wsrep["wsrep_local_cert_failures"].value == 12
    assert got.wsrep["wsrep_flow_control_paused_ns"].value == 2**63 + 5
    assert got.wsrep["wsrep_local_recv_queue"].value == 4
    assert got.wsrep["wsrep_flow_control_paused"].value == 0.25


def test_a_transfer_reads_back_as_published_and_none_when_there_is_none() -> None:
    report = NodeReport(synced(), Health(True, "ok"), True, 0, transfer=DONATING)
    back = read_node(served(report)).transfer
    assert back == replace(DONATING, started=float(int(DONATING.started)))  # whole seconds on the wire
    assert read_node(served(NodeReport(synced(), Health(True, "ok"), True, 0))).transfer is None
    ended = replace(DONATING, state=TransferState.COMPLETE, rate=None, seconds_left=None)
    assert read_node(served(replace(report, transfer=ended))).transfer == replace(
        ended, started=float(int(DONATING.started)))


def test_members_round_trip() -> None:
    rows = {oid: value for oid, _, value in render(NodeReport(synced(), Health(True, "ok"), True, 0))}
    assert read_members(rows) == MEMBERS


def test_unknown_seqno_reads_as_minus_one() -> None:
    state = synced(position=Position(UUID, safe_to_bootstrap=False), status=Status.STOPPED,
                   mysql_failure=MysqlFailure.REFUSED, process=ProcessState.ABSENT)
    remote = read_node(served(NodeReport(state, Health(False, "stopped"), True, 0)))
    assert remote.state.position == Position(UUID, -1, SeqnoSource.UNKNOWN, False)
    assert remote.state.status is Status.STOPPED


def test_garbage_from_a_peer_is_unknown_not_a_value() -> None:
    def oid(name: str) -> tuple[int, ...]:
        return (*BY_NAME[name].oid, 0)

    garbage = {
        oid("galeraStatus"): b"running",  # a string where an enumeration belongs
        oid("galeraSeqno"): b"12345",  # a seqno string
        oid("galeraSeqnoSource"): 1,
        oid("galeraClusterSize"): Missing("NoSuchObject"),
        oid("galeraLocalState"): 77,
        oid("galeraClusterStatus"): 99,
        oid("galeraStateUUID"): 12,
        oid("galeraHealthy"): True,  # a bool is not an SNMP integer
    }
    remote = read_node(garbage)
    assert remote.state.status is Status.UNKNOWN
    assert remote.state.position == Position()
    assert remote.state.cluster_size is None
    assert remote.state.local_state is None
    assert remote.state.cluster_status is None
    assert remote.health.healthy is None
    assert remote.valid is None


@settings(max_examples=200)
@given(
    st.dictionaries(
        st.sampled_from([(*obj.oid, 0) for obj in mib.SCALARS]),
        st.one_of(st.integers(-(2**70), 2**70), st.binary(max_size=40), st.none(), st.booleans(),
                  st.builds(Missing, st.sampled_from(["NoSuchObject", "NoSuchInstance", "EndOfMibView"]))),
    )
)
def test_read_node_never_raises(values: dict[tuple[int, ...], object]) -> None:
    remote = read_node(values)
    state = remote.state
    if state.position.source is SeqnoSource.UNKNOWN:
        assert state.position.seqno == -1
    else:
        assert 0 <= state.position.seqno <= 2**63 - 1
    sent = values.get((*mib.BY_NAME["galeraStatus"].oid, 0))
    if isinstance(sent, int) and not isinstance(sent, bool):  # a bool is not an SNMP integer
        expected = next((status for status, number in mib.STATUS.items() if number == sent), Status.UNKNOWN)
    else:
        expected = Status.UNKNOWN
    assert state.status is expected
    assert state.cluster_size is None or 0 <= state.cluster_size < 2**32
    assert remote.age is None or 0 <= remote.age < 2**32


# --- the position: one value, the same on both sides -------------------------------------------

_safe = st.one_of(st.booleans(), st.none())
_known_positions = st.builds(
    Position,
    st.one_of(st.uuids().map(str), st.just(UUID)),
    st.integers(0, SEQNO_MAX),
    st.sampled_from([SeqnoSource.LIVE, SeqnoSource.GRASTATE, SeqnoSource.RECOVERED]),
    _safe,
)
# Unknown: no seqno and no source, but grastate.dat's UUID (any it holds, even Galera's zero) and flag.
_unknown_positions = st.builds(
    Position, st.one_of(st.none(), st.just(ZERO_UUID), st.uuids().map(str)), safe_to_bootstrap=_safe
)


@settings(max_examples=200)
@given(st.one_of(_known_positions, _unknown_positions))
def test_a_position_reads_back_equal(position: Position) -> None:
    """Every position a snapshot holds (known with its source, or unknown) crosses GALERA-MIB
    unchanged, so the known-position rule answers the same on the agent's side and the reader's."""
    remote = read_node(served(NodeReport(synced(position=position), Health(True, "ok"), True, 0)))
    assert remote.state.position == position
    assert remote.state.position.is_known is position.is_known



# --- the node set ----------------------------------------------------------------------------

NODE_SET = NodeSet("c77f8cedecd9b486", ("10.0.0.11", "10.0.0.12", "10.0.0.13"))


def test_the_node_set_reads_back_equal() -> None:
    remote = read_node(served(NodeReport(synced(), Health(True, "ok"), True, 0, "", NODE_SET)))
    assert remote.node_set == NODE_SET
    assert read_node(served(NodeReport(synced(), Health(True, "ok"), True, 0))).node_set is None


def test_a_list_cut_short_reads_as_what_was_served() -> None:
    """The digest stays whole; galera-init sees that the list does not match it."""
    nodes = tuple(f"db{i:02}.galera.example.org" for i in range(12))
    long = NodeSet("0123456789abcdef", nodes)  # 12 * 23 octets + 11 commas = 287
    remote = read_node(served(NodeReport(synced(), Health(True, "ok"), True, 0, "", long)))
    assert remote.node_set == NodeSet("0123456789abcdef", (*nodes[:10], "db10.galera.exa"))


def test_a_digest_that_is_not_16_lowercase_hex_digits_is_no_node_set() -> None:
    good = served(NodeReport(synced(), Health(True, "ok"), True, 0, "", NODE_SET))
    digest = (*BY_NAME["galeraNodeSetDigest"].oid, 0)
    for garbage in (b"C77F8CEDECD9B486", b"c77f8cedecd9b48", b"c77f8cedecd9b4867", b"0x7f8cedecd9b486", 5,
                    Missing("NoSuchInstance")):
        assert read_node({**good, digest: garbage}).node_set is None, garbage
