"""GALERA-MIB as the Debian package installs it for net-snmp: loadable by name on a system without
the SMIv2 base modules.

GALERA-MIB.txt imports from SNMPv2-SMI, SNMPv2-TC and SNMPv2-CONF, as SMIv2 asks; Debian ships
those modules only in non-free (snmp-mibs-downloader, which downloads them), so on a clean Debian
``snmpwalk -m +GALERA-MIB`` could not load it. net-snmp knows the SMIv2 macros and base types by
name without any module; what the MIB takes from the base modules beyond them is the
``enterprises`` node and two textual conventions. :func:`standalone` replaces the IMPORTS with
local definitions of exactly those, with the same OIDs and syntaxes, so every name resolves as
in the real modules. GALERA-MIB.txt itself (for smilint and NMS imports) stays SMIv2 as written.
"""

from __future__ import annotations

import re

IMPORTS = re.compile(r"^IMPORTS\b.*?;\n", re.MULTILINE | re.DOTALL)

LOCAL_DEFINITIONS = """\
-- This copy is for net-snmp on systems without the SMIv2 base modules (Debian ships them only in
-- non-free). In place of IMPORTS: net-snmp knows the SMIv2 macros and base types by name, and
-- what else the module takes from SNMPv2-SMI and SNMPv2-TC is defined here, with the same OIDs
-- and syntaxes. The SMIv2 original, with its IMPORTS, is GALERA-MIB.txt in the package's files.

org         OBJECT IDENTIFIER ::= { iso 3 }
dod         OBJECT IDENTIFIER ::= { org 6 }
internet    OBJECT IDENTIFIER ::= { dod 1 }
private     OBJECT IDENTIFIER ::= { internet 4 }
enterprises OBJECT IDENTIFIER ::= { private 1 }

DisplayString ::= TEXTUAL-CONVENTION
    DISPLAY-HINT "255a"
    STATUS       current
    DESCRIPTION  "Printable ASCII text of up to 255 octets, as SNMPv2-TC defines it."
    SYNTAX       OCTET STRING (SIZE (0..255))

TruthValue ::= TEXTUAL-CONVENTION
    STATUS       current
    DESCRIPTION  "A boolean value, as SNMPv2-TC defines it."
    SYNTAX       INTEGER { true(1), false(2) }

"""


def standalone(text: str) -> str:
    """GALERA-MIB.txt's ``text`` with its IMPORTS replaced by the local definitions above."""
    replaced, count = IMPORTS.subn(LOCAL_DEFINITIONS, text, count=1)
    if count != 1:
        raise ValueError("GALERA-MIB.txt has no IMPORTS clause to replace")
    return replaced
