"""galera-snmp make-primary on the sandbox: a survivor brought back to Primary without losing an
acknowledged commit, and the refusals that keep it from splitting the brain.

Runnable by itself: pytest tests/integration/test_quorum_recovery.py
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator, Sequence

import pytest
from outage import Load, crash_eviction, finish, kill_left, start_init, transcript
from support import cut_off, tool

from galera_snmp.dev.sandbox import Sandbox, SandboxNode, program, wait_for
from galera_snmp.snmp.remote import read_report
from galera_snmp.state import SeqnoSource, Status

pytestmark = pytest.mark.integration


def make_primary(node: SandboxNode, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([program("galera-snmp"), "make-primary", "-c", str(node.config_path), *args],
                          capture_output=True, text=True, timeout=300, check=False)


def non_primary(node: SandboxNode, timeout: float = 60) -> None:
    wait_for(lambda: node.snapshot().cluster_status == "non-Primary", timeout, f"{node.name} to lose quorum")


def stopped(node: SandboxNode, timeout: float = 60) -> None:
    """Its agent says stopped, with the position --wsrep-recover found (it runs just after the exit)."""
    def recovered() -> bool:
        state = read_report(node.snmp_target()).state
        return state.status is Status.STOPPED and state.position.source is SeqnoSource.RECOVERED

    wait_for(recovered, timeout, f"{node.name}'s agent to say stopped, with its recovered position")


@contextlib.contextmanager
def snmp_cut(addresses: Sequence[str]) -> Iterator[None]:
    """Nobody reaches these nodes' snmpd."""
    iptables = tool("iptables", "iptables")
    rules = [("-d", address, "-p", "udp", "--dport", "161") for address in addresses]
    try:
        for rule in rules:
            subprocess.run([iptables, "-A", "INPUT", *rule, "-j", "DROP"], check=True)
        yield
    finally:
        for rule in rules:
            subprocess.run([iptables, "-D", "INPUT", *rule, "-j", "DROP"], check=False)


def test_the_survivor_of_two_killed_nodes_is_made_primary_without_losing_a_commit(cluster: Sandbox) -> None:
    """Crash eviction off: with it, two mysqld that exit are evicted and the survivor keeps its
    quorum (test_crash_eviction.py). Without it they are lost as two hosts losing power are."""
    crash_eviction(cluster, False)
    try:
        survivor_made_primary(cluster)
    finally:
        crash_eviction(cluster, True)


def survivor_made_primary(cluster: Sandbox) -> None:
    """The writes go to the survivor: a write-set a killed node sent itself can be committed there
    before the survivor has it (Galera delivers in agreed, not safe, order), and make-primary then
    rightly refuses ("newer than this component", tests/unit/init/test_promote.py); CI drew it once."""
    node1, node2, node3 = cluster.nodes
    with Load(cluster, writers=[node1]) as load:
        node2.kill()
        node3.kill()
        non_primary(node1)
        for node in (node2, node3):
            stopped(node)
        recovered = max(read_report(node.snmp_target()).state.position.seqno for node in (node2, node3))
        wait_for(lambda: node1.snapshot().position.seqno >= recovered, 10, "node1 to commit what it sent")
        dry = make_primary(node1, "--dry-run")
        assert dry.returncode == 0 and "decision: make 127.0.0.11 Primary" in dry.stdout, dry.stdout + dry.stderr
        assert node1.snapshot().cluster_status == "non-Primary"  # the dry run changed nothing
        done = make_primary(node1)
        assert done.returncode == 0 and "Primary: 1 member(s) Synced" in done.stdout, done.stdout + done.stderr
        wait_for(lambda: len(load.acked) > 0 and node1.snapshot().cluster_status == "Primary", 30, "writes again")
        boots = [start_init(node) for node in (node2, node3)]  # they join, by IST
        try:
            finish(boots, 180)
        finally:
            kill_left(boots)
        assert all(boot.returncode == 0 for boot in boots), transcript(boots)
        assert [boot.received() for boot in boots] == ["ist", "ist"], transcript(boots)
    cluster.wait_settled(60)
    for node in cluster.nodes:
        assert load.missing_on(node) == set(), node.name
    promoted = read_report(node1.snmp_target()).state.promotion
    assert promoted is not None and "make-primary: 127.0.0.11 bootstrapped its component" in promoted
    status = subprocess.run([program("galera-snmp"), "status", "-c", str(node1.config_path)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert "· 127.0.0.11: " in status.stdout and "make-primary" in status.stdout, status.stdout


def test_refused_on_a_minority_that_sees_the_primary(cluster: Sandbox) -> None:
    node3 = cluster.node(3)
    with cut_off(node3.address, [cluster.node(1).address, cluster.node(2).address]):  # gcomm only
        non_primary(node3)
        refused = make_primary(node3)
        assert refused.returncode == 1 and "a Primary component exists" in refused.stdout, refused.stdout
        assert node3.snapshot().cluster_status == "non-Primary"
    cluster.wait_settled(90)


def test_unreachable_majority_only_with_every_node_confirmed_lost(cluster: Sandbox) -> None:
    node1, node2, node3 = cluster.nodes
    majority = [node1.address, node2.address]
    with cut_off(node3.address, majority), snmp_cut(majority):
        non_primary(node3)
        refused = make_primary(node3)
        assert refused.returncode == 1 and "may be cut off, not lost" in refused.stdout, refused.stdout
        assert f"--confirm-lost {node1.address},{node2.address}" in refused.stdout
        some = make_primary(node3, "--confirm-lost", node1.address)
        assert some.returncode == 1, some.stdout
        try:
            done = make_primary(node3, "--confirm-lost", f"{node1.address},{node2.address}")
            assert done.returncode == 0, done.stdout + done.stderr
            # what an operator sees from here: a Primary of one, the others unknown — and the record
            assert node3.snapshot().cluster_status == "Primary"
            promoted = read_report(node3.snmp_target()).state.promotion or ""
            assert "confirmed lost: 127.0.0.11, 127.0.0.12" in promoted, promoted
        finally:
            node3.kill()  # the operator was wrong: the majority is alive. Undone before the partition heals
    stopped(node3)
    boot = start_init(node3)
    try:
        finish([boot], 180)
    finally:
        kill_left([boot])
    assert boot.returncode == 0, transcript([boot])
    cluster.wait_settled(90)
