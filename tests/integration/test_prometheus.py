"""A real Prometheus scrapes every sandbox node's agent (/metrics) and evaluates the shipped
rules (graces shortened, docs/METRICS.md): the values equal SHOW STATUS within a refresh, every
node shows the three members, a desynced node fires GaleraNotSynced, and GaleraHistoryReset fires
for a history changed behind the agent's back and, on every node, after a plain restart of a
crashed cluster (the field-safety scenario).

Runnable by itself: pytest tests/integration/test_prometheus.py
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from outage import crash_all, recovered_positions
from prometheus_support import Prometheus, quick_rules

from galera_snmp.dev.sandbox import METRICS_PORT, Sandbox, wait_for

pytestmark = pytest.mark.integration

# SHOW STATUS name -> the metric that carries it
COMPARED = {
    "wsrep_cluster_size": "galera_cluster_size",
    "wsrep_cluster_conf_id": "galera_cluster_conf_id",
    "wsrep_last_committed": "galera_seqno",
    "wsrep_replicated": "galera_wsrep_replicated_total",
    "wsrep_received": "galera_wsrep_received_total",
    "wsrep_local_commits": "galera_wsrep_local_commits_total",
    "wsrep_local_cached_downto": "galera_wsrep_local_cached_downto",
}


@pytest.fixture
def prometheus(cluster: Sandbox, tmp_path: Path) -> Iterator[Prometheus]:
    server = Prometheus(tmp_path, [f"{node.address}:{METRICS_PORT}" for node in cluster.nodes], quick_rules(tmp_path))
    try:
        server.wait_up()
        yield server
    finally:
        server.stop()


def scraped(prometheus: Prometheus, metric: str) -> dict[str, float]:
    """instance -> value of a metric without labels of its own."""
    return {r["metric"]["instance"]: float(r["value"][1]) for r in prometheus.query(metric)}


def test_values_equal_show_status_and_every_node_shows_three_members(cluster: Sandbox, prometheus) -> None:
    def equal() -> bool:
        for node in cluster.nodes:
            status = dict(node.sql("SHOW GLOBAL STATUS LIKE 'wsrep_%'"))
            instance = f"{node.address}:{METRICS_PORT}"
            for name, metric in COMPARED.items():
                if scraped(prometheus, metric).get(instance) != float(status[name]):
                    return False
        return True

    wait_for(equal, 15, "the scraped values to equal SHOW STATUS on every node")
    node1 = cluster.node(1)
    node1.sql("CREATE DATABASE IF NOT EXISTS prometheus_test")  # a write: the counters move
    try:
        wait_for(equal, 15, "the scraped values to follow a write")
    finally:
        node1.sql("DROP DATABASE IF EXISTS prometheus_test")
    members = prometheus.query("galera_member_info")
    by_instance: dict[str, set[str]] = {}
    for row in members:
        by_instance.setdefault(row["metric"]["instance"], set()).add(row["metric"]["name"])
    assert by_instance == {f"{n.address}:{METRICS_PORT}": {m.name for m in cluster.nodes} for n in cluster.nodes}
    states = prometheus.query('galera_local_state{galera_local_state="synced"} == 1')
    assert len(states) == 3
    assert prometheus.firing("GaleraNotSynced") == [] and prometheus.firing("GaleraTwoPrimaryComponents") == []


def test_a_desynced_node_fires_not_synced(cluster: Sandbox, prometheus) -> None:
    node = cluster.node(2)
    node.set_desync(True)
    try:
        wait_for(lambda: prometheus.firing("GaleraNotSynced") != [], 30, "GaleraNotSynced to fire")
        (alert,) = prometheus.firing("GaleraNotSynced")
        assert alert["instance"] == f"{node.address}:{METRICS_PORT}"
    finally:
        node.set_desync(False)
    wait_for(lambda: prometheus.firing("GaleraNotSynced") == [], 30, "GaleraNotSynced to resolve")


RESET = "GaleraHistoryReset"


def test_a_history_changed_behind_the_agent_fires_history_reset(cluster: Sandbox, prometheus, cli) -> None:
    """test_field_safety's scenario: the history the agent kept is not the node's."""
    node = cluster.node(2)
    instance = f"{node.address}:{METRICS_PORT}"
    wait_for(lambda: not prometheus.firing_for(RESET), 30, "no history reset flagged anywhere before the change")
    kept = node.dir / "state" / "history.json"
    kept.write_text('{"uuid": "0b1c2d3e-0000-11f1-8000-000000000001", "accept_next": false}\n')
    try:
        wait_for(lambda: instance in prometheus.firing_for(RESET), 30, "GaleraHistoryReset to fire for node2")
    finally:
        accepted = cli("galera-snmp", "accept-history", "-c", str(node.config_path))
    assert accepted.returncode == 0, accepted.stderr
    wait_for(lambda: instance not in prometheus.firing_for(RESET), 30, "GaleraHistoryReset to resolve")


def test_a_plain_restart_after_a_crash_fires_history_reset_on_every_node(cluster: Sandbox, prometheus) -> None:
    """test_field_safety's scenario itself: every node killed at once, then started by hand without
    its recovered position; pc.recovery forms a Primary with a zero state UUID and the alert fires
    for every node. A zero history is no place for the next tests: the cluster is rebuilt, and the
    alert resolves."""
    everyone = {f"{node.address}:{METRICS_PORT}" for node in cluster.nodes}
    wait_for(lambda: not prometheus.firing_for(RESET), 30, "no history reset flagged before the crash")
    crash_all(cluster, gap=0)
    recovered_positions(cluster)  # the agents' recoveries are over: they hold the port for a moment
    try:
        for node in cluster.nodes:
            node.start()  # by hand: no --wsrep_start_position
        wait_for(lambda: prometheus.firing_for(RESET) == everyone, 90, "GaleraHistoryReset to fire for every node")
    finally:
        cluster.down(purge=True)
    cluster.up()
    wait_for(lambda: not prometheus.firing_for(RESET), 60, "GaleraHistoryReset to resolve on the rebuilt cluster")
