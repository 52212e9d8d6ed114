"""A real Prometheus scrapes the agent's /metrics (no Galera needed: the endpoint serves a report
the test sets) over TLS with basic authentication, as a web config says, and evaluates the
shipped rules, their graces shortened."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
from prometheus_support import Prometheus, full_report, quick_rules
from support import free_tcp_port, tls_files

from galera_snmp.config import MetricsConfig
from galera_snmp.dev.base import wait_for
from galera_snmp.state import Health, NodeReport
from galera_snmp.traffic.httpcheck import MetricsServer


@pytest.fixture
def scraped(tmp_path: Path) -> Iterator[tuple[dict[str, NodeReport], Prometheus]]:
    current = {"report": full_report()}
    ca, cert, key = tls_files(tmp_path)
    web = tmp_path / "web-config.yml"
    web.touch(mode=0o600)
    hashed = bcrypt.hashpw(b"scrape-pass", bcrypt.gensalt(rounds=4)).decode()
    web.write_text(f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
                   f"basic_auth_users:\n  prometheus: '{hashed}'\n")
    config = MetricsConfig(enabled=True, address="127.0.0.1", port=free_tcp_port(), web_config=web)
    server = MetricsServer(config, lambda: current["report"])
    server.start()
    (tmp_path / "scrape.pass").write_text("scrape-pass")
    scrape = (f"    scheme: https\n    tls_config:\n      ca_file: {ca}\n"
              f"    basic_auth:\n      username: prometheus\n      password_file: {tmp_path / 'scrape.pass'}\n")
    prometheus = Prometheus(tmp_path, [f"127.0.0.1:{config.port}"], quick_rules(tmp_path), scrape)
    try:
        prometheus.wait_up()
        yield current, prometheus
    finally:
        prometheus.stop()
        server.stop()


def value_of(prometheus: Prometheus, promql: str) -> float | None:
    result = prometheus.query(promql)
    return float(result[0]["value"][1]) if len(result) == 1 else None


def test_prometheus_reads_the_values_and_fires_the_rules(scraped):
    current, prometheus = scraped
    wait_for(lambda: value_of(prometheus, "galera_wsrep_replicated_total") == 1.0, 20, "the first scrape")
    assert value_of(prometheus, 'galera_status{galera_status="running"}') == 1.0
    assert len(prometheus.query("galera_member_info")) == 3
    assert prometheus.firing("GaleraNotSynced") == []

    desynced = full_report(desync=True, local_state=2, local_state_comment="Donor/Desynced")
    current["report"] = NodeReport(desynced.state, Health(False, "wsrep_desync is ON"), True, 0)
    wait_for(lambda: prometheus.firing("GaleraNotSynced") != [], 30, "GaleraNotSynced to fire")

    current["report"] = full_report(cluster_state_uuid="00000000-0000-0000-0000-000000000000")
    wait_for(lambda: prometheus.firing("GaleraHistoryReset") != [], 30, "GaleraHistoryReset to fire")
    (alert,) = prometheus.firing("GaleraHistoryReset")
    assert alert["severity"] == "critical" and alert["job"] == "galera"
