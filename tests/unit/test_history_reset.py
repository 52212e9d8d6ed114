"""A Primary component with a reset history (zero state UUID) is named alike by every check:
the rule itself, GALERA-MIB and its notification, check_galera's node and peers modes, and
``galera-snmp status``. The node stays healthy for traffic (documented in docs/INIT.md)."""

from __future__ import annotations

import pytest
from nagiosplugin import Metric
from nagiosplugin.state import Critical, Ok
from support import node_report, synced_state

from galera_snmp.cluster.consistency import disagreements
from galera_snmp.nagios.checks import NodeContext
from galera_snmp.nagios.peers import Peers, PeersContext
from galera_snmp.snmp.mib import BY_NAME, read_node, render
from galera_snmp.snmp.notifications import changed
from galera_snmp.state import (
    ZERO_UUID,
    Member,
    NodeReport,
    Position,
    SeqnoSource,
    history_reset,
)

WHY = (
    "history reset: a Primary component with a zero state UUID (restarted after a crash without the recovered "
    "start position); the nodes were not reconciled and may hold different data: compare them, then rebuild the "
    "others from one (docs/INIT.md)"
)
MEMBERS = tuple(Member(f"u{i}", f"node{i}", f"127.0.0.1{i}:3306", ZERO_UUID) for i in (1, 2, 3))


def reset_node(name: str) -> NodeReport:
    """What every node of a cluster re-formed by pc.recovery after a crash reports."""
    return node_report(
        node_name=name,
        cluster_state_uuid=ZERO_UUID,
        position=Position(ZERO_UUID, 0, SeqnoSource.LIVE, False),
        members=MEMBERS,
    )


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"cluster_state_uuid": ZERO_UUID}, WHY),
        ({}, None),
        ({"cluster_state_uuid": ZERO_UUID, "cluster_status": "non-Primary"}, None),  # not (yet) a component
        ({"cluster_state_uuid": None}, None),  # unknown is not a reset
    ],
)
def test_the_rule(changes: dict, why: str | None) -> None:
    assert history_reset(synced_state(**changes)) == why


def test_a_reset_node_stays_healthy_for_traffic() -> None:
    assert reset_node("node1").health.healthy is True


def served(report: NodeReport) -> dict:
    return {oid: value for oid, _syntax, value in render(report)}


def test_galera_mib_serves_it_and_a_reader_sees_it() -> None:
    oid = (*BY_NAME["galeraHistoryReset"].oid, 0)
    values = served(reset_node("node1"))
    assert values[oid] == 1
    assert served(node_report())[oid] == 2
    assert history_reset(read_node(values).state) == WHY  # the remote reader sees the same


def test_the_agent_notifies_when_it_starts_and_when_it_ends() -> None:
    before = node_report()
    after = reset_node("node1")
    assert [n.name for n in changed(before, after)] == ["galeraHistoryResetChange"]
    assert [n.name for n in changed(after, before)] == ["galeraHistoryResetChange"]
    assert changed(after, after) == []


def test_check_galera_node_mode_is_critical_with_the_words() -> None:
    result = NodeContext(None).evaluate(Metric("node", reset_node("node1"), context="node"), None)
    assert (result.state, result.hint) == (Critical, f"node1: {WHY}")


def test_check_galera_peers_mode_and_galera_snmp_status_agree() -> None:
    names = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    reports = [reset_node(f"node{i}") for i in (1, 2, 3)]
    result = PeersContext(Critical, 3).evaluate(Metric("peers", Peers.of(dict(zip(names, reports, strict=True)))), None)
    assert (result.state, result.hint) == (Critical, f"node1, node2, node3: {WHY}")
    assert disagreements(names, reports) == [f"{', '.join(names)}: {WHY}"]  # one finding, as in the peers mode
    healthy = [node_report(members=MEMBERS) for _ in range(3)]
    result = PeersContext(Critical, 3).evaluate(Metric("peers", Peers.of(dict(zip(names, healthy, strict=True)))), None)
    assert result.state == Ok
    assert disagreements(names, healthy) == []
