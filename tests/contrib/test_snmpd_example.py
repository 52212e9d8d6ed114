"""contrib/snmpd/galera-snmp.conf on a real snmpd with our agent: read-only, our subtree only,
SNMPv2c from the NMS address only, SNMPv3 authPriv; its notifications reach a real snmptrapd
configured by contrib/snmptrapd, which takes SNMPv3 authPriv traps and nothing else. No database is
needed: with no mysqld the agent serves galeraStatus = stopped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import SNMPTRAPD_EXAMPLE, free_udp_port, tool, trap_receiver

from galera_snmp.dev.base import wait_for
from galera_snmp.snmp import mib
from galera_snmp.snmp.notifications import BY_NOTIFICATION
from galera_snmp.state import Status

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "contrib" / "snmpd" / "galera-snmp.conf"
COMMUNITY = "change-this-community"
V3 = ["-v3", "-l", "authPriv", "-u", "galeramon", "-a", "SHA-256", "-A", "auth-pass-123", "-x", "AES"]
STATUS_OID = ".".join(map(str, (*mib.BY_NAME["galeraStatus"].oid, 0)))


TRAP_PORT = free_udp_port()
COLD_START = re.compile(r"\b6\.3\.1\.1\.5\.1\b")  # snmpTrapOID coldStart: snmpd sends it as it starts


@pytest.fixture(scope="module")
def example_traps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The shipped snmptrapd configuration, as is, on the monitoring station's address."""
    with trap_receiver(SNMPTRAPD_EXAMPLE.read_text(), tmp_path_factory.mktemp("snmptrapd"),
                       f"127.0.0.1:{TRAP_PORT}") as log:
        yield log


