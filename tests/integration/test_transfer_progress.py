"""State transfers you can watch, on the sandbox (node/transfer.py): node3 rejoins by a real rsync
SST, its donors' sending rate capped so that the copy lasts more than 20 s; node3's agent and its
donor's agent publish the same transfer in GALERA-MIB, progress every refresh, monotonic, its
ETA at half-way within 30 % of when the copy really ended, complete at 100 % once node3 is
Synced. Likewise a mariabackup SST (counted where the stream meets the network, on both sides), and an IST
of 150 write-sets, counted in write-sets. A second SST whose joiner-side
rsync is stopped with SIGSTOP is published as stalled within the agents' transfer_stalled_after
(5 s in the sandbox) on every channel (node3's GALERA-MIB, check_galera over SNMP, /metrics,
``galera-snmp status``; the donor's agent sees its side stall too), and completes once the
copier runs again. galera-init, its synced_timeout a third of the copy, waits for a moving SST
to its end and gives up on one whose copier stopped, that timeout after the stop (and at most a
walk of the datadir later).

Runnable by itself: pytest tests/integration/test_transfer_progress.py
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pytest
from outage import finish, start_init, transcript

from galera_snmp.dev.faults import port_capped
from galera_snmp.dev.sandbox import METRICS_PORT, Sandbox, SandboxNode, program, wait_for
from galera_snmp.init.transfer import SIZE_EVERY
from galera_snmp.node.sst import sst_processes
from galera_snmp.node.transfer import datadir_bytes
from galera_snmp.snmp.client import SnmpError
from galera_snmp.snmp.remote import read_report
from galera_snmp.state import Transfer, TransferRole, TransferState

pytestmark = pytest.mark.integration

COPY_SECONDS = 25  # the donors' sending rate is set so that the copy takes about this long
STALLED_AFTER = 5  # [agent] transfer_stalled_after in the sandbox
IST_PORT = 4568  # ist.recv_addr's port in the sandbox
IST_WRITES, IST_ROW = 150, 256 * 1024


@dataclass
class Seen:
    at: float
    joiner: Transfer | None
    donors: dict[str, Transfer]


def transfer_of(node: SandboxNode) -> Transfer | str | None:
    try:
        return read_report(node.snmp_target(timeout=1.0, retries=0)).transfer
    except SnmpError as err:
        return str(err)


def force_sst(node: SandboxNode) -> None:
    """Stop ``node`` cleanly and remove its grastate.dat: its position unknown, it joins by SST."""
    node.stop()
    (node.datadir / "grastate.dat").unlink()


def slow_donors(cluster: Sandbox, joiner: SandboxNode,
                method: str = "rsync") -> tuple[float, AbstractContextManager[None]]:
    """Every other node's sending to the joiner's SST port capped so that a copy of a datadir
    takes COPY_SECONDS: the rate, and the block that holds the cap."""
    others = [n for n in cluster.nodes if n is not joiner]
    size = max(datadir_bytes(n.datadir, method) or 0 for n in others)
    megabits = size * 8 / 1e6 / COPY_SECONDS
    return megabits, port_capped(joiner.sst_port, megabits, senders(cluster, joiner))


def senders(cluster: Sandbox, joiner: SandboxNode) -> list[tuple[list[str], str]]:
    """Where the other nodes send from: (the command prefix entering its namespace, its device)."""
    found = {(tuple(n.enter()), "eth0" if cluster.hosts else "lo") for n in cluster.nodes if n is not joiner}
    return [(list(enter), device) for enter, device in sorted(found)]


def follow(cluster: Sandbox, joiner: SandboxNode, until: float,
           at_half: Callable[[], None] | None = None) -> list[Seen]:
    """Read the joiner's and the others' galeraTransfer objects until the joiner's is complete
    (``at_half``: called once when the joiner is past 50 %)."""
    seen: list[Seen] = []
    others = [n for n in cluster.nodes if n is not joiner]
    while time.monotonic() < until:
        mine = transfer_of(joiner)
        donors = {n.name: t for n in others if isinstance(t := transfer_of(n), Transfer)}
        seen.append(Seen(time.monotonic(), mine if isinstance(mine, Transfer) else None, donors))
        if at_half is not None and isinstance(mine, Transfer) and mine.state is TransferState.RUNNING \
                and (mine.percent or 0) >= 50:
            at_half()
            at_half = None
        # the end of this transfer: the last one stays published for a while after it ended
        if isinstance(mine, Transfer) and mine.state is TransferState.COMPLETE and any(
                s.joiner is not None and s.joiner.state is TransferState.RUNNING for s in seen):
            return seen
        time.sleep(0.25)
    last = seen[-1] if seen else None
    raise AssertionError(f"{joiner.name}'s transfer not complete in time; last seen {last}")


def watched_to_the_end(seen: list[Seen], method: str, how: str) -> Seen:
    """The joiner's side as its agent published it: of ``method``, a new count at least every 2 s
    from a tenth of the way on (before it, a mariabackup joiner waits seconds for its donor to
    start streaming), never a smaller one, lasting 20 s or more, its ETA at half-way within 30 %
    of when the count really reached the size expected, complete at 100 % once Synced. The
    sample at half-way."""
    running = [s for s in seen if s.joiner is not None and s.joiner.state is TransferState.RUNNING]
    assert running, f"node3's agent never published a running transfer ({how})"
    counting = [s for s in running if s.joiner is not None and s.joiner.method == method]
    assert counting, f"no {method} transfer published: {running[-1].joiner}"
    counted = [(s.at, s.joiner.done) for s in counting if s.joiner is not None and s.joiner.done]
    assert counted, "nothing counted on node3"
    dones = [done for _, done in counted]
    assert dones == sorted(dones), "node3's count went down"
    expected = next(s.joiner.expected for s in counting if s.joiner is not None and s.joiner.expected)
    # the copy: up to the size expected (a joiner writes more after it: mariabackup's prepare)
    ended = next(at for at, done in counted if done >= min(dones[-1], expected))
    moving = [(at, done) for at, done in counted if expected // 10 <= done and at < ended]
    increases = [at for (_, before), (at, done) in itertools.pairwise(moving) if done > before]
    gaps = [b - a for a, b in itertools.pairwise(increases)]
    print(f"{method}: the longest time without a new count {max(gaps, default=0):.1f} s")
    assert increases and max(gaps, default=0) <= 2.0, f"progress gaps {gaps}"
    took = ended - counted[0][0]
    unit = counting[0].joiner.unit if counting[0].joiner else ""
    print(f"{method}: {dones[-1]} {unit} ({expected} expected) in {took:.1f} s ({how})")
    assert took >= 20, f"the transfer took {took:.1f} s only"
    half = next(s for s in counting if s.joiner is not None and (s.joiner.percent or 0) >= 50)
    assert half.joiner is not None and half.joiner.seconds_left is not None, half
    actual = ended - half.at
    print(f"at {half.joiner.percent} %: ETA {half.joiner.seconds_left} s, the count ended {actual:.1f} s later")
    assert abs(half.joiner.seconds_left - actual) <= 0.3 * actual + 1  # 1: the ETA's whole seconds
    end = seen[-1].joiner
    assert end is not None and end.state is TransferState.COMPLETE and end.percent == 100, end
    assert end.method == method, end
    return half


def test_an_sst_is_watched_on_both_sides_to_its_end(cluster: Sandbox, cli) -> None:
    node3 = cluster.node(3)
    force_sst(node3)
    megabits, capped = slow_donors(cluster, node3)
    said: list[str] = []

    def status() -> None:
        said.append(cli("galera-snmp", "status", "-c", str(cluster.node(1).config_path)).stdout)

    with capped:
        node3.start()
        seen = follow(cluster, node3, time.monotonic() + 6 * COPY_SECONDS, status)
    node3.wait_synced(60)
    half = watched_to_the_end(seen, "rsync", f"{megabits:.1f} Mbit/s")
    # the same transfer on the donor's side
    donating = [(name, t) for s in seen for name, t in s.donors.items() if t.role is TransferRole.DONOR]
    assert donating, "no donor published the transfer"
    name, donor_side = donating[-1]
    assert donor_side.peer == node3.address and donor_side.method == "rsync", donor_side
    assert any((t.percent or 0) >= 50 for n, t in donating if n == name), "the donor's progress stayed low"
    # galera-snmp status at half-way: a bar for each side
    print(said[0])
    assert re.search(rf"· {re.escape(node3.address)}: rsync joiner from \S+: \[#+\.+\] \d+ % .*ETA", said[0]), said
    assert re.search(rf"· \S+: rsync donor to {re.escape(node3.address)}: \[#+\.+\] \d+ %", said[0]), said
    # the joiner named its donor and took its size
    assert half.joiner is not None and half.joiner.peer is not None and half.joiner.expected == donor_side.expected


def test_a_mariabackup_sst_is_watched_on_both_sides_to_its_end(cluster: Sandbox) -> None:
    node1, node3 = cluster.node(1), cluster.node(3)
    # mariabackup on the donor logs into its own server as the user mysqld runs as (no wsrep_sst_auth)
    node1.sql("CREATE USER IF NOT EXISTS 'mysql'@'localhost' IDENTIFIED VIA unix_socket")
    node1.sql("GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, SLAVE MONITOR ON *.* TO 'mysql'@'localhost'")
    force_sst(node3)
    begun = time.time()
    megabits, capped = slow_donors(cluster, node3, "mariabackup")
    with capped:
        node3.start(extra_args=("--wsrep_sst_method=mariabackup",))
        seen = follow(cluster, node3, time.monotonic() + 6 * COPY_SECONDS)
    node3.wait_synced(60)
    half = watched_to_the_end(seen, "mariabackup", f"{megabits:.1f} Mbit/s")
    # the donor streams (mariabackup | socat): its socat's count, the same stream
    donating = [t for s in seen for t in s.donors.values() if t.role is TransferRole.DONOR and t.started >= begun - 1]
    assert donating and {(t.method, t.peer) for t in donating} == {("mariabackup", node3.address)}
    assert any((t.percent or 0) >= 50 for t in donating), "the donor's progress stayed low"
    dones = [t.done or 0 for t in donating]
    assert dones == sorted(dones), "the donor's count went down"
    assert half.joiner is not None and half.joiner.expected == donating[0].expected


def test_an_ist_is_watched_in_write_sets_to_its_end(cluster: Sandbox) -> None:
    node1, node3 = cluster.node(1), cluster.node(3)
    node3.stop()
    node1.sql("CREATE DATABASE IF NOT EXISTS transfers")
    node1.sql("CREATE TABLE IF NOT EXISTS transfers.rows (id INT AUTO_INCREMENT PRIMARY KEY, pad LONGBLOB)")
    for _ in range(IST_WRITES):  # one write-set each, all inside the donors' 64 MiB gcaches
        node1.sql(f"INSERT INTO transfers.rows (pad) VALUES (REPEAT('x', {IST_ROW}))")
    megabits = IST_WRITES * IST_ROW * 8 / 1e6 / COPY_SECONDS
    begun = time.time()
    with port_capped(IST_PORT, megabits, senders(cluster, node3)):
        node3.start()
        seen = follow(cluster, node3, time.monotonic() + 6 * COPY_SECONDS)
    node3.wait_synced(60)
    half = watched_to_the_end(seen, "ist", f"{IST_WRITES} write-sets of {IST_ROW >> 10} KiB at {megabits:.1f} Mbit/s")
    # the inserts, the two statements before them, and the configuration changes Galera orders among them
    assert half.joiner is not None and half.joiner.unit == "write-sets"
    assert half.joiner.expected is not None and IST_WRITES <= half.joiner.expected <= IST_WRITES + 6, half.joiner
    # the donor's side: its SST script only handed over (bypass); Galera sent the write-sets
    donating = [t for s in seen for t in s.donors.values() if t.role is TransferRole.DONOR and t.started >= begun - 1]
    sides = {(t.method, t.state.value, t.expected) for t in donating}
    assert donating and all(t.method == "ist" and t.expected is None for t in donating), sides


def copiers(node: SandboxNode) -> list[int]:
    pid = node.snapshot().pid
    found = sst_processes(pid) if pid else None
    return [] if found is None else list(found.written)


def stop_copiers(node: SandboxNode) -> list[int]:
    """Once the node's rsync copied a tenth, its copiers stopped with SIGSTOP: their pids."""
    wait_for(lambda: len(copiers(node)) > 0 and isinstance(t := transfer_of(node), Transfer)
             and t.state is TransferState.RUNNING and (t.percent or 0) >= 10, 60,
             f"{node.name}'s rsync to copy a tenth")
    stopped = copiers(node)
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    return stopped


