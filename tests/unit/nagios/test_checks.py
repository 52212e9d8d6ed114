"""The single-node checks (node, cluster, queues) on hand-built snapshots: each context's verdict
and words, and the checks check_galera's mode table builds around them."""

from __future__ import annotations

import nagiosplugin
import pytest
from nagiosplugin import Metric
from nagiosplugin.state import Critical, Ok, Unknown, Warn
from support import UUID, wsrep_values

from galera_snmp.cli.check_galera import FACTORIES, build_parser
from galera_snmp.nagios.checks import (
    NodeContext,
    NodeResource,
    PerfdataContext,
    PrimaryContext,
    UnreachableContext,
    is_arbitrator,
)
from galera_snmp.state import (
    DOWN_STATUSES,
    HealthPolicy,
    Member,
    MysqlFailure,
    NodeReport,
    ProcessState,
    Status,
    assess_health,
)

DONOR = {"local_state": 2, "local_state_comment": "Donor/Desynced"}
STOPPED = {
    "status": Status.STOPPED,
    "reason": "mysqld is not running",
    "process": ProcessState.ABSENT,
    "mysql_failure": MysqlFailure.REFUSED,
    "local_state": None,
    "local_state_comment": None,
    "cluster_status": None,
    "ready": None,
}


def run(mode: str, source, *argv: str) -> nagiosplugin.Check:
    """The mode's check as check_galera builds it, run once against ``source``."""
    parser = build_parser()
    args = parser.parse_args(["-m", mode, *argv])
    check = FACTORIES[args.mode](args, parser, source)
    check()
    return check


def judge_node(report, donor_ok: bool = False):
    return NodeContext(None, donor_ok).evaluate(Metric("node", report, context="node"), None)


# --- node ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "state", "text"),
    [
        ({}, Ok, "node1: running (Synced), Synced, Primary, ready"),
        (DONOR, Warn, "node1: running (Donor/Desynced), node is a donor (Donor/Desynced) and donors do not serve"),
        (
            {"status": Status.JOINING, "local_state": 1, "local_state_comment": "Joining"},
            Warn,
            "node1: joining (Joining), local state 1 (Joining) is not Synced",
        ),
        ({"reject_queries": None}, Warn, "node1: running (Synced), wsrep_reject_queries is not reported"),
        (STOPPED, Critical, "node1: stopped, mysqld is not running"),
        (
            {"status": Status.NONPRIMARY, "cluster_status": "non-Primary", "local_state": 1},
            Critical,
            "node1: nonprimary (Synced), cluster status is non-Primary, not Primary",
        ),
        ({"ready": False}, Critical, "node1: running (Synced), wsrep_ready is OFF"),
        (
            {"status": Status.UNKNOWN, "local_state": None, "local_state_comment": None},
            Unknown,
            "node1: unknown, wsrep status incomplete: Primary, local state 4 (Synced)",
        ),
        (
            {"status": Status.UNKNOWN, "mysql_failure": MysqlFailure.TIMEOUT, "reason": "mysqld does not answer"},
            Critical,
            "node1: unknown (Synced), mysqld does not answer",
        ),
    ],
)
def test_node_context(report, changes: dict, state, text: str) -> None:
    result = judge_node(report(**changes))
    assert (result.state, result.hint) == (state, text)


@pytest.mark.parametrize(
    ("changes", "serves"),
    [
        (DONOR, True),
        ({}, True),
        (DONOR | {"desync": True}, False),
        (DONOR | {"drained": True}, False),
        (DONOR | {"reject_queries": "ALL"}, False),
        (DONOR | {"ready": False}, False),
        (DONOR | {"reject_queries": None}, None),
        (DONOR | {"status": Status.NONPRIMARY, "cluster_status": "non-Primary"}, False),
        ({"local_state": 3, "local_state_comment": "Joined", "status": Status.JOINING}, False),
    ],
)
def test_with_donor_ok_the_health_rule_says_which_donor_serves(report, changes: dict, serves: bool | None) -> None:
    """--donor-ok has no donor rule of its own: OK exactly when the health rule, with donors
    serving, says the node serves."""
    node = report(**changes)
    assert assess_health(node.state, HealthPolicy(donor_serves=True)).healthy is serves
    assert (judge_node(node, donor_ok=True).state == Ok) is (serves is True)


