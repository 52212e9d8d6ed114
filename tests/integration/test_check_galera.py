"""check_galera against the real sandbox, through both sources (local MySQL and SNMP)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
from support import cut_off

from galera_snmp.dev.sandbox import Sandbox, SandboxNode, wait_for

pytestmark = pytest.mark.integration

STATES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


def run(cli, *args: str) -> tuple[int, str]:
    result = cli("check_galera", *args)
    lines = result.stdout.splitlines()
    assert lines, result.stderr
    first = lines[0]
    assert first.startswith(f"GALERA {STATES[result.returncode]} - "), first
    assert "Traceback" not in result.stdout + result.stderr
    return result.returncode, first


def by_mysql(node: SandboxNode) -> tuple[str, ...]:
    return ("--config", str(node.config_path))


def by_snmp(node: SandboxNode) -> tuple[str, ...]:
    return node.check_galera_snmp()


SOURCES = [pytest.param(by_mysql, id="mysql"), pytest.param(by_snmp, id="snmp")]


def perfdata(line: str) -> dict[str, str]:
    _, _, perf = line.partition(" | ")
    return dict(item.split("=", 1) for item in perf.split())


@pytest.mark.parametrize("source", SOURCES)
def test_all_synced_is_ok_with_perfdata(cluster: Sandbox, cli, source) -> None:
    for node in cluster.nodes:
        code, line = run(cli, "-m", "node", *source(node))
        assert code == 0, line
        assert node.name in line
        perf = perfdata(line)
        assert perf["cluster_size"].startswith("3;")
        assert perf["local_state"].startswith("4;")
        assert re.match(r"\d+c;", perf["seqno"])
    code, line = run(cli, "-m", "cluster", "--expected", "3", *source(cluster.node(1)))
    assert code == 0, line
    assert perfdata(line)["cluster_size"] == "3;3:;2:;0"


@pytest.mark.parametrize("source", SOURCES)
def test_desynced_node_is_warning(cluster: Sandbox, cli, source) -> None:
    node = cluster.node(2)
    node.set_desync(True)
    try:
        wait_for(lambda: run(cli, "-m", "node", *source(node))[0] == 1, 5, "WARNING for the desynced node")
        _, line = run(cli, "-m", "node", *source(node))
        assert "wsrep_desync is ON" in line
        assert run(cli, "-m", "node", *source(cluster.node(1)))[0] == 0
    finally:
        node.set_desync(False)


def test_a_killed_node_shrinks_the_cluster(cluster: Sandbox, cli) -> None:
    cluster.node(3).kill()
    node1 = cluster.node(1)
    wait_for(lambda: node1.snapshot().cluster_size == 2, 30, "node1 to see two members")
    for source in (by_mysql, by_snmp):
        code, line = run(cli, "-m", "cluster", "--expected", "3", *source(node1))
        assert code == 1, line  # default -w 3: -c 2:
        code, line = run(cli, "-m", "cluster", "--expected", "3", "-c", "3:", *source(node1))
        assert code == 2, line
    code, line = run(cli, "-m", "node", *by_mysql(cluster.node(3)))
    assert code == 2 and "stopped" in line, line


def test_silent_snmp_agent_is_unknown_within_the_timeout(cluster: Sandbox, cli) -> None:
    node = cluster.node(3)
    node.stop_services()
    try:
        started = time.monotonic()
        code, line = run(cli, "-m", "node", "-t", "3", *by_snmp(node))
        assert code == 3, line
        assert time.monotonic() - started < 4.5
        assert "no answer" in line or "refused" in line.lower()
        code, line = run(cli, "-m", "node", "-t", "3", "--unreachable", "critical", *by_snmp(node))
        assert code == 2, line
    finally:
        node.start_services()


def test_bad_usage_and_wrong_credentials_exit_3(cli) -> None:
    for args in (
        ("-m", "nope"),
        ("-w", "not-a-range"),
        ("-m", "peers"),
        ("-H", "no-such-host.invalid", "-t", "2"),
        ("-H", "127.0.0.11", "-C", "wrong-community", "-t", "2"),  # the sandbox answers no community
        ("-H", "127.0.0.11", "-P", "3", "-U", "galeramon", "-A", "wrong-pass-1", "-X", "wrong-pass-2", "-t", "3"),
        ("-H", "127.0.0.11", "-P", "3", "-U", "nobody-here", "-A", "wrong-pass-1", "-X", "wrong-pass-2", "-t", "3"),
        ("--help",),
        ("--version",),
    ):
        result = cli("check_galera", *args)
        assert result.returncode == 3, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


def _cookie(state_dir: Path) -> dict:
    files = list(state_dir.glob("*.json"))
    assert len(files) == 1, files
    return json.loads(files[0].read_text())


def conflicts(local: SandboxNode, remote: SandboxNode, times: int) -> None:
    """Exactly ``times`` conflicts on ``local``: its open transaction holds a row that a commit
    on ``remote`` also changed, so the replicated write-set aborts it (BF abort) or its own
    commit fails certification. Either way its COMMIT fails with a deadlock error."""
    local.sql("CREATE DATABASE IF NOT EXISTS check_test")
    local.sql("CREATE TABLE IF NOT EXISTS check_test.hot (id INT PRIMARY KEY, v INT)")
    local.sql("REPLACE INTO check_test.hot VALUES (1, 0)")
    wait_for(lambda: remote.sql("SELECT COUNT(*) FROM check_test.hot")[0][0] == 1, 10, "the row on the remote node")
    conn = local.connect()
    try:
        with conn.cursor() as cur:
            for _ in range(times):
                cur.execute("BEGIN")
                cur.execute("UPDATE check_test.hot SET v = v + 1 WHERE id = 1")
                remote.sql("UPDATE check_test.hot SET v = v + 100 WHERE id = 1")
                with pytest.raises(pymysql.err.OperationalError, match=r"[Dd]eadlock"):
                    cur.execute("COMMIT")
    finally:
        conn.close()


def test_conflict_rates_between_two_runs(cluster: Sandbox, cli, state_dir: Path) -> None:
    node1, node2 = cluster.node(1), cluster.node(2)
    args = ("-m", "conflicts", "--state-dir", str(state_dir), "-w", "1000000", "-c", "1000000", *by_mysql(node1))
    code, line = run(cli, *args)
    assert code == 0 and "first run" in line, line
    first = _cookie(state_dir)
    conflicts(node1, node2, 4)
    code, line = run(cli, *args)
    assert code == 0, line
    second = _cookie(state_dir)
    perf = perfdata(line)
    for counter, short in (("wsrep_local_cert_failures", "cert_failures"), ("wsrep_local_bf_aborts", "bf_aborts")):
        (v1, t1), (v2, t2) = first[counter], second[counter]
        assert v2 >= v1
        expected = round((v2 - v1) / (t2 - t1), 4)
        assert float(perf[f"{short}_per_second"].split(";")[0]) == pytest.approx(expected, abs=1e-4)
        assert perf[short].startswith(f"{v2}c")
    # Each failed COMMIT is counted on node1, but one conflict can show in both counters
    # (BF abort and certification failure): CI once counted 5 for 4.
    total = sum(second[c][0] - first[c][0] for c in first)
    assert 4 <= total <= 8, f"{total} conflicts counted for 4 failed commits"
    # a tight threshold turns the same rate into a WARNING
    conflicts(node1, node2, 2)
    tight = ("-m", "conflicts", "--state-dir", str(state_dir), "-w", "0", "-c", "1000000", *by_mysql(node1))
    code, line = run(cli, *tight)
    assert code == 1, line


def test_counter_reset_is_detected_not_negative(cluster: Sandbox, cli, state_dir: Path) -> None:
    node1, node2 = cluster.node(1), cluster.node(2)
    conflicts(node2, node1, 2)
    args = ("-m", "conflicts", "--state-dir", str(state_dir), *by_mysql(node2))
    run(cli, *args)
    assert sum(v for v, _ in _cookie(state_dir).values()) > 0, "need non-zero counters before the restart"
    node2.stop()
    cluster.up()
    code, line = run(cli, *args)
    assert code == 0, line
    assert "went down" in line
    assert "-" not in perfdata(line).get("cert_failures", "")


def test_flow_control_paused_share(cluster: Sandbox, cli, state_dir: Path) -> None:
    """node2's applier blocked by a table lock queues write-sets until it asks node1 to pause."""
    node1, node2 = cluster.node(1), cluster.node(2)
    node1.sql("CREATE DATABASE IF NOT EXISTS check_test")
    node1.sql("CREATE TABLE IF NOT EXISTS check_test.fc (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    wait_for(lambda: bool(node2.sql("SHOW TABLES IN check_test LIKE 'fc'")), 10, "the table on node2")
    args = ("-m", "flow-control", "--state-dir", str(state_dir), "-w", "100", "-c", "100", *by_mysql(node1))
    code, line = run(cli, *args)
    assert code == 0 and "first run" in line, line
    first = _cookie(state_dir)
    locker = node2.connect()
    with locker.cursor() as cur:
        cur.execute("LOCK TABLES check_test.fc WRITE")
    writer_done = threading.Event()

    def write() -> None:
        conn = node1.connect()
        with conn.cursor() as cur:
            for i in range(40):
                cur.execute("INSERT INTO check_test.fc (v) VALUES (%s)", (i,))
        conn.close()
        writer_done.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        wait_for(lambda: int(node1.sql("SHOW GLOBAL STATUS LIKE 'wsrep_flow_control_paused_ns'")[0][1]) > 0
                 or writer_done.is_set(), 30, "flow control to start")
        time.sleep(1.0)  # keep the pause going for a measurable while (not a synchronisation)
    finally:
        with locker.cursor() as cur:
            cur.execute("UNLOCK TABLES")
        locker.close()
        writer.join(30)
    code, line = run(cli, *args)
    assert code == 0, line
    second = _cookie(state_dir)
    (ns1, t1), (ns2, t2) = first["wsrep_flow_control_paused_ns"], second["wsrep_flow_control_paused_ns"]
    paused = float(perfdata(line)["flow_control_paused"].split("%")[0])
    assert paused > 0, line
    assert paused == pytest.approx(min(100.0, (ns2 - ns1) / (t2 - t1) / 1e7), abs=0.001)


@pytest.fixture
def split(cluster: Sandbox) -> Iterator[Sandbox]:
    """node3 cut off from node1 and node2 (gcomm and everything else between their addresses)."""
    try:
        with cut_off("127.0.0.13", ["127.0.0.11", "127.0.0.12"]):
            yield cluster
    finally:
        node3 = cluster.node(3)
        node3.kill()  # its history forked: throw it away, it comes back by SST
        shutil.rmtree(node3.datadir, ignore_errors=True)


def test_split_brain_is_critical_naming_both_components(split: Sandbox, cli) -> None:
    node3 = split.node(3)
    peers = (",".join(node.address for node in split.nodes), "--credentials", str(node3.snmp_credentials))
    wait_for(lambda: node3.snapshot().cluster_status == "non-Primary", 30, "node3 to lose the Primary component")
    # the plugin reads the agents, which see the change at their next refresh (refresh_interval)
    outside = "outside any Primary component: node3"
    wait_for(lambda: outside in run(cli, "-m", "peers", "--peers", *peers)[1], 10, "the agents to see it")
    code, line = run(cli, "-m", "peers", "--peers", *peers)
    assert code == 1 and outside in line, line
    node3.sql("SET GLOBAL wsrep_provider_options = 'pc.bootstrap=YES'")
    wait_for(lambda: node3.snapshot().cluster_status == "Primary", 30, "node3 to form its own Primary component")
    wait_for(lambda: "split brain: 2 Primary" in run(cli, "-m", "peers", "--peers", *peers)[1], 10, "split brain")
    code, line = run(cli, "-m", "peers", "--peers", *peers)
    assert code == 2, line
    assert "[node1, node2]" in line and "[node3]" in line, line


def test_arbitrator_is_counted_apart(cluster: Sandbox, cli, tmp_path: Path) -> None:
    garbd = shutil.which("garbd")
    if garbd is None:
        pytest.fail("garbd is not installed: apt-get install galera-arbitrator-4", pytrace=False)
    process = subprocess.Popen(
        [garbd, "--address", "gcomm://127.0.0.11,127.0.0.12,127.0.0.13", "--group", "sandbox", "--name", "arbitrator",
         "--options", "gmcast.listen_addr=tcp://127.0.0.14:4567", "--log", str(tmp_path / "garbd.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    node1 = cluster.node(1)
    try:
        wait_for(lambda: node1.snapshot().cluster_size == 4, 30, "garbd to join")
        for source in (by_mysql, by_snmp):
            wait_for(lambda s=source: "arbitrators=1" in run(cli, "-m", "cluster", *s(node1))[1], 5, "the arbitrator")
            code, line = run(cli, "-m", "cluster", "--expected", "3", *source(node1))
            assert code == 0, line
            perf = perfdata(line)
            assert perf["data_nodes"].startswith("3;") and perf["arbitrators"].startswith("1;"), line
            assert "arbitrator" in line
        code, line = run(cli, "-m", "peers", "--peers", ",".join(n.address for n in cluster.nodes), "--expected", "3",
                         "--credentials", str(node1.snmp_credentials))
        assert code == 0, line
    finally:
        process.terminate()
        process.wait(30)
    wait_for(lambda: node1.snapshot().cluster_size == 3, 30, "garbd to leave")
