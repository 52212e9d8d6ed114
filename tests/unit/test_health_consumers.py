"""The health rule merged: every consumer of the verdict (the HTTP check, HAProxy's agent-check,
/metrics, the keepalived track file, GALERA-MIB and check_galera's node mode) gives the same
answer on one node per step of the rule, and on stale data. Each maps the verdict's code; none
reads the reason's words."""

from __future__ import annotations

import pytest
from nagiosplugin import Metric
from nagiosplugin.state import Ok
from prometheus_client.parser import text_string_to_metric_families as parse_text
from prometheus_support import scrape
from support import health_cases, synced_state

from galera_snmp.config import AgentCheckConfig
from galera_snmp.metrics import ReportCollector, exposition
from galera_snmp.nagios.checks import NodeContext
from galera_snmp.node.refresh import is_valid
from galera_snmp.snmp.mib import FALSE, SCALARS, TRUE, UNKNOWN_TRUTH, read_node, render
from galera_snmp.state import HealthCode, HealthPolicy, NodeReport, assess_health
from galera_snmp.traffic.agentcheck import health_reply
from galera_snmp.traffic.httpcheck import describe, short_reason
from galera_snmp.traffic.keepalived import FAULT, SERVE, TrackFile

# What each case is answered on the wire: whether it serves, and the short reason the
# unauthenticated ports give (the same words as before the code: docs/TRAFFIC.md's table).
SERVES, DRAINS, DOWN = "serves", "drains", "down"
ANSWERS: dict[HealthCode, tuple[str, str]] = {
    HealthCode.MYSQLD_ABSENT: (DOWN, "mysqld not running"),
    HealthCode.MYSQLD_NOT_ANSWERING: (DOWN, "mysqld not answering"),
    HealthCode.MYSQLD_UNREADABLE: (DOWN, "mysqld not answering"),
    HealthCode.WSREP_INCOMPLETE: (DOWN, "wsrep status incomplete"),
    HealthCode.NOT_PRIMARY: (DOWN, "not Primary"),
    HealthCode.NOT_READY: (DOWN, "wsrep_ready is OFF"),
    HealthCode.DESYNCED: (DOWN, "wsrep_desync is ON"),
    HealthCode.DONOR_REJECTS_QUERIES: (DOWN, "donor, and donors do not serve"),
    HealthCode.DONOR_NOT_SERVING: (DOWN, "donor, and donors do not serve"),
    HealthCode.NOT_SYNCED: (DOWN, "not Synced"),
    HealthCode.REJECT_QUERIES_UNKNOWN: (DOWN, "wsrep status incomplete"),
    HealthCode.REJECTING_QUERIES: (DOWN, "wsrep_reject_queries is set"),
    HealthCode.READ_ONLY: (DOWN, "read_only is ON"),
    HealthCode.DRAINED: (DRAINS, "drained by the operator"),
    HealthCode.PXC_MAINT_MODE: (DRAINS, "pxc_maint_mode is set"),
    HealthCode.SYNCED: (SERVES, "Synced, Primary, ready"),
    HealthCode.DONOR_SERVING: (SERVES, "Donor/Desynced, Primary, ready"),
}
STALE = "stale"


def reports() -> dict[str, tuple[NodeReport, str, str]]:
    """Each case as the agent's Reporter reports it (current when mysqld answered or surely is not
    running), with its expected answer; and a Synced node whose last snapshot failed."""
    cases = {}
    for code, (state, policy) in health_cases().items():
        valid = is_valid(state)
        cases[str(code)] = (NodeReport(state, assess_health(state, policy), valid, 0, "" if valid else state.reason),
                            *ANSWERS[code])
    state = synced_state()
    stale = NodeReport(state, assess_health(state, HealthPolicy()), False, 40, "snapshot failed: OSError(5)")
    cases[STALE] = (stale, DOWN, "no current data")
    return cases


def test_the_table_has_an_answer_for_every_step_of_the_rule():
    assert set(ANSWERS) == set(health_cases())


def healthy_sample(text: str) -> tuple[dict[str, str], float]:
    """galera_healthy's one sample in a /metrics text: its labels and value."""
    (family,) = [family for family in parse_text(text) if family.name == "galera_healthy"]
    (sample,) = family.samples
    return sample.labels, sample.value


def snmp_scalar(rows: dict[tuple[int, ...], object], name: str) -> object:
    (obj,) = [obj for obj in SCALARS if obj.name == name]
    return rows[(*obj.oid, 0)]


@pytest.mark.parametrize("case", reports())
def test_every_consumer_gives_the_same_answer(case, tmp_path):
    report, answer, short = reports()[case]
    serves = answer == SERVES

    assert short_reason(report) == short
    status, line, document = describe(report)
    assert (status, document["reason"], document["healthy"]) == (200 if serves else 503, short, serves)
    assert line.endswith(f": {short}")

    expected = {SERVES: "up ready 100%\n", DRAINS: "up drain\n", DOWN: f"ready down #{short}\n"}[answer]
    assert health_reply(report, AgentCheckConfig()) == expected

    body, _ = exposition(ReportCollector(lambda: report, False, short_reason), "")
    assert healthy_sample(body.decode()) == ({"reason": short}, 1.0 if serves else 0.0)
    assert healthy_sample(scrape(report))[0] == {"reason": report.verdict().reason}  # detailed: the rule's words

    track = TrackFile(tmp_path / "keepalived.track")
    track.update(report.verdict())
    assert track.written == (SERVE if serves else FAULT)

    rows = {oid: value for oid, _, value in render(report)}
    healthy = report.health.healthy
    assert snmp_scalar(rows, "galeraHealthy") == (UNKNOWN_TRUTH if healthy is None else TRUE if healthy else FALSE)
    assert snmp_scalar(rows, "galeraHealthReason") == report.health.reason.encode()
    remote = read_node(rows)
    assert remote.verdict().healthy is serves
    assert remote.health.code is HealthCode.UNCLASSIFIED  # GALERA-MIB carries the words, not the step

    nagios = NodeContext(None).evaluate(Metric("node", report, context="node"), None)
    assert (nagios.state == Ok) is serves
    assert report.health.reason in nagios.hint
