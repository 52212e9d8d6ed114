"""AgentX (RFC 2741) for a read-only subagent: the data-path codec, an OID tree that answers
GET / GETNEXT / GETBULK in true lexicographic order, and the session with the master agent.

pyagentx3 encodes and decodes the session's control PDUs (Open, Register, Close and the
master's Responses to them). Its network loop, updaters and value encoding are not used,
because of bugs that must not reach users (tests/unit/snmp/test_agentx.py shows each on the stock
code): its GETNEXT compares OIDs part by part and answers wrongly for start OIDs that do not
exist; an update wipes every OID whose *string* starts with the updater's (".1" wipes ".10");
a float or a non-Latin-1 string raises inside its network thread, which dies while the process
lives on unregistered; registration errors are ignored; and every PDU is hex-dumped for
logging whatever the log level.
"""

from __future__ import annotations

import logging
import select
import socket
import struct
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from typing import NamedTuple

import pyagentx3
from pyagentx3.pdu import PDU

from .types import MAX_BULK_BYTES, OID, Syntax

log = logging.getLogger(__name__)

INTERNET = (1, 3, 6, 1)
SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)

GET, GETNEXT, GETBULK = pyagentx3.AGENTX_GET_PDU, pyagentx3.AGENTX_GETNEXT_PDU, pyagentx3.AGENTX_GETBULK_PDU
TESTSET, CLEANUPSET = pyagentx3.AGENTX_TESTSET_PDU, pyagentx3.AGENTX_CLEANUPSET_PDU
RESPONSE, NOTIFY, CLOSE = pyagentx3.AGENTX_RESPONSE_PDU, pyagentx3.AGENTX_NOTIFY_PDU, pyagentx3.AGENTX_CLOSE_PDU
FLAG_NON_DEFAULT_CONTEXT = pyagentx3.AX_PDU_FLAG_CONTEXT
FLAG_NETWORK_BYTE_ORDER = pyagentx3.AX_PDU_FLAG_BYTE_ORDER
HEADER_LEN = pyagentx3.AX_PDU_HDR_LEN
MAX_PDU = 1 << 20  # a bigger payload means a broken stream, not a request


class AgentxError(Exception):
    """The master refused us or spoke something we cannot parse."""


class Refused(AgentxError):
    """The master answered with an error: retrying the same thing will not help."""


class ConnectionLost(Exception):
    """The master closed the session or the socket."""


# --- codec -----------------------------------------------------------------------------------


def encode_oid(oid: OID, include: bool = False) -> bytes:
    if len(oid) > 4 and oid[:4] == INTERNET and 0 < oid[4] < 256:
        prefix, rest = oid[4], oid[5:]
    else:
        prefix, rest = 0, oid
    return struct.pack(f"!BBBB{len(rest)}I", len(rest), prefix, int(include), 0, *rest)


def _octets(data: bytes) -> bytes:
    return struct.pack("!I", len(data)) + data + b"\0" * (-len(data) % 4)


def encode_varbind(oid: OID, syntax: int, value: int | bytes | OID | None = None) -> bytes:
    """One VarBind, network byte order. Values must already be valid (see mib.encode)."""
    head = struct.pack("!HH", syntax, 0) + encode_oid(oid)
    if syntax == Syntax.INTEGER:
        return head + struct.pack("!i", value)
    if syntax in (Syntax.GAUGE32, Syntax.COUNTER32, Syntax.TIMETICKS):
        return head + struct.pack("!I", value)
    if syntax == Syntax.COUNTER64:
        return head + struct.pack("!Q", value)
    if syntax == Syntax.OCTET_STRING:
        assert isinstance(value, bytes)
        return head + _octets(value)
    if syntax == Syntax.OBJECT_IDENTIFIER:
        assert isinstance(value, tuple)
        return head + encode_oid(value)
    return head  # noSuchObject, noSuchInstance, endOfMibView: no data


class Header(NamedTuple):  # a NamedTuple: built for every request, and cheap to build
    type: int
    flags: int
    session_id: int
    transaction_id: int
    packet_id: int
    payload_length: int

    @property
    def order(self) -> str:
        return "!" if self.flags & FLAG_NETWORK_BYTE_ORDER else "<"


