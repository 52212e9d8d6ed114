"""Nodes as hosts of their own: every node in a network namespace on a bridge (the sandbox's hosts
topology), real network faults between them (iptables loss and cuts inside each host, per service),
while the cluster runs and while galera-init decides. This machine reads the hosts from the
bridge, as a monitoring station would; faults never touch that path.

One hosts cluster at a time: 3 nodes first, then the teardown check, then 5 nodes.
Runnable by itself: pytest tests/integration/test_hosts.py
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from outage import (
    Boot,
    Load,
    assert_one_cluster_nothing_lost,
    crash_all,
    expected_winner,
    finish,
    first_commit_after,
    kill_left,
    recovered_positions,
    start_init,
    transcript,
)
from proxy import SHIPPED, Haproxy
from support import tool
from vrrp import VrrpLab, sandbox_config

from galera_snmp.dev.faults import Faults
from galera_snmp.dev.netns import ip
from galera_snmp.dev.sandbox import HOSTS_PREFIX, HOSTS_SUBNET, Sandbox, SandboxError, SandboxNode, program, wait_for
from galera_snmp.snmp.client import SnmpError
from galera_snmp.snmp.remote import read_report
from galera_snmp.state import NodeReport, ProcessState, Status

pytestmark = pytest.mark.integration


class Hosts:
    """The module's hosts cluster: ``cluster(n)`` gives an n-node one, Synced, its agents
    publishing it (another size is torn down first); ``close()`` removes everything."""

    def __init__(self) -> None:
        self.box: Sandbox | None = None

    def cluster(self, size: int) -> Sandbox:
        if self.box is not None and len(self.box.nodes) != size:
            self.close()
        if self.box is None:
            self.box = Sandbox(Path(tempfile.mkdtemp(prefix="gs-hosts-", dir="/var/tmp")), size, hosts=True)
        try:
            self.box.up()
        except SandboxError:  # a test left it crashed: start over
            self.box.down(purge=True)
            self.box.up()
        wait_for(lambda: all(report(n) is not None and report(n).state.status is Status.RUNNING
                             and report(n).state.cluster_size == size for n in self.box.nodes),
                 30, "every agent to publish the whole cluster")
        return self.box

    def close(self) -> None:
        box, self.box = self.box, None
        if box is not None:
            try:
                box.down()
            finally:
                shutil.rmtree(box.root, ignore_errors=True)


@pytest.fixture(scope="module")
def hosts() -> Iterator[Hosts]:
    for name in ("ip", "iptables", "nsenter"):
        tool(name, "iproute2 iptables util-linux")
    lab = Hosts()
    try:
        yield lab
    finally:
        lab.close()


def faults_of(box: Sandbox) -> Faults:
    assert box.network is not None
    return Faults(box.network)


def report(node: SandboxNode) -> NodeReport | None:
    """The node's GALERA-MIB as the station reads it; None when it does not answer."""
    try:
        return read_report(node.snmp_target())
    except SnmpError:
        return None


def status(node: SandboxNode) -> Status | None:
    got = report(node)
    return None if got is None else got.state.status


def server_log_since(node: SandboxNode, offset: int) -> str:
    return node.error_log.read_bytes()[offset:].decode(errors="replace")


def log_size(node: SandboxNode) -> int:
    return node.error_log.stat().st_size if node.error_log.exists() else 0


def check_peers(box: Sandbox) -> subprocess.CompletedProcess:
    peers = ",".join(node.address for node in box.nodes)
    return subprocess.run([program("check_galera"), "-m", "peers", "--peers", peers, *box.node(1).check_galera_snmp()],
                          capture_output=True, text=True, check=False)


def more_commits(load: Load, count: int = 10) -> None:
    """The load runs on for a while before the crash: ``count`` more acknowledged commits."""
    seen = len(load.acked)
    wait_for(lambda: len(load.acked) >= seen + count, 30, f"{count} more commits")


def crash_under_load(box: Sandbox, order: list[SandboxNode], gap: float = 0.3) -> Load:
    """Every mariadbd killed in ``order`` while the load commits; the load, to count what is lost."""
    with Load(box) as load:
        more_commits(load)
        crash_all(box, gap=gap, order=order)
    return load


def one_bootstrap_nothing_lost(box: Sandbox, boots: list[Boot], load: Load, history: str) -> int:
    """Every galera-init exited 0, exactly one bootstrapped, and the cluster holds every
    acknowledged commit in its old history; the index of the node that bootstrapped."""
    report_text = transcript(boots)
    assert [b.returncode for b in boots] == [0] * len(boots), report_text
    bootstrapped = [b.node.index for b in boots if b.bootstrapped]
    assert len(bootstrapped) == 1, report_text
    assert_one_cluster_nothing_lost(box, load, history, 90)
    return bootstrapped[0]


