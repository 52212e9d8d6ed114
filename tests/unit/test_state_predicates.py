"""The predicates NodeState and Position give its consumers (issue "Layout, second step"): for each,
a table of cases with the property's answer, and every consumer that once re-derived it inline
giving the answer the property gives — so that none can drift from the rule again."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from nagiosplugin import Metric
from nagiosplugin.state import Critical, Ok
from support import node_report, synced_state

from galera_snmp.cluster.consistency import assess_cluster
from galera_snmp.cluster.sites import silent_site
from galera_snmp.cluster.writer import members_of
from galera_snmp.init.initiator import own_view, parse_position
from galera_snmp.init.promote import decide as promote
from galera_snmp.init.rule import Action, decide
from galera_snmp.init.views import NodeView, peer_view
from galera_snmp.nagios.checks import NodeContext, PrimaryContext
from galera_snmp.node.assemble import MysqlReading, Observation, assemble
from galera_snmp.node.galerafiles import GraState
from galera_snmp.node.history import KnownHistory, left_history
from galera_snmp.node.phase import PHASES
from galera_snmp.record import replace
from galera_snmp.state import (
    SEQNO_MAX,
    ZERO_UUID,
    Health,
    HealthPolicy,
    Member,
    MysqlFailure,
    Position,
    ProcessState,
    SeqnoSource,
    Status,
    assess_health,
    history_reset,
)

UUID = "cf45eb64-e601-11f1-9293-5ec05f0f5611"
FORCED = Position("d3076c0f-e601-11f1-9932-16750c4fa6b8", 40, SeqnoSource.GRASTATE)  # in no case below
OK = Health(True, "ok")  # the reports' verdict: each consumer's own reading of the state decides

# --- Position.is_stated: a real point, or a point in a reset history --------------------------------

STATED = [
    (Position(UUID, 0), True),
    (Position(UUID, SEQNO_MAX), True),
    (Position(UUID.upper(), 7), True),
    (Position(ZERO_UUID, 0), True),  # a reset history: stated, never elected
    (Position(ZERO_UUID, 40), True),
    (Position(UUID, -1), False),  # Galera's "no seqno"
    (Position(ZERO_UUID, -1), False),
    (Position(UUID, SEQNO_MAX + 1), False),
    (Position(ZERO_UUID, SEQNO_MAX + 1), False),
    (Position(None, 7), False),
    (Position("", 7), False),
    (Position(UUID[:-1], 7), False),
    (Position("g" + UUID[1:], 7), False),
    (Position(), False),
]


@pytest.mark.parametrize(("position", "stated"), STATED, ids=str)
def test_is_stated(position: Position, stated: bool) -> None:
    assert position.is_stated is stated
    assert position.is_stated is (position.is_known or position.is_reset)
    if position.is_reset:
        assert not position.is_known  # stated, but never a real point: the rules elect none


def own(position: Position) -> NodeView:
    """galera-init's view of this node, mysqld stopped, at ``position`` from grastate.dat."""
    state = synced_state(status=Status.STOPPED, cluster_status=None, position=position, sst_in_progress=False)
    return own_view(0, "10.0.0.11", state)


def peer(position: Position) -> NodeView:
    """A peer's current report at ``position``, read live."""
    report = node_report(position=position, health=OK)
    return peer_view(1, "10.0.0.12", report)


def recovered(position: Position) -> Position:
    """What the probe makes of a crashed, stopped node whose --wsrep-recover found ``position``."""
    observation = Observation(
        taken_at=1_700_000_000.0,
        reading=MysqlReading(failure=MysqlFailure.REFUSED, error="Can't connect (111)"),
        process=ProcessState.ABSENT,
        pid=None,
        grastate=GraState("2.1", Position(UUID, -1, SeqnoSource.GRASTATE, False)),
        sst_in_progress=False,
        gvwstate_present=False,
        phase=None,
        drained=False,
        recovered=position,
    )
    return assemble(observation, recover=True).position


def refuses_to_force(position: Position) -> bool:
    """Whether --force-bootstrap at FORCED is refused for a peer at ``position`` (another history)."""
    views = [NodeView(0, "10.0.0.11", Status.INITIATING, FORCED), NodeView(1, "10.0.0.12", Status.STOPPED, position)]
    decision = decide(0, views, elapsed=5.0, deadline=60.0, poll_period=2.0, force=FORCED)
    return decision.action is Action.BLOCKED and decision.reason.startswith("refusing to force")


