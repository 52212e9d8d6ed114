"""The initiator's decision, exhaustively: table tests for the known failure stories, and
properties over random clusters where every node sees a different subset of its peers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from galera_snmp.init.rule import Action, NodeView, decide, elect
from galera_snmp.node.galerafiles import ZERO_UUID, Position
from galera_snmp.state import Status

A = "6b1c9b32-2a2f-11e6-9cd4-6f6b7a9d0e55"
B = "3e2f1c4a-9b6d-11ef-8a9e-0242ac120002"
POLL = 2.0
DEADLINE = 60.0


def view(index: int, status: Status | None = Status.STOPPED, seqno: int = 10, uuid: str = A, safe: bool = False):
    return NodeView(index, f"node{index + 1}", status, Position(uuid, seqno) if status else None, safe,
                    "" if status else "timeout")


def run(me: int, views, elapsed: float = 5.0, **kwargs):
    return decide(me, views, elapsed=elapsed, deadline=DEADLINE, poll_period=POLL, **kwargs)


def test_highest_seqno_announces_then_bootstraps_after_two_poll_periods() -> None:
    views = [view(0, seqno=100), view(1, seqno=99), view(2, seqno=98)]
    first = run(0, views)
    assert first.action is Action.ANNOUNCE and first.winner == 0
    assert run(0, views, elapsed=5.0 + POLL, announced=(5.0, tuple(views))).action is Action.ANNOUNCE
    final = run(0, views, elapsed=5.0 + 2 * POLL + 0.1, announced=(5.0, tuple(views)))
    assert final.action is Action.BOOTSTRAP
    for loser in (1, 2):
        decision = run(loser, views)
        assert decision.action is Action.WAIT and decision.winner == 0


def test_seqnos_compare_as_integers_not_strings() -> None:
    views = [view(0, seqno=99), view(1, seqno=100)]
    assert elect(views)[0].index == 1


def test_a_change_after_the_announcement_aborts() -> None:
    views = [view(0, seqno=100), view(1, seqno=99), view(2, seqno=98)]
    for changed in (
        [view(0, seqno=100), view(1, seqno=99), view(2, seqno=97)],  # a position moved
        [view(0, seqno=100), view(1, seqno=99), view(2, status=None)],  # a node went silent
        [view(0, seqno=100), view(1, seqno=99), view(2, seqno=98, safe=True)],
        [view(0, seqno=100), view(1, seqno=99), view(2, status=Status.NONPRIMARY, seqno=98)],
    ):
        decision = run(0, changed, elapsed=20.0, announced=(5.0, tuple(views)))
        assert decision.action is not Action.BOOTSTRAP, changed


def test_a_peer_whose_galera_init_starts_does_not_abort_the_announcement() -> None:
    """stopped, initiating and blocked all mean "down, electing": no reason to start over."""
    views = [view(0, seqno=100), view(1, seqno=99), view(2, seqno=98)]
    later = [view(0, seqno=100), view(1, status=Status.INITIATING, seqno=99), view(2, status=Status.BLOCKED, seqno=98)]
    assert run(0, later, elapsed=20.0, announced=(5.0, tuple(views))).action is Action.BOOTSTRAP


def test_seed_data_loss_case_obsolete_node_alone_never_bootstraps() -> None:
    """Two nodes went down after the third; the obsolete third returns first, alone."""
    views = [view(0, seqno=40), view(1, status=None), view(2, status=None)]
    assert run(0, views).action is Action.WAIT
    blocked = run(0, views, elapsed=DEADLINE)
    assert blocked.action is Action.BLOCKED
    assert blocked.reason.startswith("no report from") and "node2" in blocked.reason and "node3" in blocked.reason
    # the others return: the newest bootstraps, the obsolete one waits
    back = [view(0, seqno=40), view(1, seqno=57), view(2, seqno=57)]
    assert run(0, back).action is Action.WAIT
    assert run(1, back).action is Action.ANNOUNCE


def test_equal_seqnos_one_winner_safe_to_bootstrap_first() -> None:
    views = [view(0, seqno=7), view(1, seqno=7), view(2, seqno=7)]
    assert [run(i, views).action for i in range(3)] == [Action.ANNOUNCE, Action.WAIT, Action.WAIT]
    safe = [view(0, seqno=7), view(1, seqno=7), view(2, seqno=7, safe=True)]
    assert [run(i, safe).action for i in range(3)] == [Action.WAIT, Action.WAIT, Action.ANNOUNCE]
    # two marked safe (a stale flag): the flag decides nothing, the lowest index wins
    two_safe = [view(0, seqno=7), view(1, seqno=7, safe=True), view(2, seqno=7, safe=True)]
    assert [run(i, two_safe).action for i in range(3)] == [Action.ANNOUNCE, Action.WAIT, Action.WAIT]


def test_a_running_peer_means_join_and_a_bootstrapping_one_means_wait() -> None:
    assert run(0, [view(0, seqno=500), view(1, status=Status.RUNNING, seqno=3)]).action is Action.JOIN
    waiting = run(0, [view(0, seqno=500), view(1, status=Status.BOOTSTRAPPING, seqno=3)], elapsed=DEADLINE)
    assert waiting.action is Action.WAIT and "bootstrapping" in waiting.reason  # even past the deadline


def test_unknown_zero_or_foreign_history_never_bootstraps() -> None:
    for other in (view(1, seqno=-1), view(1, uuid=ZERO_UUID), view(1, uuid=B, seqno=1000),
                  view(1, status=Status.UNKNOWN), view(1, status=Status.NONPRIMARY)):
        views = [view(0, seqno=5), other]
        assert run(0, views, elapsed=DEADLINE).action is Action.BLOCKED, other
        assert run(1, views, elapsed=DEADLINE).action in (Action.BLOCKED, Action.WAIT), other


def test_large_seqnos() -> None:
    views = [view(0, seqno=2**31 + 5), view(1, seqno=2**31 + 4)]
    assert elect(views)[0].index == 0


def test_force_only_at_the_expected_position_and_never_past_a_newer_one() -> None:
    views = [view(0, seqno=40), view(1, status=None), view(2, status=None)]
    forced = run(0, views, force=Position(A, 40))
    assert forced.action is Action.ANNOUNCE
    assert run(0, views, force=Position(A, 41)).action is Action.BLOCKED
    newer = [view(0, seqno=40), view(1, seqno=41), view(2, status=None)]
    refused = run(0, newer, force=Position(A, 40))
    assert refused.action is Action.BLOCKED and "node2" in refused.reason


# --- properties ------------------------------------------------------------------------------

STATUSES = [Status.STOPPED, Status.INITIATING, Status.BLOCKED, Status.RUNNING, Status.JOINING, Status.NONPRIMARY,
            Status.BOOTSTRAPPING, Status.UNKNOWN]


@st.composite
def worlds(draw):
    """A cluster's true state, and for each node the subset of peers it can reach."""
    n = draw(st.integers(2, 5))
    truth = []
    for index in range(n):
        status = draw(st.sampled_from(STATUSES))
        uuid = draw(st.sampled_from([A, A, A, B, ZERO_UUID]))
        seqno = draw(st.integers(-1, 12))
        truth.append(NodeView(index, f"node{index + 1}", status, Position(uuid, seqno), draw(st.booleans())))
    reach = [[i == j or draw(st.booleans()) or draw(st.booleans()) for j in range(n)] for i in range(n)]
    return truth, reach


