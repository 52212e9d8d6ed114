"""The one SNMP client of the project: reads GALERA-MIB objects from a node.

Messages are built and parsed by our own codecs -- :mod:`~galera_snmp.snmp.ber` for SNMPv2c and
the PDU, :mod:`~galera_snmp.snmp.usm` for SNMPv3's user-based security -- and sent over one plain
UDP socket. No SNMP library is imported: a one-shot check pays the same few milliseconds over
SNMPv2c as over SNMPv3 authPriv, whose only extra costs are two round trips of discovery, two
key localizations and the cipher (docs/BENCHMARKS.md, "SNMPv3").

A timeout, an unresolvable host, a report from the agent or a garbled answer is an
:class:`SnmpError`, never a value; the message never holds a secret.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence

from ..record import field, record
from . import ber
from .ber import Missing, Value
from .types import ERROR_STATUS, OID, SECURITY_LEVELS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: check_galera starts faster
if TYPE_CHECKING:
    from typing import TypeVar

    from . import usm

    Result = TypeVar("Result")

__all__ = ["OID", "Client", "Missing", "SnmpError", "SnmpTimeout", "Target", "Value"]

# the names check_snmp (net-snmp) takes for -a and -x, as usm.py knows them; imported from there
# only for a version 3 target (hashlib and hmac cost a v2c check ~3 ms)
AUTH_NAMES = ("MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
PRIV_NAMES = ("AES", "AES-192", "AES-256")
PRIV_ALIASES = {"AES-128": "AES", "AES128": "AES", "AES192": "AES-192", "AES256": "AES-256"}
MIN_PASSWORD = 8  # RFC 3414 section 11.2; net-snmp refuses shorter pass phrases too
# What one walk may bring, at most: GALERA-MIB is a few hundred instances (the member table grows by
# its columns per member); an agent that never ends a subtree is an error, not a loop.
MAX_WALK_ROWS = 10_000
MAX_WALK_OCTETS = 4 * 1024 * 1024


class SnmpError(Exception):
    """No usable answer; the message says why, in one line and without secrets."""


class SnmpTimeout(SnmpError):
    pass


@record
class Target:
    """Where and how to ask. Version 3 fields follow check_snmp's options (-P 3 -L -U -a -A -x -X);
    with version "2c" they are ignored. Secrets (community, pass phrases) stay out of repr()."""

    host: str
    port: int = 161
    community: str = field(default="public", repr=False)
    timeout: float = 1.0
    retries: int = 1
    version: str = "2c"
    user: str | None = None
    level: str = "authPriv"
    auth_protocol: str = "SHA"
    auth_password: str | None = field(default=None, repr=False)
    priv_protocol: str = "AES"
    priv_password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be from 1 to 65535, not {self.port!r}")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be positive, not {self.timeout!r}")
        if self.retries < 0:
            raise ValueError(f"retries must be 0 or more, not {self.retries!r}")
        if self.version not in ("2c", "3"):
            raise ValueError(f"SNMP version must be '2c' or '3', not {self.version!r}")
        if self.version == "2c":
            return
        if not self.user:
            raise ValueError("SNMPv3 needs a user (-U)")
        if self.level not in SECURITY_LEVELS:
            raise ValueError(f"SNMPv3 level must be one of {', '.join(SECURITY_LEVELS)}, not {self.level!r}")
        if self.level == "noAuthNoPriv":
            return
        auth = self.auth_protocol.upper()
        if auth not in AUTH_NAMES:
            raise ValueError(f"unknown auth protocol {self.auth_protocol!r}: use one of {', '.join(AUTH_NAMES)}")
        object.__setattr__(self, "auth_protocol", auth)
        _check_password("auth_password (-A)", self.auth_password, self.level)
        if self.level == "authPriv":
            priv = PRIV_ALIASES.get(self.priv_protocol.upper(), self.priv_protocol.upper())
            if priv == "DES":
                raise ValueError("DES privacy is not supported (56-bit keys are broken): give the user AES")
            if priv not in PRIV_NAMES:
                raise ValueError(f"unknown priv protocol {self.priv_protocol!r}: use one of {', '.join(PRIV_NAMES)}")
            object.__setattr__(self, "priv_protocol", priv)
            _check_password("priv_password (-X)", self.priv_password, self.level)


def _check_password(name: str, password: str | None, level: str) -> None:
    if not password:
        raise ValueError(f"SNMPv3 level {level} needs {name}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"{name} must have at least {MIN_PASSWORD} characters, it has {len(password)}")


def _resolve(host: str, port: int) -> tuple[int, tuple]:
    """(address family, socket address) of the first UDP address ``host`` resolves to."""
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    except (OSError, UnicodeError) as err:
        raise SnmpError(f"cannot resolve {host!r}: {getattr(err, 'strerror', None) or err}") from None
    return family, address


def _new_id() -> int:
    """A random request-id (and msgID): a late or forged answer to another request is not ours."""
    return int.from_bytes(os.urandom(4), "big") >> 1 or 1


class Client(contextlib.AbstractContextManager["Client"]):
    """Talks to one target over one UDP socket; for SNMPv3, the agent's engine (ID, boots, time)
    is discovered on the first request and kept for the next ones."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._where = f"{target.host}:{target.port}"
        family, address = _resolve(target.host, target.port)
        self._v3: _V3 | None = _V3(target) if target.version == "3" else None
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.connect(address)
        except OSError as err:  # no route, unusable address
            sock.close()
            raise SnmpError(f"{self._where}: {err.strerror or err}") from None
        self._sock = sock

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def get(self, oids: Sequence[OID]) -> dict[OID, Value]:
        oids = [tuple(oid) for oid in oids]
        answer = dict(self._request(oids))
        missing = [oid for oid in oids if oid not in answer]
        if missing:
            raise SnmpError(f"{self.target.host}: answer lacks {'.'.join(map(str, missing[0]))}")
        return answer

    def walk(self, root: OID, repetitions: int = 25) -> Iterator[tuple[OID, Value]]:
        """Every instance under ``root``, in order, with GETBULK; stops at the subtree's end, and
        with an SnmpError past MAX_WALK_ROWS rows or MAX_WALK_OCTETS octets of strings."""
        if repetitions < 1:
            raise ValueError(f"repetitions must be 1 or more, not {repetitions}")
        root = tuple(root)
        current = root
        rows = octets = 0
        while True:
            answer = self._request([current], repetitions)
            if not answer:
                return
            for oid, value in answer:
                if oid[: len(root)] != root or isinstance(value, Missing):
                    return
                if oid <= current:
                    raise SnmpError(f"{self.target.host}: OIDs not increasing at {'.'.join(map(str, oid))}")
                rows, octets = rows + 1, octets + (len(value) if isinstance(value, bytes) else 0)
                if rows > MAX_WALK_ROWS or octets > MAX_WALK_OCTETS:
                    raise SnmpError(f"{self.target.host}: the walk of {'.'.join(map(str, root))} goes on past "
                                    f"{MAX_WALK_ROWS} rows or {MAX_WALK_OCTETS} octets: refused")
                yield oid, value
                current = oid

    def _request(self, oids: list[OID], repetitions: int = 0) -> list[tuple[OID, Value]]:
        """GET ``oids``, or GETBULK from ``oids[0]`` if ``repetitions``: the answer's varbinds."""
        pdu_type = ber.GET_BULK if repetitions else ber.GET
        if self._v3 is not None:
            return self._v3_request(pdu_type, oids, repetitions)
        request_id = _new_id()
        community = self.target.community.encode()
        payload = ber.encode_message(community, ber.encode_pdu(pdu_type, request_id, oids, max_repetitions=repetitions))

        def read(data: bytes) -> tuple[int, int, list[tuple[OID, Value]]] | None:
            answer_id, status, index, varbinds = ber.decode_response(data, community)
            return (status, index, varbinds) if answer_id == request_id else None  # else a late answer

        status, index, varbinds = self._exchange(payload, read, "wrong community or agent down?")
        if status:
            raise SnmpError(f"{self.target.host}: {_error_status(status, index)}")
        return varbinds

    def _exchange(self, payload: bytes, read: Callable[[bytes], Result | None], hint: str) -> Result:
        """Send ``payload``, resent ``retries`` times, until ``read`` makes an answer of a datagram
        (None: not ours; BerError: garbled or forged, dropped and counted for the timeout message)."""
        garbled, why = 0, ""
        for _attempt in range(self.target.retries + 1):
            try:
                self._sock.send(payload)
            except OSError as err:
                raise SnmpError(f"{self._where}: {err.strerror or err}") from None
            deadline = time.monotonic() + self.target.timeout
            while (left := deadline - time.monotonic()) > 0:
                self._sock.settimeout(left)
                try:
                    data = self._sock.recv(65535)
                except TimeoutError:
                    break
                except OSError as err:  # ICMP port unreachable shows up here
                    raise SnmpError(f"{self._where}: {err.strerror or err}") from None
                try:
                    answer = read(data)
                except ber.BerError as err:
                    garbled, why = garbled + 1, str(err)
                    continue  # noise, a forgery or a broken agent: the timeout message tells
                if answer is not None:
                    return answer
        extra = f"; ignored {garbled} undecodable datagram(s), last: {why}" if garbled else ""
        raise SnmpTimeout(
            f"no answer from {self._where} ({self.target.retries + 1} x {self.target.timeout:g} s; {hint}){extra}"
        )

    def _v3_request(self, pdu_type: int, oids: list[OID], repetitions: int) -> list[tuple[OID, Value]]:
        """One request as the target's USM user. The agent's Reports are worded as errors, but
        for two that RFC 3414 means to be answered: not in time window (an authenticated Report
        brings the agent's clock: resend once) and unknown engine ID (restarted with another
        one: discover again, once)."""
        from . import usm

        assert self._v3 is not None
        v3 = self._v3
        resynced = rediscovered = False
        while True:
            if v3.engine is None:
                v3.engine = self._discover(v3.user)
            engine, request_id = v3.engine, _new_id()
            pdu = ber.encode_pdu(pdu_type, request_id, oids, max_repetitions=repetitions)
            v3.salt += 1
            payload = usm.request_message(request_id, pdu, v3.user, engine, v3.salt)

            def read(data: bytes, request_id: int = request_id, engine: usm.Engine = engine) -> usm.Answer:
                return usm.read_message(data, request_id, v3.user, engine)

            answer = self._exchange(payload, read, "agent down, wrong priv password or protocol?")
            if answer.authenticated:  # RFC 3414 3.2 7b: an authenticated message sets our clock
                v3.engine = answer.engine
            report = answer.report
            if report is None:  # a Response to this very request (usm.read_message)
                if answer.error_status:
                    raise SnmpError(f"{self.target.host}: {_error_status(answer.error_status, answer.error_index)}")
                return answer.varbinds
            if report == usm.NOT_IN_TIME_WINDOW and answer.authenticated and not resynced:
                resynced = True
                continue
            if report == usm.UNKNOWN_ENGINE_ID and not rediscovered:
                v3.engine, rediscovered = None, True
                continue
            reason = usm.REPORTS.get(report) or f"the agent reported {'.'.join(map(str, report))}"
            raise SnmpError(f"{self._where}: SNMPv3 user {self.target.user!r}: {reason}")

    def _discover(self, user: usm.User) -> usm.Engine:
        from . import usm

        msg_id = _new_id()
        answer = self._exchange(
            usm.discovery_message(msg_id),
            lambda data: usm.read_message(data, msg_id, user, None),
            "agent down, or no SNMPv3 there? (engine discovery)",
        )
        if answer.report != usm.UNKNOWN_ENGINE_ID or not answer.engine.id:
            raise SnmpError(f"{self._where}: SNMPv3 engine discovery: the agent did not tell its engine ID")
        return answer.engine


class _V3:
    """What a client keeps between SNMPv3 requests: the user, the agent's engine, the salt."""

    def __init__(self, target: Target) -> None:
        from . import usm

        self.user = usm.User(
            target.user or "",
            target.level,
            target.auth_protocol,
            target.auth_password,
            target.priv_protocol,
            target.priv_password,
        )
        self.engine: usm.Engine | None = None
        self.salt = usm.new_salt()


def _error_status(status: int, index: int) -> str:
    name = ERROR_STATUS[status] if 0 <= status < len(ERROR_STATUS) else "unknown"
    return f"error-status {name} ({status}) at varbind {index}"
