"""AgentX: the codec, the OID tree (GET / GETNEXT / GETBULK) against a reference, the session
against a fake master, and the stock pyagentx3 bugs that made us write our own data path."""

from __future__ import annotations

import functools
import queue
import socket
import struct
import threading
from types import MappingProxyType

import pyagentx3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyagentx3.network import Network
from pyagentx3.pdu import PDU

from galera_snmp.snmp import agentx
from galera_snmp.snmp.agentx import (
    CLOSE,
    GET,
    GETBULK,
    GETNEXT,
    MAX_PDU,
    NOTIFY,
    RESPONSE,
    SNMP_TRAP_OID,
    TESTSET,
    AgentxError,
    ConnectionLost,
    OidTree,
    Refused,
    Session,
    encode_header,
    encode_oid,
    encode_varbind,
    parse_header,
    parse_request,
)
from galera_snmp.snmp.mib import BY_NAME, GALERA_MIB, STATUS, encode, render
from galera_snmp.snmp.types import Syntax
from galera_snmp.state import Health, Member, NodeReport, NodeState, Position, ProcessState, SeqnoSource, Status
from galera_snmp.wsrep import classify

ENTERPRISE = "1.3.6.1.4.1.32473"
BYTE_ORDER = pyagentx3.AX_PDU_FLAG_BYTE_ORDER
CONTEXT = pyagentx3.AX_PDU_FLAG_CONTEXT
IO_TIMEOUT = 5.0


# --- helpers written independently of galera_snmp.snmp.agentx -------------------------------------


def oid_bytes(oid: tuple[int, ...], include: bool = False, order: str = "!") -> bytes:
    """RFC 2741 5.1 Object Identifier, in either byte order."""
    if len(oid) >= 5 and oid[:4] == (1, 3, 6, 1) and 0 < oid[4] < 256:
        prefix, rest = oid[4], oid[5:]
    else:
        prefix, rest = 0, oid
    return struct.pack("BBBB", len(rest), prefix, int(include), 0) + struct.pack(f"{order}{len(rest)}I", *rest)


def read_oid(data: bytes, pos: int, order: str = "!") -> tuple[tuple[int, ...], bool, int]:
    n_subid, prefix, include, _ = data[pos : pos + 4]
    subids = struct.unpack_from(f"{order}{n_subid}I", data, pos + 4)
    oid = ((1, 3, 6, 1, prefix) if prefix else ()) + tuple(subids)
    return oid, bool(include), pos + 4 + 4 * n_subid


def decode_varbinds(data: bytes, order: str = "!") -> list[tuple[int, tuple[int, ...], object]]:
    """(type, name, value) for every VarBind of a VarBindList."""
    out: list[tuple[int, tuple[int, ...], object]] = []
    pos = 0
    while pos < len(data):
        vtype, _ = struct.unpack_from(f"{order}HH", data, pos)
        name, _, pos = read_oid(data, pos + 4, order)
        value: object = None
        if vtype == 2:
            (value,) = struct.unpack_from(f"{order}i", data, pos)
            pos += 4
        elif vtype in (65, 66, 67):
            (value,) = struct.unpack_from(f"{order}I", data, pos)
            pos += 4
        elif vtype == 70:
            (value,) = struct.unpack_from(f"{order}Q", data, pos)
            pos += 8
        elif vtype == 4:
            (length,) = struct.unpack_from(f"{order}I", data, pos)
            value = data[pos + 4 : pos + 4 + length]
            assert len(value) == length
            pos += 4 + length + (-length % 4)
        elif vtype == 6:
            value, _, pos = read_oid(data, pos, order)
        else:
            assert vtype in (5, 128, 129, 130), vtype
        out.append((vtype, name, value))
    assert pos == len(data)
    return out


def request_pdu(
    kind: int,
    ranges: list[tuple[tuple[int, ...], tuple[int, ...], bool]],
    *,
    order: str = "!",
    non_repeaters: int = 0,
    max_repetitions: int = 0,
    context: bytes | None = None,
    ids: tuple[int, int, int] = (11, 22, 33),
) -> bytes:
    """A Get / GetNext / GetBulk PDU built by hand (RFC 2741 6.2.5 - 6.2.7)."""
    encode = encode_oid if order == "!" else functools.partial(oid_bytes, order=order)
    flags = BYTE_ORDER if order == "!" else 0
    payload = b""
    if context is not None:
        flags |= CONTEXT
        payload += struct.pack(f"{order}I", len(context)) + context + b"\0" * (-len(context) % 4)
    if kind == GETBULK:
        payload += struct.pack(f"{order}HH", non_repeaters, max_repetitions)
    for start, end, include in ranges:
        payload += encode(start, include) + encode(end)
    head = struct.pack("BBBB", 1, kind, flags, 0) + struct.pack(f"{order}IIII", *ids, len(payload))
    return head + payload


def parse(data: bytes) -> agentx.Request:
    header = parse_header(data)
    return parse_request(header, data[pyagentx3.AX_PDU_HDR_LEN : pyagentx3.AX_PDU_HDR_LEN + header.payload_length])


def oid_of(dotted: str) -> tuple[int, ...]:
    return tuple(int(part) for part in dotted.split("."))


# --- codec -----------------------------------------------------------------------------------


def test_encode_oid_compresses_the_internet_prefix():
    # 1.3.6.1.4.1.32473.1 -> prefix 4 (1.3.6.1.4), then 1.32473.1
    assert encode_oid((1, 3, 6, 1, 4, 1, 32473, 1)) == (
        b"\x03\x04\x00\x00" + b"\x00\x00\x00\x01" + b"\x00\x00\x7e\xd9" + b"\x00\x00\x00\x01"
    )
    assert encode_oid((1, 3, 6, 1, 4, 1, 32473, 1), include=True)[2] == 1
    # exactly 1.3.6.1.x compresses to no sub-identifiers at all (as net-snmp does)
    assert encode_oid((1, 3, 6, 1, 6)) == b"\x00\x06\x00\x00"


