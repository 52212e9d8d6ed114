"""galera-snmp status's words for the cluster rule (galera_snmp/cluster/consistency.py):
what it flags across nodes."""

from __future__ import annotations

from support import node_report

from galera_snmp.cluster.consistency import disagreements
from galera_snmp.state import Health, NodeReport


def node(name: str, **changes: object) -> NodeReport:
    return node_report(node_name=name, health=Health(True, "Synced, Primary, ready"), **changes)


def test_an_agreeing_healthy_cluster_has_nothing_to_flag():
    assert disagreements(["a", "b", "c"], [node("a"), node("b"), node("c")]) == []


def test_silent_and_unhealthy_nodes_are_flagged():
    reports = [node("a"), "no answer from b:161 after 2 tries", node_report(
        desync=True, health=Health(False, "wsrep_desync is ON"))]
    problems = disagreements(["a", "b", "c"], reports)
    assert problems == ["not answering: b",  # why: in the status table's HEALTH column
                        "c is running, not healthy: wsrep_desync is ON"]


def test_two_histories_is_a_split_brain():
    other = "11111111-2222-3333-4444-555555555555"
    problems = disagreements(["a", "b"], [node("a"), node("b", cluster_state_uuid=other, cluster_size=1)])
    assert len(problems) == 1 and "split brain" in problems[0] and other in problems[0]


def test_two_views_without_member_tables_are_two_components():
    """Without member tables only equal conf_ids show two Primary nodes share a component (a
    bootstrapped minority keeps the history UUID), so this is called a split (galera_snmp/cluster/consistency.py)."""
    problems = disagreements(["a", "b"], [node("a"), node("b", cluster_conf_id=99, cluster_size=2)])
    assert len(problems) == 1
    assert problems[0].startswith("split brain: 2 Primary components")
