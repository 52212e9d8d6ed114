"""A "Galera by SNMP" template for Zabbix 6.0 LTS, generated from GALERA-MIB so that it cannot
drift from what the agent serves: items from mib.py's object table (OIDs, wire types), their
names, descriptions, units and value maps from GALERA-MIB.txt, triggers after the health rule
and the Prometheus alert rules (docs/METRICS.md).

``galera-snmp zabbix-template`` prints it; contrib/zabbix/galera_by_snmp.yaml is that output,
and a test fails when the two differ. Deterministic: UUIDs derive from names (uuid5), no date.

Notifications reach Zabbix as it takes SNMP traps: snmptrapd runs ``galera-snmp zabbix-trap`` for
each trap, which appends it to Zabbix's SNMP trapper file as a record (:func:`trap_record`) whose
line ``notification <name>`` the template's trap items match.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from .mib import (
    AGENT,
    COUNTERS,
    DERIVED,
    GAUGES,
    MEMBER_COLUMNS,
    MEMBER_ENTRY,
    MIB_FILE,
    NODE,
    RATIOS,
    REJOIN,
    SCALARS,
    TRANSFER,
    MibObject,
)
from .mibfile import Definition, definitions, standalone
from .notifications import BY_NOTIFICATION, TABLE
from .types import OID, Syntax

TEMPLATE = "Galera by SNMP"
GROUP = "Templates/Databases"
VERSION = "6.0"
# Any fixed UUID: the namespace of every UUID in the template (uuid5 of a kind and a name).
NAMESPACE = uuid.UUID("5d3b8c36-4f1e-5a8e-9c55-6a1f0e0b2a7d")
MODULE = "GALERA-MIB"
IMPORTED = {"TruthValue": "SNMPv2-TC"}  # enumerations GALERA-MIB takes from elsewhere
KEY_PREFIX = "galera."
DISCOVERY_KEY = "galera.member.discovery"
# An object the node does not know is not instantiated (noSuchInstance), which Zabbix would turn
# into a "not supported" item: for GALERA-MIB that is no error but an unknown value, so no value.
# The enumerations are always served (they have an explicit unknown) and keep Zabbix's default.
UNKNOWN_IS_NO_VALUE = {"type": "CHECK_NOT_SUPPORTED", "parameters": [""], "error_handler": "DISCARD_VALUE"}

BRANCHES: tuple[tuple[OID, str], ...] = (
    (NODE, "node"),
    (AGENT, "agent"),
    (COUNTERS, "wsrep-counter"),
    (GAUGES, "wsrep-gauge"),
    (RATIOS, "wsrep-ratio"),
    (DERIVED, "derived"),
    (REJOIN, "rejoin"),
    (TRANSFER, "transfer"),
)
# MIB UNITS -> Zabbix units (and a factor into them); Zabbix scales B and s with prefixes itself.
UNITS = {"bytes": ("B", 1.0), "seconds": ("s", 1.0), "nanoseconds": ("s", 1e-9)}

# (macro, default, description): the template's parameters, set per host or per cluster.
MACROS: tuple[tuple[str, str, str], ...] = (
    ("{$GALERA.INTERVAL}", "1m", "How often the node's objects are polled."),
    ("{$GALERA.LLD.INTERVAL}", "1h", "How often the member table is discovered."),
    ("{$GALERA.NODATA.TIMEOUT}", "5m", "No answer for this long: the agent is silent."),
    ("{$GALERA.DATA.GRACE}", "1m", "galeraDataValid false for this long: the data is not current."),
    ("{$GALERA.SYNCED.GRACE}", "1m",
     "Not Synced for this long (a donor serving a state transfer excepted): a problem. At least the poll interval."),
    ("{$GALERA.DONOR.MAX}", "1h", "A state transfer donor for this long: the transfer may be stuck."),
    ("{$GALERA.CLUSTER.SIZE}", "3", "The number of nodes the cluster should have."),
    ("{$GALERA.CLUSTER.SIZE.GRACE}", "2m",
     "Fewer nodes than expected for this long: a problem (restarts are shorter). At least the poll interval."),
    ("{$GALERA.FLOW_CONTROL.WINDOW}", "5m", "The window over which the flow control share is averaged."),
    ("{$GALERA.FLOW_CONTROL.MAX}", "10", "Percent of the time replication may be paused by flow control."),
    ("{$GALERA.RECV_QUEUE.MAX}", "50", "Write-sets waiting to be applied, on average over 5 minutes."),
    ("{$SNMP.SECNAME}", "",
     "SNMPv3 user of the node's snmpd. Zabbix 6.0 reads SNMPv3 credentials from the host's SNMP interface only: "
     "set this macro on the host and write {$SNMP.SECNAME} in the interface's security name."),
    ("{$SNMP.AUTHPASS}", "",
     "SNMPv3 authentication passphrase: set it on the host as a secret macro and reference it from the SNMP "
     "interface's authentication passphrase."),
    ("{$SNMP.PRIVPASS}", "",
     "SNMPv3 privacy passphrase: set it on the host as a secret macro and reference it from the SNMP interface's "
     "privacy passphrase."),
)
SECRET_MACROS = frozenset({"{$SNMP.AUTHPASS}", "{$SNMP.PRIVPASS}"})

DESCRIPTION = """\
The state of one MariaDB Galera node as galera-snmp-agent serves it over SNMP (GALERA-MIB, \
an AgentX subagent of net-snmp's snmpd): status, position, the wsrep counters and gauges, the \
health rule's verdict, and the cluster members the node sees (discovered, one item set per member).

Link it to one host per node, with an SNMPv3 interface on the node's snmpd. Zabbix 6.0 takes \
SNMPv3 credentials from the host interface, not from the template: set {$SNMP.SECNAME}, \
{$SNMP.AUTHPASS} and {$SNMP.PRIVPASS} as host macros (the passphrases as secret text) and \
write the macros into the interface (security level authPriv; the protocols snmpd's user has).

