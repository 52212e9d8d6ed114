"""The peers mode's split-brain rule: components by overlapping member tables, not by conf_id."""

from __future__ import annotations

from galera_snmp.nagios.checks import primary_components
from galera_snmp.state import Health, Member, NodeReport, NodeState, Status

UUID = "cf45eb64-e601-11f1-9293-5ec05f0f5611"


def report(name: str, conf_id: int | None, members: list[str] | None, status: str = "Primary") -> NodeReport:
    state = NodeState(
        taken_at=0.0,
        status=Status.RUNNING if status == "Primary" else Status.NONPRIMARY,
        reason="",
        node_name=name,
        cluster_status=status,
        cluster_state_uuid=UUID,
        cluster_conf_id=conf_id,
        members=None if members is None else tuple(Member(m, m, "", UUID) for m in members),
    )
    return NodeReport(state, Health(True, ""), True, 0, "")


def test_a_view_change_in_flight_is_one_component() -> None:
    reports = {
        "a": report("node1", 12, ["u1", "u2"]),
        "b": report("node2", 11, ["u1", "u2", "u3"]),  # has not seen the new view yet
        "c": report("node3", 11, ["u1", "u2", "u3"]),
    }
    components = primary_components(reports)
    assert len(components) == 1
    assert sorted(components[0].nodes) == ["node1", "node2", "node3"]
    assert components[0].conf_ids == {11, 12}


def test_disjoint_members_are_a_split_brain() -> None:
    reports = {
        "a": report("node1", 12, ["u1", "u2"]),
        "b": report("node2", 12, ["u1", "u2"]),
        "c": report("node3", 13, ["u3"]),
        "d": "no answer",
        "e": report("node5", 12, ["u1", "u2"], status="non-Primary"),
    }
    components = primary_components(reports)
    assert [sorted(c.nodes) for c in components] == [["node1", "node2"], ["node3"]]
    assert "[node3] uuid" in components[1].describe()


def test_without_member_tables_conf_ids_decide() -> None:
    reports = {"a": report("node1", 5, None), "b": report("node2", 5, None), "c": report("node3", 6, None)}
    assert [sorted(c.nodes) for c in primary_components(reports)] == [["node1", "node2"], ["node3"]]
