"""The predicates NodeState and Position give its consumers (issue "Layout, second step"): for each,
a table of cases with the property's answer, and every consumer that once re-derived it inline
giving the answer the property gives — so that none can drift from the rule again."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import synced_state

from galera_snmp.init.rule import Action, decide
from galera_snmp.init.run import own_view, parse_position
from galera_snmp.init.views import NodeView, peer_view
from galera_snmp.node.assemble import MysqlReading, Observation, assemble
from galera_snmp.node.galerafiles import GraState
from galera_snmp.record import replace
from galera_snmp.state import (
    SEQNO_MAX,
    ZERO_UUID,
    Health,
    MysqlFailure,
    NodeReport,
    Position,
    ProcessState,
    SeqnoSource,
    Status,
)

UUID = "cf45eb64-e601-11f1-9293-5ec05f0f5611"
FORCED = Position("d3076c0f-e601-11f1-9932-16750c4fa6b8", 40, SeqnoSource.GRASTATE)  # in no case below

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
    report = NodeReport(synced_state(position=position), Health(True, "ok"), True, 0)
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
        "run.own_view keeps it (grastate)": own(replace(position, source=SeqnoSource.GRASTATE)).position is not None,
        "run.own_view keeps it (recovered)": own(replace(position, source=SeqnoSource.RECOVERED)).position is not None,
        "views.peer_view counts it": peer(replace(position, source=SeqnoSource.LIVE)).position is not None,
        "assemble takes the recovered one": recovered(replace(position, source=SeqnoSource.RECOVERED)).source
        is SeqnoSource.RECOVERED,
        "rule: a forced bootstrap is refused for it": refuses_to_force(replace(position, source=SeqnoSource.GRASTATE)),
        "run.parse_position accepts it": parses(str(position)),
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
