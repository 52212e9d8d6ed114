"""The Zabbix template: the committed file is the generator's output, and the template covers the
MIB (an item per object, a value map per enumeration, change per second for counters, member
discovery) with triggers that name only its own items."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from galera_snmp.cli.main import main
from galera_snmp.snmp import mib, notifications, zabbix
from galera_snmp.state import Health, NodeReport, NodeState, Status

REPO = Path(__file__).resolve().parents[3]
COMMITTED = REPO / "contrib" / "zabbix" / "galera_by_snmp.yaml"
ITEM_REFERENCE = re.compile(r"\(/([^/]+)/([^,)]+)")


@pytest.fixture(scope="module")
def export() -> dict:
    return zabbix.template()["zabbix_export"]


@pytest.fixture(scope="module")
def template(export: dict) -> dict:
    (only,) = export["templates"]
    return only


def test_committed_file_is_the_generated_one() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == zabbix.render(), (
        "contrib/zabbix/galera_by_snmp.yaml is not the generator's output: regenerate it with "
        "'galera-snmp zabbix-template > contrib/zabbix/galera_by_snmp.yaml'"
    )


def test_the_command_prints_the_template(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zabbix-template"]) == 0
    assert capsys.readouterr().out == zabbix.render()


def test_output_is_deterministic_yaml_of_the_template() -> None:
    text = zabbix.render()
    assert text == zabbix.render()
    assert yaml.safe_load(text) == zabbix.template()  # the hand-written emitter says what the dict says
    assert "date:" not in text


@pytest.mark.parametrize(
    "value",
    ["plain", "", "yes", "1m", "it's", "{$A}", "two\nlines", " leading\nspace", "trailing \nspace", "tab\there",
     "- dash", "a: b", "#hash", "üñí", "100"],
)
def test_emitter_round_trips_strings(value: str) -> None:
    assert yaml.safe_load(zabbix.dump({"k": value, "l": [value, {"m": value}]})) == {
        "k": value, "l": [value, {"m": value}]}


def test_version_and_uuids(export: dict, template: dict) -> None:
    assert export["version"] == "6.0"
    uuids = re.findall(r"uuid: '?([^'\n]*)'?\n", zabbix.render())
    assert len(uuids) == len(set(uuids)) > 100
    assert all(re.fullmatch(r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}", u) for u in uuids)  # version 4
    assert template["uuid"] == zabbix.uid("template", "Galera by SNMP")


def test_every_scalar_has_an_item(template: dict) -> None:
    polled = [item for item in template["items"] if item["type"] != "SNMP_TRAP"]
    items = {item["snmp_oid"]: item for item in polled}
    assert len(items) == len(polled) == len(mib.SCALARS)
    for obj in mib.SCALARS:
        item = items[".".join(map(str, (*obj.oid, 0)))]
        assert item["key"] == zabbix.item_key(obj.name)
        assert item["type"] == "SNMP_AGENT"
        assert item["description"].startswith(f"GALERA-MIB::{obj.name}\n\n")
        if obj.syntax is mib.Syntax.OCTET_STRING:
            assert (item["value_type"], item["trends"]) == ("CHAR", "0")
    assert len({item["key"] for item in polled}) == len(mib.SCALARS)


def test_every_notification_has_a_trap_item(template: dict) -> None:
    traps = {item["key"]: item for item in template["items"] if item["type"] == "SNMP_TRAP"}
    assert sorted(traps) == sorted(f'snmptrap["notification {n.name}"]' for n in notifications.TABLE)
    for item in traps.values():
        assert (item["value_type"], item["trends"], item["delay"]) == ("LOG", "0", "0")


TRANSPORT = "UDP: [192.0.2.12]:45678->[192.0.2.10]:162"


@pytest.mark.parametrize("trap_oid", [
    "GALERA-MIB::galeraStatusChange", ".1.3.6.1.4.1.32473.0.1", "iso.3.6.1.4.1.32473.0.1",
    "SNMPv2-SMI::enterprises.32473.0.1",
])
def test_a_trap_of_ours_becomes_a_record_its_item_matches(trap_oid: str) -> None:
    """As snmptrapd hands a trap over, with GALERA-MIB loaded or not, SNMPv2-MIB loaded or not."""
    for oid_name in ("SNMPv2-MIB::snmpTrapOID.0", "iso.3.6.1.6.3.1.1.4.1.0", ".1.3.6.1.6.3.1.1.4.1.0"):
        handler_input = (f"<UNKNOWN>\n{TRANSPORT}\nSNMPv2-MIB::sysUpTime.0 0:0:00:02.35\n{oid_name} {trap_oid}\n"
                         "GALERA-MIB::galeraStatus.0 stopped\n")
        record = zabbix.trap_record(handler_input, now=0)
        assert record is not None
        head, named, *variables = record.splitlines()
        assert re.fullmatch(r"\d\d:\d\d:\d\d \d{4}/\d\d/\d\d ZBXTRAP 192\.0\.2\.12", head), head
        assert named == "notification galeraStatusChange"  # what snmptrap["notification galeraStatusChange"] finds
        assert variables[-1] == "GALERA-MIB::galeraStatus.0 stopped"


def test_another_trap_is_written_without_a_notification_line() -> None:
    record = zabbix.trap_record(f"host\n{TRANSPORT}\nSNMPv2-MIB::snmpTrapOID.0 SNMPv2-MIB::coldStart\n")
    assert record is not None and "notification" not in record and record.count("\n") == 2


def test_no_other_notification_line_matches_an_items_pattern() -> None:
    """Zabbix matches each item's pattern anywhere in a record: no line of one notification may
    contain another's."""
    lines = [f"notification {n.name}" for n in notifications.TABLE]
    for line in lines:
        assert [other for other in lines if other in line] == [line]


