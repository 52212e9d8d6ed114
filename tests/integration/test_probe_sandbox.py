"""The probe and galera-check against a real 3-node MariaDB Galera cluster.

Tests that break the cluster (clean shutdown, a lone node, kill -9 of all) leave it for the
``cluster`` fixture to bring back.
"""

from __future__ import annotations

import collections
import json
import re
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from galera_snmp.config import load_config
from galera_snmp.dev.sandbox import Sandbox, SandboxNode, wait_for
from galera_snmp.node.probe import Probe
from galera_snmp.node.process import find_mysqld
from galera_snmp.state import ProcessState, Status, history_reset

pytestmark = pytest.mark.integration


def check(cli, node: SandboxNode, *args: str) -> subprocess.CompletedProcess[str]:
    return cli("galera-check", "-c", str(node.config_path), *args)


def word(cli, node: SandboxNode, command: str) -> str:
    result = check(cli, node, command)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def snapshot_json(cli, node: SandboxNode) -> dict:
    return json.loads(check(cli, node, "--json").stdout)


def last_committed(node: SandboxNode) -> int:
    rows = node.sql("SHOW GLOBAL STATUS LIKE 'wsrep_last_committed'")
    return int(rows[0][1])


def run_recovery(node: SandboxNode, folder: Path) -> subprocess.CompletedProcess[bytes]:
    """``mariadbd --wsrep-recover`` on the node's datadir, its log in ``folder``/recover.log."""
    folder.chmod(0o711)
    log = folder / "recover.log"
    log.touch()
    subprocess.run(["chown", "mysql:", str(log)], check=True)
    return subprocess.run(
        ["mariadbd", f"--defaults-file={node.cnf}", "--wsrep-recover", f"--log-error={log}"],
        capture_output=True,
        check=False,
        timeout=120,
    )


def recovered_seqno(node: SandboxNode) -> int:
    """What ``mariadbd --wsrep-recover`` says, found independently of galera_snmp's parser."""
    with tempfile.TemporaryDirectory() as tmp:
        result = run_recovery(node, Path(tmp))
        assert result.returncode == 0, result.stderr
        found = re.findall(r"Recovered position: [0-9a-f-]{36}:(-?\d+)", (Path(tmp) / "recover.log").read_text())
    assert found, "mariadbd --wsrep-recover printed no position"
    return int(found[-1])


def test_synced_nodes_report_running_and_live_seqno(cluster: Sandbox, cli) -> None:
    for node in cluster.nodes:
        assert word(cli, node, "status") == "running"
        assert int(word(cli, node, "seqno")) == last_committed(node)
        result = check(cli, node, "health")
        assert result.returncode == 0, result.stdout
        assert result.stdout.startswith("healthy:")
        data = snapshot_json(cli, node)
        assert data["seqno_source"] == "live"
        assert data["cluster_size"] == 3
        assert data["wsrep"]["wsrep_local_state"]["kind"] == "gauge"