def parses(text: str) -> bool:
    try:
        parse_position(text)
    except ValueError:
        return False
    return True


def consumers_of_is_stated(position: Position) -> dict[str, bool]:
    """What each consumer that asked ``is_known or is_reset`` inline answers for ``position``."""
    return {
        "own_view keeps it (grastate)": own(replace(position, source=SeqnoSource.GRASTATE)).position is not None,
        "own_view keeps it (recovered)": own(replace(position, source=SeqnoSource.RECOVERED)).position is not None,
        "views.peer_view counts it": peer(replace(position, source=SeqnoSource.LIVE)).position is not None,
        "assemble takes the recovered one": recovered(replace(position, source=SeqnoSource.RECOVERED)).source
        is SeqnoSource.RECOVERED,
        "rule: a forced bootstrap is refused for it": refuses_to_force(replace(position, source=SeqnoSource.GRASTATE)),
        "initiator.parse_position accepts it": parses(str(position)),
    }


@pytest.mark.parametrize(("position", "stated"), STATED, ids=str)
def test_every_consumer_of_is_stated_agrees(position: Position, stated: bool) -> None:
    assert consumers_of_is_stated(position) == dict.fromkeys(consumers_of_is_stated(position), stated)


_uuids = st.one_of(
    st.none(),
    st.sampled_from([UUID, UUID.upper(), ZERO_UUID]),
    st.uuids().map(str),
    st.text(alphabet="0123456789abcdefABCDEFG-", min_size=30, max_size=40),  # no blank, no colon: typed as is
)


@settings(max_examples=60, deadline=None)
@given(_uuids, st.integers(min_value=-(2**64), max_value=2**64))
def test_every_consumer_of_is_stated_agrees_anywhere(uuid: str | None, seqno: int) -> None:
    position = Position(uuid, seqno)
    answers = consumers_of_is_stated(position)
    assert answers == dict.fromkeys(answers, position.is_stated)


# --- NodeState.says_primary: mysqld says its component is Primary, whatever our status -------------

SAYS_PRIMARY = [
    ("Primary", True),
    ("non-Primary", False),
    ("Disconnected", False),
    (None, False),  # unknown: no claim
    ("primary", False),  # mysqld's word is compared as it writes it; GALERA-MIB carries the word unchanged
    ("", False),
    ("Primary ", False),
]
OTHER_UUID = "d3076c0f-e601-11f1-9932-16750c4fa6b8"
MEMBERS = (Member("m1", "node1", "10.0.0.11:3306", UUID),)


def consumers_of_says_primary(cluster_status: str | None) -> dict[str, bool]:
    """What each consumer that compared cluster_status with PRIMARY inline makes of ``cluster_status``:
    whether it took the node to say Primary."""
    state = synced_state(cluster_status=cluster_status, members=MEMBERS)
    current, stale = node_report(state, health=OK), node_report(state, valid=False, health=OK)
    view = NodeView(0, "10.0.0.11", Status.NONPRIMARY, Position(UUID, 5, SeqnoSource.LIVE),
                    cluster_status=cluster_status)
    primary_check = PrimaryContext(None).evaluate(Metric("primary", current, context="primary"), None)
    return {
        "NodeState.in_primary of a joiner": replace(state, status=Status.JOINING).in_primary,
        "NodeState.synced": state.synced,
        "state.history_reset of a zero UUID": history_reset(replace(state, cluster_state_uuid=ZERO_UUID)) is not None,
        "state.assess_health": assess_health(state, HealthPolicy()).healthy is True,
        "history.left_history": left_history(KnownHistory(OTHER_UUID), state) is not None,
        "writer.members_of": members_of(state) is not None,
        "views.peer_view keeps the claim of stale data": peer_view(1, "b", stale).cluster_status is not None,
        "views.peer_view's view says it (current)": peer_view(1, "b", current).says_primary,
        "views.peer_view's view says it (stale)": peer_view(1, "b", stale).says_primary,
        "NodeView.says_primary": view.says_primary,
        "promote.decide: Primary already": promote([view], {"10.0.0.11"}).reason.startswith(
            "this component is Primary already"),
        "nagios PrimaryContext": primary_check.state == Ok,
        "consistency.assess_cluster": assess_cluster({"a": current}).components != (),
    }