# Precompiled: the header is parsed and built once per request.
_HEADER = {True: struct.Struct("!BBBBIIII"), False: struct.Struct("<BBBBIIII")}
_OID_HEAD = struct.Struct("BBBB")


def parse_header(data: bytes) -> Header:
    if len(data) < HEADER_LEN:
        raise AgentxError("truncated AgentX header")
    version, pdu_type, flags, _, session_id, transaction_id, packet_id, length = _HEADER[
        bool(data[2] & FLAG_NETWORK_BYTE_ORDER)
    ].unpack_from(data)
    if version != 1:
        raise AgentxError(f"AgentX version {version} is not 1")
    if length > MAX_PDU or length % 4:
        raise AgentxError(f"bad AgentX payload length {length}")
    return Header(pdu_type, flags, session_id, transaction_id, packet_id, length)


def encode_header(pdu_type: int, session_id: int, transaction_id: int, packet_id: int, payload: bytes) -> bytes:
    head = _HEADER[True].pack(
        1, pdu_type, FLAG_NETWORK_BYTE_ORDER, 0, session_id, transaction_id, packet_id, len(payload)
    )
    return head + payload


class Request(NamedTuple):
    header: Header
    ranges: tuple[tuple[OID, OID, bool], ...]  # (start, end, include); an empty end means no bound
    non_repeaters: int = 0
    max_repetitions: int = 0


def parse_request(header: Header, payload: bytes) -> Request:
    """Decode a Get, GetNext or GetBulk payload (RFC 2741 6.2.5 - 6.2.7)."""
    order, pos = header.order, 0
    try:
        if header.flags & FLAG_NON_DEFAULT_CONTEXT:
            (length,) = struct.unpack_from(f"{order}I", payload, pos)
            pos += 4 + length + (-length % 4)
            if pos > len(payload):
                raise struct.error("context longer than the payload")
        non_repeaters = max_repetitions = 0
        if header.type == GETBULK:
            non_repeaters, max_repetitions = struct.unpack_from(f"{order}HH", payload, pos)
            pos += 4
        ranges = []
        while pos < len(payload):
            start, include, pos = _read_oid(payload, pos, order)
            end, _, pos = _read_oid(payload, pos, order)
            ranges.append((start, end, include))
    except struct.error as err:
        raise AgentxError(f"truncated AgentX request: {err}") from None
    return Request(header, tuple(ranges), non_repeaters, max_repetitions)


def _read_oid(data: bytes, pos: int, order: str) -> tuple[OID, bool, int]:
    n_subid, prefix, include, _ = _OID_HEAD.unpack_from(data, pos)
    subids = struct.unpack_from(order + "I" * n_subid, data, pos + 4) if n_subid else ()
    oid = (*INTERNET, prefix, *subids) if prefix else tuple(subids)
    return oid, bool(include), pos + 4 + 4 * n_subid


# --- the served tree -------------------------------------------------------------------------


