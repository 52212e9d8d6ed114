"""galera_snmp.snmp.ber against pysnmp's codec, both ways, plus properties and hostile input.

pysnmp (with pyasn1) is the reference: our requests must decode with its SNMPv2c Message spec
to the same fields and be byte-identical to its encoding; its responses, with every value
type, must decode with ours to the same values. Malformed input must raise BerError only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support import pysnmp_response

from galera_snmp.snmp import ber
from galera_snmp.snmp.ber import BerError, Missing
from galera_snmp.snmp.types import UNSIGNED_MAX, Syntax

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyasn1.codec.ber import decoder, encoder
    from pyasn1.type import univ
    from pysnmp.proto import api, rfc1902, rfc1905

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
PDU_CLASSES = {ber.GET: V2C.GetRequestPDU, ber.GET_NEXT: V2C.GetNextRequestPDU, ber.GET_BULK: V2C.GetBulkRequestPDU}
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
INT32 = st.integers(-(2**31), 2**31 - 1)
UINT32 = st.integers(0, 2**32 - 1)
UINT64 = st.integers(0, 2**64 - 1)
# pyasn1 writes a needless 0xff before these (X.690 8.3.2 wants the shortest form); we do not
PYASN1_NON_MINIMAL = {-(2**7), -(2**15), -(2**23), -(2**31)}
ARC = st.one_of(st.integers(0, 200), st.integers(0, ber.MAX_ARC))  # small arcs, and big multi-octet ones


@st.composite
def oids(draw: st.DrawFn, max_arcs: int = ber.MAX_OID_ARCS) -> tuple[int, ...]:
    first = draw(st.integers(0, 2))
    second = draw(ARC if first == 2 else st.integers(0, 39))
    return (first, second, *draw(st.lists(ARC, max_size=max_arcs - 2)))


def pysnmp_request(pdu_type: int, request_id: int, community: bytes, oids: list, max_repetitions: int = 0) -> bytes:
    pdu = PDU_CLASSES[pdu_type]()
    if pdu_type == ber.GET_BULK:
        V2C.apiBulkPDU.set_defaults(pdu)
        V2C.apiBulkPDU.set_max_repetitions(pdu, max_repetitions)
    else:
        V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, request_id)
    V2C.apiPDU.set_varbinds(pdu, [(oid, V2C.Null("")) for oid in oids])
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, community)
    V2C.apiMessage.set_pdu(message, pdu)
    return encoder.encode(message)


# --- our requests, read by pysnmp ---------------------------------------------------------------


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    pdu_type=st.sampled_from(sorted(PDU_CLASSES)),
    request_id=INT32,
    community=st.binary(max_size=300),
    names=st.lists(oids(), min_size=1, max_size=5),
    repetitions=st.integers(0, 2**31 - 1),
)
def test_requests_decode_with_pysnmp_to_the_same_fields(
    pdu_type: int, request_id: int, community: bytes, names: list, repetitions: int
) -> None:
    repetitions = repetitions if pdu_type == ber.GET_BULK else 0
    ours = ber.encode_message(community, ber.encode_pdu(pdu_type, request_id, names, max_repetitions=repetitions))
    message, rest = decoder.decode(ours, asn1Spec=V2C.Message())
    assert rest == b""
    assert int(V2C.apiMessage.get_version(message)) == 1
    assert bytes(V2C.apiMessage.get_community(message)) == community
    pdu = V2C.apiMessage.get_pdu(message)
    assert pdu.tagSet == PDU_CLASSES[pdu_type].tagSet
    assert int(V2C.apiPDU.get_request_id(pdu)) == request_id
    if pdu_type == ber.GET_BULK:
        assert int(V2C.apiBulkPDU.get_non_repeaters(pdu)) == 0
        assert int(V2C.apiBulkPDU.get_max_repetitions(pdu)) == repetitions
    else:
        assert int(V2C.apiPDU.get_error_status(pdu)) == 0
        assert int(V2C.apiPDU.get_error_index(pdu, muteErrors=True)) == 0
    varbinds = V2C.apiPDU.get_varbinds(pdu)
    assert [tuple(oid) for oid, _ in varbinds] == names
    assert all(value.tagSet == V2C.Null.tagSet for _, value in varbinds)
    # and the very same octets: both use minimal definite lengths and (nearly always) minimal integers
    if request_id not in PYASN1_NON_MINIMAL:
        assert ours == pysnmp_request(pdu_type, request_id, community, names, repetitions)


# --- pysnmp's responses, read by us ---------------------------------------------------------------

SAMPLES = [
    (rfc1902.Integer32(-(2**31)), -(2**31)),
    (rfc1902.Integer(2**31 - 1), 2**31 - 1),
    (rfc1902.Integer32(-1), -1),
    (rfc1902.OctetString(b""), b""),
    (rfc1902.OctetString(b"x" * 300), b"x" * 300),
    (rfc1902.ObjectIdentifier((1, 3, 6, 1, 4, 1, 32473)), (1, 3, 6, 1, 4, 1, 32473)),
    (rfc1902.ObjectIdentifier((2, 999, 3)), (2, 999, 3)),
    (rfc1902.IpAddress("192.0.2.254"), bytes([192, 0, 2, 254])),
    (rfc1902.Counter32(2**32 - 1), 2**32 - 1),
    (rfc1902.Gauge32(2**31), 2**31),
    (rfc1902.Unsigned32(7), 7),
    (rfc1902.TimeTicks(0), 0),
    (rfc1902.Counter64(2**64 - 1), 2**64 - 1),
    (rfc1902.Counter64(2**63), 2**63),
    (rfc1902.Opaque(b"\x9f\x78\x04\x3f\x80\x00\x00"), b"\x9f\x78\x04\x3f\x80\x00\x00"),
    (rfc1902.Bits(b"\xa0"), b"\xa0"),
    (rfc1905.NoSuchObject(""), Missing("NoSuchObject")),
    (rfc1905.NoSuchInstance(""), Missing("NoSuchInstance")),
    (rfc1905.EndOfMibView(""), Missing("EndOfMibView")),
    (rfc1902.Null(""), None),
]


def test_every_value_type_of_a_pysnmp_response_decodes_identically() -> None:
    varbinds = [((1, 3, 6, 1, 2, 1, 1, i, 0), value) for i, (value, _) in enumerate(SAMPLES)]
    request_id, status, index, decoded = ber.decode_response(pysnmp_response(42, varbinds))
    assert (request_id, status, index) == (42, 0, 0)
    assert decoded == [((1, 3, 6, 1, 2, 1, 1, i, 0), expected) for i, (_, expected) in enumerate(SAMPLES)]


def test_error_fields_and_negative_request_ids_come_through() -> None:
    data = pysnmp_response(-(2**31), [(SYS_UPTIME, rfc1902.Null(""))], error_status=18, error_index=1)
    assert ber.decode_response(data) == (-(2**31), 18, 1, [(SYS_UPTIME, None)])


VALUES = st.one_of(
    INT32.map(lambda v: (rfc1902.Integer32(v), v)),
    st.binary(max_size=600).map(lambda b: (rfc1902.OctetString(b), b)),
    st.binary(max_size=600).map(lambda b: (rfc1902.Opaque(b), b)),
    oids().map(lambda o: (rfc1902.ObjectIdentifier(o), o)),
    st.binary(min_size=4, max_size=4).map(lambda b: (rfc1902.IpAddress(b), b)),
    UINT32.map(lambda v: (rfc1902.Counter32(v), v)),
    UINT32.map(lambda v: (rfc1902.Gauge32(v), v)),
    UINT32.map(lambda v: (rfc1902.TimeTicks(v), v)),
    UINT64.map(lambda v: (rfc1902.Counter64(v), v)),
    st.sampled_from([(value, expected) for value, expected in SAMPLES if isinstance(expected, Missing)]),
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(request_id=INT32, rows=st.lists(st.tuples(oids(), VALUES), max_size=8), community=st.binary(max_size=200))
def test_random_pysnmp_responses_decode_identically(request_id: int, rows: list, community: bytes) -> None:
    data = pysnmp_response(request_id, [(oid, value) for oid, (value, _) in rows], community=community)
    assert ber.decode_response(data) == (request_id, 0, 0, [(oid, expected) for oid, (_, expected) in rows])


# --- properties of the primitives ---------------------------------------------------------------


@given(INT32)
@example(0)
@example(127)
@example(128)
@example(-128)
@example(-129)
@example(-(2**31))
def test_integers_round_trip_minimally(value: int) -> None:
    encoded = ber.encode_integer(value)
    assert ber.decode_value(encoded) == value
    assert int(decoder.decode(encoded, asn1Spec=rfc1902.Integer32())[0]) == value
    theirs = encoder.encode(rfc1902.Integer32(value))
    if value in PYASN1_NON_MINIMAL:
        assert (len(encoded), theirs[2]) == (len(theirs) - 1, 0xFF)
    else:
        assert encoded == theirs


@given(UINT64, st.sampled_from([Syntax.COUNTER32, Syntax.GAUGE32, Syntax.TIMETICKS, Syntax.COUNTER64]))
@example(2**64 - 1, Syntax.COUNTER64)
@example(2**63, Syntax.COUNTER64)
@example(2**32 - 1, Syntax.COUNTER32)
def test_unsigned_values_round_trip_with_or_without_the_leading_zero(value: int, tag: int) -> None:
    value %= UNSIGNED_MAX[tag] + 1
    with_zero = ber.encode_integer(value, tag)  # two's complement: 0x00 first when the top bit is set
    without_zero = ber.tlv(tag, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))
    assert ber.decode_value(with_zero) == value
    assert ber.decode_value(without_zero) == value


@given(UINT64)
def test_pysnmp_counter64_encoding_decodes_to_the_same_number(value: int) -> None:
    assert ber.decode_value(encoder.encode(rfc1902.Counter64(value))) == value


@given(oids())
@example((0, 0))
@example((1, 39))
@example((2, 40))
@example((2, ber.MAX_ARC))
@example((1, 3, *[ber.MAX_ARC] * 126))
def test_oids_round_trip_and_match_pysnmp(oid: tuple[int, ...]) -> None:
    encoded = ber.encode_oid(oid)
    assert ber.decode_value(encoded) == oid
    assert encoded == encoder.encode(rfc1902.ObjectIdentifier(oid))
    assert tuple(decoder.decode(encoded, asn1Spec=rfc1902.ObjectIdentifier())[0]) == oid


@given(st.one_of(st.binary(max_size=1000), st.sampled_from([127, 128, 255, 256, 65535, 65536]).map(bytes)))
def test_octet_strings_round_trip_with_long_form_lengths(data: bytes) -> None:
    encoded = ber.tlv(Syntax.OCTET_STRING, data)
    assert ber.decode_value(encoded) == data
    assert encoded == encoder.encode(univ.OctetString(data))  # SNMP's OctetString stops at 65535
    if len(data) > 65535:
        assert encoded[1] == 0x83
    elif len(data) > 255:
        assert encoded[1] == 0x82  # two length octets
    elif len(data) > 127:
        assert encoded[1] == 0x81


def test_non_minimal_long_form_lengths_are_accepted() -> None:
    assert ber.decode_value(b"\x04\x82\x00\x03abc") == b"abc"  # net-snmp writes such lengths


# --- what the encoder refuses -------------------------------------------------------------------


@pytest.mark.parametrize(
    "oid",
    [(1,), (), (3, 1), (1, 40), (0, 40), (1, 3, -1), (1, 3, ber.MAX_ARC + 1), (1, 3, *[1] * 127), (1, 3, "6")],
)
def test_oids_snmp_cannot_carry_are_refused(oid: tuple) -> None:
    with pytest.raises(BerError):
        ber.encode_oid(oid)


def test_request_fields_are_checked() -> None:
    with pytest.raises(BerError):
        ber.encode_pdu(ber.RESPONSE, 1, [SYS_UPTIME])
    with pytest.raises(BerError):
        ber.encode_pdu(ber.GET, 1, [SYS_UPTIME], max_repetitions=5)
    with pytest.raises(BerError):
        ber.encode_pdu(ber.GET, 2**31, [SYS_UPTIME])


# --- hostile input ------------------------------------------------------------------------------

VALID = pysnmp_response(7, [(oid, value) for oid, (value, _) in zip(
    [(1, 3, 6, 1, 2, 1, 1, i, 0) for i in range(len(SAMPLES))], SAMPLES, strict=True
)])  # fmt: skip


def header(tag: int, content: bytes) -> bytes:
    return ber.tlv(tag, content)


def message(pdu: bytes, version: bytes = b"\x02\x01\x01") -> bytes:
    return header(ber.SEQUENCE, version + header(Syntax.OCTET_STRING, b"public") + pdu)


def response(varbinds: bytes, fields: bytes = b"\x02\x01\x07\x02\x01\x00\x02\x01\x00") -> bytes:
    return message(header(ber.RESPONSE, fields + header(ber.SEQUENCE, varbinds)))


def varbind(value: bytes, name: bytes = ber.encode_oid(SYS_UPTIME)) -> bytes:
    return response(header(ber.SEQUENCE, name + value))


def test_a_well_formed_handmade_response_decodes() -> None:
    # the helpers below build bad messages from this good one: each test changes one thing
    assert ber.decode_response(varbind(b"\x43\x01\x05")) == (7, 0, 0, [(SYS_UPTIME, 5)])


MALFORMED = [
    (b"", "truncated"),
    (b"\x30", "truncated"),
    (b"\x30\x80" + VALID[2:] + b"\x00\x00", "indefinite"),
    (b"\x30\x85\x00\x00\x00\x00\x10", "absurd"),
    (b"\x30\xff" + b"\x00" * 200, "absurd"),
    (b"\x30\x84\x7f\xff\xff\xff\x02\x01\x01", "truncated"),
    (VALID + b"\x00", "trailing"),
    (message(header(ber.RESPONSE, b""), version=b"\x02\x01\x00"), "version 0"),
    (message(header(ber.RESPONSE, b""), version=b"\x02\x01\x03"), "version 3"),
    (message(header(ber.GET, b"\x02\x01\x07\x02\x01\x00\x02\x01\x00\x30\x00")), "tag 0xa2"),
    (response(b"", fields=b"\x02\x01\x07\x02\x01\x00"), "error-index"),
    (response(b"", fields=b"\x02\x01\x07\x02\x01\x00\x02\x01\x00\x04\x00"), "varbind list"),
    (response(b"", fields=b"\x02\x0a" + b"\x01" * 10 + b"\x02\x01\x00\x02\x01\x00"), "10 octets"),
    (response(b"", fields=b"\x02\x00\x02\x01\x00\x02\x01\x00"), "0 octets"),
    (varbind(b"\x02\x0a" + b"\x01" * 10), "10 octets"),
    (varbind(b"\x46\x09\x01" + b"\x00" * 8), "out of range"),
    (varbind(b"\x41\x05\x01\x00\x00\x00\x00"), "out of range"),
    (varbind(b"\x40\x05\x01\x02\x03\x04\x05"), "IpAddress"),
    (varbind(b"\x05\x01\x00"), "with content"),
    (varbind(b"\x81\x01\x00"), "with content"),
    (varbind(b"\x47\x01\x00"), "unknown value type"),
    (varbind(b"\x43\x01\x05\x05\x00"), "trailing"),
    (varbind(b"\x05\x00", name=b"\x06\x00"), "empty"),
    (varbind(b"\x05\x00", name=b"\x06\x02\x2b\x86"), "truncated"),
    (varbind(b"\x05\x00", name=b"\x06\x03\x2b\x80\x01"), "leading 0x80"),
    (varbind(b"\x05\x00", name=b"\x06\x06\x2b\x90\x80\x80\x80\x00"), "over 2**32-1"),
    (varbind(b"\x05\x00", name=ber.tlv(Syntax.OBJECT_IDENTIFIER, b"\x2b" + b"\x01" * 128)), "over 128"),
    (varbind(b"\x05\x00", name=b"\x04\x01\x2b"), "varbind name"),
    (response(b"\x05\x00"), "varbind: expected"),
]


@pytest.mark.parametrize(("data", "why"), MALFORMED, ids=[why for _, why in MALFORMED])
def test_malformed_messages_are_refused_with_a_reason(data: bytes, why: str) -> None:
    with pytest.raises(BerError, match=why.replace("*", r"\*")):
        ber.decode_response(data)


def test_the_largest_oid_is_accepted_one_more_arc_is_not() -> None:
    arcs_128 = ber.tlv(Syntax.OBJECT_IDENTIFIER, b"\x2b" + b"\x01" * 126)  # 1.3 share the first octet
    assert ber.decode_response(varbind(b"\x05\x00", name=arcs_128))[3][0][0] == (1, 3, *[1] * 126)
    arcs_129 = ber.tlv(Syntax.OBJECT_IDENTIFIER, b"\x2b" + b"\x01" * 127)
    with pytest.raises(BerError, match="over 128"):
        ber.decode_response(varbind(b"\x05\x00", name=arcs_129))


def test_every_truncation_of_a_valid_message_is_refused() -> None:
    for size in range(len(VALID)):
        with pytest.raises(BerError):
            ber.decode_response(VALID[:size])


def test_open_message_checks_the_envelope_and_version_for_v2c_and_v3_alike() -> None:
    v2c = ber.encode_message(b"public", ber.encode_pdu(ber.GET, 5, []))
    pos, end = ber.open_message(v2c, ber.VERSION_2C, "version", "SNMPv2c")
    assert (pos, end) == (5, len(v2c))  # after SEQUENCE header (2) and INTEGER 1 (3)
    assert ber.expect(v2c, pos, end, Syntax.OCTET_STRING, "community") == (7, 13)
    with pytest.raises(BerError, match=r"not an SNMPv3 message \(version 1\)"):
        ber.open_message(v2c, 3, "msgVersion", "SNMPv3")
    with pytest.raises(BerError, match="trailing octets after the message"):
        ber.open_message(v2c + b"\x00", ber.VERSION_2C, "version", "SNMPv2c")
    with pytest.raises(BerError, match="msgVersion: expected tag 0x02"):
        ber.open_message(ber.tlv(ber.SEQUENCE, ber.octets(b"x")), 3, "msgVersion", "SNMPv3")


def check_decoding(decode: Callable[[bytes], object], data: bytes) -> None:
    """``decode`` refuses ``data`` with a BerError (any other exception fails the test), or accepts
    it as exactly one message or value: the same octets with one more, or one fewer, are refused."""
    try:
        decode(data)
    except BerError:
        return
    with pytest.raises(BerError, match="trailing octets"):
        decode(data + b"\x00")
    with pytest.raises(BerError, match="truncated"):
        decode(data[:-1])


@given(st.binary(max_size=300))
def test_random_bytes_raise_ber_error_only(data: bytes) -> None:
    check_decoding(ber.decode_response, data)
    check_decoding(ber.decode_value, data)


@given(st.data())
def test_corrupted_valid_messages_raise_ber_error_only(data: st.DataObject) -> None:
    corrupted = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 4))):
        corrupted[data.draw(st.integers(0, len(VALID) - 1))] = data.draw(st.integers(0, 255))
    check_decoding(ber.decode_response, bytes(corrupted))


# TLV trees of the tags a message uses, with lengths that may lie: garbage that gets deep
TAGS = [0x02, 0x04, 0x05, 0x06, 0x40, 0x41, 0x43, 0x44, 0x46, 0x80, 0x81, 0x82, 0x47, 0xFF]
LEAVES = st.tuples(st.sampled_from(TAGS), st.binary(max_size=12)).map(lambda leaf: ber.tlv(*leaf))
TREES = st.recursive(
    LEAVES,
    lambda children: st.tuples(st.sampled_from([0x30, 0xA2, 0xA0]), st.lists(children, max_size=4)).map(
        lambda node: ber.tlv(node[0], b"".join(node[1]))
    ),
    max_leaves=12,
)


GARBAGE = st.one_of(
    TREES.map(lambda tree: ber.tlv(ber.SEQUENCE, b"\x02\x01\x01\x04\x06public" + tree)),
    st.lists(st.tuples(st.one_of(oids(max_arcs=12).map(ber.encode_oid), LEAVES), TREES), max_size=4).map(
        lambda rows: response(b"".join(ber.tlv(ber.SEQUENCE, name + value) for name, value in rows))
    ),
)


@given(GARBAGE, st.data())
def test_structured_garbage_raises_ber_error_only(garbage: bytes, data: st.DataObject) -> None:
    corrupted = bytearray(garbage)
    corrupted[data.draw(st.integers(0, len(garbage) - 1))] = data.draw(st.integers(0, 255))
    for candidate in (garbage, bytes(corrupted)):
        check_decoding(ber.decode_response, candidate)