def test_a_donor_allowed_by_donor_ok_says_so(report) -> None:
    result = judge_node(report(**DONOR), donor_ok=True)
    assert result.state == Ok
    assert result.hint == "node1: running (Donor/Desynced), Donor/Desynced, Primary, ready (donors allowed)"


def test_donor_ok_keeps_the_sources_reason_for_a_refusal(report) -> None:
    result = judge_node(report(**DONOR, desync=True), donor_ok=True)
    assert (result.state, result.hint) == (Warn, "node1: running (Donor/Desynced), wsrep_desync is ON")


def test_node_mode_perfdata(report, answering) -> None:
    check = run("node", answering(report(wsrep=wsrep_values())))
    assert check.state == Ok
    assert check.perfdata == ["cluster_size=3;;;0", "local_state=4;;;0;4", "seqno=17c;;;0"]


# --- an unreachable source -------------------------------------------------------------------


def test_a_silent_source_is_unknown(silent) -> None:
    check = run("node", silent())
    assert (check.state, check.summary_str) == (Unknown, "no answer from db1.example.com:161 after 2 tries")


def test_a_silent_source_is_critical_when_asked(silent) -> None:
    check = run("node", silent(), "--unreachable", "critical")
    assert (check.state, check.summary_str) == (Critical, "no answer from db1.example.com:161 after 2 tries")


def test_unreachable_and_perfdata_contexts() -> None:
    down = UnreachableContext().evaluate(Metric("unreachable", "timeout", context="unreachable"), None)
    assert (down.state, down.hint) == (Critical, "timeout")
    metric = Metric("seqno", 17, uom="c", min=0, context="perfdata")
    assert PerfdataContext().evaluate(metric, None).state == Ok
    assert str(PerfdataContext().performance(metric, None)) == "seqno=17c;;;0"


def test_the_resource_names_what_it_reads(report, answering) -> None:
    node = report()
    assert [m.name for m in NodeResource(answering(node)).probe()] == ["node", "cluster_size", "local_state", "seqno"]


# --- cluster ---------------------------------------------------------------------------------

DATA_NODES = tuple(Member(f"u{i}", f"node{i}", f"10.0.0.{i}:3306", UUID) for i in (1, 2))
GARBD = Member("u3", "garb1", "", UUID)


def judge_primary(report):
    return PrimaryContext(None).evaluate(Metric("primary", report, context="primary"), None)


@pytest.mark.parametrize(
    ("changes", "state", "text"),
    [
        ({"members": (*DATA_NODES, GARBD)}, Ok, "Primary, 3 members (2 data nodes, arbitrator garb1)"),
        ({"members": (*DATA_NODES, Member("u3", "node3", "10.0.0.3:3306", UUID))}, Ok, "Primary, 3 members"),
        (
            {"cluster_status": "non-Primary", "members": DATA_NODES},
            Critical,
            "node1: cluster status non-Primary, not Primary",
        ),
        ({"cluster_status": None}, Critical, "node1: cluster status unknown, not Primary"),
        (
            {"members": None},
            Warn,
            "node1: Primary, but its member table is unknown (no SELECT grant on mysql.wsrep_cluster_members?): "
            "UUIDs not compared",
        ),
        (
            {"members": (*DATA_NODES, Member("u3", "node3", "10.0.0.3:3306", "11111111-2222-3333-4444-555555555555"))},
            Critical,
            f"node1: members disagree on the cluster UUID: 11111111-2222-3333-4444-555555555555, {UUID}",
        ),
    ],
)
def test_primary_context(report, changes: dict, state, text: str) -> None:
    result = judge_primary(report(**changes))
    assert (result.state, result.hint) == (state, text)


@pytest.mark.parametrize(
    ("address", "arbitrator"),
    [("", True), ("AUTO", True), (":4567", True), ("10.0.0.3:0", True), ("10.0.0.3:3306", False)],
)
def test_an_arbitrator_has_no_incoming_address(address: str, arbitrator: bool) -> None:
    assert is_arbitrator(Member("u3", "garb1", address, UUID)) is arbitrator