def nothing_started(box: Sandbox, boots: list[Boot]) -> None:
    """galera-init did nothing destructive: no mariadbd started, no bootstrap."""
    started = [node.name for node in box.nodes if node.process() is not ProcessState.ABSENT]
    assert not started, f"mariadbd started on {started}\n{transcript(boots)}"
    assert not [b for b in boots if b.bootstrapped], transcript(boots)


def test_a_minority_host_leaves_and_rejoins_by_ist(hosts: Hosts, tmp_path: Path) -> None:
    """2 | 1 while running, the minority being node1, which holds the VIP: it goes non-Primary and
    unhealthy, the VIP moves to node2 (keepalived on every host, fed by the agents' track files),
    HAProxy on the station marks it down and sends no new client there, check_galera peers names it;
    healed, it rejoins by IST, takes its traffic back, and nothing acknowledged is lost."""
    box = hosts.cluster(3)
    node1 = box.node(1)
    history = node1.snapshot().cluster_state_uuid
    offset = log_size(node1)
    with VrrpLab(tmp_path, 3, network=box.network, vip=f"{HOSTS_SUBNET}.100") as lab:
        for node in box.nodes:
            lab.start(node.index, sandbox_config("track_file", node, tmp_path / "notify.log", vip=lab.vip))
        lab.wait_holder(1, timeout=30)
        proxy = Haproxy(tmp_path, box, SHIPPED / "haproxy.cfg")
        try:
            everyone_up = {node.name: "UP" for node in box.nodes}
            proxy.wait_status(everyone_up, timeout=30)
            with Load(box) as load, faults_of(box).session() as faults:
                faults.host(1)  # every packet between node1 and the other hosts, both ways
                wait_for(lambda: status(node1) is Status.NONPRIMARY, 30, "node1 to say nonprimary over SNMP")
                assert report(node1).health.healthy is False
                assert {status(box.node(2)), status(box.node(3))} == {Status.RUNNING}
                lab.wait_holder(2)
                proxy.wait_status({"node1": "DOWN", "node2": "UP", "node3": "UP"})
                assert proxy.connect_many(6)["node1"] == 0
                peers = check_peers(box)
                assert peers.returncode != 0 and "node1" in peers.stdout, peers.stdout
                committed = len(load.acked)
                wait_for(lambda: len(load.acked) >= committed + 50, 30, "the majority to commit while node1 is away")
                faults.clear()
                wait_for(lambda: status(node1) is Status.RUNNING, 60, "node1 to rejoin")
                lab.wait_holder(1, timeout=30)
                proxy.wait_status(everyone_up, timeout=30)
        finally:
            proxy.stop()
    assert_one_cluster_nothing_lost(box, load, history, 90)
    text = server_log_since(node1, offset)
    assert re.search(r"IST received|IST completed on joiner", text), text[-3000:]
    assert not re.search(r"WSREP_SST: \[INFO\] \S+ SST completed on joiner", text)
    assert check_peers(box).returncode == 0


def test_galera_init_with_one_host_unreadable_then_one_unreachable(hosts: Hosts) -> None:
    """A full outage; then node3's SNMP is cut from its peers (gcomm fine) and node2's gcomm is cut
    (SNMP fine). While node3 cannot be read, nobody starts anything; once it can, exactly one node
    bootstraps even though node2 cannot reach the others, and node2 joins once its gcomm is back."""
    box = hosts.cluster(3)
    history = box.node(1).snapshot().cluster_state_uuid
    faults = faults_of(box)
    boots: list[Boot] = []
    with faults.session():
        load = crash_under_load(box, order=[box.node(1), box.node(3), box.node(2)])
        recovered_positions(box)
        faults.host(3, services=["snmp"])
        faults.host(2, services=["gcomm"])
        try:
            boots = [start_init(node) for node in box.nodes]
            for node in box.nodes:
                wait_for(lambda n=node: status(n) is Status.BLOCKED, 60, f"{node.name} to say blocked")
            nothing_started(box, boots)
            faults.host(3, services=["snmp"], undo=True)
            wait_for(lambda: any(b.bootstrapped for b in boots), 60, "a bootstrap once node3 is readable")
            winner = next(b.node for b in boots if b.bootstrapped)
            # node2's gcomm is still cut: whoever can reach the winner joins it
            reachable = [winner] if winner.index == 2 else [n for n in box.nodes if n.index != 2]
            wait_for(lambda: all(status(n) is Status.RUNNING for n in reachable), 90,
                     "the winner and the nodes that reach it to be running")
            faults.host(2, services=["gcomm"], undo=True)
            finish(boots, 180)
        finally:
            kill_left(boots)
    one_bootstrap_nothing_lost(box, boots, load, history)


