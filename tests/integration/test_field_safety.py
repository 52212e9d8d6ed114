"""galera-init and the checks on clusters set up the way operators set them up, not the sandbox's
one way: node lists written differently on each node, an arbitrator in the list, a winner whose
own snmpd is down, a cluster restarted by hand after a crash.

Runnable by itself: pytest tests/integration/test_field_safety.py
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from outage import (
    boot_all,
    crash_all,
    finish,
    init_sections,
    kill_left,
    recovered_positions,
    start_init,
    transcript,
)

from galera_snmp.dev.sandbox import Sandbox, SandboxNode, wait_for
from galera_snmp.snmp.remote import read_report
from galera_snmp.state import ZERO_UUID, Status

pytestmark = pytest.mark.integration


def self_first(cluster: Sandbox, node: SandboxNode) -> str:
    others = [n.address for n in cluster.nodes if n is not node]
    return f"nodes = {', '.join([node.address, *others])}"


def idle_crash(cluster: Sandbox) -> dict[int, tuple[str | None, int]]:
    """kill -9 of every node of an idle cluster: equal positions, safe_to_bootstrap 0 everywhere."""
    crash_all(cluster, gap=0)
    return recovered_positions(cluster)


def test_self_first_lists_with_a_tie_elect_one_node(cluster: Sandbox) -> None:
    history = cluster.node(1).snapshot().cluster_state_uuid
    with init_sections(cluster, {n.index: self_first(cluster, n) for n in cluster.nodes}):
        positions = idle_crash(cluster)
        assert len(set(positions.values())) == 1, positions  # a tie: only the tie-break decides
        boots = boot_all(list(cluster.nodes))
        report = transcript(boots.boots)
        assert all(boot.returncode == 0 for boot in boots.boots), report
        (winner,) = boots.bootstrappers()  # one, not three announcing forever
        assert winner.node is cluster.node(1), report  # the lowest address, whatever each list says
        cluster.wait_settled(60)
    assert {node.snapshot().cluster_state_uuid for node in cluster.nodes} == {history}


def test_a_list_missing_a_node_blocks_and_names_it(cluster: Sandbox) -> None:
    node3 = cluster.node(3)
    with init_sections(cluster, {3: f"nodes = {cluster.node(1).address}, {node3.address}"}):
        idle_crash(cluster)
        boots = [start_init(node) for node in cluster.nodes]
        try:
            for node in cluster.nodes:
                wait_for(lambda n=node: read_report(n.snmp_target()).state.status is Status.BLOCKED, 60,
                         f"{node.name} to say blocked")
            reason = read_report(cluster.node(1).snmp_target()).state.reason
            assert cluster.node(2).address in reason and node3.address in reason, reason
            assert all(node.process().value == "absent" for node in cluster.nodes)  # nobody started mariadbd
        finally:
            for boot in boots:
                boot.process.terminate()
            finish(boots, 30)
    boots = boot_all(list(cluster.nodes))  # the lists agree again: the recovery goes on
    assert len(boots.bootstrappers()) == 1, transcript(boots.boots)
    cluster.wait_settled(60)


def test_the_winner_bootstraps_only_once_its_own_snmpd_shows_its_announcement(cluster: Sandbox) -> None:
    winner = cluster.node(1)  # a tie: the lowest address wins
    idle_crash(cluster)
    winner.snmpd.stop()
    boots = [start_init(node) for node in cluster.nodes]
    try:
        # its peers cannot see it, and neither can it: no election while its own snmpd is silent
        seen = f"no report from {winner.address}"
        wait_for(lambda: seen in boots[0].output, 60, "node1 to wait for its own snmpd")
        assert all(node.process().value == "absent" for node in cluster.nodes), transcript(boots)
        winner.start_services()
        finish(boots, 180)
    finally:
        kill_left(boots)
    report = transcript(boots)
    assert [b.node for b in boots if b.bootstrapped] == [winner], report
    cluster.wait_settled(60)


def test_an_arbitrator_in_the_list_is_never_waited_for(cluster: Sandbox, tmp_path: Path) -> None:
    garbd = shutil.which("garbd")
    if garbd is None:
        pytest.fail("garbd is not installed: apt-get install galera-arbitrator-4", pytrace=False)
    arbitrator = "127.0.0.14"
    process = subprocess.Popen(
        [garbd, "--address", "gcomm://127.0.0.11,127.0.0.12,127.0.0.13", "--group", "sandbox", "--name", "arbitrator",
         "--options", f"gmcast.listen_addr=tcp://{arbitrator}:4567", "--log", str(tmp_path / "garbd.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,  # it writes gvwstate.dat there
    )  # fmt: skip
    lines = {n.index: f"nodes = {', '.join([*(m.address for m in cluster.nodes), arbitrator])}\n"
                      f"arbitrators = {arbitrator}" for n in cluster.nodes}
    try:
        wait_for(lambda: cluster.node(1).snapshot().cluster_size == 4, 30, "garbd to join")
        with init_sections(cluster, lines):
            idle_crash(cluster)
            boots = boot_all(list(cluster.nodes))
            report = transcript(boots.boots)
            assert all(boot.returncode == 0 for boot in boots.boots), report
            assert len(boots.bootstrappers()) == 1, report
            assert arbitrator not in boots.boots[0].output.split("decision:")[0], report  # not in the evidence
            wait_for(lambda: cluster.node(1).snapshot().cluster_size == 4, 60, "garbd to rejoin the new Primary")
    finally:
        process.terminate()
        process.wait(30)
    wait_for(lambda: cluster.node(1).snapshot().cluster_size == 3, 30, "garbd to leave")


def seen_seqno(node: SandboxNode) -> int:
    seen = read_report(node.snmp_target()).state.seen_position
    return seen.seqno if seen is not None else -1


def test_data_restored_from_an_older_copy_is_never_bootstrapped_backwards(cluster: Sandbox, tmp_path: Path) -> None:
    """Every node's datadir restored from a copy taken before the last commits (a backup put
    back, a disk rolled back): galera-init refuses to bootstrap from it, naming a node that saw
    the later commits; --force-bootstrap of the winner's position accepts the loss, recorded."""
    history = cluster.node(1).snapshot().cluster_state_uuid
    positions = idle_crash(cluster)
    (old,) = set(positions.values())
    for node in cluster.nodes:  # the copy, taken with every node down
        subprocess.run(["cp", "-a", str(node.datadir), str(tmp_path / node.name)], check=True)
    boots = boot_all(list(cluster.nodes))
    assert all(boot.returncode == 0 for boot in boots.boots), transcript(boots.boots)
    cluster.wait_settled(60)
    node1 = cluster.node(1)
    node1.sql("CREATE DATABASE IF NOT EXISTS rollback")
    node1.sql("CREATE TABLE IF NOT EXISTS rollback.t (id INT PRIMARY KEY)")
    for i in range(10):
        node1.sql(f"INSERT INTO rollback.t VALUES ({i}) ON DUPLICATE KEY UPDATE id = id")
    newest = node1.snapshot().position.seqno
    assert newest > old[1]
    # every agent keeps it once it has been committed a while (history.SEEN_LAG, SEEN_EVERY)
    wait_for(lambda: all(seen_seqno(n) >= newest for n in cluster.nodes), 40, "every agent to keep the newest seqno")

    crash_all(cluster, gap=0)
    recovered_positions(cluster)
    for node in cluster.nodes:  # the old copy put back, agent stopped meanwhile (it may recover the datadir)
        node.agent.stop()
        shutil.rmtree(node.datadir)
        subprocess.run(["cp", "-a", str(tmp_path / node.name), str(node.datadir)], check=True)
        node.start_services()
        node.wait_snmp()
    assert set(recovered_positions(cluster).values()) == {old}

    dry = [start_init(node, "--dry-run") for node in cluster.nodes]
    finish(dry, 60)
    for boot in dry:
        assert boot.returncode == 0, transcript(dry)
        assert (f"decision: blocked: refusing to bootstrap backwards: the newest position is 127.0.0.11's "
                f"{old[0]}:{old[1]}, but 127.0.0.11 saw seqno {newest}") in boot.output, transcript(dry)
    assert node1.process().value == "absent"  # nothing started

    forced = [start_init(node1, "--force-bootstrap", f"{old[0]}:{old[1]}"),
              *(start_init(node) for node in cluster.nodes[1:])]
    finish(forced, 180)
    report = transcript(forced)
    assert all(boot.returncode == 0 for boot in forced), report
    assert f"recorded: {old[0]}:{old[1]} forced by the operator" in forced[0].output, report
    cluster.wait_settled(60)
    assert {node.snapshot().cluster_state_uuid for node in cluster.nodes} == {history}  # the same history, rewound
    assert node1.sql("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'rollback'") == [(0,)]


