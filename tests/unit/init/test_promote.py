"""galera_snmp/init/promote.py: when a non-Primary component may be made Primary, and where."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from galera_snmp.init.promote import decide
from galera_snmp.init.views import NodeView
from galera_snmp.state import PRIMARY, Position, SeqnoSource, Status

A = "6b1e2c3d-0000-11ef-8000-0123456789ab"
B = "7c2f3d4e-0000-11ef-8000-0123456789ab"
N1, N2, N3 = "10.0.0.11", "10.0.0.12", "10.0.0.13"


def at(seqno: int, uuid: str = A) -> Position:
    return Position(uuid, seqno, SeqnoSource.LIVE)


def view(name: str, status: Status | None = None, cluster_status: str | None = None,
         position: Position | None = None, problem: str = "") -> NodeView:
    """One node's view; its index decides nothing in make-primary."""
    return NodeView(0, name, status, position, problem, cluster_status=cluster_status)


def member(name: str, seqno: int, uuid: str = A) -> NodeView:
    return view(name, Status.NONPRIMARY, "non-Primary", at(seqno, uuid))


def stopped(name: str, seqno: int, uuid: str = A) -> NodeView:
    return view(name, Status.STOPPED, None, Position(uuid, seqno, SeqnoSource.RECOVERED))


def silent(name: str) -> NodeView:
    return view(name, problem="timeout")


def test_the_survivor_of_two_dead_nodes_is_promoted_only_with_both_confirmed_lost():
    views = [member(N1, 40), silent(N2), silent(N3)]
    refused = decide(views, {N1})
    assert refused.target is None
    assert "may be cut off, not lost" in refused.reason and f"--confirm-lost {N2},{N3}" in refused.reason
    assert decide(views, {N1}, {N2}).target is None  # every one of them, not some
    promoted = decide(views, {N1}, {N2, N3})
    assert promoted.target == N1 and f"confirmed lost by the operator: {N2}, {N3}" in promoted.reason


def test_nodes_that_answer_stopped_need_no_confirmation():
    assert decide([member(N1, 40), stopped(N2, 38), stopped(N3, 40)], {N1}).target == N1


def test_a_stopped_node_with_newer_commits_or_another_history_is_refused():
    newer = decide([member(N1, 40), stopped(N2, 41), stopped(N3, 40)], {N1})
    assert newer.target is None and "newer than this component (seqno 40)" in newer.reason
    other = decide([member(N1, 40), stopped(N2, 3, B), stopped(N3, 40)], {N1})
    assert other.target is None and "another history" in other.reason


def test_a_visible_primary_anywhere_is_refused():
    running = [view(name, Status.RUNNING, PRIMARY, at(45)) for name in (N2, N3)]
    views = [member(N1, 40), *running]
    refused = decide(views, {N1})
    assert refused.target is None and "a Primary component exists" in refused.reason
    already = decide([view(N1, Status.RUNNING, PRIMARY, at(45)), stopped(N2, 40), stopped(N3, 40)], {N1})
    assert already.target is None and "Primary already" in already.reason


def test_another_running_component_is_refused_even_when_named_lost():
    views = [member(N1, 40), member(N2, 40), member(N3, 41)]
    refused = decide(views, {N1, N2})
    assert refused.target is None and "another component" in refused.reason
    assert decide(views, {N1, N2}, {N3}).target is None  # it answers: not lost


def test_the_member_with_the_highest_seqno_bootstraps_ties_by_address():
    assert decide([member(N1, 39), member(N2, 40), silent(N3)], {N1, N2}, {N3}).target == N2
    assert decide([member(N2, 40), member(N1, 40), stopped(N3, 12)], {N1, N2}).target == N1


def test_every_member_must_answer_with_a_position():
    refused = decide([member(N1, 40), silent(N2), stopped(N3, 12)], {N1, N2})
    assert refused.target is None and "every member of the component must report" in refused.reason


def test_unknown_names_are_refused():
    assert "not configured" in decide([member(N1, 40), stopped(N2, 1)], {N1}, {"10.9.9.9"}).reason


# --- property: for any reports where every node answers, at most one component passes --------------

NAMES = [f"10.0.0.{i}" for i in range(11, 16)]


@st.composite
def clusters(draw):
    """Nodes split into running components (each non-Primary or Primary), and stopped nodes."""
    count = draw(st.integers(2, 5))
    names = NAMES[:count]
    group_of = draw(st.lists(st.integers(0, 3), min_size=count, max_size=count))  # 0: stopped
    primary = draw(st.sets(st.integers(1, 3), max_size=1))
    views, components = [], {}
    for name, group in zip(names, group_of, strict=True):
        seqno, uuid = draw(st.integers(0, 3)), draw(st.sampled_from([A, A, A, B]))
        if group == 0:
            views.append(stopped(name, seqno, uuid))
            continue
        cluster_status = PRIMARY if group in primary else "non-Primary"
        status = Status.RUNNING if group in primary else Status.NONPRIMARY
        views.append(view(name, status, cluster_status, at(seqno, uuid)))
        components.setdefault(group, set()).add(name)
    return views, list(components.values())


@settings(max_examples=400, deadline=None)
@given(clusters())
def test_at_most_one_component_passes_when_every_node_answers(cluster):
    views, components = cluster
    passing = [c for c in components if decide(views, c).target is not None]
    assert len(passing) <= 1
    for component in passing:
        target = decide(views, component).target
        assert target in component
        assert all(v.cluster_status != PRIMARY for v in views)