def test_a_stopped_copier_is_a_stalled_transfer_on_every_channel_and_it_ends_when_it_runs_again(
        cluster: Sandbox, cli) -> None:
    node3 = cluster.node(3)
    force_sst(node3)
    stopped: list[int] = []
    try:
        _, capped = slow_donors(cluster, node3)
        with capped:
            node3.start()
            stopped = stop_copiers(node3)
            at = time.monotonic()
            wait_for(lambda: isinstance(t := transfer_of(node3), Transfer) and t.state is TransferState.STALLED,
                     STALLED_AFTER + 4, "node3's agent to publish the transfer stalled")
            print(f"stalled published {time.monotonic() - at:.1f} s after SIGSTOP")
            check = check_galera(node3, "--transfer-warning", "3", "--transfer-critical", "4")
            assert check[0] == 2 and "stalled" in check[1].lower(), check
            with urllib.request.urlopen(f"http://{node3.address}:{METRICS_PORT}/metrics", timeout=5) as answer:
                assert 'galera_transfer_state{galera_transfer_state="stalled"} 1.0' in answer.read().decode()
            status = cli("galera-snmp", "status", "-c", str(cluster.node(1).config_path)).stdout
            assert re.search(rf"· {re.escape(node3.address)}: rsync joiner from .*%.*STALLED", status), status
            # the donor's rsync waits on the stopped joiner: its side stalls too
            wait_for(lambda: any(isinstance(t := transfer_of(n), Transfer) and t.role is TransferRole.DONOR
                                 and t.state is TransferState.STALLED for n in cluster.nodes if n is not node3),
                     STALLED_AFTER + 4, "the donor's agent to publish its side stalled")
            for pid in stopped:
                os.kill(pid, signal.SIGCONT)
            stopped = []
            follow(cluster, node3, time.monotonic() + 6 * COPY_SECONDS)
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
    node3.wait_synced(60)
    check = check_galera(node3, "--transfer-warning", "3", "--transfer-critical", "4")
    assert check[0] == 0, check


