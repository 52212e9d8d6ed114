"""The shipped check definitions run by the monitoring servers operators run: Nagios 4 schedules
contrib/nagios/check_galera.cfg's commands, Icinga 2 contrib/icinga2/check_galera.conf's, against
the sandbox over SNMPv3 authPriv, credentials as the definitions say (a file; the environment).
Every mode reaches OK on a healthy cluster; after kill -9 of node2's mariadbd its node check is
CRITICAL, and every other check that sees it changes, within two check intervals; performance
data is recorded.

Runnable by itself: pytest tests/integration/test_nms.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Protocol

import pytest
from nms_support import Icinga2, Nagios, icinga_value

from galera_snmp.dev.sandbox import Sandbox, program, snmp_settings

pytestmark = pytest.mark.integration

INTERVAL = 2  # seconds between two checks of a service
# the modes a node has, as service description -> check_command arguments ({state}: a state folder)
NODE_SERVICES = {
    "Galera node": "check_galera_node",
    "Galera cluster": "check_galera_cluster!3!",
    "Galera flow control": "check_galera_flow_control!10!25!--state-dir {state}",
    "Galera queues": "check_galera_queues!16!100!",
    "Galera conflicts": "check_galera_conflicts!1!10!--state-dir {state}",
}
# the same modes as Icinga 2 services: service name -> CheckCommand and its custom variables
ICINGA_SERVICES = {
    "Galera node": ("galera-node", {}),
    "Galera cluster": ("galera-cluster", {"galera_expected": 3}),
    "Galera flow control": ("galera-flow-control", {"galera_state_dir": "{state}"}),
    "Galera queues": ("galera-queues", {}),
    "Galera conflicts": ("galera-conflicts", {"galera_state_dir": "{state}"}),
}
CLUSTER_HOST = "galera-cluster"
PEERS = "Galera peers"
# after kill -9 of node2's mariadbd, the state each check reaches: node2 is CRITICAL (stopped, in
# no Primary component); the others serve on, degraded (WARNING: size 2 of 3, a node outside the
# Primary component); the rates node2 cannot measure without its mysqld are UNKNOWN, not made up
AFTER_KILL = {
    ("node2", "Galera node"): "CRITICAL",
    ("node2", "Galera cluster"): "CRITICAL",
    ("node2", "Galera flow control"): "UNKNOWN",
    ("node2", "Galera queues"): "UNKNOWN",
    ("node2", "Galera conflicts"): "UNKNOWN",
    ("node1", "Galera cluster"): "WARNING",
    ("node3", "Galera cluster"): "WARNING",
    (CLUSTER_HOST, PEERS): "WARNING",
}

def nagios_objects(cluster: Sandbox, state: Path) -> str:
    """A host per node with every mode, and one host standing for the cluster with the peers mode."""
    text = ""
    for node in cluster.nodes:
        text += f"define host {{\n    use galera-host\n    host_name {node.name}\n    address {node.address}\n}}\n"
        for description, command in NODE_SERVICES.items():
            text += (f"define service {{\n    use galera-service\n    host_name {node.name}\n"
                     f"    service_description {description}\n    check_command {command.format(state=state)}\n}}\n")
    peers = ",".join(node.address for node in cluster.nodes)
    text += (f"define host {{\n    use galera-host\n    host_name {CLUSTER_HOST}\n    address 127.0.0.1\n}}\n"
             f"define service {{\n    use galera-service\n    host_name {CLUSTER_HOST}\n"
             f"    service_description {PEERS}\n    check_command check_galera_peers!{peers}!3!\n}}\n")
    return text


class Server(Protocol):
    def wait_state(self, host: str, service: str, expected: str, timeout: float) -> None: ...


def all_ok(server: Server, services: list[tuple[str, str]], timeout: float) -> None:
    for host, service in services:
        server.wait_state(host, service, "OK", timeout)


def watch_the_kill(server: Server, cluster: Sandbox, name: str) -> None:
    """kill -9 of node2's mariadbd: every check reaches its AFTER_KILL state within two intervals."""
    killed = time.monotonic()
    cluster.node(2).kill()
    for (host, service), expected in AFTER_KILL.items():
        server.wait_state(host, service, expected, 2 * INTERVAL + 2 - (time.monotonic() - killed))
    print(f"{name}: node2 CRITICAL, the others' checks degraded {time.monotonic() - killed:.1f} s after the kill "
          f"(checks every {INTERVAL} s)", file=sys.stderr)


