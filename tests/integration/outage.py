"""Helpers for galera-init's scenarios (tests/integration/test_galera_init.py, bench/outage):
a write load that remembers every acknowledged commit, crashing nodes under it, running
galera-init on nodes as a boot would, and checking what came out."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pymysql

from galera_snmp.dev.sandbox import Sandbox, SandboxNode, program, wait_for
from galera_snmp.node.process import find_mysqld
from galera_snmp.snmp.remote import read_report
from galera_snmp.state import NodeState, SeqnoSource, Status

TABLE = "loadtest.acked"


class Load:
    """One writer per node (or per node of ``writers``), autocommit INSERTs; an id counts once the
    server said OK."""

    def __init__(self, cluster: Sandbox, writers: Sequence[SandboxNode] | None = None) -> None:
        self.cluster = cluster
        self.writers = list(writers) if writers is not None else cluster.nodes
        self.acked: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        cluster.node(1).sql("CREATE DATABASE IF NOT EXISTS loadtest")
        cluster.node(1).sql(f"CREATE TABLE IF NOT EXISTS {TABLE} (id BIGINT PRIMARY KEY, node INT)")

    def __enter__(self) -> Load:
        for node in self.writers:
            thread = threading.Thread(target=self._write, args=(node,), daemon=True)
            thread.start()
            self._threads.append(thread)
        wait_for(lambda: len(self.acked) >= 20, 30, "the load to commit 20 rows")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def _write(self, node: SandboxNode) -> None:
        counter = node.index * 10**12 + int(time.time() * 1000) * 1000
        conn = None
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = node.connect()
                    conn.ping()
                counter += 1
                with conn.cursor() as cur:
                    cur.execute(f"INSERT INTO {TABLE} VALUES (%s, %s)", (counter, node.index))
                with self._lock:
                    self.acked.add(counter)
            except pymysql.Error:
                conn = None
                self._stop.wait(0.05)
        if conn is not None:
            conn.close()

    def missing_on(self, node: SandboxNode) -> set[int]:
        present = {row[0] for row in node.sql(f"SELECT id FROM {TABLE}")}
        return self.acked - present


def assert_one_cluster_nothing_lost(cluster: Sandbox, load: Load, history: str, timeout: float = 60) -> None:
    """Every node Synced in one view of the history ``history``, with every acknowledged commit."""
    cluster.wait_settled(timeout)
    for node in cluster.nodes:
        assert node.snapshot().cluster_state_uuid == history, f"{node.name} is in another history"
        missing = load.missing_on(node)
        assert not missing, f"{node.name} lost {len(missing)} acknowledged commits"


def recovered_positions(cluster: Sandbox, timeout: float = 15) -> dict[int, tuple[str | None, int]]:
    """Each stopped node's (state UUID, seqno), as its own agent publishes it over SNMP."""
    positions = {}
    for node in cluster.nodes:
        # the agent says "stopped" the moment mysqld exits, and the position once --wsrep-recover has run
        wait_for(lambda n=node: _recovered(read_report(n.snmp_target()).state), timeout,
                 f"{node.name} to be stopped, with its recovered position")
        state = read_report(node.snmp_target()).state
        positions[node.index] = (state.position.uuid, state.seqno)
    return positions


def expected_winner(cluster: Sandbox) -> int:
    """The node galera-init must elect once every stopped node has its recovered position,
    worked out here from the agents' reports: the highest seqno, then the one node marked
    safe_to_bootstrap among those tied (Galera marks the last member of a Primary component,
    e.g. the survivor of crashes its peers were evicted for), then the lowest address."""
    recovered_positions(cluster)
    positions = {node.index: read_report(node.snmp_target()).state.position for node in cluster.nodes}
    top = max(position.seqno for position in positions.values())
    tied = sorted(i for i, position in positions.items() if position.seqno == top)
    safe = [i for i in tied if positions[i].safe_to_bootstrap]
    return safe[0] if len(safe) == 1 else tied[0]


def _recovered(state: NodeState) -> bool:
    return state.status is Status.STOPPED and state.position.source is not SeqnoSource.UNKNOWN


def crash_all(cluster: Sandbox, gap: float = 0.3, order: list[SandboxNode] | None = None) -> None:
    """kill -9 every mariadbd, one after another: the last one killed saw the most. ``gap=0``: all
    at the same moment (one SIGKILL after another, nothing in between), as a power loss: no
    survivor records a view change (crash eviction would evict an earlier one at once)."""
    nodes = order or list(reversed(cluster.nodes))
    if gap == 0:
        pids = [find_mysqld(node.datadir).pid for node in nodes]
        for pid in pids:
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
    for i, node in enumerate(nodes):
        if i and gap:
            time.sleep(gap)  # the scenario: nodes die at different moments, the load goes on
        node.kill()