@pytest.mark.parametrize(("size", "state"), [(3, Ok), (2, Warn), (1, Critical)])
def test_cluster_size_against_expected(report, answering, size: int, state) -> None:
    members = (*DATA_NODES, GARBD)[:size]
    check = run("cluster", answering(report(cluster_size=size, members=members)), "--expected", "3")
    assert check.state == state
    assert f"cluster_size={size};3:;2:;0" in check.perfdata


def test_cluster_counts_arbitrators_apart(report, answering) -> None:
    check = run("cluster", answering(report(members=(*DATA_NODES, GARBD))))
    assert (check.state, check.summary_str) == (Ok, "Primary, 3 members (2 data nodes, arbitrator garb1)")
    assert check.perfdata == ["arbitrators=1;;;0", "cluster_size=3;;;0", "data_nodes=2;;;0"]


def test_cluster_without_size_is_unknown(report, answering) -> None:
    check = run("cluster", answering(report(cluster_size=None)))
    assert check.state == Unknown
    assert check.summary_str == "node1: cluster size unknown (Primary, local state 4 (Synced))"


@pytest.mark.parametrize("status", sorted(DOWN_STATUSES))
def test_cluster_of_a_node_without_mysqld_is_critical(report, answering, status) -> None:
    """Known, not unknown: a node whose mysqld does not run is in no Primary component."""
    down = report(status=status, reason="mysqld is not running", cluster_status=None, cluster_size=None,
                  members=None, ready=None, local_state=None)
    check = run("cluster", answering(down), "--expected", "3")
    assert check.state == Critical
    assert check.summary_str == f"node1: {status.value}, mysqld is not running: in no Primary component"
    assert check.perfdata == []


# --- queues ----------------------------------------------------------------------------------


def queued(report, recv: int, send: int):
    return report(wsrep=wsrep_values(wsrep_local_recv_queue=str(recv), wsrep_local_send_queue=str(send)))


@pytest.mark.parametrize(("recv", "state"), [(0, Ok), (16, Ok), (17, Warn), (100, Warn), (101, Critical)])
def test_recv_queue_default_ranges(report, answering, recv: int, state) -> None:
    assert run("queues", answering(queued(report, recv, 500))).state == state


def test_send_queue_is_judged_only_with_its_own_ranges(report, answering) -> None:
    source = answering(queued(report, 140, 20))
    check = run("queues", source, "--send-warning", "16", "--send-critical", "100")
    assert (check.state, check.summary_str) == (Critical, "recv queue 140 (outside range 0:100)")
    assert check.perfdata == ["recv_queue=140;16;100;0", "send_queue=20;16;100;0"]
    check = run("queues", answering(queued(report, 1, 20)), "--send-warning", "16")
    assert (check.state, check.summary_str) == (Warn, "send queue 20 (outside range 0:16)")


def test_queues_without_the_values_are_unknown(report, answering) -> None:
    check = run("queues", answering(report()))
    assert (check.state, check.summary_str) == (Unknown, "node1 does not report wsrep_local_recv_queue")


def test_a_healthy_but_stale_report_is_never_ok(report):
    """An agent that cannot read mysqld keeps publishing its last snapshot, marked not current."""
    current = report()
    stale = NodeReport(current.state, current.health, False, 42, "snapshot failed: hung")
    result = judge_node(stale)
    assert result.state == Unknown
    assert result.hint == (
        "node1: running (Synced), Synced, Primary, ready; "
        "but that is not current data (42 s old: snapshot failed: hung)"
    )
    assert judge_node(current).state == Ok


def test_primary_with_members_but_no_state_uuid_is_reported_not_crashed(report):
    node = report(cluster_state_uuid=None, members=(Member("u1", "node1", "10.0.0.1:3306", UUID),))
    result = PrimaryContext(None).evaluate(Metric("primary", node, context="primary"), None)
    assert result.state == Critical
    assert result.hint == f"node1: members disagree on the cluster UUID: {UUID}, unknown"