Set {$GALERA.CLUSTER.SIZE} to the number of nodes. The notifications are trap items (type SNMP \
trap): snmptrapd hands each trap to `galera-snmp zabbix-trap`, which writes Zabbix's SNMP trapper file \
(docs/NMS.md). Generated by `galera-snmp zabbix-template` from GALERA-MIB: do not edit, regenerate."""


@dataclass(frozen=True)
class Trigger:
    """A trigger of the template: ``expression`` and ``recovery`` use {key} for an item's function
    argument (/template/key), filled in by :func:`template`."""

    name: str
    priority: str
    expression: str
    description: str
    recovery: str | None = None  # None: recovered when the expression is false
    depends_on: tuple[str, ...] = ()
    opdata: str = ""


TRIGGERS: tuple[Trigger, ...] = (
    Trigger(
        "Galera: agent on {HOST.NAME} silent for {$GALERA.NODATA.TIMEOUT}", "HIGH",
        "nodata({galera.status},{$GALERA.NODATA.TIMEOUT})=1",
        "Nothing is known about this node: snmpd, galera-snmp-agent, the machine or the network to it is down, or "
        "the SNMPv3 credentials of the host interface are wrong. Check 'systemctl status snmpd "
        "galera-snmp-agent' on the node and the host's interface availability in Zabbix.",
    ),
    Trigger(
        "Galera: data on {HOST.NAME} not current for {$GALERA.DATA.GRACE}", "HIGH",
        "last({galera.dataValid})=2 and count({galera.dataValid},{$GALERA.DATA.GRACE},\"ne\",2)=0",
        "mysqld does not answer the agent (hung, refusing connections, or access denied): the values are stale "
        "and the node is out of client traffic. galeraLastError says why; 'galera-snmp doctor' on the node checks "
        "the credentials and grants.",
        recovery="last({galera.dataValid})=1",
        depends_on=("Galera: agent on {HOST.NAME} silent for {$GALERA.NODATA.TIMEOUT}",),
        opdata="{ITEM.LASTVALUE1}",
    ),
    Trigger(
        "Galera: {HOST.NAME} is not in a Primary component", "HIGH",
        "last({galera.clusterStatus})<>1",
        "The node cannot take writes: it is non-Primary (lost quorum), disconnected, or its mysqld is not running. "
        "See galeraStatus and galeraStatusReason, and 'galera-snmp status' for the whole cluster; "
        "docs/QUORUM.md says when make-primary is safe.",
        opdata="{ITEM.LASTVALUE1}",
    ),
    Trigger(
        "Galera: {HOST.NAME} not Synced for {$GALERA.SYNCED.GRACE}", "WARNING",
        "last({galera.localState})<>4 and count({galera.localState},{$GALERA.SYNCED.GRACE},\"eq\",4)=0"
        " and not (last({galera.localState})=2 and last({galera.desync})=2)",
        "The node is joining, joined, desynced on purpose or in an unknown state: it does not serve client traffic. "
        "A donor serving a state transfer is expected (see the donor trigger). Its log says how far a join got.",
        recovery="last({galera.localState})=4 or (last({galera.localState})=2 and last({galera.desync})=2)",
        depends_on=("Galera: {HOST.NAME} is not in a Primary component",),
        opdata="{ITEM.LASTVALUE1}",
    ),
    Trigger(
        "Galera: {HOST.NAME} a state transfer donor for {$GALERA.DONOR.MAX}", "WARNING",
        "last({galera.localState})=2 and last({galera.desync})=2"
        " and count({galera.localState},{$GALERA.DONOR.MAX},\"ne\",2)=0",
        "A state transfer that long may be stuck: the joiner's log says how far it got.",
        recovery="last({galera.localState})<>2",
    ),
    Trigger(
        "Galera: {HOST.NAME} will need SST to rejoin within an hour", "WARNING",
        "max({galera.rejoinTimeLeft},1m)<3600 and last({galera.rejoinMethod})=1"
        " and last({galera.status})<>5 and last({galera.status})<>4",
        "The node is out of the cluster and the donors' gcaches are forgetting the write-sets it misses: bring it "
        "back before then to rejoin by IST, or plan for the full copy (a donor's load, the time it takes). "
        "galeraRejoinReason and 'galera-snmp status' say more (docs/TRANSFERS.md).",
        recovery="last({galera.rejoinMethod})<>1 or last({galera.rejoinTimeLeft})>=3600"
        " or last({galera.status})=5 or last({galera.status})=4",
        opdata="{ITEM.LASTVALUE1}",
    ),
    Trigger(
        "Galera: {HOST.NAME} needs SST to rejoin", "INFO",
        "min({galera.rejoinMethod},1m)=2 and last({galera.status})<>5 and last({galera.status})<>4",
        "No Synced node's gcache still holds the write-sets this node misses (galeraRejoinReason says why): its "
        "rejoin copies a donor's whole datadir.",
    ),
    Trigger(
        "Galera: state transfer on {HOST.NAME} stalled", "WARNING",
        "last({galera.transferState})=3",
        "The state transfer this node sends or receives moved nothing for the agent's transfer_stalled_after "
        "(galeraTransferStill says how long): a copier stopped or hung, the disk is full, or the other side is "
        "gone. 'galera-snmp status' shows both sides; docs/TRANSFERS.md says what to look at.",
        opdata="{ITEM.LASTVALUE1}",
    ),
    Trigger(
        "Galera: state transfer on {HOST.NAME} failed", "AVERAGE",
        "last({galera.transferState})=5",
        "mysqld went away or left the Primary component during a state transfer: the joiner's error log says why; "
        "it starts over (another SST) at its next start.",
        recovery="last({galera.transferState})<>5",
    ),
    Trigger(
        "Galera: cluster of {HOST.NAME} below {$GALERA.CLUSTER.SIZE} nodes", "WARNING",
        "last({galera.clusterStatus})=1 and last({galera.clusterSize})<{$GALERA.CLUSTER.SIZE}"
        " and count({galera.clusterSize},{$GALERA.CLUSTER.SIZE.GRACE},\"ge\",{$GALERA.CLUSTER.SIZE})=0",
        "The Primary component this node is in has fewer nodes than expected: a node is down, cut off or still "
        "joining. 'galera-snmp status' shows which; the others take the writes meanwhile.",
        recovery="last({galera.clusterSize})>={$GALERA.CLUSTER.SIZE} or last({galera.clusterStatus})<>1",
        opdata="{ITEM.LASTVALUE2}",
    ),
    Trigger(
        "Galera: {HOST.NAME} is in a reset or unrecorded history", "HIGH",
        "last({galera.historyReset})=1",
        "The node's Primary component re-formed with a reset history, or in another history than the node was last "
        "in (two histories): the nodes were not reconciled and may hold different data. Compare them, rebuild the "
        "others from one, then run 'galera-snmp accept-history' (docs/INIT.md, 'A history reset').",
    ),
    Trigger(
        "Galera: {HOST.NAME} not healthy for client traffic", "WARNING",
        "last({galera.healthy})<>1",
        "The health rule (the one the HTTP check and keepalived act on) takes this node out of client traffic; "
        "galeraHealthReason says why. Drained nodes are reported too: 'galera-snmp undrain' brings them back.",
        depends_on=("Galera: {HOST.NAME} is not in a Primary component",),
    ),
    Trigger(
        "Galera: replication on {HOST.NAME} paused by flow control over {$GALERA.FLOW_CONTROL.MAX}%", "WARNING",
        "avg({galera.flowControlPausedNs},{$GALERA.FLOW_CONTROL.WINDOW})>{$GALERA.FLOW_CONTROL.MAX}",
        "A slow node holds the cluster back: look for the node with a long receive queue that sends flow control "
        "(galeraWsrepFlowControlSent).",
        recovery="avg({galera.flowControlPausedNs},{$GALERA.FLOW_CONTROL.WINDOW})<{$GALERA.FLOW_CONTROL.MAX}/2",
        opdata="{ITEM.LASTVALUE1}",
    ),
    Trigger(
        "Galera: {HOST.NAME} has a receive queue over {$GALERA.RECV_QUEUE.MAX}", "WARNING",
        "avg({galera.localRecvQueue},5m)>{$GALERA.RECV_QUEUE.MAX}",
        "The node applies more slowly than the cluster writes; it will soon send flow control. Look at its disk "
        "and its applier threads (wsrep_slave_threads).",
        recovery="avg({galera.localRecvQueue},5m)<{$GALERA.RECV_QUEUE.MAX}/2",
    ),
)


