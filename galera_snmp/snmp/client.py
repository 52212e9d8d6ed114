"""The one SNMP client of the project: reads GALERA-MIB objects from a node.

SNMPv2c messages are built and parsed by :mod:`galera_snmp.snmp.ber` and sent over a plain UDP
socket: importing this module loads neither pysnmp nor pyasn1 (~90 ms, the whole budget of a
Nagios plugin run), and a GET takes well under a millisecond of our time. SNMPv3 needs USM
(keys, HMACs, ciphers, engine discovery), so it goes through pysnmp's asyncio hlapi, imported
only when a version 3 :class:`Target` is used.

A timeout, an unresolvable host or a garbled answer is an :class:`SnmpError`, never a value.
"""

from __future__ import annotations

import os
import socket
import time
import weakref
from collections.abc import Awaitable, Iterator, Sequence

from ..record import field, record
from . import ber
from .ber import Missing, Value
from .types import ERROR_STATUS, OID, SECURITY_LEVELS

__all__ = ["OID", "Client", "Missing", "SnmpError", "SnmpTimeout", "Target", "Value"]

# the names check_snmp (net-snmp) takes for -a and -x; pysnmp's constant for each
AUTH_PROTOCOLS = {
    "MD5": "USM_AUTH_HMAC96_MD5",
    "SHA": "USM_AUTH_HMAC96_SHA",
    "SHA-224": "USM_AUTH_HMAC128_SHA224",
    "SHA-256": "USM_AUTH_HMAC192_SHA256",
    "SHA-384": "USM_AUTH_HMAC256_SHA384",
    "SHA-512": "USM_AUTH_HMAC384_SHA512",
}
PRIV_PROTOCOLS = {
    "DES": "USM_PRIV_CBC56_DES",
    "AES": "USM_PRIV_CFB128_AES",
    # net-snmp's AES-192/256 localise keys as draft-blumenthal-aes-usm does: pysnmp's plain
    # USM_PRIV_CFB192_AES / CFB256_AES (the Cisco/Reeder variant) time out against snmpd.
    "AES-192": "USM_PRIV_CFB192_AES_BLUMENTHAL",
    "AES-256": "USM_PRIV_CFB256_AES_BLUMENTHAL",
}
PRIV_ALIASES = {"AES-128": "AES", "AES128": "AES", "AES192": "AES-192", "AES256": "AES-256"}
MIN_PASSWORD = 8  # RFC 3414 section 11.2; net-snmp refuses shorter pass phrases too



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
        if auth not in AUTH_PROTOCOLS:
            raise ValueError(f"unknown auth protocol {self.auth_protocol!r}: use one of {', '.join(AUTH_PROTOCOLS)}")
        object.__setattr__(self, "auth_protocol", auth)
        _check_password("auth_password (-A)", self.auth_password, self.level)
        if self.level == "authPriv":
            priv = PRIV_ALIASES.get(self.priv_protocol.upper(), self.priv_protocol.upper())
            if priv not in PRIV_PROTOCOLS:
                raise ValueError(
                    f"unknown priv protocol {self.priv_protocol!r}: use one of {', '.join(PRIV_PROTOCOLS)}"
                )
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