@pytest.fixture(scope="module")
def agent_port(tmp_path_factory: pytest.TempPathFactory, example_traps: Path) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp("snmpd-example")
    port = free_udp_port()
    socket_path = tmp / "agentx.sock"
    conf = re.sub(r"^(trapsess .*) 192\.0\.2\.10$", rf"\1 127.0.0.1:{TRAP_PORT}", EXAMPLE.read_text(), flags=re.M)
    assert f"127.0.0.1:{TRAP_PORT}" in conf, "the example has no trapsess line to the NMS"
    conf = (conf.replace("192.0.2.10", "127.0.0.1").replace("/run/agentx/master", str(socket_path))
            .replace("agentAddress udp:192.0.2.11:161", "").replace("clientaddr 192.0.2.11", "clientaddr 127.0.0.1"))
    # snmpd -C reads no persistent file, so the user the operator would create goes here
    user = 'createUser galeramon SHA-256 "auth-pass-123" AES "priv-pass-123"'
    (tmp / "snmpd.conf").write_text(f"agentAddress udp:127.0.0.1:{port}\n{user}\n{conf}")
    persistent = tmp / "persistent"
    persistent.mkdir()
    option_file = tmp / "client.cnf"
    option_file.write_text("[client]\nuser = nobody\nsocket = /nonexistent.sock\n")
    option_file.chmod(0o600)
    (tmp / "data").mkdir()
    config = tmp / "galera-snmp.conf"
    config.write_text(
        f"[mysql]\noption_file = {option_file}\n[server]\ndatadir = {tmp / 'data'}\nrecover = no\n"
        f"[agent]\nsocket = {socket_path}\nwake_socket = {tmp / 'wake.sock'}\nevent_file = {tmp / 'event.json'}\n"
    )
    snmpd = subprocess.Popen(
        [tool("snmpd"), "-f", "-C", "-c", str(tmp / "snmpd.conf"), "-Lf", str(tmp / "snmpd.log")],
        env={**os.environ, "SNMP_PERSISTENT_DIR": str(persistent), "MIBS": ""},
    )
    agent = subprocess.Popen(
        [str(Path(sys.executable).parent / "galera-snmp-agent"), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / "agent.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    try:
        # snmpget exits 0 on "No Such Object" too: wait for the agent's registration, not snmpd's
        wait_for(lambda: "INTEGER" in get(port, COMMUNITY, STATUS_OID).stdout, 20, "the agent behind the example snmpd")
        yield port
    finally:
        for process in (agent, snmpd):
            process.terminate()
            process.wait(10)


def get(port: int, community: str, oid: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("snmpget"), "-v2c", "-c", community, "-On", "-t", "1", "-r", "0", *extra, f"127.0.0.1:{port}", oid],
        capture_output=True, text=True, timeout=30, check=False, env={**os.environ, "MIBS": ""},
    )


def test_our_subtree_is_readable(agent_port: int) -> None:
    out = get(agent_port, COMMUNITY, STATUS_OID).stdout
    assert f"INTEGER: {mib.STATUS[Status.STOPPED]}" in out


def test_nothing_else_is_visible(agent_port: int) -> None:
    out = get(agent_port, COMMUNITY, ".1.3.6.1.2.1.1.3.0").stdout  # sysUpTime.0
    assert "No Such Object" in out


def test_wrong_community_and_other_source_are_refused(agent_port: int) -> None:
    # snmpd drops such a request without a word: the client times out
    for community, *options in (("public",), (COMMUNITY, "--clientaddr=127.0.0.2")):
        refused = get(agent_port, community, STATUS_OID, *options)
        assert (refused.returncode, refused.stderr.strip()) == (1, f"Timeout: No Response from 127.0.0.1:{agent_port}.")


def test_writes_are_refused(agent_port: int) -> None:
    target = f"127.0.0.1:{agent_port}"
    result = subprocess.run(
        [tool("snmpset"), "-v2c", "-c", COMMUNITY, "-t", "1", "-r", "0", target, STATUS_OID, "i", "1"],
        capture_output=True, text=True, timeout=30, check=False, env={**os.environ, "MIBS": ""},
    )
    # a read-only community: snmpd answers the SET with noAccess (2: snmpset got an error-status)
    assert (result.returncode, result.stderr.splitlines()[:2]) == (2, ["Error in packet.", "Reason: noAccess"])


def test_snmpv3_auth_priv(agent_port: int) -> None:
    snmpget = tool("snmpget")
    ok = subprocess.run(
        [snmpget, *V3, "-X", "priv-pass-123", "-On", f"127.0.0.1:{agent_port}", STATUS_OID],
        capture_output=True, text=True, timeout=30, check=False, env={**os.environ, "MIBS": ""},
    )
    assert ok.returncode == 0, ok.stderr
    assert f"INTEGER: {mib.STATUS[Status.STOPPED]}" in ok.stdout
    wrong = subprocess.run(
        [snmpget, *V3, "-X", "wrong-priv-pass", "-t", "1", "-r", "0", f"127.0.0.1:{agent_port}", STATUS_OID],
        capture_output=True, text=True, timeout=30, check=False, env={**os.environ, "MIBS": ""},
    )
    # snmpd cannot decrypt the request and drops it: a timeout, as for a wrong community
    assert (wrong.returncode, wrong.stderr.strip()) == (1, f"Timeout: No Response from 127.0.0.1:{agent_port}.")


def test_check_galera_reads_snmpv3_credentials_from_a_file(agent_port: int, cli, tmp_path: Path) -> None:
    """check_galera with v3 authPriv, secrets from --credentials (not argv), through this snmpd."""
    credentials = tmp_path / "snmp.cred"
    credentials.write_text(
        "[snmp]\nprotocol = 3\nsecname = galeramon\nauthproto = SHA-256\nauthpasswd = auth-pass-123\n"
        "privproto = AES\nprivpasswd = priv-pass-123\n"
    )
    credentials.chmod(0o600)
    result = cli("check_galera", "-H", "127.0.0.1", "-p", str(agent_port), "--credentials", str(credentials), "-t", "5")
    assert result.returncode == 2, result.stdout  # the example agent has no mysqld: stopped
    assert result.stdout.startswith("GALERA CRITICAL - ") and "stopped" in result.stdout
    credentials.write_text(credentials.read_text().replace("priv-pass-123", "wrong-pass-123"))
    wrong = cli("check_galera", "-H", "127.0.0.1", "-p", str(agent_port), "--credentials", str(credentials), "-t", "3")
    assert wrong.returncode == 3, wrong.stdout
    assert "wrong-pass" not in wrong.stdout + wrong.stderr
    credentials.chmod(0o644)
    exposed = cli("check_galera", "-H", "127.0.0.1", "-p", str(agent_port), "--credentials", str(credentials))
    assert exposed.returncode == 3
    assert "accessible by others" in exposed.stderr


def send_status_change(status: Status, *credentials: str) -> None:
    """A galeraStatusChange carrying ``status``, as a node sends it, with these credentials."""
    notification = ".".join(map(str, BY_NOTIFICATION["galeraStatusChange"].oid))
    subprocess.run(
        [tool("snmptrap"), *credentials, f"127.0.0.1:{TRAP_PORT}", "", notification, STATUS_OID, "i",
         str(mib.STATUS[status])],
        capture_output=True, timeout=30, check=True, env={**os.environ, "MIBS": "", "SNMPCONFPATH": "/nonexistent"},
    )


def test_notifications_reach_the_example_snmptrapd_by_snmpv3(agent_port: int, example_traps: Path) -> None:
    """The example snmpd's trapsess (engine ID and user fixed) meets the example snmptrapd's user."""
    wait_for(lambda: COLD_START.search(example_traps.read_text()) is not None, 10, "snmpd's coldStart trap")


def test_the_example_snmptrapd_names_our_notifications_and_takes_nothing_else(example_traps: Path) -> None:
    node2 = ["-v3", "-e", "0x80001f88046e6f646532", "-u", "galeratrap", "-l", "authPriv", "-a", "SHA-256",
             "-A", "trap auth passphrase", "-x", "AES"]
    send_status_change(Status.STOPPED, "-v2c", "-c", "public")  # no community is accepted
    send_status_change(Status.BLOCKED, *node2, "-X", "wrong priv passphrase")  # undecryptable
    send_status_change(Status.RUNNING, *node2, "-X", "trap priv passphrase")
    wait_for(lambda: "running(5)" in example_traps.read_text(), 10, "the authPriv notification")
    log = example_traps.read_text()
    assert "OID: GALERA-MIB::galeraStatusChange\tGALERA-MIB::galeraStatus.0 = INTEGER: running(5)" in log
    assert "stopped(1)" not in log and "blocked(" not in log
