"""The sandbox's SNMP: SNMPv3 authPriv by default, SNMPv2c only when asked (--v2c).

One node's snmpd and agent, without mysqld (the agent reports it stopped), on node 5's address
of a 5-node sandbox folder of its own: the session's sandbox holds nodes 1 to 3.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from galera_snmp.config import load_config
from galera_snmp.dev.sandbox import Sandbox, SandboxNode, net_snmp_env
from galera_snmp.snmp import mib
from galera_snmp.snmp.client import Client, SnmpError, SnmpTimeout, Target
from galera_snmp.state import Status

pytestmark = pytest.mark.integration

STATUS = (*mib.BY_NAME["galeraStatus"].oid, 0)
STOPPED = mib.STATUS[Status.STOPPED]  # no mysqld runs for this node


@pytest.fixture(params=[False, True], ids=["v3", "v2c"])
def lone_node(request: pytest.FixtureRequest, sandbox: Sandbox, tmp_path: Path) -> Iterator[SandboxNode]:
    box = Sandbox(tmp_path / "box", 5, v2c=request.param)
    box.prepare()
    node = box.node(5)
    node.start_services()
    try:
        node.wait_snmp()
        yield node
    finally:
        node.stop_services()


def snmpget(node: SandboxNode) -> subprocess.CompletedProcess[str]:
    """net-snmp's snmpget with nothing on its command line but the agent and the OID."""
    return subprocess.run([shutil.which("snmpget") or "snmpget", "-On", "-t", "1", "-r", "0", node.address,
                           ".".join(map(str, STATUS))], capture_output=True, text=True, timeout=30, check=False,
                          env={**os.environ, **net_snmp_env(node.root)})


def test_the_node_answers_as_its_sandbox_says_and_only_so(lone_node: SandboxNode) -> None:
    node = lone_node
    with Client(node.snmp_target()) as client:
        assert client.get([STATUS])[STATUS] == STOPPED
    assert f"INTEGER: {STOPPED}" in snmpget(node).stdout
    if node.v2c:
        other = Target(node.address, version="3", user="galeramon", auth_password="not-the-pass",
                       priv_password="not-the-pass", timeout=0.5, retries=0)
        with Client(other) as client, pytest.raises(SnmpError, match="unknown user"):
            client.get([STATUS])
    else:
        assert node.snmp_target().version == "3" and node.snmp_target().level == "authPriv"
        with Client(Target(node.address, community="public", timeout=0.5, retries=0)) as client, \
                pytest.raises(SnmpTimeout):
            client.get([STATUS])  # no community at all


def test_secrets_are_private_and_galera_init_trusts_only_v3(lone_node: SandboxNode) -> None:
    node = lone_node
    for path in (node.snmp_credentials, node.snmpd_conf, node.root / "net-snmp" / "snmp.conf"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    init = load_config(node.config_path).init
    assert init.allow_v2c is node.v2c
    credentials = init.snmp_credentials.resolve() if init.snmp_credentials else None
    assert (credentials == node.snmp_credentials) is not node.v2c