class Client:
    """Talks to one target: SNMPv2c over one UDP socket, or SNMPv3 through one pysnmp engine.

    Not for use inside a running asyncio event loop when the target is version 3 (the engine
    runs on a private loop of its own).
    """

    def __init__(self, target: Target) -> None:
        self.target = target
        self._where = f"{target.host}:{target.port}"
        family, address = _resolve(target.host, target.port)
        self._sock: socket.socket | None = None
        self._v3: _V3Session | None = None
        if target.version == "3":
            self._v3 = _V3Session(target, family, address)
        else:
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.connect(address)
            except OSError as err:  # no route, unusable address
                sock.close()
                raise SnmpError(f"{self._where}: {err.strerror or err}") from None
            self._sock = sock

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        if self._v3 is not None:
            self._v3.close()

    def get(self, oids: Sequence[OID]) -> dict[OID, Value]:
        oids = [tuple(oid) for oid in oids]
        answer = dict(self._request(oids))
        missing = [oid for oid in oids if oid not in answer]
        if missing:
            raise SnmpError(f"{self.target.host}: answer lacks {'.'.join(map(str, missing[0]))}")
        return answer

    def walk(self, root: OID, repetitions: int = 25) -> Iterator[tuple[OID, Value]]:
        """Every instance under ``root``, in order, with GETBULK; stops at the subtree's end."""
        if repetitions < 1:
            raise ValueError(f"repetitions must be 1 or more, not {repetitions}")
        root = tuple(root)
        current = root
        while True:
            rows = self._request([current], repetitions)
            if not rows:
                return
            for oid, value in rows:
                if oid[: len(root)] != root or isinstance(value, Missing):
                    return
                if oid <= current:
                    raise SnmpError(f"{self.target.host}: OIDs not increasing at {'.'.join(map(str, oid))}")
                yield oid, value
                current = oid

    def _request(self, oids: list[OID], repetitions: int = 0) -> list[tuple[OID, Value]]:
        """GET ``oids``, or GETBULK from ``oids[0]`` if ``repetitions``: the answer's varbinds."""
        if self._v3 is not None:
            return self._v3.request(oids, repetitions)
        return self._v2c(ber.GET_BULK if repetitions else ber.GET, oids, repetitions)

    def _v2c(self, pdu_type: int, oids: list[OID], repetitions: int = 0) -> list[tuple[OID, Value]]:
        """One request, resent ``retries`` times; only an answer with our request-id and community counts."""
        assert self._sock is not None
        request_id = int.from_bytes(os.urandom(4), "big") >> 1 or 1
        community = self.target.community.encode()
        payload = ber.encode_request(pdu_type, request_id, community, oids, max_repetitions=repetitions)
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
                    answer_id, status, index, varbinds = ber.decode_response(data, community)
                except ber.BerError as err:
                    garbled, why = garbled + 1, str(err)
                    continue  # noise, or a broken agent: the timeout message tells
                if answer_id != request_id:
                    continue  # a late answer to an earlier request
                if status:
                    raise SnmpError(f"{self.target.host}: {_error_status(status, index)}")
                return varbinds
        extra = f"; ignored {garbled} undecodable datagram(s), last: {why}" if garbled else ""
        raise SnmpTimeout(
            f"no answer from {self._where} ({self.target.retries + 1} x {self.target.timeout:g} s; "
            f"wrong community or agent down?){extra}"
        )


def _error_status(status: int, index: int) -> str:
    name = ERROR_STATUS[status] if 0 <= status < len(ERROR_STATUS) else "unknown"
    return f"error-status {name} ({status}) at varbind {index}"


# --- SNMPv3 ------------------------------------------------------------------------------------

# pysnmp's errorIndication class names, and what they most likely mean to an operator
V3_HINTS = {
    "WrongDigest": "authentication failed (wrong auth password or protocol?)",
    "AuthenticationFailure": "authentication failed (wrong auth password or protocol?)",
    "AuthenticationError": "authentication failed (wrong auth password or protocol?)",
    "UnknownUserName": "unknown user",
    "UnknownSecurityName": "unknown user",
    "UnsupportedSecurityLevel": "security level not allowed for this user",
    "DecryptionError": "decryption failed (wrong priv password or protocol?)",
    "NotInTimeWindow": "not in time window (agent rebooted or clock jump?)",
}