def seen_by(me: int, truth, reach) -> list[NodeView]:
    return [v if reach[me][v.index] else NodeView(v.index, v.name, problem="timeout") for v in truth]


@settings(max_examples=400)
@given(worlds())
def test_at_most_one_node_bootstraps_and_only_on_complete_information(world) -> None:
    truth, reach = world
    deciders = []
    for me in range(len(truth)):
        views = seen_by(me, truth, reach)
        decision = run(me, views, elapsed=DEADLINE)
        if decision.action in (Action.ANNOUNCE, Action.BOOTSTRAP):
            deciders.append(me)
            assert all(v.answered for v in views)
            assert not any(v.status in (Status.RUNNING, Status.JOINING, Status.BOOTSTRAPPING) for v in truth)
            assert {v.position.uuid for v in truth} == {truth[me].position.uuid} != {ZERO_UUID}
            assert all(v.position.seqno >= 0 for v in truth)
            assert truth[me].position.seqno == max(v.position.seqno for v in truth)
        if decision.action is Action.BLOCKED:
            assert decision.reason
    assert len(deciders) <= 1


@settings(max_examples=300)
@given(worlds(), st.floats(0, 30))
def test_bootstrap_needs_an_unchanged_announcement_older_than_two_polls(world, later) -> None:
    truth, _ = world
    for me in range(len(truth)):
        first = run(me, truth, elapsed=10.0)
        second = run(me, truth, elapsed=10.0 + later, announced=(10.0, tuple(truth)))
        if second.action is Action.BOOTSTRAP:
            assert first.action is Action.ANNOUNCE
            assert later > 2 * POLL