def test_a_plain_restart_after_a_crash_is_flagged_as_a_history_reset(cluster: Sandbox, traps: Path, cli) -> None:
    """Every node killed at once and started without its recovered position: pc.recovery forms a
    Primary with a zero state UUID. Every check must say so. Then the way out docs/INIT.md gives:
    after the next stop galera-init does not elect, the operator names the kept node's position
    with --force-bootstrap, the others join it, and the new history is not flagged."""
    history = cluster.node(1).snapshot().cluster_state_uuid
    crash_all(cluster, gap=0)
    recovered_positions(cluster)  # the agents' recoveries are over: they hold the port for a moment
    settled = False
    try:
        for node in cluster.nodes:
            node.start()  # by hand: no --wsrep_start_position
        node1 = cluster.node(1)
        wait_for(lambda: node1.snapshot().cluster_status == "Primary", 90, "pc.recovery to form a Primary")
        assert node1.snapshot().cluster_state_uuid == ZERO_UUID
        # the checks read the agents, which see it at their next refresh
        wait_for(lambda: "history reset" in cli("check_galera", "-m", "node", *node1.check_galera_snmp()).stdout, 20,
                 "node1's agent to publish the Primary")
        check = cli("check_galera", "-m", "node", *node1.check_galera_snmp())
        assert check.returncode == 2 and "history reset" in check.stdout, check.stdout
        every = ("check_galera", "-m", "peers", "--peers", ",".join(n.address for n in cluster.nodes),
                 "--credentials", str(node1.snmp_credentials))
        wait_for(lambda: "history reset" in cli(*every).stdout, 20, "every agent to publish the Primary")
        peers = cli(*every)
        assert peers.returncode == 2 and "history reset" in peers.stdout, peers.stdout
        status = cli("galera-snmp", "status", "-c", str(node1.config_path))
        reset = f"! {', '.join(node.address for node in cluster.nodes)}: history reset"  # one line for all
        assert status.returncode == 1 and reset in status.stdout, status.stdout
        trap_oid = ".1.3.6.1.4.1.32473.0.5"  # galeraHistoryResetChange
        wait_for(lambda: trap_oid in traps.read_text(), 20, "the history reset notification")

        # the way out: stop, galera-init everywhere (no election), the operator names the kept node
        positions = idle_crash(cluster)
        assert {uuid for uuid, _ in positions.values()} == {ZERO_UUID}, positions
        boots = [start_init(node) for node in cluster.nodes]
        try:
            for boot in boots:
                wait_for(lambda b=boot: "a reset history (zero state UUID)" in b.output, 60,
                         f"{boot.node.name}'s galera-init to refuse to elect")
            assert all(node.process().value == "absent" for node in cluster.nodes), transcript(boots)
            keep = max(cluster.nodes, key=lambda n: positions[n.index][1])
            boots[keep.index - 1].process.terminate()
            finish([boots[keep.index - 1]], 30)
            boots[keep.index - 1] = start_init(keep, "--force-bootstrap", f"{ZERO_UUID}:{positions[keep.index][1]}")
            finish(boots, 240)
        finally:
            kill_left(boots)
        report = transcript(boots)
        assert all(boot.returncode == 0 for boot in boots), report
        assert [b.node for b in boots if b.bootstrapped] == [keep], report
        cluster.wait_settled(120)
        new = keep.snapshot().cluster_state_uuid
        assert new not in (None, ZERO_UUID, history), new  # a new history, on every node
        assert {node.snapshot().cluster_state_uuid for node in cluster.nodes} == {new}
        # recorded by galera-init on every node: nothing is flagged, the checks say OK again
        wait_for(lambda: cli(*every).returncode == 0, 30, "check_galera -m peers to say OK")
        assert cli("galera-snmp", "status", "-c", str(node1.config_path)).returncode == 0
        settled = True
    finally:
        if not settled:
            cluster.down()  # cleanly, node1 last: it is safe to bootstrap, with a new history
            cluster.up()
            for node in cluster.nodes:
                cli("galera-snmp", "accept-history", "-c", str(node.config_path))