@pytest.mark.parametrize(
    ("oid", "expected"),
    [
        ((1, 0, 8802, 1), b"\x04\x00\x00\x00" + struct.pack("!4I", 1, 0, 8802, 1)),
        ((1, 3, 6, 1), b"\x04\x00\x00\x00" + struct.pack("!4I", 1, 3, 6, 1)),  # the prefix alone
        ((1, 3, 6, 1, 0, 5), b"\x06\x00\x00\x00" + struct.pack("!6I", 1, 3, 6, 1, 0, 5)),  # 0 is no prefix
        ((1, 3, 6, 1, 256, 5), b"\x06\x00\x00\x00" + struct.pack("!6I", 1, 3, 6, 1, 256, 5)),  # > 1 byte
        ((), b"\x00\x00\x00\x00"),
    ],
)
def test_encode_oid_without_compression(oid, expected):
    assert encode_oid(oid) == expected
    assert read_oid(expected, 0) == (oid, False, len(expected))


OID_A = (1, 3, 6, 1, 4, 1, 32473, 1, 1, 1, 0)
OID_A_BYTES = encode_oid(OID_A)


@pytest.mark.parametrize(
    ("syntax", "value", "data"),
    [
        (Syntax.INTEGER, -5, b"\xff\xff\xff\xfb"),
        (Syntax.INTEGER, 2**31 - 1, b"\x7f\xff\xff\xff"),
        (Syntax.INTEGER, -(2**31), b"\x80\x00\x00\x00"),
        (Syntax.GAUGE32, 2**32 - 1, b"\xff\xff\xff\xff"),
        (Syntax.GAUGE32, 7, b"\x00\x00\x00\x07"),
        (pyagentx3.TYPE_COUNTER32, 2**32 - 2, b"\xff\xff\xff\xfe"),
        (pyagentx3.TYPE_TIMETICKS, 100, b"\x00\x00\x00\x64"),
        (Syntax.COUNTER64, 2**64 - 1, b"\xff" * 8),
        (Syntax.COUNTER64, 2**64 - 2, b"\xff" * 7 + b"\xfe"),
        (Syntax.COUNTER64, 2**32 + 7, b"\x00\x00\x00\x01\x00\x00\x00\x07"),
        (Syntax.OCTET_STRING, b"abcde", b"\x00\x00\x00\x05abcde\x00\x00\x00"),
        (Syntax.OCTET_STRING, b"abcd", b"\x00\x00\x00\x04abcd"),
        (Syntax.OCTET_STRING, b"ab", b"\x00\x00\x00\x02ab\x00\x00"),
        (Syntax.OCTET_STRING, b"", b"\x00\x00\x00\x00"),
        (Syntax.OBJECT_IDENTIFIER, (1, 3, 6, 1, 4, 1, 32473, 0, 1), encode_oid((1, 3, 6, 1, 4, 1, 32473, 0, 1))),
        (Syntax.NO_SUCH_OBJECT, None, b""),
        (Syntax.NO_SUCH_INSTANCE, None, b""),
        (Syntax.END_OF_MIB_VIEW, None, b""),
    ],
)
def test_encode_varbind(syntax, value, data):
    encoded = encode_varbind(OID_A, syntax, value)
    assert encoded == struct.pack("!HH", int(syntax), 0) + OID_A_BYTES + data
    [(vtype, name, decoded)] = decode_varbinds(encoded)
    assert (vtype, name) == (int(syntax), OID_A)
    assert decoded == value


def test_encode_varbind_agrees_with_pyagentx3_decoder():
    """A second, independent decoder reads our bytes the same way."""
    for syntax, value, expected in [
        (Syntax.GAUGE32, 12345, 12345),
        (Syntax.COUNTER64, 2**63 + 5, 2**63 + 5),
        (Syntax.OCTET_STRING, "nöde✓".encode(), "nöde✓".encode()),
        (Syntax.OBJECT_IDENTIFIER, (1, 3, 6, 1, 4, 1, 32473, 0, 4), "1.3.6.1.4.1.32473.0.4"),
    ]:
        pdu = PDU()
        pdu.set_decode_buf(encode_varbind(OID_A, syntax, value))
        decoded, ok = pdu.decode_value()
        assert ok
        assert decoded == {"type": int(syntax), "name": ".".join(map(str, OID_A)), "data": expected}
        assert pdu.decode_buf == b""


def test_encode_header_is_network_byte_order():
    data = encode_header(RESPONSE, 0x01020304, 5, 6, b"\0" * 8)
    assert data[:4] == bytes([1, RESPONSE, BYTE_ORDER, 0])
    assert data[4:20] == struct.pack("!IIII", 0x01020304, 5, 6, 8)
    assert PDU.decode_header(data)["session_id"] == 0x01020304


RANGES = [
    ((1, 3, 6, 1, 4, 1, 32473, 1, 1, 1, 0), (), False),
    ((1, 3, 6, 1, 4, 1, 32473, 1), (1, 3, 6, 1, 4, 1, 32473, 2), True),
    ((1, 0, 8802, 1), (1, 0, 8802, 2, 7), False),
    ((1, 3, 6, 1, 300, 4), (), True),
]


@pytest.mark.parametrize("order", ["!", "<"])
@pytest.mark.parametrize("kind", [GET, GETNEXT])
def test_request_round_trip(order, kind):
    request = parse(request_pdu(kind, RANGES, order=order))
    assert request.header.type == kind
    assert (request.header.session_id, request.header.transaction_id, request.header.packet_id) == (11, 22, 33)
    assert request.header.order == order
    assert request.ranges == tuple(RANGES)
    assert (request.non_repeaters, request.max_repetitions) == (0, 0)


@pytest.mark.parametrize("order", ["!", "<"])
def test_getbulk_round_trip(order):
    request = parse(request_pdu(GETBULK, RANGES, order=order, non_repeaters=1, max_repetitions=0x0102))
    assert request.ranges == tuple(RANGES)
    assert (request.non_repeaters, request.max_repetitions) == (1, 0x0102)


