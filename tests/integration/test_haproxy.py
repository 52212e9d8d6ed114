"""A real HAProxy (Debian's) in front of the sandbox, checking each node through the agent's
HTTP health endpoint with the shipped contrib/haproxy config."""

from __future__ import annotations

import signal
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from proxy import SHIPPED, Haproxy
from support import http_get

from galera_snmp.config import load_config
from galera_snmp.dev.sandbox import HTTP_PORT, Sandbox, SandboxNode, wait_for
from galera_snmp.traffic.drain import drain, undrain

pytestmark = pytest.mark.integration

SHIPPED_CFG = SHIPPED / "haproxy.cfg"


@pytest.fixture
def haproxy(cluster: Sandbox, tmp_path: Path) -> Iterator[Haproxy]:
    proxy = Haproxy(tmp_path, cluster, SHIPPED_CFG, {r"balance leastconn": "balance roundrobin"})
    try:
        proxy.wait_status({node.name: "UP" for node in cluster.nodes})
        yield proxy
    finally:
        proxy.stop()


def get(node: SandboxNode, path: str = "/", method: str = "GET") -> tuple[int, str]:
    status, _, body = http_get(node.address, HTTP_PORT, path, method)
    return status, body


def test_desynced_node_is_down_and_gets_no_new_connections(cluster: Sandbox, haproxy: Haproxy) -> None:
    node2 = cluster.node(2)
    node2.set_desync(True)
    try:
        haproxy.wait_status({"node1": "UP", "node2": "DOWN", "node3": "UP"})
        sessions = haproxy.connect_many(12)
        assert sessions["node2"] == 0 and sessions["node1"] > 0 and sessions["node3"] > 0, sessions
        assert get(node2) == (503, "Galera node node2 is not healthy: wsrep_desync is ON\r\n")
    finally:
        node2.set_desync(False)
    haproxy.wait_status({"node2": "UP"})


def test_drained_node_is_down_and_gets_no_new_connections(cluster: Sandbox, haproxy: Haproxy) -> None:
    node3 = cluster.node(3)
    config = load_config(node3.config_path)
    drain(config, "test")
    try:
        haproxy.wait_status({"node1": "UP", "node2": "UP", "node3": "DOWN"})
        sessions = haproxy.connect_many(12)
        assert sessions["node3"] == 0 and sessions["node1"] > 0 and sessions["node2"] > 0, sessions
        status, body = get(node3, "/json")
        assert status == 503 and '"drained": true' in body and '"status": "running"' in body
    finally:
        undrain(config)
    haproxy.wait_status({"node3": "UP"})


def test_endpoint_answers_fast_while_mysqld_hangs(cluster: Sandbox, haproxy: Haproxy) -> None:
    node2 = cluster.node(2)
    node2.signal(signal.SIGSTOP)
    try:
        wait_for(lambda: get(node2)[0] == 503, 15, "503 from the hung node")
        timings = []
        for _ in range(30):
            started = time.perf_counter()
            status, body = get(node2)
            timings.append(time.perf_counter() - started)
            assert status == 503, body
        median = statistics.median(timings)
        assert median < 0.010, f"median {median * 1000:.1f} ms"
        haproxy.wait_status({"node2": "DOWN"})
    finally:
        node2.signal(signal.SIGCONT)
    cluster.wait_settled()
    haproxy.wait_status({"node2": "UP"})


def test_endpoint_speaks_clustercheck(cluster: Sandbox) -> None:
    node1 = cluster.node(1)
    assert get(node1) == (200, "Galera node node1 is healthy: Synced, Primary, ready\r\n")
    assert get(node1, method="OPTIONS")[0] == 200  # HAProxy's default httpchk request
    assert get(node1, method="HEAD") == (200, "")
    status, body = get(node1, "/json")
    assert status == 200 and '"healthy": true' in body