@dataclass
class Boot:
    node: SandboxNode
    process: subprocess.Popen
    log_offset: int
    log: Path
    returncode: int | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def output(self) -> str:
        """What galera-init printed so far."""
        return self.log.read_text(errors="replace")

    @property
    def bootstrapped(self) -> bool:
        return "--wsrep-new-cluster" in self.output

    def server_log(self) -> str:
        """The mysqld error log since galera-init started."""
        return self.node.error_log.read_bytes()[self.log_offset:].decode(errors="replace")

    def received(self) -> str:
        """How this node caught up, from its error log since galera-init started: ist, sst or none."""
        text = self.server_log()
        # MariaDB logs "SST received" even when the SST script only bypasses the state dump for
        # an IST; the script's own line names the transfer type.
        if re.search(r"WSREP_SST: \[INFO\] \S+ SST completed on joiner", text):
            return "sst"
        if re.search(r"IST completed on joiner|IST received", text):
            return "ist"
        return "none"


@dataclass
class Boots:
    boots: list[Boot] = field(default_factory=list)

    def bootstrappers(self) -> list[Boot]:
        return [boot for boot in self.boots if boot.bootstrapped]


def transcript(boots: list[Boot]) -> str:
    """What each galera-init printed, for an assertion message; where it failed, the last lines of
    its mysqld's error log too."""
    parts = []
    for b in boots:
        parts.append(f"--- {b.node.name} (rc {b.returncode})\n{b.output}")
        if b.returncode:
            tail = b.server_log().splitlines()[-25:]
            parts.append(f"--- {b.node.name} mysqld error log (last {len(tail)} lines)\n" + "\n".join(tail))
    return "\n".join(parts)


def start_init(node: SandboxNode, *args: str) -> Boot:
    offset = node.error_log.stat().st_size if node.error_log.exists() else 0
    log = node.dir / "log" / "galera-init.log"
    with open(log, "w") as out:
        process = subprocess.Popen([*node.enter(), program("galera-init"), "-c", str(node.config_path), *args],
                                   stdout=out, stderr=subprocess.STDOUT, text=True)
    return Boot(node, process, offset, log)


def boot_all(nodes: list[SandboxNode], delays: list[float] | None = None, timeout: float = 180) -> Boots:
    """galera-init on every node (after its delay), as hosts coming back from a power cut."""
    boots = Boots()
    started = time.monotonic()
    for node, delay in sorted(zip(nodes, delays or [0.0] * len(nodes), strict=True), key=lambda item: item[1]):
        time.sleep(max(0.0, delay - (time.monotonic() - started)))  # the scenario's staggered boot
        boots.boots.append(start_init(node))
    finish(boots.boots, timeout)
    return boots


def finish(boots: list[Boot], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for boot in boots:
        try:
            boot.process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            boot.process.kill()
            boot.process.wait()
        boot.returncode = boot.process.returncode


def kill_left(boots: list[Boot]) -> None:
    """Whatever galera-init still runs after a scenario (a failed assertion, say) is killed."""
    for boot in boots:
        if boot.process.poll() is None:
            boot.process.kill()
            boot.process.wait()


def random_delays(rng: random.Random, count: int, spread: float) -> list[float]:
    """Start delays for ``count`` nodes, each up to ``spread`` seconds (a staggered power return)."""
    return [rng.uniform(0, spread) for _ in range(count)]


def restart_agent(node: SandboxNode) -> None:
    """The agent reads its configuration when it starts."""
    node.agent.stop()
    node.start_services()
    node.wait_snmp()


NO_EVICTION = "evict_on_crash = no\n"


def crash_eviction(cluster: Sandbox, on: bool) -> None:
    """[cluster] evict_on_crash on every node, each agent restarted to read it."""
    for node in cluster.nodes:
        text = node.config_path.read_text().replace(NO_EVICTION, "")
        node.config_path.write_text(text if on else text.replace("[cluster]\n", "[cluster]\n" + NO_EVICTION))
        restart_agent(node)


@contextmanager
def init_sections(cluster: Sandbox, sections: dict[int, str]) -> Iterator[None]:
    """Each listed node's [init] nodes (and any other [init] line given) as an operator wrote them,
    its agent restarted to publish them; the sandbox's own configuration back afterwards."""
    saved = {node.index: node.config_path.read_text() for node in cluster.nodes}
    try:
        for index, lines in sections.items():
            node = cluster.node(index)
            text = re.sub(r"^nodes = .*$", lines, saved[index], count=1, flags=re.MULTILINE)
            node.config_path.write_text(text)
            restart_agent(node)
        yield
    finally:
        for index in sections:
            node = cluster.node(index)
            node.config_path.write_text(saved[index])
            if node.process().value != "absent" or node.agent.pid() is not None:
                restart_agent(node)


def first_commit_after(kill: Callable[[], object], node: SandboxNode, timeout: float = 30) -> float:
    """Seconds from ``kill()`` until an INSERT on ``node`` commits (an open connection, retried)."""
    conn = node.connect()
    conn.autocommit(True)
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS eviction")
        cur.execute("CREATE TABLE IF NOT EXISTS eviction.t (id INT AUTO_INCREMENT PRIMARY KEY)")
    started = time.monotonic()
    kill()
    try:
        while True:
            try:
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO eviction.t VALUES ()")
                return time.monotonic() - started
            except pymysql.Error:
                assert time.monotonic() - started < timeout, "no commit on the survivor"
                conn = node.connect()
                conn.autocommit(True)
    finally:
        conn.close()