def mib_definitions() -> dict[str, Definition]:
    """GALERA-MIB.txt's definitions, with the conventions it imports defined locally."""
    return definitions(standalone(MIB_FILE.read_text(encoding="utf-8")))


def item_key(name: str) -> str:
    """An object's item key: galeraClusterSize -> galera.clusterSize (the MIB name, readable)."""
    return KEY_PREFIX + name.removeprefix("galera")[:1].lower() + name.removeprefix("galera")[1:]


def words(name: str) -> str:
    """An item name from an object name: galeraClusterStateUUID -> Cluster state UUID."""
    parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", name.removeprefix("galera"))
    said = [p if p.isupper() and len(p) > 1 else p.lower() for p in parts]
    return " ".join(said)[:1].upper() + " ".join(said)[1:]


def uid(kind: str, name: str) -> str:
    """A stable UUID for a template element, in the 32 hex digits Zabbix writes. Zabbix accepts
    only version 4 UUIDs: the name-based digest gets version 4's bits (still derived, still unique)."""
    return uuid.UUID(bytes=uuid.uuid5(NAMESPACE, f"{kind}/{name}").bytes, version=4).hex


def _oid(oid: Sequence[int]) -> str:
    return ".".join(map(str, oid))


def _branch(oid: OID) -> str:
    return next(tag for prefix, tag in BRANCHES if oid[: len(prefix)] == prefix)


