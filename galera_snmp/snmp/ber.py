"""Just enough BER (X.690) for SNMP: encode a request, decode a response -- the SNMPv2c message
(RFC 3416) here, the PDU inside it for SNMPv3 too (:mod:`~galera_snmp.snmp.usm` wraps it).

Why not pysnmp's codec: importing ``pysnmp.proto.api`` and pyasn1 costs ~90 ms, the whole time
budget of a Nagios plugin run; this module imports only the package's :mod:`~galera_snmp.record`
and :mod:`~galera_snmp.snmp.types`.

Decoding is for datagrams from the network, so every malformed input -- garbage, truncation,
a wrong tag, an indefinite or absurd length, an integer over 9 octets, an OID over 128
sub-identifiers or with an arc over 2**32-1 -- raises :class:`BerError` and nothing else: the
client drops such datagrams with a single ``except``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..record import record
from .types import MAX_ARC, MAX_OID_ARCS, OID, UNSIGNED_MAX, Syntax


class BerError(ValueError):
    """Not a well-formed SNMP message (or an OID that SNMP cannot carry)."""


@record
class Missing:
    """noSuchObject, noSuchInstance or endOfMibView in place of a value."""

    kind: str


Value = int | bytes | OID | Missing | None  # None: a NULL value

# The message's structure (the value types are Syntax, in types.py).
SEQUENCE = 0x30
GET, GET_NEXT, RESPONSE, GET_BULK, REPORT = 0xA0, 0xA1, 0xA2, 0xA5, 0xA8  # PDU tags (RFC 3416)
MISSING = {
    Syntax.NO_SUCH_OBJECT: Missing("NoSuchObject"),
    Syntax.NO_SUCH_INSTANCE: Missing("NoSuchInstance"),
    Syntax.END_OF_MIB_VIEW: Missing("EndOfMibView"),
}

VERSION_2C = 1  # the version field of an SNMPv2c message
MAX_INTEGER_OCTETS = 9  # a Counter64 over 2**63 needs a leading zero octet
MAX_LENGTH_OCTETS = 4  # a UDP datagram is under 64 KiB: more length octets is garbage

# --- encoding (requests only: every value is NULL) --------------------------------------------


def tlv(tag: int, content: bytes) -> bytes:
    """Tag, definite length (short form under 128, else minimal long form) and content."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets + content


def encode_integer(value: int, tag: int = Syntax.INTEGER) -> bytes:
    """Minimal two's complement: 127 is one octet, 128 two (0x00 0x80), -128 one (0x80)."""
    magnitude = value if value >= 0 else ~value
    return tlv(tag, value.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True))


def encode_oid(oid: Sequence[int]) -> bytes:
    """The first two arcs share a sub-identifier (40 * x + y; x = 2 allows y >= 40); each
    sub-identifier is base 128, most significant group first, bit 8 set on all but the last."""
    if not 2 <= len(oid) <= MAX_OID_ARCS:
        raise BerError(f"an SNMP OID has 2 to {MAX_OID_ARCS} arcs, not {len(oid)}")
    if not all(isinstance(arc, int) and 0 <= arc <= MAX_ARC for arc in oid):
        raise BerError(f"OID arcs must be integers from 0 to {MAX_ARC}: {oid!r}")
    if oid[0] > 2 or (oid[0] < 2 and oid[1] >= 40):
        raise BerError(f"an OID starts with 0.0-39, 1.0-39 or 2.x: {oid!r}")
    content = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        groups = [arc & 0x7F]
        while arc := arc >> 7:
            groups.append(0x80 | (arc & 0x7F))
        content += bytes(reversed(groups))
    return tlv(Syntax.OBJECT_IDENTIFIER, bytes(content))


def octets(content: bytes) -> bytes:
    """An OCTET STRING."""
    return tlv(Syntax.OCTET_STRING, content)