def test_nagios_4_schedules_every_mode_and_sees_a_crash(cluster: Sandbox, tmp_path: Path) -> None:
    state = tmp_path / "check-state"
    state.mkdir()
    nagios = Nagios(tmp_path, nagios_objects(cluster, state), Path(program("check_galera")).parent,
                    cluster.node(1).snmp_credentials, INTERVAL)
    services = [(node.name, description) for node in cluster.nodes for description in NODE_SERVICES]
    services.append((CLUSTER_HOST, PEERS))
    try:
        all_ok(nagios, services, 30)
        watch_the_kill(nagios, cluster, "Nagios 4")
        recorded = {}  # (host, service, state) -> the last performance data Nagios wrote for it
        for line in nagios.perfdata.read_text().splitlines():
            host, service, state_, data = line.split("\t")
            recorded[(host, service, state_)] = data
        for host, service in services:
            assert "=" in recorded.get((host, service, "OK"), ""), (host, service, recorded)
        assert "cluster_size=2;3:;2:;0" in recorded[("node1", "Galera cluster", "WARNING")].split(), recorded
    finally:
        nagios.stop()
        cluster.up()


def icinga_objects(cluster: Sandbox, state: Path) -> str:
    """The hosts and services of nagios_objects() in Icinga 2's DSL. The SNMPv3 settings are host
    variables, as an operator sets them; the pass phrases reach check_galera in its environment."""
    v3 = snmp_settings(cluster.root)
    snmp = {"galera_source": "snmp", "galera_protocol": "3", "galera_seclevel": "authPriv",
            "galera_secname": v3["secname"], "galera_authproto": v3["authproto"], "galera_authpasswd": v3["authpasswd"],
            "galera_privproto": v3["privproto"], "galera_privpasswd": v3["privpasswd"]}

    def host(name: str, address: str) -> str:
        variables = "".join(f"  vars.{key} = {icinga_value(value)}\n" for key, value in snmp.items())
        return f'object Host "{name}" {{\n  check_command = "dummy"\n  address = "{address}"\n{variables}}}\n'

    def service(host_name: str, name: str, command: str, variables: dict[str, object]) -> str:
        lines = [f'host_name = "{host_name}"', f'check_command = "{command}"', "max_check_attempts = 1",
                 f"check_interval = {INTERVAL}s", f"retry_interval = {INTERVAL}s"]
        lines += [f"vars.{key} = {icinga_value(str(value).format(state=state) if isinstance(value, str) else value)}"
                  for key, value in variables.items()]
        return f'object Service "{name}" {{\n  ' + "\n  ".join(lines) + "\n}\n"

    text = ""
    for node in cluster.nodes:
        text += host(node.name, node.address)
        for name, (command, variables) in ICINGA_SERVICES.items():
            text += service(node.name, name, command, variables)
    text += host(CLUSTER_HOST, "127.0.0.1")
    peers = [node.address for node in cluster.nodes]
    text += service(CLUSTER_HOST, PEERS, "galera-peers", {"galera_peers": peers, "galera_expected": 3})
    return text


def test_icinga_2_schedules_every_mode_and_sees_a_crash(cluster: Sandbox, tmp_path: Path) -> None:
    state = tmp_path / "check-state"
    state.mkdir()
    icinga = Icinga2(tmp_path, icinga_objects(cluster, state), Path(program("check_galera")).parent)
    services = [(node.name, name) for node in cluster.nodes for name in ICINGA_SERVICES]
    services.append((CLUSTER_HOST, PEERS))
    try:
        all_ok(icinga, services, 60)
        healthy = icinga.services()
        for key in services:  # every OK result carries its performance data
            assert healthy[key]["state"] == 0 and healthy[key]["last_check_result"]["performance_data"], healthy[key]
        watch_the_kill(icinga, cluster, "Icinga 2")
        recorded = icinga.services()
        size = recorded[("node1", "Galera cluster")]["last_check_result"]["performance_data"]
        assert "cluster_size=2;3:;2:;0" in size, size
        v3 = snmp_settings(cluster.root)
        for key in services:  # the command line Icinga ran holds no pass phrase (they went in its environment)
            argv = " ".join(recorded[key]["last_check_result"]["command"])
            assert "--mode" in argv and v3["authpasswd"] not in argv and v3["privpasswd"] not in argv, argv
    finally:
        icinga.stop()
        cluster.up()
