"""The rejoin forecast on the sandbox (cluster/rejoin.py): a stopped node's agent says whether
its rejoin would be IST or SST, and the real join then does what it said.

node3 is stopped cleanly while node1 and node2 serve. Inside the caches: IST forecast, and the
join is IST. Then large writes until the donors' gcaches (64 MiB each) have moved past node3's
position: the forecast flips to SST within a refresh and half a second of the moment Galera's own
rule (read from node1's and node2's SQL after each write) says SST, says SST before that rule
only for what the caches may have forgotten since they were read, and the join is a full copy.

Runnable by itself: pytest tests/integration/test_rejoin_forecast.py
"""

from __future__ import annotations

import re
import time

import pytest
from outage import finish, start_init
from support import galera_would_ist

from galera_snmp.config import load_config
from galera_snmp.dev.sandbox import Sandbox, SandboxNode, wait_for
from galera_snmp.snmp.remote import read_report
from galera_snmp.state import Rejoin, RejoinMethod

pytestmark = pytest.mark.integration

ROW = 256 * 1024  # bytes per write: 64 MiB of gcache hold about 256 of them
MAX_WRITES = 1200  # the caches hold far fewer: a forecast that never flips fails, not hangs


def forecast(node: SandboxNode) -> Rejoin | None:
    return read_report(node.snmp_target()).rejoin


def caches(donors: list[SandboxNode]) -> list[tuple[int, int]]:
    """(wsrep_local_cached_downto, wsrep_last_committed) of each donor, read from its mysqld."""
    found = []
    for node in donors:
        status = dict(node.sql("SHOW STATUS WHERE Variable_name IN "
                               "('wsrep_local_cached_downto', 'wsrep_last_committed', 'wsrep_local_state')"))
        assert status["wsrep_local_state"] == "4", f"{node.name} is not Synced"
        found.append((int(status["wsrep_local_cached_downto"]), int(status["wsrep_last_committed"])))
    return found


def stopped_seqno(node: SandboxNode) -> int:
    """node's position once stopped cleanly, as its agent publishes it (from grastate.dat)."""
    def known() -> bool:
        state = read_report(node.snmp_target()).state
        return state.position.source.value == "grastate"
    wait_for(known, 30, f"{node.name}'s agent to publish its grastate position")
    return read_report(node.snmp_target()).state.position.seqno


def rejoin(node: SandboxNode, cluster: Sandbox) -> str:
    """galera-init on the stopped node, as at its next boot: how it caught up (ist, sst)."""
    boot = start_init(node)
    finish([boot], 240)
    assert boot.returncode == 0, boot.output
    cluster.wait_settled(90)
    return boot.received()


def test_inside_the_caches_the_forecast_is_ist_and_so_is_the_join(cluster: Sandbox, cli) -> None:
    node1, node2, node3 = cluster.nodes
    node3.stop()
    seqno = stopped_seqno(node3)
    wait_for(lambda: (f := forecast(node3)) is not None and f.method is RejoinMethod.IST, 30,
             "node3's agent to forecast IST")
    found = forecast(node3)
    assert found is not None and found.donor in ("node1", "node2") and (found.write_sets_left or 0) >= 1
    assert galera_would_ist(seqno, caches([node1, node2]))
    status = cli("galera-snmp", "status", "-c", str(node1.config_path))
    assert f"· {node3.address}: a rejoin now gets IST" in status.stdout, status.stdout
    node1.sql("CREATE DATABASE IF NOT EXISTS rejoin")
    node1.sql("CREATE TABLE IF NOT EXISTS rejoin.t (id INT AUTO_INCREMENT PRIMARY KEY, pad LONGBLOB)")
    node1.sql("INSERT INTO rejoin.t (pad) VALUES (REPEAT('x', 100))")  # something to send
    assert rejoin(node3, cluster) == "ist"