class _V3Session:
    """One pysnmp engine and USM user on a private event loop, so that the synchronous
    :class:`Client` API stays the same and the engine's discovered engine-id and keys are
    reused from one request to the next."""

    def __init__(self, target: Target, family: int, address: tuple) -> None:
        import asyncio
        import warnings

        with warnings.catch_warnings():  # pysnmp 7.1 imports pysmi names that pysmi 2 deprecates
            warnings.simplefilter("ignore", DeprecationWarning)
            from pyasn1.codec.ber import encoder
            from pysnmp.hlapi import varbinds
            from pysnmp.hlapi.v3arch import asyncio as hlapi

        self.target = target
        self._where = f"{target.host}:{target.port}"
        self._hlapi, self._encode, self._wait_for = hlapi, encoder.encode, asyncio.wait_for
        self._secrets = [s for s in (target.auth_password, target.priv_password, target.community) if s]
        # pysnmp's own timeout and retries apply to discovery and to the request in turn;
        # this outer bound only guards against a request that never completes.
        self._budget = 2 * (target.retries + 1) * target.timeout + 1
        self._loop = asyncio.new_event_loop()
        try:
            auth = getattr(hlapi, AUTH_PROTOCOLS[target.auth_protocol]) if target.level != "noAuthNoPriv" else None
            priv = getattr(hlapi, PRIV_PROTOCOLS[target.priv_protocol]) if target.level == "authPriv" else None
            self._user = hlapi.UsmUserData(
                target.user,
                authKey=target.auth_password if auth else None,
                privKey=target.priv_password if priv else None,
                authProtocol=auth or hlapi.USM_AUTH_NONE,
                privProtocol=priv or hlapi.USM_PRIV_NONE,
            )
            self._engine = hlapi.SnmpEngine()
            # Each request resolves its OIDs "with the MIB", which first adds pysmi's MIB
            # compiler and builds its parser: ~0.5 s per process to compile nothing, as our
            # OIDs are numeric and lookupMib=False. A compiler that knows no module stops that.
            builder = varbinds.MibViewControllerManager.get_mib_view_controller(self._engine.cache).mibBuilder
            builder.set_mib_compiler(_NoMibCompiler(), builder.get_mib_sources()[0].full_path())
            kind = hlapi.Udp6TransportTarget if family == socket.AF_INET6 else hlapi.UdpTransportTarget
            self._transport = self._run(kind.create(address[:2], timeout=target.timeout, retries=target.retries))
            self._context = hlapi.ContextData()
            # close() also at exit if the caller forgot: else asyncio complains on stderr
            # ("Task was destroyed but it is pending!"), and a plugin's stderr is read by people.
            self._finalizer = weakref.finalize(self, _shutdown, self._engine, self._loop)
        except SnmpError:
            self._loop.close()
            raise
        except Exception as err:  # noqa: BLE001 - pysnmp raises anything from PySnmpError to ValueError
            self._loop.close()
            raise self._error(err) from None

    def close(self) -> None:
        self._finalizer()  # runs _shutdown once, whoever calls first

    def _error(self, err: Exception) -> SnmpError:
        return SnmpError(self._scrub(f"{self._where}: SNMPv3: {type(err).__name__}: {err}"))

    def _run(self, coroutine: Awaitable[object]) -> object:  # pysnmp's own types
        try:
            return self._loop.run_until_complete(self._wait_for(coroutine, self._budget))
        except TimeoutError:
            raise SnmpTimeout(f"no answer from {self._where} within {self._budget:g} s") from None
        except SnmpError:
            raise
        except Exception as err:  # noqa: BLE001 - pysnmp raises anything from PySnmpError to ValueError
            raise self._error(err) from None

    def _scrub(self, message: str) -> str:
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return " ".join(message.split())  # one line

    def request(self, oids: list[OID], repetitions: int = 0) -> list[tuple[OID, Value]]:
        """GET ``oids``, or GETBULK from ``oids[0]`` if ``repetitions``: the varbinds in order."""
        hlapi = self._hlapi
        names = [hlapi.ObjectType(hlapi.ObjectIdentity(oid), hlapi.Null("")) for oid in oids]
        if repetitions:
            command = hlapi.bulk_cmd(
                self._engine, self._user, self._transport, self._context, 0, repetitions, *names, lookupMib=False
            )
        else:
            command = hlapi.get_cmd(self._engine, self._user, self._transport, self._context, *names, lookupMib=False)
        indication, status, index, varbinds = self._run(command)
        if indication:
            if type(indication).__name__ == "RequestTimedOut":
                raise SnmpTimeout(
                    f"no answer from {self._where} ({self.target.retries + 1} x {self.target.timeout:g} s; "
                    f"agent down, wrong priv password or protocol?)"
                )
            hint = V3_HINTS.get(type(indication).__name__, str(indication))
            raise SnmpError(self._scrub(f"{self._where}: SNMPv3 user {self.target.user!r}: {hint}"))
        if status:
            raise SnmpError(f"{self.target.host}: {_error_status(int(status), int(index))}")
        try:
            return [(tuple(name), ber.decode_value(self._encode(value))) for name, value in varbinds]
        except ber.BerError as err:
            raise SnmpError(f"{self._where}: unusable value in the answer: {err}") from None


def _shutdown(engine: object, loop: object) -> None:
    """Close the engine's transport and timer, then the loop: a finalizer of :class:`_V3Session`."""
    try:
        engine.close_dispatcher()
        loop.run_until_complete(loop.shutdown_asyncgens())  # lets the cancelled timer task finish
    finally:
        loop.close()


class _NoMibCompiler:
    """Stands in for pysmi's MIB compiler (see :class:`_V3Session`): every module is missing."""

    def compile(self, *names: str, **options: object) -> dict[str, str]:
        return dict.fromkeys(names, "missing")