def check_galera(node: SandboxNode, *args: str) -> tuple[int, str]:
    result = subprocess.run([program("check_galera"), "-m", "node", *node.check_galera_snmp(), *args],
                            capture_output=True, text=True, timeout=60, check=False)
    return result.returncode, result.stdout


SYNCED_TIMEOUT = 8  # node3's galera-init's [init] synced_timeout here: a third of the copy


def test_galera_init_waits_for_a_moving_sst_past_its_synced_timeout_and_gives_up_on_a_stalled_one(
        cluster: Sandbox) -> None:
    node3 = cluster.node(3)
    saved = node3.config_path.read_text()
    # its join without the recovered position: with grastate.dat gone, mariadbd asks for a full copy
    changed = re.sub(r"^synced_timeout = .*$", f"synced_timeout = {SYNCED_TIMEOUT}", saved, flags=re.MULTILINE)
    changed = changed.replace(" --wsrep_start_position={position}", "", 1)
    assert changed.count(f"synced_timeout = {SYNCED_TIMEOUT}") == 1 and "join_command" in changed and \
        changed.count("{position}") == saved.count("{position}") - 1, "the sandbox's [init] changed"
    stopped: list[int] = []
    try:
        node3.config_path.write_text(changed)
        force_sst(node3)
        _, capped = slow_donors(cluster, node3)
        with capped:
            boot = start_init(node3)
            finish([boot], 6 * COPY_SECONDS)
        took = time.monotonic() - boot.started
        print(f"galera-init: Synced after {took:.0f} s of SST (synced_timeout {SYNCED_TIMEOUT} s)")
        assert boot.returncode == 0 and boot.received() == "sst", transcript([boot])
        assert took > 2 * SYNCED_TIMEOUT, f"the copy took {took:.0f} s only: this proves nothing"
        # its waiting lines: the donor's size known, a percentage and a time left
        assert re.search(r"waiting \d+ s for Synced: .*rsync joiner from \S+: \d+ % .*ETA", boot.output), boot.output
        cluster.wait_settled(90)
        force_sst(node3)
        _, capped = slow_donors(cluster, node3)
        with capped:
            boot = start_init(node3)
            stopped = stop_copiers(node3)
            at = time.monotonic()
            finish([boot], SYNCED_TIMEOUT + 30)
            gave_up = time.monotonic() - at
        print(f"galera-init gave up {gave_up:.1f} s after the copier stopped")
        assert boot.returncode != 0 and f"nothing moved for {SYNCED_TIMEOUT} s" in boot.output, transcript([boot])
        # the last move seen may be the datadir's growth before the stop, found by the next walk
        assert SYNCED_TIMEOUT <= gave_up <= SYNCED_TIMEOUT + SIZE_EVERY + 1, gave_up
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
        node3.config_path.write_text(saved)
    node3.wait_synced(120)  # the copy goes on once its copier runs again