class OidTree:
    """An immutable, sorted set of instances with their VarBinds encoded once.

    Built by the refresh thread and swapped in whole; the session thread reads it without
    locks. GETNEXT is a binary search over OID tuples, which compare exactly in SNMP's
    lexicographic order.
    """

    def __init__(self, rows: Iterable[tuple[OID, Syntax, int | bytes]], objects: Iterable[OID] = ()) -> None:
        ordered = sorted(rows, key=lambda row: row[0])
        self.oids: list[OID] = [oid for oid, _, _ in ordered]
        self._varbinds = {oid: encode_varbind(oid, syntax, value) for oid, syntax, value in ordered}
        self._objects = frozenset(objects)

    def __len__(self) -> int:
        return len(self.oids)

    def __contains__(self, oid: object) -> bool:
        return oid in self._varbinds

    def next_oid(self, start: OID, end: OID = (), include: bool = False) -> OID | None:
        """The first instance >= start (include) or > start, and < end when end is given."""
        index = bisect_left(self.oids, start) if include else bisect_right(self.oids, start)
        if index == len(self.oids):
            return None
        found = self.oids[index]
        return None if end and found >= end else found

    def get(self, oid: OID) -> bytes:
        varbind = self._varbinds.get(oid)
        if varbind is not None:
            return varbind
        # RFC 3416 4.2.1: under a known object it is a missing instance, else a missing object
        known = any(oid[:n] in self._objects for n in range(1, len(oid)))
        return encode_varbind(oid, Syntax.NO_SUCH_INSTANCE if known else Syntax.NO_SUCH_OBJECT)

    def get_next(self, start: OID, end: OID = (), include: bool = False) -> tuple[OID, bytes]:
        found = self.next_oid(start, end, include)
        if found is None:
            return start, encode_varbind(start, Syntax.END_OF_MIB_VIEW)
        return found, self._varbinds[found]

    def answer(self, request: Request) -> bytes:
        """The VarBindList answering a Get, GetNext or GetBulk request."""
        kind = request.header.type
        if kind == GET:
            return b"".join(self.get(start) for start, _, _ in request.ranges)
        if kind == GETNEXT:
            return b"".join(self.get_next(*r)[1] for r in request.ranges)
        return self._bulk(request)

    def _bulk(self, request: Request) -> bytes:
        # RFC 2741 7.2.3.3: non-repeaters once, then up to max-repetitions rounds of the rest,
        # fewer once the answer reaches MAX_BULK_BYTES (each round stays whole).
        n = min(request.non_repeaters, len(request.ranges))
        out = [self.get_next(*r)[1] for r in request.ranges[:n]]
        size = sum(map(len, out))
        cursors = list(request.ranges[n:])
        for _ in range(request.max_repetitions if cursors else 0):
            advanced = []
            for start, end, include in cursors:
                found, varbind = self.get_next(start, end, include)
                out.append(varbind)
                size += len(varbind)
                advanced.append((found, end, False))
            cursors = advanced
            if size >= MAX_BULK_BYTES:
                break
            if all(self.next_oid(start, end) is None for start, end, _ in cursors):
                break  # every repeater is at its end: more rounds would only repeat endOfMibView
        return b"".join(out)


# --- the session -----------------------------------------------------------------------------


