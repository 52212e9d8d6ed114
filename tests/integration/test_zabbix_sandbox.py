"""A real Zabbix 6.0 polls the sandbox over SNMPv3 with contrib/zabbix's template (imported through
the API, the three nodes added as hosts, intervals shortened by host macros): it discovers every
node's three members within two discovery cycles, no item is "not supported", and after kill -9
of node2's mariadbd its not-Primary trigger fires within two polls and the others' "size below"
fires; both resolve once node2 is back. Notifications reach Zabbix as SNMPv3 traps through the
shipped snmptrapd configuration and galera-snmp zabbix-trap: node2's galeraStatusChange is node2's
trap item's value within seconds.

Runnable by itself: pytest tests/integration/test_zabbix_sandbox.py
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import example_snmptrapd_conf, trap_receiver
from zabbix_support import Zabbix, zabbix

from galera_snmp.dev.sandbox import SNMP_USER, TRAP_SINK, Sandbox, program, snmp_settings, wait_for
from galera_snmp.snmp import mib
from galera_snmp.snmp.client import Client

pytestmark = pytest.mark.integration

POLL = 5  # seconds: {$GALERA.INTERVAL} on every host
DISCOVERY = 10  # seconds: {$GALERA.LLD.INTERVAL}
SLACK = 4  # Zabbix's configuration cache (CacheUpdateFrequency=1), the agent's refresh, the API's round trips
AUTH_PROTOCOLS = {"MD5": 0, "SHA": 1, "SHA-224": 2, "SHA-256": 3, "SHA-384": 4, "SHA-512": 5}  # Zabbix's numbers
PRIV_PROTOCOLS = {"DES": 0, "AES": 1, "AES-128": 1, "AES-192": 2, "AES-256": 3}
NOT_PRIMARY = "Galera: {HOST.NAME} is not in a Primary component"
SIZE_BELOW = "Galera: cluster of {HOST.NAME} below {$GALERA.CLUSTER.SIZE} nodes"


@dataclass
class Monitored:
    """The Zabbix server and the sandbox's nodes as its hosts (node name -> host id)."""

    server: Zabbix
    hosts: dict[str, str]
    created: float  # time.monotonic() when the hosts were added

    def items(self, name: str, discovered: bool | None = None) -> list[dict]:
        params: dict[str, object] = {"hostids": self.hosts[name], "output": ["key_", "snmp_oid", "state", "error",
                                                                             "lastclock", "lastvalue", "flags"]}
        if discovered is not None:
            params["filter"] = {"flags": 4 if discovered else 0}
        return self.server.call("item.get", params)  # type: ignore[return-value]

    def problem(self, name: str, description: str) -> bool:
        """Whether the host's trigger of that (unexpanded) name is in the problem state."""
        (trigger,) = self.server.call("trigger.get", {"hostids": self.hosts[name], "filter": {
            "description": description}, "output": ["value", "state", "error"]})
        assert trigger["state"] == "0", f"{name}: trigger {description!r} is unknown: {trigger['error']}"
        return trigger["value"] == "1"


@pytest.fixture(scope="module")
def monitored(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitored]:
    sandbox.up()
    with zabbix(tmp_path_factory.mktemp("zabbix")) as server, snmptrapd_for(sandbox, server) as trap_log:
        print(f"Zabbix harness started in {server.timings['total']:.1f} s")
        v3 = snmp_settings(sandbox.root)
        group = server.call("hostgroup.create", {"name": "Galera sandbox"})["groupids"][0]  # type: ignore[index]
        interface_details = {
            "version": 3, "bulk": 1, "contextname": "", "securitylevel": 2,
            "securityname": "{$SNMP.SECNAME}", "authprotocol": AUTH_PROTOCOLS[str(v3["authproto"]).upper()],
            "authpassphrase": "{$SNMP.AUTHPASS}", "privprotocol": PRIV_PROTOCOLS[str(v3["privproto"]).upper()],
            "privpassphrase": "{$SNMP.PRIVPASS}",
        }
        macros = {"{$GALERA.INTERVAL}": f"{POLL}s", "{$GALERA.LLD.INTERVAL}": f"{DISCOVERY}s",
                  "{$GALERA.CLUSTER.SIZE}": str(len(sandbox.nodes)),
                  **dict.fromkeys(("{$GALERA.CLUSTER.SIZE.GRACE}", "{$GALERA.SYNCED.GRACE}", "{$GALERA.DATA.GRACE}"),
                                  f"{POLL}s")}
        secrets = {"{$SNMP.SECNAME}": (v3["secname"], 0), "{$SNMP.AUTHPASS}": (v3["authpasswd"], 1),
                   "{$SNMP.PRIVPASS}": (v3["privpasswd"], 1)}  # 1: secret text, never shown by the API
        hosts = {}
        for node in sandbox.nodes:
            answer = server.call("host.create", {
                "host": node.name, "groups": [{"groupid": group}],
                "interfaces": [{"type": 2, "main": 1, "useip": 1, "ip": node.address, "dns": "", "port": "161",
                                "details": interface_details}],
                "macros": [{"macro": k, "value": v} for k, v in macros.items()]
                + [{"macro": k, "value": v, "type": t} for k, (v, t) in secrets.items()],
            })
            hosts[node.name] = answer["hostids"][0]  # type: ignore[index]
        # The hosts and their macros first, the template (imported meanwhile, seconds) linked after: linked in
        # the same call, the server's configuration sync once saw items before the macros that set their
        # interval, and held those items "Invalid update interval" for good.
        template = server.import_template()
        created = time.monotonic()
        server.call("host.massadd", {"hosts": [{"hostid": h} for h in hosts.values()],
                                     "templates": [{"templateid": template}]})
        try:
            yield Monitored(server, hosts, created)
        except BaseException:
            print(server.log_tail(60))
            print(trap_log.read_text()[-3000:])
            raise


