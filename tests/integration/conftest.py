"""Fixtures that run a real 3-node MariaDB Galera sandbox for the integration tests.

A missing package or missing root fails the tests with the install hint: they never skip.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import require, snmptrapd

from galera_snmp.dev.sandbox import (
    DEFAULT_DIR,
    INSTALL_HINT,
    PROGRAMS_ENV,
    REQUIRED_PROGRAMS,
    Sandbox,
    SandboxError,
    program,
    wait_for,
)
from galera_snmp.snmp.client import SnmpError
from galera_snmp.snmp.remote import read_report
from galera_snmp.state import SYNCED, Status


def _requirements() -> None:
    if not Path("/usr/lib/galera/libgalera_smm.so").exists():
        pytest.fail(f"integration tests need galera-4: {INSTALL_HINT}", pytrace=False)
    require(REQUIRED_PROGRAMS, "integration tests", INSTALL_HINT, root_because="run mariadbd as the mysql user")


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the session, torn down (no process left) even when tests fail."""
    _requirements()
    # The quick start's sandbox holds the same addresses; stop it (its data stays).
    if (DEFAULT_DIR / "node1").exists():
        Sandbox.existing(DEFAULT_DIR).down()
    root = Path(tempfile.mkdtemp(prefix="gs-", dir="/var/tmp"))
    box = Sandbox(root, 3)
    try:
        yield box
    finally:
        box.down()
        if os.environ.get("GALERA_SNMP_KEEP_SANDBOX"):
            print(f"sandbox kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def _agents_settled(box: Sandbox) -> bool:
    """Every node's agent publishes a Synced node of the whole cluster: a test reading GALERA-MIB
    right after the previous test changed the cluster would otherwise see the agents' last
    refresh (a view change reaches each node, and its agent, a moment apart)."""
    try:
        states = [read_report(node.snmp_target()).state for node in box.nodes]
    except SnmpError:
        return False
    # a donor is "running" too: a test right after a state transfer would see it (seen in CI)
    return all(s.status is Status.RUNNING and s.local_state == SYNCED and s.cluster_size == len(box.nodes)
               for s in states)


@pytest.fixture
def cluster(sandbox: Sandbox) -> Sandbox:
    """The sandbox with every node Synced, as the nodes and their agents say; rebuilt from scratch
    if a test left it crashed."""
    try:
        sandbox.up()
    except SandboxError:
        sandbox.down(purge=True)
        sandbox.up()
    wait_for(lambda: _agents_settled(sandbox), 30, "every node's agent to publish the settled cluster")
    if os.environ.get(PROGRAMS_ENV):  # the package test: the agents must be the installed ones
        pid = sandbox.node(1).agent.pid()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert program("galera-snmp-agent").encode() in argv, (PROGRAMS_ENV, argv)
    return sandbox


@pytest.fixture
def traps(sandbox: Sandbox, tmp_path: Path) -> Iterator[Path]:
    """snmptrapd for the session's sandbox; yields its log file."""
    with snmptrapd(sandbox, tmp_path) as log:
        yield log