@pytest.mark.parametrize("handler_input", ["", "host only", "host\nno address here\nx y\n"])
def test_without_a_sender_address_nothing_is_recorded(handler_input: str) -> None:
    assert zabbix.trap_record(handler_input) is None


def test_every_enumeration_has_a_value_map(template: dict) -> None:
    maps = {vm["name"]: {int(m["value"]): m["newvalue"] for m in vm["mappings"]} for vm in template["valuemaps"]}
    found = zabbix.mib_definitions()
    enumerated = [obj for obj in mib.SCALARS if zabbix.enumeration_of(obj.name, found)]
    assert enumerated == [o for o in mib.SCALARS
                          if o.mib_type in ("INTEGER", "GaleraTriState", "GaleraWsrepLocalState", "TruthValue")]
    items = {item["key"]: item for item in template["items"]}
    for obj in enumerated:
        name = items[zabbix.item_key(obj.name)]["valuemap"]["name"]
        assert name in maps, obj.name
    assert set(maps) == {items[zabbix.item_key(o.name)]["valuemap"]["name"] for o in enumerated}
    # the numbers are mib.py's, the labels the MIB text's
    assert sorted(maps["GALERA-MIB::galeraStatus"]) == sorted(mib.STATUS.values())
    assert maps["GALERA-MIB::galeraStatus"][mib.STATUS[mib.Status.RUNNING]] == "running"
    assert maps["GALERA-MIB::galeraClusterStatus"] == {1: "primary", 2: "nonPrimary", 3: "disconnected", 4: "unknown"}
    assert sorted(maps["GALERA-MIB::galeraSeqnoSource"]) == sorted(mib.SEQNO_SOURCE.values())
    assert sorted(maps["GALERA-MIB::galeraRejectQueries"]) == sorted(
        [*mib.REJECT_QUERIES.values(), mib.REJECT_QUERIES_UNKNOWN])
    assert maps["GALERA-MIB::GaleraTriState"] == {mib.TRUE: "true", mib.FALSE: "false", mib.UNKNOWN_TRUTH: "unknown"}
    assert maps["GALERA-MIB::GaleraWsrepLocalState"][mib.LOCAL_STATE_UNKNOWN] == "unknown"
    assert maps["SNMPv2-TC::TruthValue"] == {1: "true", 2: "false"}
    assert items["galera.dataValid"]["valuemap"]["name"] == "SNMPv2-TC::TruthValue"


def test_counters_change_per_second_and_nothing_else(template: dict) -> None:
    items = {item["key"]: item for item in template["items"]}
    for obj in mib.SCALARS:
        steps = [step["type"] for step in items[zabbix.item_key(obj.name)].get("preprocessing", [])]
        assert ("CHANGE_PER_SECOND" in steps) == (obj.mib_type == "Counter64"), obj.name
    assert len([o for o in mib.SCALARS if o.mib_type == "Counter64"]) == 18
    paused = items["galera.flowControlPausedNs"]
    assert paused["units"] == "%"
    assert [(step["type"], step["parameters"]) for step in paused["preprocessing"]] == [
        ("CHECK_NOT_SUPPORTED", [""]), ("CHANGE_PER_SECOND", [""]), ("MULTIPLIER", ["0.0000001"])]  # ns/s -> %
    assert items["galera.replicatedBytes"]["units"] == "Bps"


def test_scaled_gauges_are_in_natural_units(template: dict) -> None:
    items = {item["key"]: item for item in template["items"]}
    paused = items["galera.flowControlPaused"]  # GaleraPartsPerMillion
    assert paused["value_type"] == "FLOAT"
    assert paused["preprocessing"][1:] == [{"type": "MULTIPLIER", "parameters": ["0.000001"]}]
    assert items["galera.localRecvQueueAvg"]["preprocessing"][1]["parameters"] == ["0.001"]  # GaleraThousandths
    assert items["galera.dataAge"]["units"] == "s"


