"""galera-snmp-agent through real snmpd, read with real net-snmp clients, on the sandbox."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import example_snmptrapd_conf, trap_receiver

from galera_snmp.dev.sandbox import SNMP_USER, TRAP_SINK, Sandbox, SandboxNode, net_snmp_env, wait_for
from galera_snmp.snmp import mib
from galera_snmp.snmp.client import Client, Missing, SnmpError
from galera_snmp.snmp.notifications import BY_NOTIFICATION
from galera_snmp.state import SeqnoSource, Status

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ROOT = ".".join(map(str, mib.GALERA_MIB))


def oid_of(name: str) -> tuple[int, ...]:
    return (*mib.BY_NAME[name].oid, 0)


@pytest.fixture(scope="module")
def mib_env(standard_mib_dirs: list[Path]) -> dict[str, str]:
    dirs = ":".join(map(str, [*standard_mib_dirs, mib.MIB_FILE.parent]))
    return {**os.environ, "MIBDIRS": f"+{dirs}", "MIBS": "+GALERA-MIB"}


def net_snmp(node: SandboxNode, command: str, *args: str, env: dict[str, str] | None = None) -> str:
    """net-snmp's ``command`` (``args`` name the agent: net-snmp wants it before the OIDs), as the
    sandbox's SNMPv3 user: its snmp.conf holds the version, user and pass phrases."""
    tool = shutil.which(command)
    if tool is None:
        pytest.fail(f"{command} is not installed: apt-get install snmp", pytrace=False)
    result = subprocess.run(
        [tool, *args], capture_output=True, text=True, timeout=60, check=False,
        env={**(env or os.environ), **net_snmp_env(node.root)},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _rows(out: str) -> list[str]:
    """Output lines, without the one snmpwalk prints when our subtree ends the MIB view."""
    return [line for line in out.splitlines() if "No more variables left" not in line]


def walk_named(node: SandboxNode, env: dict[str, str]) -> dict[str, str]:
    out = net_snmp(node, "snmpwalk", "-OqsU", node.address, "GALERA-MIB::galeraMIB", env=env)
    values = {}
    for line in _rows(out):
        name, _, value = line.partition(" ")
        values[name] = value.strip().strip('"')
    return values


def show(node: SandboxNode) -> dict[str, str]:
    """SHOW GLOBAL STATUS, plus the variables under a "var." prefix (some names are both)."""
    status = {str(k).lower(): str(v) for k, v in node.sql("SHOW GLOBAL STATUS LIKE 'wsrep%'")}
    variables = {f"var.{str(k).lower()}": str(v) for k, v in node.sql("SHOW GLOBAL VARIABLES LIKE 'wsrep%'")}
    return status | variables


def snmp_get(node: SandboxNode, *names: str) -> dict[str, object]:
    with Client(node.snmp_target(timeout=1.0, retries=0)) as client:
        answer = client.get([oid_of(name) for name in names])
    return {name: answer[oid_of(name)] for name in names}


def test_walk_equals_show_status(cluster: Sandbox, mib_env: dict[str, str]) -> None:
    enum_words = {"ON": "true", "OFF": "false"}
    for node in cluster.nodes:
        before = show(node)
        walked = walk_named(node, mib_env)
        after = show(node)
        assert walked["galeraStatus.0"] == "running"
        assert walked["galeraHealthy.0"] == "true"
        assert walked["galeraDataValid.0"] == "true"
        assert walked["galeraNodeName.0"] == before["var.wsrep_node_name"] == node.name
        assert walked["galeraClusterName.0"] == before["var.wsrep_cluster_name"]
        assert walked["galeraClusterSize.0"] == before["wsrep_cluster_size"] == "3"
        assert walked["galeraClusterStateUUID.0"] == before["wsrep_cluster_state_uuid"]
        assert walked["galeraStateUUID.0"] == before["wsrep_local_state_uuid"]
        assert walked["galeraClusterConfId.0"] == before["wsrep_cluster_conf_id"]
        assert walked["galeraLocalState.0"] == "synced"
        assert walked["galeraLocalStateComment.0"] == before["wsrep_local_state_comment"]
        assert walked["galeraReady.0"] == enum_words[before["wsrep_ready"]]
        assert walked["galeraConnected.0"] == enum_words[before["wsrep_connected"]]
        assert walked["galeraDesync.0"] == enum_words[before["var.wsrep_desync"]]
        assert walked["galeraRejectQueries.0"] == before["var.wsrep_reject_queries"].lower()
        assert walked["galeraSeqnoSource.0"] == "live"
        assert int(before["wsrep_last_committed"]) <= int(walked["galeraSeqno.0"]) <= int(after["wsrep_last_committed"])
        for wsrep_name in mib.COUNTER_NAMES:
            if wsrep_name in before:
                value = int(walked[f"{mib._camel(wsrep_name)}.0"])
                assert int(before[wsrep_name]) <= value <= int(after[wsrep_name]), wsrep_name
        assert walked["galeraLocalSendQueueMin.0"] == before["wsrep_local_send_queue_min"]
        paused = float(before["wsrep_flow_control_paused"])
        assert abs(float(walked["galeraFlowControlPaused.0"]) - paused) <= 1e-6


def test_member_table_lists_every_node(cluster: Sandbox, mib_env: dict[str, str]) -> None:
    walked = walk_named(cluster.node(1), mib_env)
    names = sorted(v for k, v in walked.items() if k.startswith("galeraMemberName."))
    addresses = sorted(v for k, v in walked.items() if k.startswith("galeraMemberAddress."))
    assert names == [node.name for node in cluster.nodes]
    assert addresses == [f"{node.address}:3306" for node in cluster.nodes]
    uuids = {v for k, v in walked.items() if k.startswith("galeraMemberClusterUUID.")}
    assert uuids == {walked["galeraClusterStateUUID.0"]}


def _numeric_walk(node: SandboxNode) -> list[tuple[int, ...]]:
    return _oids(net_snmp(node, "snmpwalk", "-On", "-Oq", node.address, ROOT))


def _oids(out: str) -> list[tuple[int, ...]]:
    return [tuple(int(p) for p in line.split()[0].strip(".").split(".")) for line in _rows(out)]


def test_bulkwalk_equals_walk(cluster: Sandbox) -> None:
    node = cluster.node(2)
    walked = _numeric_walk(node)
    assert _oids(net_snmp(node, "snmpbulkwalk", "-On", "-Oq", "-Cr7", node.address, ROOT)) == walked
    assert walked == sorted(walked)
    assert len(walked) == len(set(walked))


@pytest.fixture(scope="module")
def served(sandbox: Sandbox) -> tuple[SandboxNode, list[tuple[int, ...]]]:
    sandbox.up()
    node = sandbox.node(1)
    return node, _numeric_walk(node)


def _starts(instances: list[tuple[int, ...]]) -> st.SearchStrategy[tuple[int, ...]]:
    """Start OIDs inside and around our rows: existing ones, and ones that do not exist."""
    existing = st.sampled_from(instances)
    return st.one_of(
        existing,
        st.builds(lambda o, n: o[:n], existing, st.integers(len(mib.GALERA_MIB), 12)),  # an object, a group
        st.builds(lambda o, extra: o + tuple(extra), existing, st.lists(st.integers(0, 12), min_size=1, max_size=2)),
        st.builds(lambda o, d: (*o[:-1], max(0, o[-1] + d)), existing, st.integers(-2, 3)),  # a row before / after
        st.lists(st.integers(0, 40), min_size=0, max_size=4).map(lambda tail: (*mib.GALERA_MIB, *tail)),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_getnext_from_any_oid_is_the_lexicographic_successor(
    served: tuple[SandboxNode, list[tuple[int, ...]]], data: st.DataObject
) -> None:
    node, instances = served
    starts = data.draw(st.lists(_starts(instances), min_size=1, max_size=20))
    out = net_snmp(node, "snmpgetnext", "-On", "-Oq", node.address, *[".".join(map(str, s)) for s in starts])
    lines = out.splitlines()
    assert len(lines) == len(starts)
    for start, line in zip(starts, lines, strict=True):
        expected = next((oid for oid in instances if _lexicographically_after(oid, start)), None)
        got = tuple(int(p) for p in line.split()[0].strip(".").split("."))
        if expected is None:
            assert "No more variables" in line, (start, line)
        else:
            assert got == expected, (start, line)


def _lexicographically_after(oid: tuple[int, ...], start: tuple[int, ...]) -> bool:
    """The reference order, written out: compare sub-identifiers one by one; a prefix is smaller."""
    for a, b in zip(oid, start, strict=False):
        if a != b:
            return a > b
    return len(oid) > len(start)


def test_desync_is_visible_within_a_second_and_notified(cluster: Sandbox, traps: Path) -> None:
    node = cluster.node(2)
    node.set_desync(True)
    changed = time.monotonic()
    try:
        wait_for(lambda: snmp_get(node, "galeraLocalState")["galeraLocalState"] == 2, 5, "galeraLocalState donor")
        seen = time.monotonic() - changed
        assert seen < 1.0, f"desync took {seen:.2f} s to show"
        values = snmp_get(node, "galeraHealthy", "galeraStatus", "galeraDesync")
        assert values["galeraHealthy"] == mib.FALSE
        assert values["galeraStatus"] == mib.STATUS[Status.RUNNING]
        assert values["galeraDesync"] == mib.TRUE
        trap = ".".join(map(str, BY_NOTIFICATION["galeraLocalStateChange"].oid))
        wait_for(lambda: trap in traps.read_text() and "node2" in traps.read_text(), 5, "the notification")
    finally:
        node.set_desync(False)
    wait_for(lambda: snmp_get(node, "galeraHealthy")["galeraHealthy"] == mib.TRUE, 5, "galeraHealthy back to true")


def test_the_example_snmptrapd_logs_a_state_change_by_name_within_a_second(cluster: Sandbox, tmp_path: Path) -> None:
    """contrib/snmptrapd as shipped (the nodes' engine IDs and pass phrases put in), loading
    GALERA-MIB as its drop-in says: a Donor/Desynced node is logged by name, its node named."""
    users = "".join(line for line in cluster.snmptrapd_lines().splitlines(keepends=True)
                    if line.startswith("createUser "))
    with trap_receiver(example_snmptrapd_conf(users, SNMP_USER), tmp_path, TRAP_SINK) as log:
        node = cluster.node(2)
        node.set_desync(True)
        changed = time.monotonic()
        try:
            wait_for(lambda: "GALERA-MIB::galeraLocalStateChange" in log.read_text(), 5, "the notification by name")
            took = time.monotonic() - changed
        finally:
            node.set_desync(False)
        line = next(line for line in log.read_text().splitlines() if "GALERA-MIB::galeraLocalStateChange" in line)
    print(f"snmptrapd logged galeraLocalStateChange by name {took:.3f} s after the change", file=sys.stderr)
    assert took < 1.0, f"the notification was logged {took:.2f} s after the change"
    assert "GALERA-MIB::galeraLocalState.0 = INTEGER: donor(2)" in line, line
    assert line.endswith(f"GALERA-MIB::galeraNodeName.0 = STRING: {node.name}"), line


def test_killed_mysqld_is_stopped_within_two_seconds(cluster: Sandbox) -> None:
    node = cluster.node(3)
    node.kill()
    killed = time.monotonic()
    wait_for(lambda: snmp_get(node, "galeraStatus")["galeraStatus"] == mib.STATUS[Status.STOPPED], 10, "stopped")
    assert time.monotonic() - killed < 2.0
    # a running node's grastate.dat says seqno -1: after kill -9 the position comes from --wsrep-recover,
    # which the agent runs after it has reported the exit
    recovered = mib.SEQNO_SOURCE[SeqnoSource.RECOVERED]
    wait_for(lambda: snmp_get(node, "galeraSeqnoSource")["galeraSeqnoSource"] == recovered, 30, "the recovery")
    values = snmp_get(node, "galeraSeqnoSource", "galeraSeqno", "galeraDataValid")
    assert isinstance(values["galeraSeqno"], int) and values["galeraSeqno"] > 0
    assert values["galeraDataValid"] == mib.TRUE  # stopped is a known fact, not missing data


def test_hung_mysqld_keeps_snmp_fast_and_marks_data_invalid(cluster: Sandbox) -> None:
    node = cluster.node(2)
    node.signal(signal.SIGSTOP)
    try:
        wait_for(lambda: snmp_get(node, "galeraDataValid")["galeraDataValid"] == mib.FALSE, 15, "data marked invalid")
        first = snmp_get(node, "galeraDataAge")["galeraDataAge"]
        wait_for(lambda: snmp_get(node, "galeraDataAge")["galeraDataAge"] > first, 15, "galeraDataAge to grow")
        slowest = 0.0
        for _ in range(20):
            started = time.monotonic()
            values = snmp_get(node, "galeraStatus", "galeraLastError")
            slowest = max(slowest, time.monotonic() - started)
        assert slowest < 0.1, f"a GET took {slowest * 1000:.0f} ms while mysqld hangs"
        assert values["galeraStatus"] == mib.STATUS[Status.UNKNOWN]
        assert b"is suspended (stopped by a signal)" in values["galeraLastError"]
    finally:
        node.signal(signal.SIGCONT)
    cluster.wait_settled()


def test_values_come_back_after_an_snmpd_restart(cluster: Sandbox) -> None:
    node = cluster.node(1)
    agent_pid = node.agent.pid()
    node.snmpd.stop()
    node.start_services()
    restarted = time.monotonic()

    def answers() -> bool:
        try:
            return snmp_get(node, "galeraStatus")["galeraStatus"] == mib.STATUS[Status.RUNNING]
        except SnmpError:
            return False

    wait_for(answers, 10, "galeraStatus after the snmpd restart")
    assert time.monotonic() - restarted < 5.0
    assert node.agent.pid() == agent_pid, "the agent was restarted instead of reconnecting"


def test_unknown_instance_and_object(cluster: Sandbox) -> None:
    node = cluster.node(1)
    with Client(node.snmp_target()) as client:
        answer = client.get([(*mib.BY_NAME["galeraStatus"].oid, 1), (*mib.OBJECTS, 99, 0)])
    assert answer[(*mib.BY_NAME["galeraStatus"].oid, 1)] == Missing("NoSuchInstance")
    assert answer[(*mib.OBJECTS, 99, 0)] == Missing("NoSuchObject")


def test_the_notify_hook_runs_for_every_wsrep_event(cluster: Sandbox) -> None:
    """mysqld runs wsrep_notify_cmd as the mysql user at every state change and logs each
    failure; a hook that cannot start (its package not on its path) wakes nobody."""
    node = cluster.node(2)
    node.set_desync(True)  # a state change: Synced -> Donor/Desynced -> Synced
    node.set_desync(False)
    for each in cluster.nodes:
        log = each.error_log.read_text(errors="replace")
        assert "Notification command failed" not in log, log[log.find("Notification command failed") - 300:][:800]