def test_a_history_changed_while_nobody_watched_is_flagged_until_accepted(cluster: Sandbox, cli) -> None:
    """The agent keeps the history it saw; a node in another one (here: its kept history made
    another by hand, as after galera_new_cluster on a reset cluster) is flagged until the
    operator accepts it."""
    node = cluster.node(2)
    kept = node.dir / "state" / "history.json"
    assert f'"{node.snapshot().cluster_state_uuid}"' in kept.read_text()
    kept.write_text('{"uuid": "0b1c2d3e-0000-11f1-8000-000000000001", "accept_next": false}\n')
    try:
        wait_for(lambda: "history reset" in cli("check_galera", "-m", "node", *node.check_galera_snmp()).stdout, 20,
                 "node2's agent to flag the change")
        check = cli("check_galera", "-m", "node", *node.check_galera_snmp())
        assert check.returncode == 2 and "left history 0b1c2d3e-0000-11f1-8000-000000000001" in check.stdout
    finally:
        accepted = cli("galera-snmp", "accept-history", "-c", str(node.config_path))
    assert accepted.returncode == 0 and "accepted" in accepted.stdout, accepted.stderr
    wait_for(lambda: cli("check_galera", "-m", "node", *node.check_galera_snmp()).returncode == 0, 20,
             "node2 to be OK again")