def encode_pdu(
    pdu_type: int,
    request_id: int,
    oids: Sequence[Sequence[int]],
    *,
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:
    """A GetRequest, GetNextRequest or GetBulkRequest PDU, each value NULL.

    GetBulk carries non-repeaters and max-repetitions where the others have error-status and
    error-index (RFC 3416 section 3), so those two must be 0 for GET and GETNEXT.
    """
    if pdu_type not in (GET, GET_NEXT, GET_BULK):
        raise BerError(f"not a request PDU type: 0x{pdu_type:02x}")
    if pdu_type != GET_BULK and (non_repeaters or max_repetitions):
        raise BerError("non-repeaters and max-repetitions are for GETBULK only")
    if not all(-(2**31) <= field < 2**31 for field in (request_id, non_repeaters, max_repetitions)):
        raise BerError("request-id, non-repeaters and max-repetitions are Integer32s")
    varbinds = b"".join(tlv(SEQUENCE, encode_oid(oid) + b"\x05\x00") for oid in oids)
    fields = encode_integer(request_id) + encode_integer(non_repeaters) + encode_integer(max_repetitions)
    return tlv(pdu_type, fields + tlv(SEQUENCE, varbinds))


def encode_message(community: bytes, pdu: bytes) -> bytes:
    """An SNMPv2c message carrying ``pdu`` (:func:`encode_pdu`'s), as usm.request_message wraps
    one in SNMPv3's."""
    return tlv(SEQUENCE, encode_integer(VERSION_2C) + octets(community) + pdu)


# --- decoding: each reader takes the buffer and the [pos, end) window it may not leave -----------


def header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """The TLV starting at ``pos``: (tag, start of its content, end of its content)."""
    if end - pos < 2:
        raise BerError(f"truncated at octet {pos}")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length == 0x80:
        raise BerError(f"indefinite length at octet {pos - 1}")
    if length > 0x80:  # long form: the low 7 bits count the length octets
        count = length & 0x7F
        if count > MAX_LENGTH_OCTETS:
            raise BerError(f"absurd length ({count} length octets) at octet {pos - 1}")
        if end - pos < count:
            raise BerError(f"truncated length at octet {pos}")
        length, pos = int.from_bytes(data[pos : pos + count], "big"), pos + count
    if length > end - pos:
        raise BerError(f"truncated: {length} octets announced at octet {pos}, {end - pos} left")
    return tag, pos, pos + length


def expect(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    """Like :func:`header` for a TLV that must have ``tag``: (content start, content end)."""
    got, start, stop = header(data, pos, end)
    if got != tag:
        raise BerError(f"{what}: expected tag 0x{tag:02x}, got 0x{got:02x} at octet {pos}")
    return start, stop


def _integer(content: bytes, signed: bool = True) -> int:
    if not 1 <= len(content) <= MAX_INTEGER_OCTETS:
        raise BerError(f"an integer of {len(content)} octets")
    return int.from_bytes(content, "big", signed=signed)


def integer_field(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """An INTEGER field of the message: (its value, the position after it)."""
    start, stop = expect(data, pos, end, Syntax.INTEGER, what)
    return _integer(data[start:stop]), stop


def _oid(content: bytes) -> OID:
    """The inverse of :func:`encode_oid`; a sub-identifier may not start with 0x80 (X.690 8.19.2)."""
    if not content or content[-1] & 0x80:
        raise BerError("empty or truncated OBJECT IDENTIFIER")
    subids: list[int] = []
    value = 0
    for octet in content:
        if value == 0 and octet == 0x80:
            raise BerError("OID sub-identifier with a leading 0x80 octet")
        value = (value << 7) | (octet & 0x7F)
        if value > MAX_ARC + 80:  # the largest first sub-identifier: 2.(2**32-1)
            raise BerError("OID sub-identifier over 2**32-1")
        if not octet & 0x80:
            subids.append(value)
            value = 0
            if len(subids) >= MAX_OID_ARCS:  # the first sub-identifier holds two arcs
                raise BerError(f"OID of over {MAX_OID_ARCS} sub-identifiers")
    first = min(subids[0] // 40, 2)
    oid = (first, subids[0] - 40 * first, *subids[1:])
    if max(oid[1:]) > MAX_ARC:
        raise BerError("OID arc over 2**32-1")
    return oid


def _value(tag: int, content: bytes) -> Value:
    if tag == Syntax.INTEGER:
        return _integer(content)
    if tag in (Syntax.OCTET_STRING, Syntax.OPAQUE):
        return content
    if tag == Syntax.OBJECT_IDENTIFIER:
        return _oid(content)
    if tag in UNSIGNED_MAX:
        # unsigned whatever the first bit: some agents drop the leading zero octet
        value = _integer(content, signed=False)
        if value > UNSIGNED_MAX[tag]:
            raise BerError(f"0x{tag:02x} value {value} out of range")
        return value
    if tag == Syntax.IP_ADDRESS:
        if len(content) != 4:
            raise BerError(f"IpAddress of {len(content)} octets")
        return content
    if tag == Syntax.NULL or tag in MISSING:
        if content:
            raise BerError(f"0x{tag:02x} (a NULL) with content")
        return MISSING.get(tag)
    raise BerError(f"unknown value type 0x{tag:02x}")


def decode_value(data: bytes) -> Value:
    """One encoded value, e.g. ``b"\\x43\\x01\\x05"`` (TimeTicks 5), as the client returns it."""
    tag, start, stop = header(data, 0, len(data))
    if stop != len(data):
        raise BerError("trailing octets after the value")
    return _value(tag, data[start:stop])


def open_message(data: bytes, version: int, field: str, name: str) -> tuple[int, int]:
    """The fields of the message ``data`` after its version ``field``: (their start, the end).
    BerError unless the message fills ``data`` exactly and is of ``version`` (``name``: SNMPv2c,
    SNMPv3), so the v2c and the v3 reader refuse a message alike."""
    start, end = expect(data, 0, len(data), SEQUENCE, "message")
    if end != len(data):
        raise BerError("trailing octets after the message")
    got, pos = integer_field(data, start, end, field)
    if got != version:
        raise BerError(f"not an {name} message (version {got})")
    return pos, end


def decode_response(data: bytes, community: bytes | None = None) -> tuple[int, int, int, list[tuple[OID, Value]]]:
    """An SNMPv2c Response message: (request-id, error-status, error-index, varbinds).

    With ``community``, an answer carrying another one is refused (BerError), like a garbled
    one: it is not an answer to us. (It proves little — a forger who sees the request sees the
    community too — which is why galera-init trusts only SNMPv3 by default.) Each TLV must
    exactly fill its container.
    """
    data = bytes(data)
    pos, end = open_message(data, VERSION_2C, "version", "SNMPv2c")
    community_start, pos = expect(data, pos, end, Syntax.OCTET_STRING, "community")
    if community is not None and data[community_start:pos] != community:
        raise BerError("an answer with another community")
    _, request_id, error_status, error_index, varbinds = decode_pdu(data, pos, end)
    return request_id, error_status, error_index, varbinds


def decode_pdu(
    data: bytes, pos: int, end: int, types: tuple[int, ...] = (RESPONSE,)
) -> tuple[int, int, int, int, list[tuple[OID, Value]]]:
    """The PDU filling ``data[pos:end]``, one of ``types``: (its type, request-id, error-status,
    error-index, varbinds)."""
    pdu_type, pos, pdu_end = header(data, pos, end)
    if pdu_type not in types:
        raise BerError(f"PDU: expected tag {' or '.join(f'0x{t:02x}' for t in types)}, got 0x{pdu_type:02x}")
    if pdu_end != end:
        raise BerError("trailing octets after the PDU")
    request_id, pos = integer_field(data, pos, end, "request-id")
    error_status, pos = integer_field(data, pos, end, "error-status")
    error_index, pos = integer_field(data, pos, end, "error-index")
    pos, list_end = expect(data, pos, end, SEQUENCE, "varbind list")
    if list_end != end:
        raise BerError("trailing octets after the varbind list")
    varbinds = []
    while pos < end:
        start, stop = expect(data, pos, end, SEQUENCE, "varbind")
        name_start, name_end = expect(data, start, stop, Syntax.OBJECT_IDENTIFIER, "varbind name")
        tag, value_start, value_end = header(data, name_end, stop)
        if value_end != stop:
            raise BerError(f"trailing octets in the varbind at octet {pos}")
        varbinds.append((_oid(data[name_start:name_end]), _value(tag, data[value_start:value_end])))
        pos = stop
    return pdu_type, request_id, error_status, error_index, varbinds