def test_a_write_on_node1_moves_every_seqno(cluster: Sandbox, cli) -> None:
    before = {node.index: int(word(cli, node, "seqno")) for node in cluster.nodes}
    node1 = cluster.node(1)
    node1.sql("CREATE DATABASE IF NOT EXISTS probe_test")
    node1.sql("CREATE TABLE IF NOT EXISTS probe_test.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    node1.sql("INSERT INTO probe_test.t (v) VALUES (1)")
    for node in cluster.nodes:
        wait_for(lambda n=node: int(word(cli, n, "seqno")) > before[n.index], 10, f"{node.name}'s seqno to move")


def test_desync_fails_health_but_status_stays_running(cluster: Sandbox, cli) -> None:
    node = cluster.node(2)
    node.set_desync(True)
    try:
        result = check(cli, node, "health")
        assert result.returncode == 1
        assert "wsrep_desync is ON" in result.stdout
        assert len(result.stdout.strip().splitlines()) == 1
        assert word(cli, node, "status") == "running"
    finally:
        node.set_desync(False)
    wait_for(lambda: check(cli, node, "health").returncode == 0, 10, "health to recover after desync OFF")


def test_hung_mysqld_is_never_reported_running(cluster: Sandbox, cli) -> None:
    node = cluster.node(3)
    config = load_config(node.config_path)
    budget = config.mysql.connect_timeout + config.mysql.read_timeout
    with Probe(config) as reused:
        assert reused.snapshot().status is Status.RUNNING  # the connection is now open
        node.signal(signal.SIGSTOP)
        try:
            for probe in (reused, Probe(config)):
                started = time.monotonic()
                state = probe.snapshot()
                elapsed = time.monotonic() - started
                assert state.process is ProcessState.SUSPENDED
                assert state.status is Status.UNKNOWN  # a suspended mysqld is never "stopped"
                assert elapsed < budget + 1.0, f"probe took {elapsed:.2f} s with a {budget:g} s budget"
                probe.close()
            assert word(cli, node, "status") == "unknown"
            assert check(cli, node, "health").returncode == 1
        finally:
            node.signal(signal.SIGCONT)
    cluster.wait_settled()


def test_sandbox_cli_up_is_idempotent_and_down_leaves_no_process(cluster: Sandbox, cli) -> None:
    pids = {node.index: find_mysqld(node.datadir).pid for node in cluster.nodes}
    up = cli("galera-snmp", "sandbox", "up", "--dir", str(cluster.root))
    assert up.returncode == 0, up.stderr
    assert {node.index: find_mysqld(node.datadir).pid for node in cluster.nodes} == pids
    status = cli("galera-snmp", "sandbox", "status", "--dir", str(cluster.root)).stdout
    for node in cluster.nodes:
        line = next(line for line in status.splitlines() if line.startswith(node.name))
        assert node.address in line
        assert "running" in line
        assert str(node.config_path) in line
    down = cli("galera-snmp", "sandbox", "down", "--dir", str(cluster.root))
    assert down.returncode == 0, down.stderr
    assert all(find_mysqld(node.datadir).state is ProcessState.ABSENT for node in cluster.nodes)
    assert "stopped" in cli("galera-snmp", "sandbox", "status", "--dir", str(cluster.root)).stdout


def test_clean_shutdown_seqno_comes_from_grastate(cluster: Sandbox, cli) -> None:
    cluster.node(1).sql("CREATE DATABASE IF NOT EXISTS probe_test")
    cluster.down()
    for node in cluster.nodes:
        grastate = (node.datadir / "grastate.dat").read_text()
        expected = int(re.search(r"^seqno:\s+(-?\d+)", grastate, re.M).group(1))
        assert expected >= 0
        data = snapshot_json(cli, node)
        assert data["status"] == "stopped"
        assert data["seqno"] == expected
        assert data["seqno_source"] == "grastate"
        assert int(word(cli, node, "seqno")) == expected
    assert snapshot_json(cli, cluster.node(1))["safe_to_bootstrap"] is True


def test_node_up_without_primary_is_not_stopped(cluster: Sandbox, cli) -> None:
    cluster.down()
    node = cluster.node(2)
    node.start()  # a normal start with both peers down: it waits for a Primary component
    try:
        wait_for(lambda: find_mysqld(node.datadir).state is ProcessState.RUNNING, 10, "node2's mariadbd")
        # give it time to reach the waiting state, then check it is still waiting, not serving
        wait_for(lambda: "gcomm: connecting" in node.error_log.read_text(), 20, "node2 to try its peers")
        assert not node.pid_file.exists(), "the pid file exists already: this test would not prove anything"
        data = snapshot_json(cli, node)
        assert data["status"] == "nonprimary", data["reason"]  # no donor to join: no state transfer either
        assert data["process"] == "running"
        assert data["pid"] == find_mysqld(node.datadir).pid
        assert check(cli, node, "health").returncode == 1
    finally:
        node.kill()  # a mariadbd waiting for a Primary component takes its time over a clean shutdown


def test_a_recovery_run_on_the_socket_is_never_taken_for_a_server(cluster: Sandbox) -> None:
    """A --wsrep-recover run binds the server's socket for a moment and resets what it accepted
    as it exits; a probe of the stopped node meanwhile must say stopped, never unknown."""
    node = cluster.node(3)
    node.kill()
    stop = threading.Event()
    runs: list[int] = []

    def recover_repeatedly() -> None:
        while not stop.is_set():
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(run_recovery(node, Path(tmp)).returncode)

    thread = threading.Thread(target=recover_repeatedly)
    thread.start()
    seen: collections.Counter[Status] = collections.Counter()
    try:
        with Probe(load_config(node.config_path)) as probe:
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                seen[probe.snapshot().status] += 1
    finally:
        stop.set()
        thread.join()
    assert runs.count(0) >= 10, f"too few recovery runs to tell: {runs}"
    assert set(seen) == {Status.STOPPED}, seen


def test_kill_all_then_seqno_comes_from_recovery(cluster: Sandbox, cli) -> None:
    """Nodes die at different moments, so each has its own last committed seqno."""
    node1, node2, node3 = cluster.nodes
    node1.sql("CREATE DATABASE IF NOT EXISTS probe_test")
    node1.sql("CREATE TABLE IF NOT EXISTS probe_test.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    node3.kill()
    node1.sql("INSERT INTO probe_test.t (v) VALUES (2)")
    wait_for(lambda: last_committed(node2) == last_committed(node1), 10, "node2 to apply the write")
    node2.kill()
    # node1 alone loses quorum; the operator's pc.bootstrap makes it Primary so it can write on
    wait_for(lambda: node1.snapshot().cluster_status != "Primary", 30, "node1 to notice node2 is gone")
    node1.sql("SET GLOBAL wsrep_provider_options = 'pc.bootstrap=YES'")
    wait_for(lambda: node1.snapshot().status is Status.RUNNING, 30, "node1 to be Primary alone")
    node1.sql("INSERT INTO probe_test.t (v) VALUES (3)")
    node1.kill()

    expected = {node.index: recovered_seqno(node) for node in cluster.nodes}
    assert len(set(expected.values())) == 3, f"seqnos should differ: {expected}"
    for node in cluster.nodes:
        assert word(cli, node, "status") == "stopped"
        # galera-check never recovers: it reads what the node's agent recovered, for the datadir as
        # it is now (the recovery above may have touched it: the agent recovers again at its refresh)
        wait_for(lambda n=node: int(word(cli, n, "seqno")) == expected[n.index], 30, f"{node.name}'s agent to recover")
        data = snapshot_json(cli, node)
        assert data["seqno_source"] == "recovered"
        # Galera marks a node that was alone in the Primary component (node1 here) safe
        grastate = (node.datadir / "grastate.dat").read_text()
        assert data["safe_to_bootstrap"] is ("safe_to_bootstrap: 1" in grastate)
    assert expected[1] > expected[2] > expected[3]


def test_the_sandbox_brings_a_crashed_cluster_back_in_its_history(cluster: Sandbox) -> None:
    """Bootstrapped without its recovered position, a crashed node starts a new history, and
    every agent rightly flags that as a reset (seen: later tests found nodes flagged)."""
    node1, node2, node3 = cluster.nodes
    history = node1.snapshot().cluster_state_uuid
    node3.stop()
    node2.stop()
    node1.sql("CREATE DATABASE IF NOT EXISTS probe_test")  # node1 alone, ahead of the others
    node1.kill()  # the last node crashes: safe_to_bootstrap, but its grastate.dat seqno is -1
    cluster.up()
    states = [node.snapshot() for node in cluster.nodes]
    assert {s.cluster_state_uuid for s in states} == {history}
    assert [history_reset(s) for s in states] == [None, None, None]