def test_hand_built_network_order_pdu_equals_encode_header():
    data = request_pdu(GET, RANGES[:1])
    assert data == encode_header(GET, 11, 22, 33, data[20:])
    assert oid_bytes(RANGES[1][0], True) == encode_oid(RANGES[1][0], True)


@pytest.mark.parametrize("order", ["!", "<"])
@pytest.mark.parametrize("context", [b"", b"a", b"ctx", b"ctx4", b"context5"])
@pytest.mark.parametrize("kind", [GET, GETNEXT, GETBULK])
def test_non_default_context_is_skipped(order, context, kind):
    request = parse(request_pdu(kind, RANGES, order=order, context=context, non_repeaters=2, max_repetitions=9))
    assert request.header.flags & CONTEXT
    assert request.ranges == tuple(RANGES)
    if kind == GETBULK:
        assert (request.non_repeaters, request.max_repetitions) == (2, 9)


_oid_st = st.lists(st.integers(0, 2**32 - 1) | st.sampled_from([1, 3, 4, 6]), max_size=12).map(tuple)


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from([GET, GETNEXT, GETBULK]),
    order=st.sampled_from(["!", "<"]),
    ranges=st.lists(
        st.tuples(
            st.one_of(_oid_st, _oid_st.map(lambda o: (1, 3, 6, 1, 4, 1, *o))),
            st.one_of(st.just(()), _oid_st),
            st.booleans(),
        ),
        max_size=6,
    ),
    context=st.none() | st.binary(max_size=9),
    bulk=st.tuples(st.integers(0, 65535), st.integers(0, 65535)),
)
def test_request_round_trip_property(kind, order, ranges, context, bulk):
    data = request_pdu(kind, ranges, order=order, context=context, non_repeaters=bulk[0], max_repetitions=bulk[1])
    request = parse(data)
    assert request.ranges == tuple(ranges)
    if kind == GETBULK:
        assert (request.non_repeaters, request.max_repetitions) == bulk


def _range_ends(kind: int, ranges, order: str) -> set[int]:
    """Payload offsets at which a request ends cleanly (after a whole SearchRange)."""
    data = request_pdu(kind, ranges, order=order, non_repeaters=1, max_repetitions=2)
    header = parse_header(data)
    pos = 4 if kind == GETBULK else 0
    ends = {pos}
    payload = data[20:]
    while pos < len(payload):
        _, _, pos = read_oid(payload, pos, order)
        _, _, pos = read_oid(payload, pos, order)
        ends.add(pos)
    assert pos == header.payload_length
    return ends


@pytest.mark.parametrize("order", ["!", "<"])
@pytest.mark.parametrize("kind", [GET, GETNEXT, GETBULK])
def test_truncated_payload_raises(order, kind):
    data = request_pdu(kind, RANGES, order=order, non_repeaters=1, max_repetitions=2)
    header = parse_header(data)
    payload = data[20:]
    clean = _range_ends(kind, RANGES, order)
    cuts = [n for n in range(len(payload)) if n not in clean]
    assert cuts
    for n in cuts:
        with pytest.raises(AgentxError):
            parse_request(header, payload[:n])
    assert parse_request(header, payload).ranges == tuple(RANGES)


@pytest.mark.parametrize("kind", [GET, GETNEXT, GETBULK])
def test_truncated_context_raises(kind):
    """A context octet string longer than the payload is a broken PDU, not an empty request."""
    data = request_pdu(kind, RANGES[:1], context=b"a-long-context-name", non_repeaters=0, max_repetitions=1)
    header = parse_header(data)
    for n in (4, 8, 12):  # cut inside the context
        with pytest.raises(AgentxError):
            parse_request(header, data[20 : 20 + n])


@pytest.mark.parametrize("version", [0, 2, 255])
def test_wrong_version_raises(version):
    data = bytearray(request_pdu(GET, RANGES[:1]))
    data[0] = version
    with pytest.raises(AgentxError, match="version"):
        parse_header(bytes(data))


@pytest.mark.parametrize("order", ["!", "<"])
@pytest.mark.parametrize("length", [MAX_PDU + 4, 2**32 - 4, 2**31, 6, 1])
def test_absurd_payload_length_raises(order, length):
    flags = BYTE_ORDER if order == "!" else 0
    data = struct.pack("BBBB", 1, GET, flags, 0) + struct.pack(f"{order}IIII", 1, 2, 3, length)
    with pytest.raises(AgentxError, match="length"):
        parse_header(data)


@pytest.mark.parametrize("order", ["!", "<"])
def test_header_byte_order(order):
    flags = BYTE_ORDER if order == "!" else 0
    data = struct.pack("BBBB", 1, GETNEXT, flags, 0) + struct.pack(f"{order}IIII", 0x01020304, 7, 8, MAX_PDU)
    header = parse_header(data)
    assert (header.type, header.session_id, header.transaction_id, header.packet_id) == (GETNEXT, 0x01020304, 7, 8)
    assert header.payload_length == MAX_PDU
    assert header.order == order


# --- the OID tree against a reference --------------------------------------------------------