def test_an_object_the_node_does_not_know_is_no_value_not_an_error(template: dict) -> None:
    """Not instantiated (noSuchInstance) is GALERA-MIB's unknown: discarded, so that the item stays
    supported; the enumerations, always served, keep Zabbix's default."""
    found = zabbix.mib_definitions()
    items = {item["key"]: item for item in template["items"]}
    prototypes = template["discovery_rules"][0]["item_prototypes"]
    for obj in mib.SCALARS:
        steps = items[zabbix.item_key(obj.name)].get("preprocessing", [])
        first = steps[0] if steps else {}
        enumerated = zabbix.enumeration_of(obj.name, found) is not None
        assert (first == {"type": "CHECK_NOT_SUPPORTED", "parameters": [""], "error_handler": "DISCARD_VALUE"}) != (
            enumerated), obj.name
    assert all(p["preprocessing"][0]["type"] == "CHECK_NOT_SUPPORTED" for p in prototypes)


def test_the_enumerations_are_served_even_for_a_node_that_reports_nothing_else() -> None:
    """What the template's default for enumerations rests on: a node that reports next to nothing
    (mysqld stopped, no peer watch, no transfer) still serves every enumerated object."""
    found = zabbix.mib_definitions()
    bare = NodeReport(NodeState(taken_at=0.0, status=Status.STOPPED, reason="mysqld is not running"),
                      Health(False, "mysqld is not running"), True, 0)
    served = {oid[:-1] for oid, _, _ in mib.render(bare)}
    missing = [obj.name for obj in mib.SCALARS if zabbix.enumeration_of(obj.name, found) and obj.oid not in served]
    assert missing == []


def test_member_discovery(template: dict) -> None:
    (rule,) = template["discovery_rules"]
    assert rule["key"] == "galera.member.discovery"
    for name, column, _, _ in mib.MEMBER_COLUMNS:
        oid = ".".join(map(str, (*mib.MEMBER_ENTRY, column)))
        assert f"{zabbix.member_macro(name)},{oid}" in rule["snmp_oid"]
    prototypes = {p["key"]: p for p in rule["item_prototypes"]}
    assert set(prototypes) == {
        "galera.member.uuid[{#SNMPINDEX}]", "galera.member.name[{#SNMPINDEX}]",
        "galera.member.address[{#SNMPINDEX}]", "galera.member.cluster_uuid[{#SNMPINDEX}]",
    }
    assert all(p["snmp_oid"].endswith(".{#SNMPINDEX}") for p in prototypes.values())


def test_triggers_reference_only_the_templates_items(export: dict, template: dict) -> None:
    keys = {item["key"] for item in template["items"]}
    names = {trigger["name"] for trigger in export["triggers"]}
    assert len(names) == len(export["triggers"]) == len(zabbix.TRIGGERS)
    for trigger in export["triggers"]:
        texts = [trigger["expression"], trigger.get("recovery_expression", "")]
        for dependency in trigger.get("dependencies", []):
            assert dependency["name"] in names
            texts.append(dependency["expression"])
        referenced = [match for text in texts for match in ITEM_REFERENCE.findall(text)]
        assert referenced, trigger["name"]
        for host, key in referenced:
            assert (host, key) == ("Galera by SNMP", key) and key in keys, (trigger["name"], key)
        assert trigger["description"], trigger["name"]
        assert ("recovery_expression" in trigger) == (trigger.get("recovery_mode") == "RECOVERY_EXPRESSION")


def test_an_unknown_key_in_a_trigger_is_refused() -> None:
    with pytest.raises(ValueError, match=r"galera\.nothing"):
        zabbix._expression("last({galera.nothing})=1", {"galera.status"})


def test_the_alert_rules_have_triggers(export: dict) -> None:
    """The health rule and each alert of contrib/prometheus/galera-rules.yml that one node can see."""
    expressions = {trigger["name"]: trigger["expression"] for trigger in export["triggers"]}

    def one(word: str) -> str:
        (found,) = [expression for name, expression in expressions.items() if word in name]
        return found

    assert one("silent").startswith("nodata(/Galera by SNMP/galera.status,")
    assert "galera.dataValid)=2" in one("not current")
    assert one("Primary component") == "last(/Galera by SNMP/galera.clusterStatus)<>1"
    assert "galera.desync" in one("not Synced")  # donor-aware
    assert "{$GALERA.CLUSTER.SIZE}" in one("below")
    assert "galera.historyReset)=1" in one("history")
    assert "galera.flowControlPausedNs" in one("flow control")
    assert "galera.healthy" in one("healthy")
    assert "galera.rejoinTimeLeft,1m)<3600" in one("within an hour")
    assert "galera.rejoinMethod,1m)=2" in one("needs SST")
    for word in ("within an hour", "needs SST"):  # not while it joins: the transfer is under way
        assert "galera.status)<>5" in one(word) and "galera.status)<>4" in one(word)


def test_snmpv3_credentials_are_macros_and_the_passphrases_secret(template: dict) -> None:
    macros = {macro["macro"]: macro for macro in template["macros"]}
    for name in ("{$SNMP.AUTHPASS}", "{$SNMP.PRIVPASS}"):
        assert (macros[name]["type"], macros[name]["value"]) == ("SECRET_TEXT", "")
    assert "host interface" in template["description"]
