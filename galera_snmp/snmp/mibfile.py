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
import textwrap
from dataclasses import dataclass

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


# --- reading the definitions back (for generated NMS configuration: contrib/zabbix) -----------

_DEFINITION = re.compile(
    r"^(?P<name>[A-Za-z][\w-]*)\s+(?:OBJECT-TYPE|::=\s*TEXTUAL-CONVENTION)\b(?P<body>.*?)(?=^\S|\Z)",
    re.MULTILINE | re.DOTALL,
)
_QUOTED = r'\s+"(?P<text>[^"]*)"'
_ENUMERATION = re.compile(r"^INTEGER\s*\{(?P<items>[^}]*)\}")
_NAMED_NUMBER = re.compile(r"(?P<label>[a-z][\w-]*)\s*\(\s*(?P<number>-?\d+)\s*\)")


@dataclass(frozen=True)
class Definition:
    """One OBJECT-TYPE or TEXTUAL-CONVENTION as the MIB text writes it."""

    name: str
    syntax: str  # whitespace collapsed: "INTEGER { true(1), false(2) }", "GaleraTriState"
    description: str  # indentation of the MIB source removed, line breaks kept
    units: str | None = None
    display_hint: str | None = None

    @property
    def enumeration(self) -> tuple[tuple[int, str], ...]:
        """The named numbers of an ``INTEGER { ... }`` syntax, in MIB order; empty otherwise."""
        found = _ENUMERATION.match(self.syntax)
        if found is None:
            return ()
        return tuple((int(m["number"]), m["label"]) for m in _NAMED_NUMBER.finditer(found["items"]))


def _clause(keyword: str, body: str) -> str | None:
    found = re.search(rf"\b{keyword}{_QUOTED}", body)
    return found["text"] if found else None


def _description(text: str) -> str:
    first, _, rest = text.partition("\n")
    return "\n".join(line.rstrip() for line in [first.strip(), *textwrap.dedent(rest).splitlines()]).strip()


def definitions(text: str) -> dict[str, Definition]:
    """Every OBJECT-TYPE and TEXTUAL-CONVENTION of a MIB module's ``text``, by name.

    Enough of SMIv2 for GALERA-MIB as this project writes it (no quotes inside quoted
    strings, each definition starting in the first column): so that tools generated from the
    MIB take its descriptions, units and enumeration labels from the one text people read.
    """
    found: dict[str, Definition] = {}
    for match in _DEFINITION.finditer(text):
        body = match["body"]
        description = _clause("DESCRIPTION", body)
        units, hint = _clause("UNITS", body), _clause("DISPLAY-HINT", body)
        bare = re.sub(r'"[^"]*"', '""', body)  # quoted text may hold anything, comments included
        bare = re.sub(r"--[^\n]*", "", bare)
        syntax = re.search(r"\bSYNTAX\s+(?P<syntax>[^{\n]*(?:\{[^}]*\})?)", bare)
        if syntax is None or description is None:
            raise ValueError(f"{match['name']}: no SYNTAX or DESCRIPTION")
        found[match["name"]] = Definition(
            match["name"], " ".join(syntax["syntax"].split()), _description(description), units, hint
        )
    return found