def ref_less(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """a < b in SNMP's lexicographic order, written out (no tuple comparison)."""
    i = 0
    while i < len(a) and i < len(b):
        if a[i] != b[i]:
            return a[i] < b[i]
        i += 1
    return len(a) < len(b)


def ref_sorted(oids) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = []
    for oid in oids:  # insertion sort with ref_less
        pos = 0
        while pos < len(out) and ref_less(out[pos], oid):
            pos += 1
        if pos == len(out) or out[pos] != oid:
            out.insert(pos, oid)
    return out


def ref_next(oids, start, end=(), include=False):
    """The first stored OID at or after (include) / after start, if it is before end (when given)."""
    for oid in ref_sorted(oids):
        if ref_less(start, oid) or (include and oid == start):
            if end and not ref_less(oid, end):
                return None
            return oid
    return None


def test_reference_order_is_snmp_order():
    assert ref_sorted([(2,), (1, 10), (1,), (1, 1), (1, 0), (1, 2), (1, 1, 0), (10,)]) == [
        (1,),
        (1, 0),
        (1, 1),
        (1, 1, 0),
        (1, 2),
        (1, 10),
        (2,),
        (10,),
    ]
    assert ref_next([(1, 1), (1, 10)], (1, 2)) == (1, 10)
    assert ref_next([(1, 1), (1, 10)], (1, 1), include=True) == (1, 1)
    assert ref_next([(1, 1), (1, 10)], (1, 1), end=(1, 10)) is None


def make_tree(oids, objects=()) -> OidTree:
    return OidTree([(oid, Syntax.GAUGE32, i) for i, oid in enumerate(oids)], objects)


ALPHABET = st.sampled_from([0, 1, 2, 3, 10, 100])


def _oids(min_size=1, max_size=8):
    return st.lists(ALPHABET, min_size=min_size, max_size=max_size).map(tuple)


@st.composite
def stored_oids(draw) -> list[tuple[int, ...]]:
    """OIDs that share prefixes often (tables, .1 next to .10)."""
    prefixes = draw(st.lists(_oids(1, 4), min_size=1, max_size=4))
    stored = set()
    for _ in range(draw(st.integers(0, 25))):
        prefix = draw(st.sampled_from(prefixes))
        stored.add((prefix + draw(_oids(0, 4)))[:8])
    return draw(st.permutations(sorted(stored)))


def draw_probe(data, stored) -> tuple[int, ...]:
    """A start or end OID: stored, a prefix of one, an extension, a neighbour, or random."""
    how = data.draw(st.integers(0, 4)) if stored else 4
    if how == 4:
        return data.draw(_oids(0, 9))
    oid = data.draw(st.sampled_from(stored))
    if how == 1:
        return oid[: data.draw(st.integers(0, len(oid) - 1))]
    if how == 2:
        return oid + data.draw(_oids(1, 3))
    if how == 3:
        return (*oid[:-1], data.draw(st.sampled_from([oid[-1] + 1, max(0, oid[-1] - 1), 4, 11, 99])))
    return oid


@settings(max_examples=250, deadline=None)
@given(stored=stored_oids(), data=st.data())
def test_next_oid_matches_reference(stored, data):
    tree = make_tree(stored)
    for _ in range(5):
        start = draw_probe(data, stored)
        end = draw_probe(data, stored) if data.draw(st.booleans()) else ()
        include = data.draw(st.booleans())
        expected = ref_next(stored, start, end, include)
        assert tree.next_oid(start, end, include) == expected, (start, end, include)
        found, varbind = tree.get_next(start, end, include)
        if expected is None:
            assert (found, varbind) == (start, encode_varbind(start, Syntax.END_OF_MIB_VIEW))
        else:
            assert found == expected
            assert varbind == encode_varbind(expected, Syntax.GAUGE32, stored.index(expected))


def test_next_oid_examples():
    tree = make_tree([(1, 1), (1, 1, 5), (1, 10), (1, 2, 0), (2,)])
    assert tree.oids == [(1, 1), (1, 1, 5), (1, 2, 0), (1, 10), (2,)]
    assert tree.next_oid((1, 1)) == (1, 1, 5)
    assert tree.next_oid((1, 1), include=True) == (1, 1)
    assert tree.next_oid((1, 1, 5, 0)) == (1, 2, 0)
    assert tree.next_oid((1, 3)) == (1, 10)
    assert tree.next_oid((1, 10, 0)) == (2,)
    assert tree.next_oid((1, 3), end=(1, 10)) is None
    assert tree.next_oid((2,)) is None
    assert tree.next_oid(()) == (1, 1)


MIB_OBJECT = (*GALERA_MIB, 1, 1, 1)
MIB_TABLE_COLUMN = (*GALERA_MIB, 1, 6, 1, 3)


def test_get():
    rows = [
        ((*MIB_OBJECT, 0), Syntax.INTEGER, 5),
        ((*MIB_TABLE_COLUMN, 1), Syntax.OCTET_STRING, b"node1"),
    ]
    tree = OidTree(rows, [MIB_OBJECT, MIB_TABLE_COLUMN, (*GALERA_MIB, 1, 1, 2)])
    assert tree.get((*MIB_OBJECT, 0)) == encode_varbind((*MIB_OBJECT, 0), Syntax.INTEGER, 5)
    assert decode_varbinds(tree.get((*MIB_TABLE_COLUMN, 1))) == [(4, (*MIB_TABLE_COLUMN, 1), b"node1")]
    # an object we know, but without this instance
    for oid in [(*MIB_OBJECT, 1), (*MIB_TABLE_COLUMN, 2), (*GALERA_MIB, 1, 1, 2, 0)]:
        assert decode_varbinds(tree.get(oid)) == [(Syntax.NO_SUCH_INSTANCE, oid, None)]
    # not an object at all
    for oid in [(*GALERA_MIB, 1, 1, 99, 0), (*MIB_OBJECT,), (1, 3, 6, 1, 2, 1, 1, 1, 0), (*GALERA_MIB, 1)]:
        assert decode_varbinds(tree.get(oid)) == [(Syntax.NO_SUCH_OBJECT, oid, None)]


@pytest.mark.parametrize("oid", [(*MIB_OBJECT, 0, 0), (*MIB_OBJECT, 1, 2, 3), (*MIB_TABLE_COLUMN, 1, 5)])
def test_get_deeper_name_under_a_known_object_is_no_such_instance(oid):
    """RFC 3416 4.2.1: a name whose prefix is a known object is noSuchInstance, whatever the
    number of sub-identifiers after it (noSuchObject is only for names under no object)."""
    tree = OidTree([((*MIB_OBJECT, 0), Syntax.INTEGER, 5)], [MIB_OBJECT, MIB_TABLE_COLUMN])
    assert decode_varbinds(tree.get(oid)) == [(Syntax.NO_SUCH_INSTANCE, oid, None)]


def test_answer_get_and_getnext_requests():
    tree = make_tree([(1, 3, 6, 1, 4, 1, 32473, 1, 1, 0), (1, 3, 6, 1, 4, 1, 32473, 1, 2, 0)])
    first, second = tree.oids
    get = parse(request_pdu(GET, [(first, (), False), ((1, 2), (), False)]))
    assert [v[:2] for v in decode_varbinds(tree.answer(get))] == [(66, first), (Syntax.NO_SUCH_OBJECT, (1, 2))]
    getnext = parse(request_pdu(GETNEXT, [(first, (), False), (second, (), False), ((1, 3), (), False)]))
    assert [v[:2] for v in decode_varbinds(tree.answer(getnext))] == [
        (66, second),
        (Syntax.END_OF_MIB_VIEW, second),
        (66, first),
    ]


EOM = "endOfMibView"


def ref_bulk(stored, ranges, non_repeaters, max_repetitions):
    """RFC 2741 7.2.3.3 done the long way, then trailing rounds that are all endOfMibView dropped
    (the first round is always answered)."""

    def step(start, end, include):
        found = ref_next(stored, start, end, include)
        return (start, EOM) if found is None else (found, stored.index(found))

    n = min(non_repeaters, len(ranges))
    out = [step(*r) for r in ranges[:n]]
    cursors = list(ranges[n:])
    rounds = []
    for _ in range(max_repetitions if cursors else 0):
        row = [step(*c) for c in cursors]
        rounds.append(row)
        cursors = [(found, end, False) for (found, _), (_, end, _) in zip(row, cursors, strict=True)]
    while len(rounds) > 1 and all(value == EOM for _, value in rounds[-1]):
        rounds.pop()
    return out + [item for row in rounds for item in row]


def encode_expected(items) -> bytes:
    return b"".join(
        encode_varbind(oid, Syntax.END_OF_MIB_VIEW) if value == EOM else encode_varbind(oid, Syntax.GAUGE32, value)
        for oid, value in items
    )


@settings(max_examples=200, deadline=None)
@given(
    stored=stored_oids(),
    data=st.data(),
    non_repeaters=st.integers(0, 5),
    max_repetitions=st.integers(0, 6),
)
def test_getbulk_matches_reference(stored, data, non_repeaters, max_repetitions):
    tree = make_tree(stored)
    ranges = [
        (draw_probe(data, stored), draw_probe(data, stored) if bounded else (), include)
        for include, bounded in data.draw(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=4))
    ]
    request = parse(request_pdu(GETBULK, ranges, non_repeaters=non_repeaters, max_repetitions=max_repetitions))
    assert tree.answer(request) == encode_expected(ref_bulk(stored, ranges, non_repeaters, max_repetitions))