def is_counter(obj: MibObject) -> bool:
    """A Counter64 whose value means something only as a rate (GaleraGauge64 are levels)."""
    return obj.mib_type == "Counter64"


def enumeration_of(obj_name: str, found: Mapping[str, Definition]) -> tuple[str, tuple[tuple[int, str], ...]] | None:
    """(value map name, named numbers) of an enumerated object (its own INTEGER or its convention's)."""
    own = found[obj_name]
    if own.enumeration:
        return f"{MODULE}::{obj_name}", own.enumeration
    convention = found.get(own.syntax.split()[0])
    if convention is not None and convention.enumeration:
        return f"{IMPORTED.get(convention.name, MODULE)}::{convention.name}", convention.enumeration
    return None


def _scale(hint: str | None) -> float:
    """The factor a DISPLAY-HINT "d-N" implies (the value is in 10^-N units)."""
    found = re.fullmatch(r"d-(\d+)", hint or "")
    return 10.0 ** -int(found[1]) if found else 1.0


def _number(value: float) -> str:
    """A factor as Zabbix's multiplier step takes it: decimal, no exponent."""
    return f"{value:.12f}".rstrip("0").rstrip(".")


def _item(obj: MibObject, found: Mapping[str, Definition]) -> dict[str, object]:
    own = found[obj.name]
    convention = found.get(own.syntax.split()[0])
    item: dict[str, object] = {
        "uuid": uid("item", obj.name),
        "name": f"Galera: {words(obj.name)}{' per second' if is_counter(obj) else ''}",
        "type": "SNMP_AGENT",
        "snmp_oid": _oid((*obj.oid, 0)),
        "key": item_key(obj.name),
        "delay": "{$GALERA.INTERVAL}",
    }
    steps: list[dict[str, object]] = []
    unit, factor = UNITS.get(own.units or "", (own.units or "", 1.0))
    factor *= _scale(convention.display_hint if convention else own.display_hint)
    if obj.syntax is Syntax.OCTET_STRING:
        item.update(history="7d", trends="0", value_type="CHAR")
    elif is_counter(obj):
        steps.append({"type": "CHANGE_PER_SECOND", "parameters": [""]})
        if unit == "s":  # seconds spent per second: a share of the time
            unit, factor = "%", factor * 100
            item["name"] = f"Galera: {words(obj.name)}, share of the time"
        else:
            unit = {"B": "Bps"}.get(unit, f"{unit}/s" if unit else "")
        item["value_type"] = "FLOAT"
    elif factor != 1.0 or own.syntax.startswith("Integer32"):
        item["value_type"] = "FLOAT"
    if factor != 1.0:
        steps.append({"type": "MULTIPLIER", "parameters": [_number(factor)]})
    if unit:
        item["units"] = unit
    item["description"] = f"{MODULE}::{obj.name}\n\n{own.description}"
    enumeration = enumeration_of(obj.name, found)
    if enumeration is not None:
        item["valuemap"] = {"name": enumeration[0]}
    else:
        steps.insert(0, dict(UNKNOWN_IS_NO_VALUE))
    if steps:
        item["preprocessing"] = steps
    item["tags"] = [{"tag": "component", "value": "galera"}, {"tag": "mib-branch", "value": _branch(obj.oid)}]
    return item