class Session:
    """One AgentX session: open, register our subtree, answer requests, send notifications."""

    def __init__(self, socket_path: str, subtree: OID, description: str, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.subtree = subtree
        self.description = description
        self.timeout = timeout
        self.session_id = 0
        self._sock: socket.socket | None = None
        self._buffer = b""
        self._packet_id = 0
        self.started = time.monotonic()

    def _next_packet(self) -> int:
        self._packet_id = (self._packet_id + 1) & 0xFFFFFFFF
        return self._packet_id

    def connect(self) -> None:
        """Connect, open and register. Raises OSError if the master is not there, AgentxError
        if it refuses us (a duplicate registration, say)."""
        self.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        # Blocking from now on: waits use select(), sends go out in one system call.
        sock.settimeout(None)
        self._sock, self._buffer = sock, b""
        opened = self._control(pyagentx3.AGENTX_OPEN_PDU)
        self.session_id = opened.session_id
        self._control(pyagentx3.AGENTX_REGISTER_PDU, oid=".".join(map(str, self.subtree)))
        self.started = time.monotonic()

    def _control(self, pdu_type: int, oid: str | None = None) -> PDU:
        """Send a control PDU with pyagentx3's encoder and wait for the master's Response."""
        pdu = PDU(pdu_type, agent_id=self.description)
        pdu.session_id = self.session_id
        pdu.packet_id = self._next_packet()
        if oid is not None:
            pdu.oid = oid
        self._send(pdu.encode())
        deadline = time.monotonic() + self.timeout
        while (left := deadline - time.monotonic()) > 0:
            header, payload = self._receive(left)
            if header is None or header.type != RESPONSE or header.packet_id != pdu.packet_id:
                continue
            reply = PDU()
            try:
                reply.decode(self._raw(header, payload))
                error = reply.response["error"]
            except (KeyError, AttributeError, struct.error):
                raise AgentxError("cannot parse the master's response") from None
            if error:
                name = pyagentx3.ERROR_NAMES.get(error, str(error))
                raise Refused(f"{pyagentx3.PDU_TYPE_NAME[pdu_type]} refused by the master: {name}")
            return reply
        raise AgentxError(f"no answer to {pyagentx3.PDU_TYPE_NAME[pdu_type]} within {self.timeout:g} s")

    @staticmethod
    def _raw(header: Header, payload: bytes) -> bytes:
        order = header.order
        head = struct.pack("BBBB", 1, header.type, header.flags, 0) + struct.pack(
            f"{order}IIII", header.session_id, header.transaction_id, header.packet_id, header.payload_length
        )
        return head + payload

    def _send(self, data: bytes) -> None:
        """Send without blocking; a master that stops reading for ``timeout`` is lost."""
        if self._sock is None:
            raise ConnectionLost("not connected")
        view = memoryview(data)
        try:
            while view:
                try:
                    view = view[self._sock.send(view, socket.MSG_DONTWAIT) :]
                except BlockingIOError:
                    if not select.select([], [self._sock], [], self.timeout)[1]:
                        raise ConnectionLost(f"the master did not read for {self.timeout:g} s") from None
        except OSError as err:
            raise ConnectionLost(f"send failed: {err}") from None

    def _receive(self, wait: float) -> tuple[Header | None, bytes]:
        """One whole PDU, or (None, b"") when none arrived within ``wait`` seconds."""
        assert self._sock is not None
        while True:
            if len(self._buffer) >= HEADER_LEN:
                header = parse_header(self._buffer)
                end = HEADER_LEN + header.payload_length
                if len(self._buffer) >= end:
                    payload = self._buffer[HEADER_LEN:end]
                    self._buffer = self._buffer[end:]
                    return header, payload
            try:
                if not select.select([self._sock], [], [], wait)[0]:
                    return None, b""
                chunk = self._sock.recv(65536)
            except OSError as err:
                raise ConnectionLost(f"receive failed: {err}") from None
            if not chunk:
                raise ConnectionLost("the master closed the connection")
            self._buffer += chunk

    def serve_once(self, tree: Callable[[], OidTree], wait: float) -> None:
        """Answer one PDU, if one arrives within ``wait`` seconds."""
        header, payload = self._receive(wait)
        if header is None:
            return
        if header.type in (GET, GETNEXT, GETBULK):
            try:
                varbinds = tree().answer(parse_request(header, payload))
                self._respond(header, varbinds)
            except AgentxError:
                self._respond(header, b"", error=pyagentx3.ERROR_PARSEERROR)
        elif header.type == TESTSET:
            self._respond(header, b"", error=pyagentx3.ERROR_NOTWRITABLE, index=1)
        elif header.type == CLOSE:
            raise ConnectionLost("the master closed the session")
        elif header.type == RESPONSE:
            if len(payload) >= 8:
                _, error, _ = struct.unpack_from(f"{header.order}IHH", payload)
                if error:
                    log.warning("the master answered packet %d with error %d", header.packet_id, error)
        elif header.type != CLEANUPSET:
            self._respond(header, b"", error=pyagentx3.ERROR_PROCESSINGERROR)

    def _respond(self, request: Header, varbinds: bytes, error: int = 0, index: int = 0) -> None:
        uptime = int((time.monotonic() - self.started) * 100) & 0xFFFFFFFF
        payload = struct.pack("!IHH", uptime, error, index) + varbinds
        self._send(encode_header(RESPONSE, request.session_id, request.transaction_id, request.packet_id, payload))

    def notify(self, trap_oid: OID, varbinds: Iterable[bytes]) -> None:
        """Send an SNMPv2 notification through the master (it adds sysUpTime.0)."""
        payload = encode_varbind(SNMP_TRAP_OID, Syntax.OBJECT_IDENTIFIER, trap_oid) + b"".join(varbinds)
        self._send(encode_header(NOTIFY, self.session_id, 0, self._next_packet(), payload))

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