def test_getbulk_example():
    a, b, c = (1, 1, 0), (1, 2, 0), (1, 3, 0)
    tree = make_tree([a, b, c])  # values 0, 1, 2
    request = parse(request_pdu(GETBULK, [((1,), (), False), ((1, 1), (), False)], non_repeaters=1, max_repetitions=2))
    assert [v[1:] for v in decode_varbinds(tree.answer(request))] == [(a, 0), (a, 0), (b, 1)]


def test_getbulk_stops_when_every_repeater_is_exhausted():
    a, b, c = (1, 1, 0), (1, 2, 0), (1, 3, 0)
    tree = make_tree([a, b, c])
    request = parse(request_pdu(GETBULK, [((1,), (), False), ((1, 2), (), False)], max_repetitions=50))
    got = decode_varbinds(tree.answer(request))
    # round 1: a, b; round 2: b, c; round 3: c, endOfMibView (carrying c, its start); then stop
    assert [(t, name) for t, name, _ in got] == [
        (66, a),
        (66, b),
        (66, b),
        (66, c),
        (66, c),
        (Syntax.END_OF_MIB_VIEW, c),
    ]


def test_getbulk_end_of_mib_view_carries_the_start_oid():
    tree = make_tree([(1, 1), (1, 2)])
    start = (5, 5, 5)
    request = parse(request_pdu(GETBULK, [(start, (), False), ((1, 2), (), True)], non_repeaters=1, max_repetitions=3))
    assert decode_varbinds(tree.answer(request)) == [
        (Syntax.END_OF_MIB_VIEW, start, None),
        (66, (1, 2), 1),
    ]
    empty = OidTree([])
    request = parse(request_pdu(GETBULK, [(start, (), False), ((1,), (), False)], max_repetitions=4))
    end = Syntax.END_OF_MIB_VIEW
    assert decode_varbinds(empty.answer(request)) == [(end, start, None), (end, (1,), None)]


def test_getbulk_without_repeaters_or_repetitions():
    tree = make_tree([(1, 1), (1, 2)])
    request = parse(request_pdu(GETBULK, [((1,), (), False)], non_repeaters=5, max_repetitions=9))
    assert decode_varbinds(tree.answer(request)) == [(66, (1, 1), 0)]
    request = parse(request_pdu(GETBULK, [((1,), (), False), ((1, 1), (), False)], non_repeaters=1))
    assert decode_varbinds(tree.answer(request)) == [(66, (1, 1), 0)]


# --- the stock pyagentx3 bugs ----------------------------------------------------------------


def stock_network() -> Network:
    return Network(queue.Queue(), [], {}, "x", "/nonexistent")


def stock_update(network: Network, oid: str, rows: dict[str, tuple[int, object]]) -> None:
    """Queue one updater result the way pyagentx3.Updater does, and let the network apply it."""
    data = {name: {"name": name, "type": vtype, "value": value} for name, (vtype, value) in rows.items()}
    network._queue.put({"oid": oid, "data": data})
    network._get_updates()


STOCK_ROWS = {
    f"{ENTERPRISE}.1.1": {"1.0": (2, 1), "2.0": (2, 2), "3.0": (2, 3)},
    f"{ENTERPRISE}.1.6.1": {"2.1": (4, "a"), "2.2": (4, "b"), "3.1": (4, "c")},
}
END = "1.3.6.1.4.1.32474"