def consumers_of_another_word(cluster_status: str | None) -> dict[str, bool]:
    """The consumers that tell an unknown status (no claim) from a word other than Primary: whether
    each took the node to say another word (non-Primary, Disconnected)."""
    state = synced_state(cluster_status=cluster_status, members=MEMBERS)
    node_check = NodeContext(None).evaluate(Metric("node", node_report(state, health=OK), context="node"), None)
    silent = silent_site({"a": "east", "b": "west"}, {"a": state, "b": None}, {"b": 0.0}, 100.0, 10.0)
    return {
        "nagios NodeContext: Critical": node_check.state == Critical,
        "sites.silent_site: a node waits": silent is not None,
    }


def agree(cluster_status: str | None, says: bool) -> None:
    answers = consumers_of_says_primary(cluster_status)
    assert answers == dict.fromkeys(answers, says)
    other = consumers_of_another_word(cluster_status)
    assert other == dict.fromkeys(other, cluster_status is not None and not says)


@pytest.mark.parametrize(("cluster_status", "says"), SAYS_PRIMARY)
def test_says_primary(cluster_status: str | None, says: bool) -> None:
    state = synced_state(cluster_status=cluster_status)
    assert state.says_primary is says
    assert NodeView(0, "10.0.0.11", cluster_status=cluster_status).says_primary is says
    for status in Status:  # whatever our status word says of the node
        assert replace(state, status=status).says_primary is says


@pytest.mark.parametrize(("cluster_status", "says"), SAYS_PRIMARY)
def test_every_consumer_of_says_primary_agrees(cluster_status: str | None, says: bool) -> None:
    agree(cluster_status, says)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.none(), st.sampled_from([s for s, _ in SAYS_PRIMARY]), st.text(max_size=12)))
def test_every_consumer_of_says_primary_agrees_anywhere(cluster_status: str | None) -> None:
    agree(cluster_status, synced_state(cluster_status=cluster_status).says_primary)


# --- NodeState.synced: the sandbox asked "running and local state 4" of the probe's snapshots ------


_readings = st.one_of(
    st.sampled_from([MysqlFailure.REFUSED, MysqlFailure.TIMEOUT]).map(lambda f: MysqlReading(failure=f, error="no")),
    st.builds(
        lambda cluster_status, local_state: MysqlReading(status={
            k: v for k, v in (("wsrep_cluster_status", cluster_status), ("wsrep_local_state", local_state)) if v
        }),
        st.one_of(st.none(), st.sampled_from([s for s, _ in SAYS_PRIMARY]), st.text(max_size=12)),
        st.one_of(st.none(), st.sampled_from(["1", "2", "3", "4", "x"])),
    ),
)
PRIMARY_SYNCED = MysqlReading(status={"wsrep_cluster_status": "Primary", "wsrep_local_state": "4"})
PRIMARY_DONOR = MysqlReading(status={"wsrep_cluster_status": "Primary", "wsrep_local_state": "2"})
_observations = st.builds(
    Observation,
    taken_at=st.just(1_700_000_000.0),
    reading=_readings,
    process=st.sampled_from(list(ProcessState)),
    pid=st.none(),
    grastate=st.just(GraState("2.1", Position(UUID, 3, SeqnoSource.GRASTATE, False))),
    sst_in_progress=st.booleans(),
    gvwstate_present=st.just(False),
    phase=st.one_of(st.none(), st.sampled_from(sorted(PHASES)).map(lambda status: (status, "galera-init"))),
    drained=st.just(False),
)


@settings(max_examples=100, deadline=None)
@given(_observations)
@example(Observation(1_700_000_000.0, PRIMARY_SYNCED, ProcessState.RUNNING, 4332, "no file", False, True, None, False))
@example(Observation(1_700_000_000.0, PRIMARY_DONOR, ProcessState.RUNNING, 4332, "no file", False, True, None, False))
def test_a_running_snapshot_says_primary(observation: Observation) -> None:
    """What the probe assembles is running only in a Primary component (derive_status says so, and
    no galera-init phase is "running"): so "running and local state 4" of a probe's snapshot, as
    the sandbox asked it, is ``synced``."""
    state = assemble(observation, recover=False)
    assert (state.status is Status.RUNNING and state.local_state == 4) is state.synced
    if observation.process is ProcessState.RUNNING and observation.reading.status.get("wsrep_local_state") == "4":
        assert state.synced is (observation.reading.status.get("wsrep_cluster_status") == "Primary")
    if state.status is Status.RUNNING:
        assert state.says_primary