def test_the_forecast_flips_to_sst_when_the_caches_move_past_a_node_and_the_join_copies(cluster: Sandbox) -> None:
    node1, node2, node3 = cluster.nodes
    settings = load_config(node3.config_path)
    # one refresh: while node3 is out, its donors' agents refresh and its peer watch reads them
    # every half refresh, and node3's agent redoes the forecast after each round (and counts what
    # the caches forgot meanwhile at the rate they forget: "at the edge of the caches" before
    # Galera's rule); half a second for SNMP and scheduling
    deadline = settings.agent.refresh_interval + 0.5
    node1.sql("CREATE DATABASE IF NOT EXISTS rejoin")
    node1.sql("CREATE TABLE IF NOT EXISTS rejoin.t (id INT AUTO_INCREMENT PRIMARY KEY, pad LONGBLOB)")
    node3.stop()
    seqno = stopped_seqno(node3)
    wait_for(lambda: (f := forecast(node3)) is not None and f.method is RejoinMethod.IST, 30,
             "node3's agent to forecast IST")
    try:
        flipped_at = None
        for _ in range(MAX_WRITES):
            node1.sql(f"INSERT INTO rejoin.t (pad) VALUES (REPEAT('y', {ROW}))")
            if not galera_would_ist(seqno, caches([node1, node2])):
                flipped_at = time.monotonic()
                break
            found = forecast(node3)
            if found is not None and found.method is RejoinMethod.SST:  # the caches may move on by themselves
                # early only by what the caches may have forgotten since the donors were read
                early = galera_would_ist(seqno, caches([node1, node2]))
                assert not early or "at the edge of the caches" in found.reason, f"SST forecast too early: {found}"
                flipped_at = time.monotonic()
                break
        assert flipped_at is not None, f"{MAX_WRITES} writes of {ROW} bytes did not move the caches past {seqno}"
        wait_for(lambda: (f := forecast(node3)) is not None and f.method is RejoinMethod.SST, deadline,
                 f"node3's agent to forecast SST within {deadline} s of Galera's rule")
        print(f"SST forecast {time.monotonic() - flipped_at:.1f} s after the flip: {forecast(node3).reason}")
        assert forecast(node3).reason.startswith((f"seqno {seqno} is older than the caches safely hold",
                                                  f"seqno {seqno} is at the edge of the caches"))
    finally:
        node1.sql("DROP TABLE IF EXISTS rejoin.t")  # one small write-set (a DELETE would carry every row)
    assert rejoin(node3, cluster) == "sst"


DONOR_LINE = re.compile(r"Member \S+ \(([^)]+)\) requested state transfer from '([^']*)'\. Selected \S+ \(([^)]+)\)")
JOINS = 10


def test_with_the_writer_spared_ten_joins_never_take_it_as_donor(cluster: Sandbox, cli) -> None:
    """The sandbox runs galera-init with [init] spare_writer: node1 is the writer (the first of
    the node set), node2 Synced beside it; node3 stopped and joined again ten times, with a write
    while it is away each time, asks for node2 and never gets node1."""
    node1, node2, node3 = cluster.nodes
    assert read_report(node1.snmp_target()).writer.healthy is True
    donors = cli("galera-snmp", "donors", "-c", str(node3.config_path))
    assert donors.stdout.strip() == f"{node2.name},", donors.stdout + donors.stderr
    node1.sql("CREATE DATABASE IF NOT EXISTS rejoin")
    node1.sql("CREATE TABLE IF NOT EXISTS rejoin.joins (id INT AUTO_INCREMENT PRIMARY KEY)")
    chosen = []
    for _ in range(JOINS):
        offset = node3.error_log.stat().st_size
        node3.stop()
        node1.sql("INSERT INTO rejoin.joins VALUES ()")  # something to send
        assert rejoin(node3, cluster) in ("ist", "sst")
        lines = DONOR_LINE.findall(node3.error_log.read_bytes()[offset:].decode(errors="replace"))
        mine = [(asked, donor) for joiner, asked, donor in lines if joiner == "node3"]
        assert mine, "node3's log names no donor"
        chosen.append(mine[-1])
    assert chosen == [(f"{node2.name},", node2.name)] * JOINS
