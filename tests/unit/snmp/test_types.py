"""SNMP's types, codes and limits are defined once (snmp/types.py), and both wire formats agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from galera_snmp.snmp import ber, types
from galera_snmp.snmp.agentx import encode_varbind
from galera_snmp.snmp.types import Syntax

PACKAGE = Path(types.__file__).resolve().parents[1]
DEFINED_ONCE = re.compile(
    r"^\s*(?:[A-Z_]+\s*,\s*)*(?:" + "|".join(Syntax.__members__) + r"|MAX_INT32|MAX_UINT32|MAX_UINT64|MAX_STRING|"
    r"UNSIGNED_MAX|MAX_OID_ARCS|MAX_ARC|ERROR_STATUS|SECURITY_LEVELS|LEVELS)\b[^=\n]*=(?!=)",
    re.MULTILINE,
)


def test_no_module_but_types_defines_an_snmp_type_code_or_limit():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        if path.name == "types.py" and path.parent.name == "snmp":
            continue
        offenders += [f"{path.relative_to(PACKAGE)}: {m.group(0).strip()}" for m in DEFINED_ONCE.finditer(text)]
        offenders += [f"{path.relative_to(PACKAGE)}: pyagentx3 type" for _ in re.finditer(r"pyagentx3\.TYPE_", text)]
    assert offenders == []


@pytest.mark.parametrize(
    ("syntax", "value", "agentx_data"),
    [
        (Syntax.INTEGER, -5, b"\xff\xff\xff\xfb"),
        (Syntax.GAUGE32, 2**32 - 1, b"\xff\xff\xff\xff"),
        (Syntax.COUNTER64, 2**64 - 1, b"\xff" * 8),
        (Syntax.OCTET_STRING, b"ok", b"\x00\x00\x00\x02ok\x00\x00"),
    ],
)
def test_the_agent_and_the_client_name_a_type_by_one_code(syntax, value, agentx_data):
    """What the agent serves with a type code, the client decodes as that BER tag to the same value."""
    varbind = encode_varbind((1, 3, 6), syntax, value)
    assert varbind[:2] == bytes((0, syntax))  # AgentX: the type code, network byte order
    assert varbind.endswith(agentx_data)
    content = value if isinstance(value, bytes) else ber.encode_integer(value, syntax)[2:]
    assert ber.decode_value(ber.tlv(syntax, content)) == value