def member_macro(name: str) -> str:
    """The LLD macro of a member column: galeraMemberClusterUUID -> {#MEMBER.CLUSTER.UUID}."""
    return "{#" + words(name).upper().replace(" ", ".") + "}"


def member_key(name: str) -> str:
    """The item prototype key of a member column: galeraMemberClusterUUID -> galera.member.cluster_uuid[...]."""
    return "galera.member." + words(name).lower().removeprefix("member ").replace(" ", "_") + "[{#SNMPINDEX}]"


def _discovery(found: Mapping[str, Definition]) -> dict[str, object]:
    """The member table: one item set per row ({#SNMPINDEX}: rows are ordered by member UUID)."""
    macros = ",".join(f"{member_macro(name)},{_oid((*MEMBER_ENTRY, column))}" for name, column, _, _ in MEMBER_COLUMNS)
    prototypes = []
    for name, column, _, _ in MEMBER_COLUMNS:
        key = member_key(name)
        prototypes.append({
            "uuid": uid("item_prototype", key),
            "name": f"Galera: {words(name)} of member {{#SNMPINDEX}} ({{#MEMBER.NAME}})",
            "type": "SNMP_AGENT",
            "snmp_oid": f"{_oid((*MEMBER_ENTRY, column))}.{{#SNMPINDEX}}",
            "key": key,
            "delay": "{$GALERA.INTERVAL}",
            "history": "7d",
            "trends": "0",
            "value_type": "CHAR",
            "description": f"{MODULE}::{name}\n\n{found[name].description}",
            "preprocessing": [dict(UNKNOWN_IS_NO_VALUE)],
            "tags": [{"tag": "component", "value": "galera"}, {"tag": "mib-branch", "value": "member"}],
        })
    return {
        "uuid": uid("discovery_rule", DISCOVERY_KEY),
        "name": "Galera: members",
        "type": "SNMP_AGENT",
        "snmp_oid": f"discovery[{macros}]",
        "key": DISCOVERY_KEY,
        "delay": "{$GALERA.LLD.INTERVAL}",
        "lifetime": "1d",
        "description": f"{MODULE}::galeraMemberTable\n\n{found['galeraMemberTable'].description}\n\n"
                       f"{MODULE}::galeraMemberIndex\n\n{found['galeraMemberIndex'].description}",
        "item_prototypes": prototypes,
    }


