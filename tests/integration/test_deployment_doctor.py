"""galera-snmp doctor on a sandbox node: every check passes, and each one fails, with its fix, when
the thing it checks is broken — a world-readable option file, a revoked grant, a stopped snmpd, a
view without GALERA-MIB, the notify hook unset, one node's list differing.

Runnable by itself: pytest tests/integration/test_deployment_doctor.py
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from outage import init_sections

from galera_snmp.dev.sandbox import MONITOR_USER, Sandbox, SandboxNode, program, wait_for
from galera_snmp.snmp.mib import MIB_FILE

pytestmark = pytest.mark.integration
Doctor = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def doctor(standard_mib_dirs: list[Path], tmp_path: Path) -> Doctor:
    """``galera-snmp doctor`` for a node, with net-snmp finding GALERA-MIB as an operator's
    snmp.conf would make it, and a keepalived.conf that tracks the node's track file."""
    mibdirs = "+" + os.pathsep.join(map(str, [*standard_mib_dirs, MIB_FILE.parent]))

    def run(node: SandboxNode) -> subprocess.CompletedProcess[str]:
        keepalived = tmp_path / f"keepalived-{node.name}.conf"
        keepalived.write_text("vrrp_track_file galera {\n    file " + str(node.track_file) + "\n}\n")
        env = {**os.environ, "MIBDIRS": mibdirs, "MIBS": ""}
        return subprocess.run([program("galera-snmp"), "doctor", "-c", str(node.config_path), "--keepalived-conf",
                               str(keepalived)], capture_output=True, text=True, env=env, timeout=120, check=False)

    return run


def line(result: subprocess.CompletedProcess[str], check: str) -> str:
    found = [text for text in result.stdout.splitlines() if text[2:].startswith(f"{check}:")]
    assert len(found) == 1, result.stdout + result.stderr
    return found[0]


def test_all_pass_on_a_sandbox_node(cluster: Sandbox, doctor: Doctor) -> None:
    result = doctor(cluster.node(1))
    assert result.returncode == 0, result.stdout + result.stderr
    marks = [text[0] for text in result.stdout.splitlines()[:-1]]
    assert set(marks) <= {"✓", "-"} and marks.count("✓") >= 9, result.stdout
    assert line(result, "systemd units").startswith("- ")  # no systemd here: skipped, never passed
    assert result.stdout.splitlines()[-1] == "all checks passed"


def failed(result: subprocess.CompletedProcess[str], check: str, *words: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    text = line(result, check)
    assert text.startswith("✗ ") and "— fix: " in text, text
    fix = text.split("— fix: ", 1)[1]
    assert all(word in fix for word in words), text


def test_a_world_readable_option_file(cluster: Sandbox, doctor: Doctor) -> None:
    node = cluster.node(1)
    mode = node.option_file.stat().st_mode
    node.option_file.chmod(mode | 0o004)
    try:
        result = doctor(node)
    finally:
        node.option_file.chmod(mode)
    failed(result, "credentials", "chmod")
    assert "accessible by others" in line(result, "credentials")


def test_a_revoked_grant(cluster: Sandbox, doctor: Doctor) -> None:
    node = cluster.node(1)
    node.sql(f"REVOKE SELECT ON mysql.wsrep_cluster_members FROM '{MONITOR_USER}'@'localhost'")
    try:
        result = doctor(node)
    finally:
        node.sql(f"GRANT SELECT ON mysql.wsrep_cluster_members TO '{MONITOR_USER}'@'localhost'")
    failed(result, "grants", f"GRANT SELECT ON mysql.wsrep_cluster_members TO '{MONITOR_USER}'@'localhost'")


def test_a_stopped_snmpd(cluster: Sandbox, doctor: Doctor) -> None:
    node = cluster.node(1)
    node.snmpd.stop()
    try:
        result = doctor(node)
    finally:
        node.start_services()
        node.wait_snmp()
    failed(result, "agent via snmpd", "systemctl start snmpd")


def test_a_view_without_galera_mib(cluster: Sandbox, doctor: Doctor) -> None:
    node = cluster.node(1)
    node.snmpd_extra_conf.write_text("view galeraView excluded .1.3.6.1.4.1.32473.1\n")  # the more specific wins
    try:
        node.snmpd.stop()
        node.start_services()
        result = doctor(node)
    finally:
        node.snmpd_extra_conf.unlink()
        node.snmpd.stop()
        node.start_services()
        node.wait_snmp()
    failed(result, "agent via snmpd", "view include .1.3.6.1.4.1.32473")


def test_the_notify_hook_unset(cluster: Sandbox, doctor: Doctor) -> None:
    node = cluster.node(3)  # wsrep_notify_cmd is read-only: a restart without it
    node.stop()
    try:
        node.start(extra_args=("--wsrep-notify-cmd=",))
        node.wait_synced()
        result = doctor(node)
    finally:
        node.stop()
        node.start()
        node.wait_synced()
        cluster.wait_settled(60)
    failed(result, "notify hook", "wsrep_notify_cmd = galera-snmp-notify")


def test_a_node_list_differing_on_one_node(cluster: Sandbox, doctor: Doctor) -> None:
    node1, node3 = cluster.node(1), cluster.node(3)
    with init_sections(cluster, {3: f"nodes = {node1.address}, {node3.address}"}):
        wait_for(lambda: "✗ node lists" in doctor(node1).stdout, 30, "node3's agent to publish its set")
        result = doctor(node1)
    failed(result, "node lists", "[init] nodes")
    assert node3.address in line(result, "node lists")
