"""galera_snmp/init/views.py: one reading of a peer's report for galera-init and make-primary, and
what each rule makes of a reset history (a position that is reported, never elected or promoted)."""

from __future__ import annotations

import pytest
from support import node_report

from galera_snmp.init.promote import decide as promote
from galera_snmp.init.rule import elect
from galera_snmp.init.views import NodeView, evidence_table, peer_view
from galera_snmp.state import ZERO_UUID, Health, Position, SeqnoSource, Status

UUID = "6b1e2c3d-0000-11ef-8000-0123456789ab"
RESET = Position(ZERO_UUID, 40, SeqnoSource.RECOVERED)
OK = Health(True, "ok")  # what the health rule says decides nothing in a view


# report -> (answered, status, position, cluster_status) of its view
CASES = {
    "current, non-Primary": (node_report(health=OK, status=Status.NONPRIMARY, cluster_status="non-Primary",
                                         position=Position(UUID, 40, SeqnoSource.LIVE)),
                             (True, Status.NONPRIMARY, Position(UUID, 40, SeqnoSource.LIVE), "non-Primary")),
    "stale Synced Primary: holds back, no position": (node_report(valid=False, health=OK),
                                                      (True, Status.RUNNING, None, "Primary")),
    "stale stopped: nothing": (node_report(valid=False, health=OK, status=Status.STOPPED, cluster_status=None),
                               (False, None, None, None)),
    "unknown position": (node_report(health=OK, position=Position(UUID)), (True, Status.RUNNING, None, "Primary")),
    "a reset history is reported": (node_report(health=OK, status=Status.STOPPED, cluster_status=None,
                                                position=RESET),
                                    (True, Status.STOPPED, RESET, None)),
    "joining without a Primary": (node_report(health=OK, status=Status.JOINING, cluster_status="non-Primary"),
                                  (True, Status.NONPRIMARY, None, "non-Primary")),
    "no answer": ("timeout", (False, None, None, None)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_report_makes_one_view(case: str) -> None:
    given, (answered, status, position, cluster_status) = CASES[case]
    view = peer_view(1, "10.0.0.12", given)
    assert (view.answered, view.status, view.position, view.cluster_status) == (answered, status, position,
                                                                               cluster_status)


def stopped_at(index: int, name: str, position: Position) -> NodeView:
    return NodeView(index, name, Status.STOPPED, position)


def test_a_reset_history_is_neither_elected_nor_promoted() -> None:
    """The one answer of both rules: reported, never a position to start a Primary from."""
    good = Position(UUID, 41, SeqnoSource.RECOVERED)
    views = [stopped_at(0, "10.0.0.11", RESET), stopped_at(1, "10.0.0.12", good)]
    winner, why = elect(views)
    assert winner is None and "reset history" in why
    member = NodeView(0, "10.0.0.11", Status.NONPRIMARY, RESET, cluster_status="non-Primary")
    refused = promote([member, stopped_at(1, "10.0.0.12", good)], {"10.0.0.11"})
    assert refused.target is None and "reset history" in refused.reason
    outside = promote([NodeView(0, "10.0.0.11", Status.NONPRIMARY, good, cluster_status="non-Primary"),
                       stopped_at(1, "10.0.0.12", RESET)], {"10.0.0.11"})
    assert outside.target is None and "another history" in outside.reason


def test_the_evidence_table_marks_this_node_and_the_component() -> None:
    good = Position(UUID, 41, SeqnoSource.RECOVERED)
    views = [NodeView(0, "10.0.0.11", Status.NONPRIMARY, good, cluster_status="non-Primary"),
             NodeView(1, "10.0.0.12", problem="no answer from 10.0.0.12:161")]
    lines = evidence_table(views, 0, {"10.0.0.11"}).splitlines()
    assert lines[0].split() == ["NODE", "STATUS", "CLUSTER", "POSITION", "SAFE", "NODE", "SET", "NOTE"]
    assert lines[1].split() == ["10.0.0.11", "(this", "node)", "*", "nonprimary", "non-Primary", str(good), "-", "-"]
    assert lines[2].split()[:6] == ["10.0.0.12", "-", "-", "-", "-", "-"]
    assert lines[2].endswith("no answer from 10.0.0.12:161")
