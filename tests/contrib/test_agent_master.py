"""galera-snmp-agent without its AgentX master: snmpd down, restarting or late. The agent lives
on, keeps the keepalived track file current, logs the loss once, and registers again as soon as
a master is there."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from support import free_udp_port, stopped_node_config, tool

from galera_snmp.dev.base import wait_for
from galera_snmp.snmp import mib

STATUS_OID = ".".join(map(str, (*mib.BY_NAME["galeraStatus"].oid, 0)))


def snmpget(port: int) -> str:
    return subprocess.run(
        [tool("snmpget"), "-v2c", "-c", "public", "-On", "-t", "1", "-r", "0", f"127.0.0.1:{port}", STATUS_OID],
        capture_output=True, text=True, timeout=30, check=False, env={**os.environ, "MIBS": ""},
    ).stdout  # fmt: skip


def start_snmpd(tmp: Path, port: int, socket_path: Path) -> subprocess.Popen:
    conf = tmp / "snmpd.conf"
    conf.write_text(f"agentAddress udp:127.0.0.1:{port}\nmaster agentx\nagentXSocket {socket_path}\n"
                    "rocommunity public 127.0.0.1\n")
    persistent = tmp / "persistent"
    persistent.mkdir(exist_ok=True)
    return subprocess.Popen(
        [tool("snmpd"), "-f", "-C", "-c", str(conf), "-Lf", str(tmp / "snmpd.log")],
        env={**os.environ, "SNMP_PERSISTENT_DIR": str(persistent), "MIBS": ""},
    )


def test_the_agent_outlives_its_master_and_registers_again(tmp_path: Path) -> None:
    socket_path, track, log = tmp_path / "agentx.sock", tmp_path / "track", tmp_path / "agent.log"
    config = stopped_node_config(
        tmp_path,
        f"[agent]\nsocket = {socket_path}\nwake_socket = {tmp_path / 'wake.sock'}\n"
        f"event_file = {tmp_path / 'event.json'}\nstate_dir = {tmp_path / 'state'}\nreconnect_interval = 0.5\n"
        f"[keepalived]\ntrack_file = {track}\n",
    )
    port = free_udp_port()
    agent = subprocess.Popen(
        [str(Path(sys.executable).parent / "galera-snmp-agent"), "-c", str(config)],
        stdout=subprocess.DEVNULL, stderr=log.open("wb"),
    )  # fmt: skip
    snmpd = None
    try:
        # no master at all: the other outputs are current anyway (no mysqld: the node must not serve)
        wait_for(lambda: track.exists() and track.read_text() == "0\n", 20, "the track file without a master")
        wait_for(lambda: log.read_text().count("registering again") == 1, 10, "the loss, logged once")
        with contextlib.suppress(subprocess.TimeoutExpired):
            agent.wait(3)  # several attempts go by: it stays
        assert agent.poll() is None, log.read_text()
        snmpd = start_snmpd(tmp_path, port, socket_path)
        wait_for(lambda: "INTEGER" in snmpget(port), 20, "the agent to register with the new master")
        snmpd.terminate()
        snmpd.wait(10)
        snmpd = start_snmpd(tmp_path, port, socket_path)  # a restart: it comes back again
        wait_for(lambda: "INTEGER" in snmpget(port), 20, "the agent to register after the restart")
        assert agent.poll() is None
        text = log.read_text()
        assert text.count("without the AgentX master") == 2, text
        assert text.count("registered GALERA-MIB") == 2, text
    finally:
        for process in (agent, snmpd):
            if process is not None:
                process.terminate()
                process.wait(10)
    assert agent.returncode == 0
    assert track.read_text() == "0\n"
