"""A real HAProxy with the shipped read/write split (contrib/haproxy/haproxy-rw-split.cfg) in front
of the sandbox: one writer chosen by the agents (HTTP /writer), readers weighted, drained and
taken down by HAProxy's agent-check."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
from outage import TABLE, Load, restart_agent
from proxy import SHIPPED, Haproxy
from support import http_get

from galera_snmp.config import load_config
from galera_snmp.dev.sandbox import HTTP_PORT, Sandbox, SandboxNode, wait_for
from galera_snmp.traffic.drain import drain, undrain

pytestmark = pytest.mark.integration

SHIPPED_CFG = SHIPPED / "haproxy-rw-split.cfg"
USER, PASSWORD = "splitter", "split-test-password"
WRITER, READERS = "galera_writer", "galera_readers"


@pytest.fixture
def split(cluster: Sandbox, tmp_path: Path) -> Iterator[Haproxy]:
    node1 = cluster.node(1)
    node1.sql(f"CREATE USER IF NOT EXISTS '{USER}'@'127.0.0.%' IDENTIFIED BY '{PASSWORD}'")
    node1.sql(f"GRANT ALL ON *.* TO '{USER}'@'127.0.0.%'")
    Load(cluster).stop()  # creates the table the writes go to
    proxy = Haproxy(tmp_path, cluster, SHIPPED_CFG)
    try:
        proxy.wait_status({node.name: "UP" for node in cluster.nodes}, proxy=READERS)
        proxy.wait_status({"node1": "UP", "node2": "DOWN", "node3": "DOWN"}, proxy=WRITER)
        yield proxy
    finally:
        proxy.stop()


def write_through(proxy: Haproxy, port: int) -> str:
    """One new client through ``port``: an INSERT, and the name of the node that took it."""
    conn = pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, autocommit=True,
                           connect_timeout=3, read_timeout=5, write_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute(f"INSERT INTO {TABLE} VALUES (%s, 0)", (time.time_ns(),))
            cur.execute("SELECT @@wsrep_node_name")
            return cur.fetchone()[0]
    finally:
        conn.close()


def writer_says(node: SandboxNode) -> int:
    return http_get(node.address, HTTP_PORT, "/writer")[0]


def test_writes_through_the_writer_frontend_land_on_one_node(cluster: Sandbox, split: Haproxy) -> None:
    port = split.ports[3307]
    assert {write_through(split, port) for _ in range(12)} == {"node1"}
    assert [writer_says(node) for node in cluster.nodes] == [200, 503, 503]


def test_read_only_on_the_writer_moves_the_writes_on_and_back(cluster: Sandbox, split: Haproxy) -> None:
    node1 = cluster.node(1)
    node1.sql("SET GLOBAL read_only = ON")
    try:
        started = time.monotonic()
        wait_for(lambda: writer_says(node1) == 503, 5, "node1 to stop being the writer", interval=0.05)
        refresh = load_config(node1.config_path).agent.refresh_interval
        assert time.monotonic() - started <= 2 * refresh + 0.5, "not within one refresh"
        split.wait_status({"node1": "DOWN", "node2": "UP", "node3": "DOWN"}, proxy=WRITER)
        assert {write_through(split, split.ports[3307]) for _ in range(6)} == {"node2"}
    finally:
        node1.sql("SET GLOBAL read_only = OFF")
    split.wait_status({"node1": "UP", "node2": "DOWN"}, proxy=WRITER)


def test_killing_the_writer_moves_the_writes_to_the_next_node(cluster: Sandbox, split: Haproxy) -> None:
    port = split.ports[3307]
    cluster.node(1).kill()
    started = time.monotonic()

    def next_writer() -> str | None:
        try:
            return write_through(split, port)
        except pymysql.MySQLError:
            return None

    wait_for(lambda: next_writer() == "node2", 30, "the writes to move to node2", interval=0.05)
    print(f"kill -9 of the writer to the first write on the next: {time.monotonic() - started:.2f} s")
    assert {write_through(split, port) for _ in range(6)} == {"node2"}
    wait_for(lambda: split.status(READERS).get("node1", "").startswith("DOWN"), 15, "the readers to lose node1")


def weight(proxy: Haproxy, name: str) -> int:
    return int(proxy.servers(READERS)[name]["weight"])


def test_agent_check_drains_and_takes_down(cluster: Sandbox, split: Haproxy) -> None:
    readers = split.ports[3308]
    node2, node3 = cluster.node(2), cluster.node(3)
    # a session on node3 from before the drain must outlive it
    kept = None
    for _ in range(30):
        conn = pymysql.connect(host="127.0.0.1", port=readers, user=USER, password=PASSWORD, autocommit=True,
                               connect_timeout=3)
        with conn.cursor() as cur:
            cur.execute("SELECT @@wsrep_node_name")
            if cur.fetchone()[0] == "node3":
                kept = conn
                break
        conn.close()
    assert kept is not None, "no reader session landed on node3"
    config = load_config(node3.config_path)
    drain(config, "test")
    try:
        split.wait_status({"node3": "DRAIN (agent)"}, proxy=READERS)
        sessions = split.connect_many(9, readers, READERS)
        assert sessions["node3"] == 0 and sessions["node1"] > 0 and sessions["node2"] > 0, sessions
        with kept.cursor() as cur:
            cur.execute("SELECT 1")  # still served: a drain sends no new clients, it cuts none
            assert cur.fetchone() == (1,)
    finally:
        kept.close()
        undrain(config)
    split.wait_status({"node3": "UP"}, proxy=READERS)
    node2.set_desync(True)
    try:
        split.wait_status({"node2": "DOWN (agent)"}, proxy=READERS)
        assert "wsrep_desync is ON" in split.servers(READERS)["node2"]["last_agt"]
    finally:
        node2.set_desync(False)
    split.wait_status({"node2": "UP"}, proxy=READERS)


def test_the_weight_falls_while_the_receive_queue_grows(cluster: Sandbox, split: Haproxy) -> None:
    """node2 desynced for a backup, allowed to serve reads ([health] desync_serves), then its
    appliers held by FLUSH TABLES WITH READ LOCK under write load: its receive queue grows, and
    HAProxy gives it less weight; back to full weight once it catches up."""
    node2 = cluster.node(2)
    saved = node2.config_path.read_text()
    node2.config_path.write_text(re.sub(r"^\[health\]\n", "[health]\ndesync_serves = yes\n", saved, count=1,
                                        flags=re.MULTILINE))
    restart_agent(node2)
    try:
        split.wait_status({"node2": "UP"}, proxy=READERS)
        assert weight(split, "node2") == 100
        node2.set_desync(True)
        locker = node2.connect()
        try:
            with locker.cursor() as cur:
                cur.execute("FLUSH TABLES WITH READ LOCK")
            with Load(cluster):
                wait_for(lambda: weight(split, "node2") <= 50, 30, "node2's weight to fall", interval=0.2)
                assert split.status(READERS)["node2"] == "UP"
                assert weight(split, "node1") > 50 and weight(split, "node3") > 50  # they keep up
        finally:
            locker.close()  # releases the lock
        wait_for(lambda: weight(split, "node2") == 100, 30, "node2's weight to come back", interval=0.2)
    finally:
        node2.set_desync(False)
        node2.config_path.write_text(saved)
        restart_agent(node2)