def _valuemaps(found: Mapping[str, Definition]) -> list[dict[str, object]]:
    maps: dict[str, tuple[tuple[int, str], ...]] = {}
    for obj in SCALARS:
        enumeration = enumeration_of(obj.name, found)
        if enumeration is not None:
            maps[enumeration[0]] = enumeration[1]
    return [
        {"uuid": uid("valuemap", name), "name": name,
         "mappings": [{"value": str(number), "newvalue": label} for number, label in numbers]}
        for name, numbers in sorted(maps.items())
    ]


def _expression(text: str, keys: set[str]) -> str:
    """{key} -> /TEMPLATE/key for every item key in ``text`` (others, such as macros, stay)."""

    def fill(match: re.Match[str]) -> str:
        if match[1] in keys:
            return f"/{TEMPLATE}/{match[1]}"
        if match[1].startswith(KEY_PREFIX):
            raise ValueError(f"a trigger uses {match[1]}, which is no item of the template")
        return match[0]

    return re.sub(r"\{([\w.]+)\}", fill, text)


def _dependency(trigger: Trigger, keys: set[str]) -> dict[str, object]:
    """How an import names another trigger: its name and its expressions."""
    entry: dict[str, object] = {"name": trigger.name, "expression": _expression(trigger.expression, keys)}
    if trigger.recovery is not None:
        entry["recovery_expression"] = _expression(trigger.recovery, keys)
    return entry


def _triggers(keys: set[str]) -> list[dict[str, object]]:
    by_name = {trigger.name: trigger for trigger in TRIGGERS}
    out = []
    for trigger in TRIGGERS:
        entry: dict[str, object] = {"uuid": uid("trigger", trigger.name),
                                    "expression": _expression(trigger.expression, keys)}
        if trigger.recovery is not None:
            entry["recovery_mode"] = "RECOVERY_EXPRESSION"
            entry["recovery_expression"] = _expression(trigger.recovery, keys)
        entry["name"] = trigger.name
        if trigger.opdata:
            entry["opdata"] = trigger.opdata
        entry["priority"] = trigger.priority
        entry["description"] = trigger.description
        if trigger.depends_on:
            entry["dependencies"] = [_dependency(by_name[name], keys) for name in trigger.depends_on]
        entry["tags"] = [{"tag": "scope", "value": "availability" if trigger.priority == "HIGH" else "performance"}]
        out.append(entry)
    return out


# --- notifications, as Zabbix takes SNMP traps ------------------------------------------------

TRAP_LINE = "notification {name}"  # the line of a trap record naming our notification
MAX_TRAP = 65536  # bytes of one trap from snmptrapd: a trap is at most one UDP datagram
_TRANSPORT = re.compile(r"\[([^\]]+)\]:\d+->")  # "UDP: [192.0.2.11]:45678->[192.0.2.10]:162"
_TRAP_OID = re.compile(r"(?:snmpTrapOID|(?:^|\.)6\.3\.1\.1\.4\.1)\.0$")


def notification_of(value: str) -> str | None:
    """Our notification a snmpTrapOID.0 value names, by name (GALERA-MIB::galeraStatusChange) or
    number (.1.3.6.1.4.1.32473.0.1, iso.3..., enterprises.32473...), as snmptrapd writes it with or
    without the MIB; None for any other trap."""
    name = value.rpartition("::")[2]
    if name in BY_NOTIFICATION:
        return name
    for prefix, number in (("iso", "1"), ("enterprises", "1.3.6.1.4.1")):
        if name.startswith(prefix):
            name = number + name.removeprefix(prefix)
    numbers = {".".join(map(str, notification.oid)): notification.name for notification in TABLE}
    return numbers.get(name.lstrip("."))


