"""The one SNMP client of the project: reads GALERA-MIB objects from a node.

SNMPv2c requests are built with pysnmp's message codec and sent over a plain UDP socket: a
few milliseconds a GET, where pysnmp's high-level engine costs a few hundred to start. A
timeout, an unresolvable host or a garbled answer is an :class:`SnmpError`, never a value.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pyasn1.codec.ber import decoder, encoder
from pyasn1.error import PyAsn1Error
from pysnmp.proto import api

OID = tuple[int, ...]
_V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]


class SnmpError(Exception):
    """No usable answer; the message says why."""


class SnmpTimeout(SnmpError):
    pass


@dataclass(frozen=True)
class Missing:
    """noSuchObject, noSuchInstance or endOfMibView in place of a value."""

    kind: str


Value = int | bytes | OID | Missing


@dataclass(frozen=True)
class Target:
    host: str
    port: int = 161
    community: str = "public"
    timeout: float = 1.0
    retries: int = 1


def _convert(value: object) -> Value:
    name = type(value).__name__
    if name in ("NoSuchObject", "NoSuchInstance", "EndOfMibView"):
        return Missing(name)
    if name == "ObjectIdentifier":
        return tuple(value)  # type: ignore[arg-type]
    if name in ("OctetString", "IpAddress", "Opaque", "Bits"):
        return bytes(value)  # type: ignore[arg-type]
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, PyAsn1Error):
        raise SnmpError(f"unexpected value type {name}") from None


class Client:
    """Talks SNMPv2c to one target over one UDP socket."""

    def __init__(self, target: Target) -> None:
        self.target = target
        try:
            family, kind, proto, _, address = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_DGRAM)[0]
        except (socket.gaierror, UnicodeError) as err:
            raise SnmpError(f"cannot resolve {target.host!r}: {err}") from None
        self._sock = socket.socket(family, kind, proto)
        self._sock.connect(address)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def _request(self, pdu: object) -> list[tuple[OID, Value]]:
        request_id = random.randrange(1, 2**31 - 1)
        _V2C.apiPDU.set_request_id(pdu, request_id)
        message = _V2C.Message()
        _V2C.apiMessage.set_defaults(message)
        _V2C.apiMessage.set_community(message, self.target.community)
        _V2C.apiMessage.set_pdu(message, pdu)
        payload = encoder.encode(message)
        for _attempt in range(self.target.retries + 1):
            try:
                self._sock.send(payload)
            except OSError as err:
                raise SnmpError(f"{self.target.host}:{self.target.port}: {err.strerror or err}") from None
            deadline = time.monotonic() + self.target.timeout
            while (left := deadline - time.monotonic()) > 0:
                self._sock.settimeout(left)
                try:
                    data = self._sock.recv(65535)
                except TimeoutError:
                    break
                except OSError as err:  # ICMP port unreachable shows up here
                    raise SnmpError(f"{self.target.host}:{self.target.port}: {err.strerror or err}") from None
                answer = self._decode(data)
                if answer is None or _V2C.apiPDU.get_request_id(answer) != request_id:
                    continue  # a late answer to an earlier attempt, or noise
                status = int(_V2C.apiPDU.get_error_status(answer))
                if status:
                    index = int(_V2C.apiPDU.get_error_index(answer))
                    raise SnmpError(f"{self.target.host}: error-status {status} at varbind {index}")
                return [(tuple(oid), _convert(value)) for oid, value in _V2C.apiPDU.get_varbinds(answer)]
        raise SnmpTimeout(
            f"no answer from {self.target.host}:{self.target.port} "
            f"({self.target.retries + 1} x {self.target.timeout:g} s; wrong community or agent down?)"
        )

    @staticmethod
    def _decode(data: bytes) -> object | None:
        try:
            message, _ = decoder.decode(data, asn1Spec=_V2C.Message())
            return _V2C.apiMessage.get_pdu(message)
        except (PyAsn1Error, ValueError, TypeError):
            return None

    def get(self, oids: Sequence[OID]) -> dict[OID, Value]:
        pdu = _V2C.GetRequestPDU()
        _V2C.apiPDU.set_defaults(pdu)
        _V2C.apiPDU.set_varbinds(pdu, [(oid, _V2C.Null("")) for oid in oids])
        answer = dict(self._request(pdu))
        missing = [oid for oid in oids if oid not in answer]
        if missing:
            raise SnmpError(f"{self.target.host}: answer lacks {'.'.join(map(str, missing[0]))}")
        return answer

    def walk(self, root: OID, repetitions: int = 25) -> Iterator[tuple[OID, Value]]:
        """Every instance under ``root``, in order, with GETBULK; stops at the subtree's end."""
        current = root
        while True:
            pdu = _V2C.GetBulkRequestPDU()
            _V2C.apiBulkPDU.set_defaults(pdu)
            _V2C.apiBulkPDU.set_non_repeaters(pdu, 0)
            _V2C.apiBulkPDU.set_max_repetitions(pdu, repetitions)
            _V2C.apiBulkPDU.set_varbinds(pdu, [(current, _V2C.Null(""))])
            rows = self._request(pdu)
            if not rows:
                return
            for oid, value in rows:
                if oid[: len(root)] != root or isinstance(value, Missing):
                    return
                if oid <= current:
                    raise SnmpError(f"{self.target.host}: OIDs not increasing at {'.'.join(map(str, oid))}")
                yield oid, value
                current = oid
