"""SNMP's value types, codes and limits, in one place for every part that speaks SNMP: the BER
codec, the AgentX codec, the client and GALERA-MIB. An AgentX value type code is the value's
BER tag (RFC 2741 section 5.4), so one table serves both wire formats.
"""

from __future__ import annotations

from enum import IntEnum

OID = tuple[int, ...]


class Syntax(IntEnum):
    """A value's type on the wire: universal and SNMP application tags (RFC 2578, RFC 3416)."""

    INTEGER = 0x02  # INTEGER enumerations and Integer32
    OCTET_STRING = 0x04  # DisplayString, GaleraUtf8String
    NULL = 0x05
    OBJECT_IDENTIFIER = 0x06
    IP_ADDRESS = 0x40
    COUNTER32 = 0x41
    GAUGE32 = 0x42  # Gauge32 and Unsigned32 share the tag
    TIMETICKS = 0x43
    OPAQUE = 0x44
    COUNTER64 = 0x46  # Counter64 and GaleraGauge64
    NO_SUCH_OBJECT = 0x80  # the three exceptions stand where a value would (RFC 3416 section 3)
    NO_SUCH_INSTANCE = 0x81
    END_OF_MIB_VIEW = 0x82


MIN_INT32, MAX_INT32 = -(2**31), 2**31 - 1
MAX_UINT32 = 2**32 - 1
MAX_UINT64 = 2**64 - 1
UNSIGNED_MAX = {
    Syntax.COUNTER32: MAX_UINT32,
    Syntax.GAUGE32: MAX_UINT32,
    Syntax.TIMETICKS: MAX_UINT32,
    Syntax.COUNTER64: MAX_UINT64,
}
MAX_STRING = 255  # octets of a DisplayString / GaleraUtf8String (SIZE (0..255))
# A GetBulk answer stops after the round that reaches this (RFC 2741 7.2.3.3 and RFC 3416 4.2.3
# allow fewer repetitions than asked): no request makes the agent build more than an SNMP message
# over UDP can carry anyway.
MAX_BULK_BYTES = 65507
MAX_OID_ARCS = 128  # RFC 2578 section 3.5
MAX_ARC = MAX_UINT32  # RFC 2578 section 7.1.3

# RFC 3416 section 3: a response's error-status, by number
ERROR_STATUS = (
    "noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess", "wrongType", "wrongLength",
    "wrongEncoding", "wrongValue", "noCreation", "inconsistentValue", "resourceUnavailable", "commitFailed",
    "undoFailed", "authorizationError", "notWritable", "inconsistentName",
)  # fmt: skip

SECURITY_LEVELS = ("noAuthNoPriv", "authNoPriv", "authPriv")  # SNMPv3 USM, as net-snmp spells them