@pytest.mark.parametrize(
    ("start", "correct", "stock"),
    [
        # after the last scalar of a group that does not exist: stock finds nothing
        (f"{ENTERPRISE}.1.1.3.5", f"{ENTERPRISE}.1.6.1.2.1", None),
        # below an existing instance: stock goes *backwards* (an NMS walk loops forever)
        (f"{ENTERPRISE}.1.1.2.0.1", f"{ENTERPRISE}.1.1.3.0", f"{ENTERPRISE}.1.1.2.0"),
        # between rows of a table: stock finds nothing
        (f"{ENTERPRISE}.1.6.1.2.3", f"{ENTERPRISE}.1.6.1.3.1", None),
    ],
)
def test_stock_getnext_is_wrong_for_missing_start_and_ours_is_right(start, correct, stock):
    network = stock_network()
    for oid, rows in STOCK_ROWS.items():
        stock_update(network, oid, rows)
    stored = list(network.data_idx)
    assert len(stored) == 6
    assert ref_next([oid_of(s) for s in stored], oid_of(start), oid_of(END)) == oid_of(correct)

    assert network._get_next_oid(start, END) == stock  # stock: wrong

    tree = make_tree([oid_of(s) for s in stored])
    assert tree.next_oid(oid_of(start), oid_of(END)) == oid_of(correct)  # ours: right


def test_stock_update_wipes_sibling_subtree_and_ours_keeps_both():
    network = stock_network()
    stock_update(network, f"{ENTERPRISE}.10", {"1.0": (2, 10)})
    assert f"{ENTERPRISE}.10.1.0" in network.data
    stock_update(network, f"{ENTERPRISE}.1", {"1.0": (2, 1)})
    assert f"{ENTERPRISE}.1.1.0" in network.data
    assert f"{ENTERPRISE}.10.1.0" not in network.data  # stock: ".1" wiped ".10"

    one, ten = (*GALERA_MIB, 1, 1, 0), (*GALERA_MIB, 10, 1, 0)
    tree = OidTree([(ten, Syntax.INTEGER, 10), (one, Syntax.INTEGER, 1)])
    assert decode_varbinds(tree.get(one)) == [(2, one, 1)]
    assert decode_varbinds(tree.get(ten)) == [(2, ten, 10)]
    assert tree.next_oid(GALERA_MIB) == one
    assert tree.next_oid(one) == ten


def test_a_new_render_replaces_the_whole_tree():
    """We never patch a tree: each refresh renders everything, so nothing stale survives."""
    members = (Member("u1", "node1", "10.0.0.1:3306", "c"), Member("u2", "node2", "10.0.0.2:3306", "c"))
    first = render(serve_context(members=members, wsrep={"wsrep_replicated": classify("wsrep_replicated", "5")}))
    second = render(serve_context(members=members[:1], wsrep={}))
    tree = OidTree(first)
    assert tree.oids == [oid for oid, _, _ in first]
    replicated = (*BY_NAME["galeraReplicated"].oid, 0)
    assert decode_varbinds(tree.get(replicated)) == [(70, replicated, 5)]
    tree = OidTree(second)
    assert tree.oids == [oid for oid, _, _ in second]
    assert len(second) < len(first)
    assert tree.get(replicated)[:2] == struct.pack("!H", Syntax.NO_SUCH_OBJECT)
    assert (*agentx.INTERNET, 4, 1, 32473, 1, 6, 1, 3, 2) in OidTree(first).oids
    assert (*agentx.INTERNET, 4, 1, 32473, 1, 6, 1, 3, 2) not in tree.oids


def test_stock_value_encoding_raises_and_ours_does_not():
    oid = f"{ENTERPRISE}.1.1.1.0"
    with pytest.raises(struct.error):
        PDU().encode_value(pyagentx3.TYPE_INTEGER, oid, 1.5)
    with pytest.raises(UnicodeEncodeError):
        PDU().encode_value(pyagentx3.TYPE_OCTETSTRING, oid, "nöde✓")
    with pytest.raises(struct.error):
        PDU().encode_value(pyagentx3.TYPE_COUNTER64, oid, 2**64)

    assert encode(Syntax.INTEGER, 1.5) is None  # a float never reaches the wire
    assert encode(Syntax.COUNTER64, 2**64) is None
    text = encode(Syntax.OCTET_STRING, "nöde✓")
    assert text == "nöde✓".encode()
    [(vtype, name, value)] = decode_varbinds(encode_varbind(oid_of(oid), Syntax.OCTET_STRING, text))
    assert (vtype, name, value.decode("utf-8")) == (4, oid_of(oid), "nöde✓")


# --- a fake AgentX master --------------------------------------------------------------------


def recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError(f"peer closed after {len(data)} of {size} bytes")
        data += chunk
    return data


class Pdu:
    """One PDU as the master reads it."""

    def __init__(self, sock: socket.socket) -> None:
        head = recv_exact(sock, 20)
        self.version, self.type, self.flags, _ = head[:4]
        self.order = "!" if self.flags & BYTE_ORDER else "<"
        self.session_id, self.transaction_id, self.packet_id, length = struct.unpack_from(f"{self.order}IIII", head, 4)
        self.payload = recv_exact(sock, length)


def master_response(request: Pdu, error: int = 0, session_id: int | None = None) -> bytes:
    pdu = PDU(pyagentx3.AGENTX_RESPONSE_PDU)
    pdu.session_id = request.session_id if session_id is None else session_id
    pdu.transaction_id = request.transaction_id
    pdu.packet_id = request.packet_id
    pdu.error = error
    return pdu.encode()


SESSION_ID = 42


