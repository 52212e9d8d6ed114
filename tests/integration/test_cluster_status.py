"""galera-snmp status over the real sandbox, and a node still on the seed's snmpd extend lines."""

from __future__ import annotations

import pytest

from galera_snmp.dev.sandbox import Sandbox
from galera_snmp.snmp.remote import read_report
from galera_snmp.state import SeqnoSource, Status

pytestmark = pytest.mark.integration


def test_status_of_a_healthy_cluster(cluster: Sandbox, cli) -> None:
    result = cli("galera-snmp", "status", "-c", str(cluster.node(1).config_path))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = result.stdout.splitlines()
    assert rows[0].split()[:5] == ["SITE", "NODE", "STATUS", "SEQNO", "SOURCE"]
    for node in cluster.nodes:
        (row,) = [r for r in rows if r.split()[1] == node.address]
        site, _, status, seqno, source = row.split()[:5]
        assert site == "segment-0"  # no [cluster] sites: the Galera segment each node reports
        assert (status, source) == ("running", "live") and int(seqno) > 0
        assert "Synced, Primary, ready" in row
    assert not any(row.startswith("!") for row in rows)


def test_status_flags_a_silent_node(cluster: Sandbox, cli) -> None:
    node3 = cluster.node(3)
    node3.stop_services()
    try:
        result = cli("galera-snmp", "status", "-c", str(cluster.node(1).config_path))
    finally:
        node3.start_services()
        node3.wait_snmp()
    assert result.returncode == 1, result.stdout
    assert f"! not answering: {node3.address}" in result.stdout, result.stdout


def test_a_node_on_the_seeds_extend_lines_is_read_too(cluster: Sandbox) -> None:
    node = cluster.node(2)
    node.agent.stop()  # snmpd stays up: GALERA-MIB is gone, the seed's extend lines still answer
    try:
        report = read_report(node.snmp_target(timeout=5))
    finally:
        node.start_services()
        node.wait_snmp()
    assert report.state.status is Status.RUNNING
    assert report.state.seqno > 0 and report.state.position.source is SeqnoSource.UNKNOWN
    assert report.state.position.uuid is None  # no history: it can be joined, never elected
    assert report.valid is None
