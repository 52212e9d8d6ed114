"""Drain through the command line, seen by every consumer, and kept across an agent restart."""

from __future__ import annotations

import pytest

from galera_snmp.dev.sandbox import Sandbox, wait_for
from galera_snmp.snmp.remote import read_report
from galera_snmp.state import Status

pytestmark = pytest.mark.integration


def test_drain_survives_an_agent_restart_and_leaves_galera_alone(cluster: Sandbox, cli) -> None:
    node = cluster.node(2)
    config = str(node.config_path)
    assert cli("galera-snmp", "drain", "-c", config, "--reason", "test").returncode == 0
    try:
        wait_for(lambda: node.track_file.read_text() == "0\n", 5, "the track file to say 0")
        node.agent.stop()
        assert node.track_file.read_text() == "0\n"
        node.start_services()
        node.wait_snmp()
        report = read_report(node.snmp_target())
        assert report.state.drained and report.health.healthy is False
        assert report.health.reason == "drained by the operator"
        assert report.state.status is Status.RUNNING  # Galera is untouched
        assert node.snapshot().cluster_size == 3
        assert node.track_file.read_text() == "0\n"
    finally:
        assert cli("galera-snmp", "undrain", "-c", config).returncode == 0
    wait_for(lambda: node.track_file.read_text() == "1\n", 5, "the track file back to 1")
    assert read_report(node.snmp_target()).health.healthy is True
