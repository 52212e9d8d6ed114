"""The peers mode: every node over SNMP at once, judged by the cluster rule (tests/unit/nagios/
test_cluster.py has the rule itself and its agreement with ``galera-snmp status``)."""

from __future__ import annotations

import pytest
from nagiosplugin import Metric
from nagiosplugin.state import Critical, Ok, Unknown, Warn
from support import UUID

from galera_snmp.nagios.peers import Peers, PeersContext, PeersResource
from galera_snmp.nagios.sources import SnmpSource
from galera_snmp.snmp import remote
from galera_snmp.snmp.client import SnmpError, Target


def judge(reports: dict, unreachable=Warn, expected: int | None = None):
    return PeersContext(unreachable, expected).evaluate(Metric("peers", Peers.of(reports), context="peers"), None)


def three(peer, **changes: object) -> dict:
    return {f"db{i}": peer(f"node{i}", **changes) for i in (1, 2, 3)}


def test_one_component_of_the_expected_size_is_ok(peer) -> None:
    result = judge(three(peer), expected=3)
    assert result.state == Ok
    assert result.hint == f"one Primary component [node1, node2, node3] uuid {UUID} conf_id 3, size 3"


def test_a_split_brain_is_critical_naming_both_components(peer) -> None:
    reports = {"db1": peer("node1", members=("u1", "u2")), "db2": peer("node2", conf_id=4, members=("u3",))}
    result = judge(reports)
    assert result.state == Critical
    assert result.hint == (
        f"split brain: 2 Primary components: [node1] uuid {UUID} conf_id 3 and [node2] uuid {UUID} conf_id 4"
    )


def test_no_primary_component_is_critical(peer) -> None:
    result = judge({"db1": peer("node1", primary=False), "db2": "no answer"})
    assert result.state == Critical
    assert result.hint == "no node is in a Primary component; not answering: db2"  # every finding, worst first


@pytest.mark.parametrize("unreachable", [Warn, Critical, Unknown])
def test_a_silent_node_gets_the_unreachable_state(peer, unreachable) -> None:
    reports = {"db1": peer("node1"), "db2": peer("node2"), "db3.example.com": "no answer from db3 after 2 tries"}
    result = judge(reports, unreachable)
    assert result.state == unreachable
    assert result.hint.endswith("conf_id 3; not answering: db3.example.com")


def test_a_node_outside_the_component_is_a_warning_by_its_node_name(peer) -> None:
    reports = three(peer) | {"db3": peer("node3", primary=False)}
    result = judge(reports)
    assert result.state == Warn
    assert result.hint == (
        f"one Primary component [node1, node2] uuid {UUID} conf_id 3; outside any Primary component: node3"
    )


def test_a_node_without_a_name_is_named_as_it_was_reached(peer) -> None:
    reports = three(peer) | {"db3": peer("", primary=False)}
    assert judge(reports).hint.endswith("; outside any Primary component: db3")


def test_sizes_that_disagree_are_a_warning(peer) -> None:
    reports = three(peer) | {"db3": peer("node3", size=2)}
    result = judge(reports)
    assert result.state == Warn
    assert result.hint.endswith("conf_id 3; cluster sizes disagree: node1 3, node2 3, node3 2")


def test_fewer_members_than_expected_is_a_warning(peer) -> None:
    result = judge(three(peer, members=("u1", "u2")), expected=3)
    assert result.state == Warn
    assert result.hint.endswith("conf_id 3; size 2 < expected 3")


def test_several_findings_are_all_said_worst_first(peer) -> None:
    reports = three(peer) | {"db3": peer("node3", primary=False), "db4": "no answer from db4:161 after 2 tries"}
    result = judge(reports, Critical)
    assert result.state == Critical
    assert result.hint == (
        f"one Primary component [node1, node2] uuid {UUID} conf_id 3; not answering: db4;"
        " outside any Primary component: node3"
    )


def test_a_known_split_outranks_an_unknown_answer(peer) -> None:
    reports = {"db1": peer("node1", members=("u1",)), "db2": peer("node2", conf_id=4, members=("u2",))}
    reports["db3"] = "timeout"
    result = judge(reports, Unknown)
    assert result.state == Critical
    assert result.hint.startswith("split brain: 2 Primary components") and result.hint.endswith("; not answering: db3")


def test_the_resource_reads_every_node_at_once_and_counts(peer, monkeypatch) -> None:
    """Through the reader every multi-node command uses (remote.read_all): a node that does not
    answer gives the client's words, as SnmpSource.read's SourceDown did."""
    answers = {"db1": peer("node1"), "db2": peer("node2")}

    def read_report(target: Target, members: bool = False):
        assert members  # the member tables decide the components
        if target.host not in answers:
            raise SnmpError(f"no answer from {target.host}:{target.port} after 2 tries")
        return answers[target.host]

    monkeypatch.setattr(remote, "read_report", read_report)
    sources = [SnmpSource(Target(host, timeout=2.0)) for host in ("db1", "db2", "db3")]
    metrics = {m.name: m for m in PeersResource(sources).probe()}
    assert metrics["peers"].value.reports == {
        "db1": peer("node1"),
        "db2": peer("node2"),
        "db3": "no answer from db3:161 after 2 tries",
    }
    assert metrics["peers"].value == Peers.of(metrics["peers"].value.reports)  # the verdict comes with it
    assert (metrics["answering"].value, metrics["answering"].max) == (2, 3)
    assert metrics["primary_components"].value == 1
