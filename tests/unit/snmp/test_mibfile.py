"""mibfile.definitions reads GALERA-MIB.txt back: what generated NMS configuration takes from it."""

from __future__ import annotations

from galera_snmp.snmp import mib
from galera_snmp.snmp.mibfile import definitions, standalone


def test_every_object_of_mib_py_is_read_with_its_description() -> None:
    found = definitions(standalone(mib.MIB_FILE.read_text(encoding="utf-8")))
    for obj in mib.SCALARS:
        assert found[obj.name].description, obj.name
        assert found[obj.name].syntax.split()[0] in (obj.mib_type, "INTEGER"), obj.name
    for name, _, _, _ in mib.MEMBER_COLUMNS:
        assert name in found


def test_enumerations_units_and_hints() -> None:
    found = definitions(standalone(mib.MIB_FILE.read_text(encoding="utf-8")))
    assert dict(found["galeraStatus"].enumeration) == {number: status.name.lower()
                                                         for status, number in mib.STATUS.items()}
    assert found["GaleraWsrepLocalState"].enumeration[0] == (0, "unknown")  # after a comment in the definition
    assert found["TruthValue"].enumeration == ((1, "true"), (2, "false"))  # from standalone()'s definitions
    assert found["galeraClusterSize"].units == "nodes"
    assert found["GaleraPartsPerMillion"].display_hint == "d-6"
    assert found["galeraSeqno"].enumeration == ()


def test_descriptions_lose_the_source_indentation() -> None:
    text = '''X DEFINITIONS ::= BEGIN
fooBar OBJECT-TYPE
    SYNTAX INTEGER { on(1), off(2) } -- a comment
    UNITS "things"
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION
        "First line
        second line:
            indented(1)."
    ::= { x 1 }

END
'''
    (only,) = definitions(text).values()
    assert only.description == "First line\nsecond line:\n    indented(1)."
    assert only.enumeration == ((1, "on"), (2, "off"))
    assert only.units == "things"
