"""A real HAProxy (Debian's) in front of the sandbox, checking each node through the agent's
HTTP health endpoint with the shipped contrib/haproxy config."""

from __future__ import annotations

import csv
import io
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import free_tcp_port, http_get, stop_process, tool
from vrrp import substitute

from galera_snmp.config import load_config
from galera_snmp.dev.sandbox import HTTP_PORT, Sandbox, SandboxError, SandboxNode, wait_for
from galera_snmp.traffic.drain import drain, undrain

pytestmark = pytest.mark.integration

SHIPPED = Path(__file__).resolve().parents[2] / "contrib" / "haproxy" / "haproxy.cfg"


class Haproxy:
    def __init__(self, workdir: Path, cluster: Sandbox) -> None:
        binary = tool("haproxy", "haproxy")
        self.port = free_tcp_port()
        self.stats = workdir / "haproxy.sock"
        replacements = {
            r"^    log /dev/log local0\n": "",  # no syslog socket in a test
            r"^global\n": f"global\n    stats socket {self.stats} level admin\n",
            r"bind 0\.0\.0\.0:3307": f"bind 127.0.0.1:{self.port}",
            r"balance leastconn": "balance roundrobin",  # spreads the test's short connections evenly
        }
        for node in cluster.nodes:
            replacements[rf"server {node.name} 192\.0\.2\.{10 + node.index}:3306"] = (
                f"server {node.name} {node.address}:3306"
            )
        config = workdir / "haproxy.cfg"
        config.write_text(substitute(SHIPPED.read_text(), replacements))
        check = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        self.log = workdir / "haproxy.log"
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=out, stderr=out)

    def servers(self) -> dict[str, dict[str, str]]:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(self.stats))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        rows = csv.DictReader(io.StringIO(data.decode().lstrip("# ")))
        return {row["svname"]: row for row in rows if row["svname"] not in ("FRONTEND", "BACKEND")}

    def status(self) -> dict[str, str]:
        try:
            return {name: row["status"] for name, row in self.servers().items()}
        except OSError:
            return {}

    def wait_status(self, want: dict[str, str], timeout: float = 15) -> None:
        try:
            wait_for(lambda: all(self.status().get(k) == v for k, v in want.items()), timeout,
                     f"haproxy to see {want}", interval=0.1)
        except SandboxError as err:  # what haproxy sees at the deadline, not when the wait began
            raise SandboxError(f"{err} (now {self.status()}; log {self.log})") from None

    def connect_many(self, count: int) -> dict[str, int]:
        """Open ``count`` new client connections (each reads the server greeting); new sessions per node."""
        before = {name: int(row["stot"]) for name, row in self.servers().items()}
        for _ in range(count):
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as client:
                assert client.recv(1024), "no MySQL greeting through haproxy"
        after = {name: int(row["stot"]) for name, row in self.servers().items()}
        return {name: after[name] - before[name] for name in after}

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture
def haproxy(cluster: Sandbox, tmp_path: Path) -> Iterator[Haproxy]:
    proxy = Haproxy(tmp_path, cluster)
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