def test_teardown_leaves_nothing_behind(hosts: Hosts) -> None:
    """down removes every namespace, link, address, fault rule and process of the hosts, also a
    process a test left running on a host and faults nobody cleared."""
    box = hosts.cluster(3)
    root = box.root
    faults = faults_of(box)
    faults.everywhere(0.3, ["snmp"])
    faults.link_down(3)
    stray = subprocess.Popen([*box.node(2).enter(), "sleep", "600"])
    assert faults.rules()
    hosts.close()
    try:
        stray.wait(10)
    except subprocess.TimeoutExpired:
        stray.kill()
        pytest.fail("a process on a host outlived the teardown")
    assert not [ns for ns in ip("netns", "list").stdout.split() if ns.startswith(HOSTS_PREFIX)]
    assert HOSTS_PREFIX not in ip("-o", "link").stdout
    assert HOSTS_SUBNET not in ip("-o", "addr").stdout
    qdiscs = subprocess.run(["tc", "qdisc", "show"], capture_output=True, text=True, check=True).stdout
    assert HOSTS_PREFIX not in qdiscs
    ruleset = subprocess.run([tool("iptables", "iptables"), "-S"], capture_output=True, text=True, check=True).stdout
    assert HOSTS_SUBNET not in ruleset and "GSFAULT" not in ruleset
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            assert str(root) not in argv, f"process {proc.name} left behind: {argv}"


def test_five_hosts_split_2_2_1_no_primary_and_galera_init_waits(hosts: Hosts) -> None:
    """2 | 2 | 1 on 5 hosts: no Primary anywhere. A full outage in that state: galera-init on
    every node waits, blocked, starting nothing. Healed to 30 % SNMP loss on every link: exactly
    one bootstrap, the history kept, nothing lost."""
    box = hosts.cluster(5)
    history = box.node(1).snapshot().cluster_state_uuid
    faults = faults_of(box)
    boots: list[Boot] = []
    with faults.session():
        with Load(box) as load:
            faults.partition([1, 2], [3, 4], [5])
            wait_for(lambda: all(status(n) is Status.NONPRIMARY for n in box.nodes), 60,
                     "every node to say nonprimary")
            crash_all(box)
        recovered_positions(box, timeout=30)
        try:
            boots = [start_init(node) for node in box.nodes]
            for node in box.nodes:
                wait_for(lambda n=node: status(n) is Status.BLOCKED, 60, f"{node.name} to say blocked")
            nothing_started(box, boots)
            faults.clear()
            faults.everywhere(0.3, ["snmp"])
            healed = time.monotonic()
            finish(boots, 240)
            print(f"5 hosts, 30 % SNMP loss: every node Synced {time.monotonic() - healed:.1f} s after the heal",
                  file=sys.stderr)
        finally:
            kill_left(boots)
    one_bootstrap_nothing_lost(box, boots, load, history)


def test_five_hosts_outage_with_snmp_loss_and_one_way_cuts(hosts: Hosts) -> None:
    """A full outage of 5 hosts under load (nodes dying at different moments), 30 % SNMP loss on
    every link, and one-way cuts: the winner cannot read one peer (that peer reads it), and another
    node cannot read the winner. Nobody bootstraps while the winner lacks a report; once the winner's
    cut heals, exactly one node bootstraps -- the other one-way cut stays -- and nothing is lost."""
    box = hosts.cluster(5)
    history = box.node(1).snapshot().cluster_state_uuid
    faults = faults_of(box)
    boots: list[Boot] = []
    with faults.session():
        load = crash_under_load(box, order=[box.node(i) for i in (2, 5, 1, 4, 3)], gap=0.2)
        recovered_positions(box, timeout=30)
        winner = expected_winner(box)
        blind, unread = [i for i in range(1, 6) if i != winner][:2]
        faults.everywhere(0.3, ["snmp"])
        faults.drop(winner, unread, services=["snmp"], requests_only=True)  # the winner cannot read `unread`
        faults.drop(blind, winner, services=["snmp"], requests_only=True)  # `blind` cannot read the winner
        try:
            started = time.monotonic()
            boots = [start_init(node) for node in box.nodes]
            wait_for(lambda: status(box.node(winner)) is Status.BLOCKED, 60, f"node{winner} to say blocked")
            nothing_started(box, boots)
            faults.drop(winner, unread, services=["snmp"], requests_only=True, undo=True)
            finish(boots, 240)
            print(f"5 hosts, 30 % SNMP loss, one-way cuts: every node Synced {time.monotonic() - started:.1f} s "
                  "after the boots began", file=sys.stderr)
        finally:
            kill_left(boots)
    assert one_bootstrap_nothing_lost(box, boots, load, history) == winner, transcript(boots)


def test_a_crashed_node_is_evicted_and_writes_go_on_within_a_second(hosts: Hosts) -> None:
    """Crash eviction across hosts (their own addresses, agents in their namespaces): kill -9 of
    node1's mariadbd, and a write on node2 commits within a second, not after evs.suspect_timeout."""
    box = hosts.cluster(3)
    took = first_commit_after(box.node(1).kill, box.node(2))
    assert took < 1.0, f"the first write on node2 committed {took:.2f} s after the kill"
    box.up()  # node1 back, under a new identity
    box.wait_settled(60)
