"""Reading nodes from outside: a peer that still publishes the seed's snmpd extend lines instead
of GALERA-MIB, and what galera-snmp status flags across nodes."""

from __future__ import annotations

import pytest
from support import synced_state

from galera_snmp.snmp.client import Missing
from galera_snmp.snmp.remote import SEED_SEQNO, SEED_STATUS, disagreements, extend_oid, seed_report
from galera_snmp.state import SEQNO_MAX, Health, NodeReport, Position, SeqnoSource, Status


def seed(status: object, seqno: object) -> dict:
    return {extend_oid(SEED_STATUS): status, extend_oid(SEED_SEQNO): seqno}


def test_extend_oid_is_the_name_as_a_length_prefixed_index():
    assert extend_oid("galeraStatus")[-13:] == (12, *b"galeraStatus")
    assert extend_oid("galeraStatus")[:13] == (1, 3, 6, 1, 4, 1, 8072, 1, 3, 2, 3, 1, 1)


@pytest.mark.parametrize(
    ("status", "seqno", "want_status", "want_seqno"),
    [
        (b"running\n", b"1234", Status.RUNNING, 1234),
        (b"stopped", b"4294967396", Status.STOPPED, 4294967396),  # above 2^32: an integer, not a string
        (b"initiating", b"-1", Status.INITIATING, -1),
        (b"stopped", b"99abc", Status.STOPPED, -1),  # garbage never becomes a number
        (b"stopped", str(SEQNO_MAX + 1).encode(), Status.STOPPED, -1),
        (b"stopped", b"-7", Status.STOPPED, -1),
        (b"stopped", Missing("NoSuchInstance"), Status.STOPPED, -1),
        (b"maybe", b"5", Status.UNKNOWN, 5),
        (7, b"5", Status.UNKNOWN, -1),  # the wrong type: nothing is known
        (Missing("NoSuchObject"), b"5", Status.UNKNOWN, -1),
    ],
)
def test_seed_lines_are_read_strictly(status, seqno, want_status, want_seqno):
    report = seed_report(seed(status, seqno))
    assert report.state.status is want_status
    # the seed publishes no history and no source: never a bootstrap voter
    assert report.state.position == Position(None, want_seqno, SeqnoSource.UNKNOWN, None)
    assert report.state.position.is_known is False
    assert report.health.healthy is None


# --- what galera-snmp status flags -------------------------------------------------------------


def node(name: str, **changes: object) -> NodeReport:
    state = synced_state(node_name=name, **changes)
    return NodeReport(state, Health(True, "Synced, Primary, ready"), True, 0)


def test_an_agreeing_healthy_cluster_has_nothing_to_flag():
    assert disagreements(["a", "b", "c"], [node("a"), node("b"), node("c")]) == []


def test_silent_and_unhealthy_nodes_are_flagged():
    reports = [node("a"), "no answer from b:161 after 2 tries", NodeReport(
        synced_state(desync=True), Health(False, "wsrep_desync is ON"), True, 0)]
    problems = disagreements(["a", "b", "c"], reports)
    assert problems == ["b does not answer: no answer from b:161 after 2 tries",
                        "c is running, not healthy: wsrep_desync is ON"]


def test_two_histories_is_a_split_brain():
    other = "11111111-2222-3333-4444-555555555555"
    problems = disagreements(["a", "b"], [node("a"), node("b", cluster_state_uuid=other, cluster_size=1)])
    assert len(problems) == 1 and "split brain" in problems[0] and other in problems[0]


def test_two_views_without_member_tables_are_two_components():
    """Without member tables only equal conf_ids show two Primary nodes share a component (a
    bootstrapped minority keeps the history UUID), so this is called a split (galera_snmp.cluster)."""
    problems = disagreements(["a", "b"], [node("a"), node("b", cluster_conf_id=99, cluster_size=2)])
    assert len(problems) == 1
    assert problems[0].startswith("split brain: 2 Primary components")