class FakeMaster:
    """A UNIX stream socket that answers Open (with SESSION_ID), Ping and Register like snmpd."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(2)
        self.listener.settimeout(IO_TIMEOUT)
        self.conn: socket.socket | None = None
        self.seen: list[int] = []
        self.registered: tuple[int, ...] | None = None
        self.error: Exception | None = None
        self._thread: threading.Thread | None = None

    def accept(self) -> socket.socket:
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(IO_TIMEOUT)
        return self.conn

    def handshake(self, register_error: int = 0, open_error: int = 0) -> None:
        """Answer until the Register PDU has been answered."""
        conn = self.accept()
        while True:
            pdu = Pdu(conn)
            self.seen.append(pdu.type)
            if pdu.type == pyagentx3.AGENTX_OPEN_PDU:
                conn.sendall(master_response(pdu, open_error, session_id=SESSION_ID))
                if open_error:
                    return
            elif pdu.type == pyagentx3.AGENTX_PING_PDU:
                conn.sendall(master_response(pdu))
            elif pdu.type == pyagentx3.AGENTX_REGISTER_PDU:
                assert pdu.session_id == SESSION_ID
                _timeout, _priority, range_subid, _ = pdu.payload[:4]
                assert range_subid == 0
                self.registered, _, end = read_oid(pdu.payload, 4, pdu.order)
                assert end == len(pdu.payload)
                conn.sendall(master_response(pdu, register_error))
                return
            else:
                raise AssertionError(f"unexpected PDU type {pdu.type} during the handshake")

    def handshake_in_thread(self, **kwargs) -> None:
        def run() -> None:
            try:
                self.handshake(**kwargs)
            except (OSError, EOFError, AssertionError) as err:  # reported by join()
                self.error = err

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def join(self) -> None:
        assert self._thread is not None
        self._thread.join(IO_TIMEOUT)
        assert not self._thread.is_alive(), "the fake master is stuck"
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.listener.close()


@pytest.fixture
def master(tmp_path_factory):
    # a short directory: UNIX socket paths are limited to 108 bytes
    fake = FakeMaster(str(tmp_path_factory.mktemp("ax") / "master"))
    yield fake
    fake.close()


def connected_session(master: FakeMaster) -> Session:
    session = Session(master.path, GALERA_MIB, "galera-snmp-agent test", timeout=IO_TIMEOUT)
    master.handshake_in_thread()
    session.connect()
    master.join()
    return session


def serve_context(**changes) -> NodeReport:
    fields = {
        "taken_at": 1000.0,
        "status": Status.RUNNING,
        "reason": "Primary, local state 4 (Synced)",
        "position": Position(seqno=17, source=SeqnoSource.LIVE),
        "process": ProcessState.RUNNING,
        "local_state": 4,
        "local_state_comment": "Synced",
        "cluster_status": "Primary",
        "cluster_size": 3,
        "node_name": "node1",
        "wsrep": {},
    }
    fields.update(changes)
    fields["wsrep"] = MappingProxyType(dict(fields["wsrep"]))
    return NodeReport(NodeState(**fields), Health(True, "Synced, Primary, ready"), True, 0)


# --- stock registration errors ---------------------------------------------------------------


class _StockNetwork(Network):
    def _connect(self) -> None:
        # Same as stock, but with a timeout a loaded test machine cannot miss (stock: 0.1 s).
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.socket.connect(self._socket_path)
        self.socket.settimeout(IO_TIMEOUT)


def test_stock_ignores_a_refused_registration_and_ours_raises(master):
    network = _StockNetwork(queue.Queue(), [ENTERPRISE], {}, "stock", master.path)
    outcome: list[BaseException] = []

    def run_stock() -> None:
        try:
            network._start_network()
        except OSError as err:  # the master closed the socket (below)
            outcome.append(err)

    stock = threading.Thread(target=run_stock, daemon=True)
    stock.start()
    try:
        master.handshake(register_error=pyagentx3.ERROR_DUPLICATEREGISTRATION)
        assert master.seen == [pyagentx3.AGENTX_OPEN_PDU, pyagentx3.AGENTX_PING_PDU, pyagentx3.AGENTX_REGISTER_PDU]
        # Registration was refused, yet stock goes on to serve requests as if registered:
        assert master.conn is not None
        master.conn.sendall(request_pdu(GET, [(oid_of(ENTERPRISE), (), False)], ids=(SESSION_ID, 1, 77)))
        answer = Pdu(master.conn)
        assert (answer.type, answer.packet_id) == (RESPONSE, 77)
    finally:
        network.stop.set()
        master.close()
        stock.join(IO_TIMEOUT)
    assert not stock.is_alive()
    assert outcome  # it only ever stops because the socket went away


def test_our_session_raises_refused_on_duplicate_registration(master):
    session = Session(master.path, GALERA_MIB, "galera-snmp-agent test", timeout=IO_TIMEOUT)
    master.handshake_in_thread(register_error=pyagentx3.ERROR_DUPLICATEREGISTRATION)
    with pytest.raises(Refused, match="DUPLICATEREGISTRATION"):
        session.connect()
    master.join()
    session.close()


def test_our_session_raises_refused_when_open_fails(master):
    session = Session(master.path, GALERA_MIB, "galera-snmp-agent test", timeout=IO_TIMEOUT)
    master.handshake_in_thread(open_error=pyagentx3.ERROR_OPENFAILED)
    with pytest.raises(Refused, match="OPENFAILED"):
        session.connect()
    master.join()
    assert master.seen == [pyagentx3.AGENTX_OPEN_PDU]
    session.close()


def test_connect_without_master_raises_oserror(tmp_path_factory):
    session = Session(str(tmp_path_factory.mktemp("ax") / "nobody"), GALERA_MIB, "test", timeout=1)
    with pytest.raises(FileNotFoundError):
        session.connect()


# --- the session -----------------------------------------------------------------------------


def test_connect_opens_then_registers_the_galera_mib(master):
    session = connected_session(master)
    try:
        assert master.seen == [pyagentx3.AGENTX_OPEN_PDU, pyagentx3.AGENTX_REGISTER_PDU]
        assert master.registered == GALERA_MIB
        assert session.session_id == SESSION_ID
    finally:
        session.close()


def test_session_answers_get_getnext_and_getbulk(master):
    rows = render(serve_context())
    tree = OidTree(rows, [obj.oid for obj in BY_NAME.values()])
    session = connected_session(master)
    conn = master.conn
    status = (*BY_NAME["galeraStatus"].oid, 0)
    name = (*BY_NAME["galeraNodeName"].oid, 0)
    try:
        conn.sendall(
            request_pdu(GET, [(status, (), False), (name, (), False), ((1, 2, 3), (), False)], ids=(SESSION_ID, 5, 100))
        )
        session.serve_once(lambda: tree, IO_TIMEOUT)
        answer = Pdu(conn)
        assert (answer.type, answer.session_id, answer.transaction_id, answer.packet_id) == (
            RESPONSE,
            SESSION_ID,
            5,
            100,
        )
        _uptime, error, index = struct.unpack_from("!IHH", answer.payload)
        assert (error, index) == (0, 0)
        assert decode_varbinds(answer.payload[8:]) == [
            (2, status, STATUS[Status.RUNNING]),
            (4, name, b"node1"),
            (Syntax.NO_SUCH_OBJECT, (1, 2, 3), None),
        ]

        # GetNext in little-endian: answered (in network byte order, which the header says)
        conn.sendall(request_pdu(GETNEXT, [(GALERA_MIB, (), False)], order="<", ids=(SESSION_ID, 6, 101)))
        session.serve_once(lambda: tree, IO_TIMEOUT)
        answer = Pdu(conn)
        assert answer.packet_id == 101
        assert decode_varbinds(answer.payload[8:]) == [(2, status, STATUS[Status.RUNNING])]

        conn.sendall(request_pdu(GETBULK, [(GALERA_MIB, (), False)], max_repetitions=3, ids=(SESSION_ID, 7, 102)))
        session.serve_once(lambda: tree, IO_TIMEOUT)
        answer = Pdu(conn)
        assert [vb[1] for vb in decode_varbinds(answer.payload[8:])] == [oid for oid, _, _ in rows[:3]]
    finally:
        session.close()


def test_session_answers_a_broken_request_with_parse_error(master):
    session = connected_session(master)
    conn = master.conn
    try:
        data = request_pdu(GET, RANGES[:1], ids=(SESSION_ID, 1, 103))
        broken = data[:16] + struct.pack("!I", 8) + data[20:28]  # the first 8 bytes of the range only
        conn.sendall(broken)
        session.serve_once(lambda: OidTree([]), IO_TIMEOUT)
        answer = Pdu(conn)
        assert answer.packet_id == 103
        assert struct.unpack_from("!IHH", answer.payload)[1] == pyagentx3.ERROR_PARSEERROR
    finally:
        session.close()


def test_session_refuses_testset_as_not_writable(master):
    session = connected_session(master)
    conn = master.conn
    oid = (*BY_NAME["galeraNodeName"].oid, 0)
    try:
        payload = encode_varbind(oid, Syntax.OCTET_STRING, b"evil")
        conn.sendall(encode_header(TESTSET, SESSION_ID, 9, 104, payload))
        session.serve_once(lambda: OidTree([]), IO_TIMEOUT)
        answer = Pdu(conn)
        assert (answer.type, answer.transaction_id, answer.packet_id) == (RESPONSE, 9, 104)
        _uptime, error, index = struct.unpack_from("!IHH", answer.payload)
        assert (error, index) == (pyagentx3.ERROR_NOTWRITABLE, 1)
    finally:
        session.close()


def test_session_raises_connection_lost_when_the_master_closes_the_socket(master):
    session = connected_session(master)
    master.conn.close()
    master.conn = None
    with pytest.raises(ConnectionLost):
        session.serve_once(lambda: OidTree([]), IO_TIMEOUT)
    session.close()


def test_session_raises_connection_lost_on_close_pdu(master):
    session = connected_session(master)
    master.conn.sendall(encode_header(CLOSE, SESSION_ID, 0, 105, struct.pack("!BBBB", 1, 0, 0, 0)))
    with pytest.raises(ConnectionLost):
        session.serve_once(lambda: OidTree([]), IO_TIMEOUT)
    session.close()


def test_serve_once_returns_when_nothing_arrives(master):
    session = connected_session(master)
    try:
        session.serve_once(lambda: OidTree([]), 0.01)  # nothing sent: returns without answering
        master.conn.setblocking(False)
        with pytest.raises(BlockingIOError):
            master.conn.recv(1)
    finally:
        session.close()


def test_notify_sends_snmp_trap_oid_first(master):
    session = connected_session(master)
    trap = (*GALERA_MIB, 0, 1)
    status = (*BY_NAME["galeraStatus"].oid, 0)
    try:
        session.notify(trap, [encode_varbind(status, Syntax.INTEGER, 6)])
        pdu = Pdu(master.conn)
        assert pdu.type == NOTIFY
        assert pdu.session_id == SESSION_ID
        assert decode_varbinds(pdu.payload) == [
            (Syntax.OBJECT_IDENTIFIER, SNMP_TRAP_OID, trap),
            (2, status, 6),
        ]
        assert SNMP_TRAP_OID == (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
    finally:
        session.close()


def test_a_getbulk_answer_is_capped_in_size_round_by_round():
    """Many repeaters with a huge max-repetitions over a big tree: the answer stops after the
    round that reaches MAX_BULK_BYTES, and every round in it is whole."""
    tree = make_tree([(1, 3, 6, 1, 4, 1, 32473, 9, i, 0) for i in range(400)])
    starts = [(1, 3, 6, 1, 4, 1, 32473, 9, i) for i in range(0, 400, 4)]  # 100 repeaters
    request = parse(request_pdu(GETBULK, [(s, (), False) for s in starts], max_repetitions=10000))
    answer = tree.answer(request)
    varbinds = decode_varbinds(answer)
    rounds, rest = divmod(len(varbinds), len(starts))
    assert rest == 0
    assert len(answer) >= agentx.MAX_BULK_BYTES
    assert len(answer) - len(answer) // rounds < agentx.MAX_BULK_BYTES  # the round before was under the cap
    assert [name for _, name, _ in varbinds[: len(starts)]] == [(*s, 0) for s in starts]