def trap_record(handler_input: str, now: float | None = None) -> str | None:
    """snmptrapd's input to a trap handler (the sender's name, its transport address, then one
    "OID value" line per variable) as a record of Zabbix's SNMP trapper file: a line with the time,
    ``ZBXTRAP`` and the sender's address (which Zabbix matches with a host's SNMP interface), our
    notification's name when the trap is one of ours, then the variables. None when the input
    names no sender address (nothing to match a host by)."""
    lines = handler_input.splitlines()
    if len(lines) < 2:
        return None
    sender = _TRANSPORT.search(lines[1])
    if sender is None:
        return None
    variables = [line for line in lines[2:] if line.strip()]
    names = [notification_of(value.strip()) for oid, _, value in (line.partition(" ") for line in variables)
             if _TRAP_OID.search(oid)]
    stamp = time.strftime("%H:%M:%S %Y/%m/%d", time.localtime(now))
    head = [f"{stamp} ZBXTRAP {sender.group(1)}"] + [TRAP_LINE.format(name=name) for name in names if name]
    return "\n".join(head + variables) + "\n"


def _trap_item(name: str) -> dict[str, object]:
    notification = BY_NOTIFICATION[name]
    return {
        "uuid": uid("trap", name),
        "name": f"Galera: notification {name}",
        "type": "SNMP_TRAP",
        "key": f'snmptrap["{TRAP_LINE.format(name=name)}"]',
        "delay": "0",
        "history": "7d",
        "trends": "0",
        "value_type": "LOG",
        "description": (f"{MODULE}::{name} ({_oid(notification.oid)}), carrying {', '.join(notification.objects)}: "
                        "received by snmptrapd, written to Zabbix's SNMP trapper file by galera-snmp zabbix-trap "
                        "(docs/NMS.md)."),
        "tags": [{"tag": "component", "value": "galera"}, {"tag": "mib-branch", "value": "notification"}],
    }


def template() -> dict[str, object]:
    """The whole export, as configuration.import takes it (format yaml once dumped)."""
    found = mib_definitions()
    items = [_item(obj, found) for obj in SCALARS]
    keys = {str(item["key"]) for item in items}
    items += [_trap_item(notification.name) for notification in TABLE]
    macros = []
    for macro, value, description in MACROS:
        entry: dict[str, object] = {"macro": macro, "value": value}
        if macro in SECRET_MACROS:
            entry["type"] = "SECRET_TEXT"
        entry["description"] = description
        macros.append(entry)
    return {
        "zabbix_export": {
            "version": VERSION,
            "groups": [{"uuid": uid("group", GROUP), "name": GROUP}],
            "templates": [{
                "uuid": uid("template", TEMPLATE),
                "template": TEMPLATE,
                "name": TEMPLATE,
                "description": DESCRIPTION,
                "groups": [{"name": GROUP}],
                "items": items,
                "discovery_rules": [_discovery(found)],
                "tags": [{"tag": "class", "value": "database"}, {"tag": "target", "value": "galera"}],
                "macros": macros,
                "valuemaps": _valuemaps(found),
            }],
            "triggers": _triggers(keys),
        }
    }


# --- YAML, written here: deterministic, and no dependency for one document -----------------

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def _scalar(value: str, indent: str) -> str:
    if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
        return value
    lines = value.split("\n")
    if len(lines) > 1 and lines[0][:1] not in (" ", "") and all(line == line.rstrip() for line in lines):
        return "|-\n" + "\n".join(f"{indent}  {line}" if line else "" for line in lines)
    if value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value)  # a JSON string is a double-quoted YAML scalar


def _yaml(node: object, indent: str) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict | list):
                yield f"{indent}{key}:"
                yield from _yaml(value, indent + "  ")
            else:
                yield f"{indent}{key}: {_scalar(str(value), indent)}"
    elif isinstance(node, list):
        for value in node:
            if isinstance(value, dict | list):
                first, *rest = _yaml(value, indent + "  ")
                yield f"{indent}- {first[len(indent) + 2:]}"
                yield from rest
            else:
                yield f"{indent}- {_scalar(str(value), indent)}"
    else:
        raise TypeError(f"not a mapping or a list: {node!r}")


def dump(document: Mapping[str, object]) -> str:
    """``document`` (mappings, lists and strings) as YAML, the same text for the same input."""
    return "\n".join(_yaml(dict(document), "")) + "\n"


def render() -> str:
    """The template as Zabbix imports it (YAML)."""
    return dump(template())