def snmptrapd_for(box: Sandbox, server: Zabbix) -> AbstractContextManager[Path]:
    """snmptrapd as shipped (the nodes' users put in), handing every trap to galera-snmp zabbix-trap,
    which appends it to the server's trapper file."""
    users = "".join(line for line in box.snmptrapd_lines().splitlines(keepends=True) if line.startswith("createUser "))
    handler = f"traphandle default {program('galera-snmp')} zabbix-trap {server.trapper_file}\n"
    folder = server.folder / "snmptrapd"
    folder.mkdir()
    return trap_receiver(example_snmptrapd_conf(users, SNMP_USER) + handler, folder, TRAP_SINK)


def served(box: Sandbox, name: str) -> set[str]:
    """The scalar instances the node's agent serves now (a walk of galeraObjects), as dotted OIDs."""
    node = next(n for n in box.nodes if n.name == name)
    with Client(node.snmp_target(timeout=2.0, retries=1)) as client:
        return {".".join(map(str, oid)) for oid, _ in client.walk(mib.OBJECTS) if oid[-1] == 0}


def trap_value(monitored: Monitored, name: str, notification: str) -> str:
    """The last value of the host's trap item of that notification ("" before any)."""
    key = f'snmptrap["notification {notification}"]'
    items = monitored.server.call("item.get", {"hostids": monitored.hosts[name], "filter": {"key_": key},
                                               "output": ["lastvalue"]})
    (item,) = items  # type: ignore[misc]
    return str(item["lastvalue"])


def test_members_discovered_and_every_item_supported(cluster: Sandbox, monitored: Monitored) -> None:
    columns = len(mib.MEMBER_COLUMNS)
    names = {node.name for node in cluster.nodes}

    def discovered() -> bool:
        return all(len(monitored.items(name, discovered=True)) == columns * len(names) for name in names)

    wait_for(discovered, 2 * DISCOVERY + SLACK, f"{len(names)} members discovered on every host within 2 cycles",
             interval=0.5)
    took = time.monotonic() - monitored.created
    print(f"members discovered on every host {took:.1f} s after the hosts were added")

    def every_value_in() -> bool:
        for name in names:
            items = monitored.items(name)
            with_value = {i["snmp_oid"] for i in items if i["lastclock"] != "0"}
            if not served(cluster, name) <= with_value:
                return False
            if any(i["lastclock"] == "0" for i in items if i["flags"] == "4"):
                return False
        return True

    wait_for(every_value_in, 4 * POLL + SLACK, "every served object and member column to have a value in Zabbix",
             interval=0.5)
    for name in names:
        items = monitored.items(name)
        unsupported = [(i["key_"], i["error"]) for i in items if i["state"] != "0"]
        assert unsupported == [], f"{name}: not supported: {unsupported}"
        members = {i["lastvalue"] for i in items if i["key_"].startswith("galera.member.name[")}
        assert members == names, f"{name} sees members {members}"
        by_key = {i["key_"]: i["lastvalue"] for i in items}
        assert by_key["galera.status"] == str(mib.STATUS[mib.Status.RUNNING])
        assert by_key["galera.clusterSize"] == str(len(names))
        assert not monitored.problem(name, NOT_PRIMARY) and not monitored.problem(name, SIZE_BELOW)


def test_a_killed_node_is_not_primary_and_the_others_below_size_until_it_rejoins(
        cluster: Sandbox, monitored: Monitored) -> None:
    others = [node.name for node in cluster.nodes if node.index != 2]
    wait_for(lambda: all(monitored.items(n, discovered=False) and not monitored.problem(n, SIZE_BELOW)
                         and not monitored.problem(n, NOT_PRIMARY) for n in monitored.hosts),
             4 * POLL + SLACK, "no Galera problem in Zabbix before the kill", interval=0.5)
    cluster.node(2).kill()
    killed = time.monotonic()
    try:
        wait_for(lambda: "stopped" in trap_value(monitored, "node2", "galeraStatusChange"), 2 + SLACK,
                 "node2's galeraStatusChange trap in Zabbix", interval=0.25)
        print(f"node2's galeraStatusChange trap in Zabbix {time.monotonic() - killed:.1f} s after kill -9")
        wait_for(lambda: monitored.problem("node2", NOT_PRIMARY), 2 * POLL + SLACK,
                 "node2's not-Primary trigger within 2 polls", interval=0.25)
        print(f"node2 not Primary in Zabbix {time.monotonic() - killed:.1f} s after kill -9")
        wait_for(lambda: all(monitored.problem(n, SIZE_BELOW) for n in others), 4 * POLL + SLACK,
                 "the others' size-below trigger", interval=0.25)
        print(f"size below on {', '.join(others)} {time.monotonic() - killed:.1f} s after kill -9")
        assert not any(monitored.problem(n, NOT_PRIMARY) for n in others)
    finally:
        cluster.up()
    back = time.monotonic()
    wait_for(lambda: not monitored.problem("node2", NOT_PRIMARY)
             and not any(monitored.problem(n, SIZE_BELOW) for n in others),
             4 * POLL + SLACK, "both triggers to resolve after node2 rejoined", interval=0.5)
    print(f"resolved {time.monotonic() - back:.1f} s after the cluster was whole again")
    unsupported = [(n, i["key_"], i["error"]) for n in monitored.hosts for i in monitored.items(n) if i["state"] != "0"]
    assert unsupported == []
