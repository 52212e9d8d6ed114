"""Five nodes in two sites (Galera segments 0 and 1, three + two): the three-node site goes dark
under write load. The agents of the two-node site name the silent site and the make-primary
command (galeraSiteAdvice, a notification, ``galera-snmp status``); make-primary with the
confirmation brings the two-node site back to Primary, and nothing acknowledged is lost when
the dark site returns.

Runs its own five-node sandbox on the session sandbox's addresses: that one is stopped first
and comes back with the next test that asks for it. Runnable by itself.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from outage import Load, finish, kill_left, start_init, transcript
from support import snmptrapd

from galera_snmp.dev.sandbox import Sandbox, SandboxNode, program, wait_for

pytestmark = pytest.mark.integration

EAST, WEST = (0, 1, 2), (3, 4)  # node indexes (from 0) of segment 0 and segment 1


@pytest.fixture
def two_sites(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.down()
    box = Sandbox(Path(tempfile.mkdtemp(prefix="gs-sites-", dir="/var/tmp")), 5, segments=(0, 0, 0, 1, 1))
    try:
        box.up(timeout=300)
        box.wait_settled(120)
        yield box
    finally:
        box.down()
        shutil.rmtree(box.root, ignore_errors=True)


@pytest.fixture
def site_traps(two_sites: Sandbox, tmp_path: Path) -> Iterator[Path]:
    with snmptrapd(two_sites, tmp_path) as log:
        yield log


def galera_snmp(node: SandboxNode, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([program("galera-snmp"), *args, "-c", str(node.config_path)], capture_output=True,
                          text=True, timeout=300, check=False)


def agent_log(node: SandboxNode) -> str:
    return (node.dir / "log" / "agent.log").read_text(errors="replace")


def test_a_dark_site_is_named_and_the_other_made_primary_with_the_confirmation(two_sites: Sandbox,
                                                                                 site_traps: Path) -> None:
    east = [two_sites.nodes[i] for i in EAST]
    west = [two_sites.nodes[i] for i in WEST]
    lost = ",".join(node.address for node in east)
    known = f"sites: segment-0: {', '.join(n.address for n in east)}; segment-1: {', '.join(n.address for n in west)}"
    for node in west:  # their agents have seen every node answer, in its segment
        wait_for(lambda n=node: known in agent_log(n), 30, f"{node.name}'s agent to know both sites")
    with Load(two_sites) as load:
        for node in east:  # the site goes dark: no SNMP, no mysqld
            node.stop_services()
            node.kill()
        for node in west:
            wait_for(lambda n=node: n.snapshot().cluster_status == "non-Primary", 60, f"{node.name} to lose quorum")
        advice = "site segment-0 silent for"
        wait_for(lambda: advice in galera_snmp(west[0], "status").stdout, 30, "the agents to name the silent site")
        status = galera_snmp(west[0], "status")
        assert status.returncode == 1, status.stdout
        assert f"galera-snmp make-primary --confirm-lost {lost}" in status.stdout, status.stdout
        # grouped by site; a silent node's segment is known only to the agents that saw it answer
        rows = [row.split()[:3] for row in status.stdout.splitlines()[1:6]]
        assert rows == [["segment-1", n.address, "nonprimary"] for n in west] + [
            ["-", n.address, "no"] for n in east], status.stdout
        wait_for(lambda: ".1.3.6.1.4.1.32473.0.7" in site_traps.read_text(), 20, "galeraSiteSilentChange")

        refused = galera_snmp(west[0], "make-primary")
        assert refused.returncode == 1 and "may be cut off, not lost" in refused.stdout, refused.stdout
        done = galera_snmp(west[0], "make-primary", "--confirm-lost", lost)
        assert done.returncode == 0 and "Primary: 2 member(s) Synced" in done.stdout, done.stdout + done.stderr
        assert all(node.snapshot().cluster_status == "Primary" for node in west)
        acked = len(load.acked)
        wait_for(lambda: len(load.acked) > acked, 30, "writes on the two-node site again")
        for node in east:  # the site comes back: its nodes join the Primary
            node.start_services()
        boots = [start_init(node) for node in east]
        try:
            finish(boots, 240)
        finally:
            kill_left(boots)
        assert all(boot.returncode == 0 for boot in boots), transcript(boots)
    two_sites.wait_settled(120)
    for node in two_sites.nodes:
        assert load.missing_on(node) == set(), node.name
    wait_for(lambda: "! site" not in galera_snmp(west[0], "status").stdout, 30, "the advice to go away")
