"""SNMPv3 messages with the user-based security model, for the client's side of a request.

RFC 3412 (the message), RFC 3414 (USM: keys, HMAC, discovery, the time window), RFC 7860
(HMAC-SHA-2) and RFC 3826 (AES-128), plus AES-192/256 as net-snmp names them (keys extended as
draft-blumenthal-aes-usm-04 does). Built on hashlib, hmac and :mod:`~galera_snmp.snmp.cipher`:
what every Debian release has, and cheap to import, so a one-shot v3 check costs about what a v2c
one does. DES privacy is refused: 56-bit keys are broken, and OpenSSL 3 keeps DES in its legacy
provider only.

Everything read from the network is checked before it is believed: a garbled, foreign or
forged datagram raises :class:`~galera_snmp.snmp.ber.BerError` (the client drops it and keeps
waiting); a Report the agent sends about our request is returned for the client to word.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import time

from ..record import field, record
from . import ber
from .ber import SEQUENCE, BerError, encode_integer, expect, integer_field, octets, tlv
from .types import OID, Syntax

__all__ = [
    "AUTH_PROTOCOLS",
    "PRIV_PROTOCOLS",
    "REPORTS",
    "Answer",
    "Engine",
    "User",
    "discovery_message",
    "localized_key",
    "read_message",
    "request_message",
]

# check_snmp's / net-snmp's name: (hashlib's name, octets of the HMAC sent)
AUTH_PROTOCOLS = {
    "MD5": ("md5", 12),  # RFC 3414 HMAC-MD5-96
    "SHA": ("sha1", 12),  # RFC 3414 HMAC-SHA-96
    "SHA-224": ("sha224", 16),  # RFC 7860 usmHMAC128SHA224AuthProtocol
    "SHA-256": ("sha256", 24),  # usmHMAC192SHA256AuthProtocol
    "SHA-384": ("sha384", 32),  # usmHMAC256SHA384AuthProtocol
    "SHA-512": ("sha512", 48),  # usmHMAC384SHA512AuthProtocol
}
# name: key octets (AES-CFB128; RFC 3826 for 128, net-snmp's Blumenthal variant for 192 and 256)
PRIV_PROTOCOLS = {"AES": 16, "AES-192": 24, "AES-256": 32}
REFUSED_PRIV = {"DES": "DES privacy is not supported (56-bit keys are broken): create the user with AES"}

VERSION_3 = 3
USM_MODEL = 3
FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 0x01, 0x02, 0x04
MAX_MESSAGE = 65507  # msgMaxSize: the largest answer a UDP datagram carries
PASSWORD_OCTETS = 1_048_576  # RFC 3414 A.2: the pass phrase repeated to one megabyte, hashed
HASH_CHUNK = 16_384
SALT_OCTETS = 8
MAX_CLOCK = 2**31 - 1  # snmpEngineBoots and snmpEngineTime (RFC 3414 2.2.2)

USM_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)  # usmStats (RFC 3414): the counters a Report carries
REPORTS = {
    (*USM_STATS, 1, 0): "security level not allowed for this user",  # usmStatsUnsupportedSecLevels
    (*USM_STATS, 2, 0): "not in time window (agent rebooted or clock jump?)",  # usmStatsNotInTimeWindows
    (*USM_STATS, 3, 0): "unknown user",  # usmStatsUnknownUserNames
    (*USM_STATS, 4, 0): "unknown engine ID",  # usmStatsUnknownEngineIDs: the answer to discovery
    (*USM_STATS, 5, 0): "authentication failed (wrong auth password or protocol?)",  # usmStatsWrongDigests
    (*USM_STATS, 6, 0): "decryption failed (wrong priv password or protocol?)",  # usmStatsDecryptionErrors
}
NOT_IN_TIME_WINDOW = (*USM_STATS, 2, 0)
UNKNOWN_ENGINE_ID = (*USM_STATS, 4, 0)


@record
class User:
    """A USM user as the client speaks as it; pass phrases stay out of repr()."""

    name: str
    level: str = "authPriv"  # noAuthNoPriv, authNoPriv, authPriv
    auth_protocol: str = "SHA"
    auth_password: str | None = field(default=None, repr=False)
    priv_protocol: str = "AES"
    priv_password: str | None = field(default=None, repr=False)

    @property
    def flags(self) -> int:
        return {"noAuthNoPriv": 0, "authNoPriv": FLAG_AUTH, "authPriv": FLAG_AUTH | FLAG_PRIV}[self.level]

    def auth_key(self, engine_id: bytes) -> bytes:
        assert self.auth_password is not None
        return localized_key(self.auth_password, engine_id, AUTH_PROTOCOLS[self.auth_protocol][0])

    def priv_key(self, engine_id: bytes) -> bytes:
        """Localized with the auth protocol's hash (RFC 3826 3.1.2.1), extended if AES needs more."""
        assert self.priv_password is not None
        hash_name = AUTH_PROTOCOLS[self.auth_protocol][0]
        return localized_key(self.priv_password, engine_id, hash_name, PRIV_PROTOCOLS[self.priv_protocol])


@record
class Engine:
    """The agent's authoritative engine, as last learnt: ID, boots, and its time at ``seen`` (our
    monotonic clock), so that its time now can be told (RFC 3414 2.3)."""

    id: bytes
    boots: int
    time: int
    seen: float = 0.0

    def now(self) -> int:
        return min(self.time + int(time.monotonic() - self.seen), MAX_CLOCK)


@record
class Answer:
    """A Response or Report addressed to our request, with what its security parameters said."""

    pdu_type: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[OID, ber.Value]]
    engine: Engine
    authenticated: bool

    @property
    def report(self) -> OID | None:
        """For a Report, the usmStats counter (or other OID) that says what went wrong."""
        if self.pdu_type != ber.REPORT:
            return None
        return self.varbinds[0][0] if self.varbinds else ()


def password_to_key(password: bytes, hash_name: str) -> bytes:
    """RFC 3414 A.2 (and RFC 7860 4.2 for SHA-2): the hash of the pass phrase repeated to 1 MiB.
    Fed in chunks of whole repetitions: a fresh 1 MiB buffer costs more page faults than hashing."""
    if not password:
        raise ValueError("an empty pass phrase")
    chunk = password * max(1, HASH_CHUNK // len(password))
    digest = hashlib.new(hash_name)
    whole, rest = divmod(PASSWORD_OCTETS, len(chunk))
    for _ in range(whole):
        digest.update(chunk)
    digest.update(chunk[:rest])
    return digest.digest()


@functools.lru_cache(maxsize=32)
def localized_key(password: str, engine_id: bytes, hash_name: str, size: int = 0) -> bytes:
    """The key for one engine: H(Ku + engineID + Ku) (RFC 3414 A.2). ``size`` octets when given:
    cut, or extended by the hash of all so far (Blumenthal; net-snmp's AES-192/256). Cached per
    (pass phrase, engine) in this process; never written anywhere."""
    ku = password_to_key(password.encode(), hash_name)
    key = hashlib.new(hash_name, ku + engine_id + ku).digest()
    while size and len(key) < size:
        key += hashlib.new(hash_name, key).digest()
    return key[:size] if size else key


def _security_parameters(clock: tuple[bytes, int, int], user: str, mac_size: int, salt: bytes) -> tuple[bytes, int]:
    """UsmSecurityParameters for (engine ID, boots, time), with zeros for the HMAC: (its encoding,
    the zeros' offset in it)."""
    engine_id, boots, now = clock
    head = octets(engine_id) + encode_integer(boots) + encode_integer(now) + octets(user.encode())
    body = head + octets(bytes(mac_size)) + octets(salt)
    encoded = tlv(SEQUENCE, body)
    return encoded, len(encoded) - len(body) + len(head) + 2  # 2: the HMAC's tag and short length


def _message(msg_id: int, flags: int, security: bytes, data: bytes) -> tuple[bytes, int]:
    """An SNMPv3Message: (its encoding, the offset of the security parameters' content in it)."""
    header = tlv(SEQUENCE, encode_integer(msg_id) + encode_integer(MAX_MESSAGE) + octets(bytes((flags,)))
                 + encode_integer(USM_MODEL))  # fmt: skip
    wrapped = octets(security)
    before = encode_integer(VERSION_3) + header
    message = tlv(SEQUENCE, before + wrapped + data)
    body_start = len(message) - len(before + wrapped + data)
    return message, body_start + len(before) + len(wrapped) - len(security)


def _scoped_pdu(engine_id: bytes, pdu: bytes) -> bytes:
    return tlv(SEQUENCE, octets(engine_id) + octets(b"") + pdu)  # the default context


def _iv(boots: int, now: int, salt: bytes) -> bytes:
    """RFC 3826 3.1.2.1: the engine's boots and time as the message says them, then the salt."""
    return boots.to_bytes(4, "big") + now.to_bytes(4, "big") + salt


def discovery_message(msg_id: int) -> bytes:
    """A request an agent answers with its engine ID, boots and time in a Report (RFC 3414 4)."""
    pdu = ber.encode_pdu(ber.GET, msg_id, [])
    security = _security_parameters((b"", 0, 0), "", 0, b"")[0]
    return _message(msg_id, FLAG_REPORTABLE, security, _scoped_pdu(b"", pdu))[0]


def request_message(msg_id: int, pdu: bytes, user: User, engine: Engine, salt: int) -> bytes:
    """``pdu`` sent as ``user`` to ``engine``: encrypted and signed as the user's level says.
    ``salt`` must differ for every message sent with the same key (a counter does)."""
    flags = user.flags
    clock = (engine.id, engine.boots, engine.now())  # read once: the IV and the header must agree
    scoped = _scoped_pdu(engine.id, pdu)
    salt_octets = b""
    if flags & FLAG_PRIV:
        from .cipher import aes_cfb  # here: only privacy loads ctypes and libcrypto

        salt_octets = (salt % 2**64).to_bytes(SALT_OCTETS, "big")
        encrypted = aes_cfb(user.priv_key(engine.id), _iv(*clock[1:], salt_octets), scoped, encrypt=True)
        scoped = octets(encrypted)
    hash_name, mac_size = AUTH_PROTOCOLS[user.auth_protocol] if flags & FLAG_AUTH else ("", 0)
    security, mac_at = _security_parameters(clock, user.name, mac_size, salt_octets)
    message, security_at = _message(msg_id, flags | FLAG_REPORTABLE, security, scoped)
    if not flags & FLAG_AUTH:
        return message
    start = security_at + mac_at
    mac = hmac.new(user.auth_key(engine.id), message, hash_name).digest()[:mac_size]
    return message[:start] + mac + message[start + mac_size :]


def read_message(data: bytes, msg_id: int, user: User, engine: Engine | None) -> Answer:
    """The agent's answer to our message ``msg_id`` (whose request-id is the same number).
    BerError for anything that is not that, whole
    and genuine: garbage, another message's, another engine's or user's, a wrong HMAC, a Response
    at a lower level than we asked. A Report may come unauthenticated (an agent cannot sign for
    a user it does not know): ``authenticated`` says whether it was."""
    data = bytes(data)
    pos, end = ber.open_message(data, VERSION_3, "msgVersion", "SNMPv3")
    pos, header_end = expect(data, pos, end, SEQUENCE, "msgGlobalData")
    answer_id, pos = integer_field(data, pos, header_end, "msgID")
    _, pos = integer_field(data, pos, header_end, "msgMaxSize")
    flags_start, flags_end = expect(data, pos, header_end, Syntax.OCTET_STRING, "msgFlags")
    model, pos = integer_field(data, flags_end, header_end, "msgSecurityModel")
    if pos != header_end or flags_end - flags_start != 1:
        raise BerError("malformed msgGlobalData")
    if answer_id != msg_id:
        raise BerError(f"an answer to message {answer_id}, not ours")
    if model != USM_MODEL:
        raise BerError(f"security model {model}, not USM")
    flags = data[flags_start]
    security_start, pos = expect(data, header_end, end, Syntax.OCTET_STRING, "msgSecurityParameters")
    sec_start, sec_end = expect(data, security_start, pos, SEQUENCE, "UsmSecurityParameters")
    if sec_end != pos:
        raise BerError("trailing octets after UsmSecurityParameters")
    id_start, at = expect(data, sec_start, sec_end, Syntax.OCTET_STRING, "msgAuthoritativeEngineID")
    id_end = at
    boots, at = integer_field(data, at, sec_end, "msgAuthoritativeEngineBoots")
    clock, at = integer_field(data, at, sec_end, "msgAuthoritativeEngineTime")
    user_start, at = expect(data, at, sec_end, Syntax.OCTET_STRING, "msgUserName")
    user_end = at
    mac_start, at = expect(data, at, sec_end, Syntax.OCTET_STRING, "msgAuthenticationParameters")
    mac_end = at
    salt_start, at = expect(data, at, sec_end, Syntax.OCTET_STRING, "msgPrivacyParameters")
    if at != sec_end:
        raise BerError("trailing octets in UsmSecurityParameters")
    if not (0 <= boots <= MAX_CLOCK and 0 <= clock <= MAX_CLOCK):
        raise BerError("engine boots or time out of range")
    told = Engine(data[id_start:id_end], boots, clock, time.monotonic())
    authenticated = bool(flags & FLAG_AUTH)
    if flags & FLAG_PRIV and not authenticated:
        raise BerError("privacy without authentication")
    if authenticated:
        if engine is None or told.id != engine.id or data[user_start:user_end] != user.name.encode():
            raise BerError("signed for another engine or user")
        if user.level == "noAuthNoPriv":
            raise BerError("signed, but we have no key")
        hash_name, mac_size = AUTH_PROTOCOLS[user.auth_protocol]
        zeroed = data[:mac_start] + bytes(mac_end - mac_start) + data[mac_end:]
        expected = hmac.new(user.auth_key(engine.id), zeroed, hash_name).digest()[:mac_size]
        if not hmac.compare_digest(data[mac_start:mac_end], expected):
            raise BerError("wrong HMAC")
    scoped_at, scoped_end = pos, end
    if flags & FLAG_PRIV:
        if user.level != "authPriv":
            raise BerError("encrypted, but we have no key")
        from .cipher import aes_cfb
        cipher_start, cipher_end = expect(data, pos, end, Syntax.OCTET_STRING, "encryptedPDU")
        salt = data[salt_start:at]
        if len(salt) != SALT_OCTETS or cipher_end != end:
            raise BerError("malformed encryptedPDU")
        iv = _iv(told.boots, told.time, salt)
        data = aes_cfb(user.priv_key(told.id), iv, data[cipher_start:cipher_end], encrypt=False)
        scoped_at, scoped_end = 0, len(data)
    pos, stop = expect(data, scoped_at, scoped_end, SEQUENCE, "ScopedPDU")
    if stop != scoped_end:
        raise BerError("trailing octets after the ScopedPDU")
    _, pos = expect(data, pos, stop, Syntax.OCTET_STRING, "contextEngineID")
    _, pos = expect(data, pos, stop, Syntax.OCTET_STRING, "contextName")
    pdu_type, request_id, status, index, varbinds = ber.decode_pdu(data, pos, stop, (ber.RESPONSE, ber.REPORT))
    if pdu_type == ber.RESPONSE and (flags & (FLAG_AUTH | FLAG_PRIV)) != user.flags:
        raise BerError("a Response at another security level than the request")
    if pdu_type == ber.RESPONSE and request_id != msg_id:  # ours are equal; a Report may say 0 (RFC 3412 7.1)
        raise BerError(f"a Response to request {request_id}, not ours")
    return Answer(pdu_type, request_id, status, index, varbinds, told, authenticated)


def new_salt() -> int:
    """Where a process's salt counter starts: random, so that two runs never reuse an IV."""
    return int.from_bytes(os.urandom(SALT_OCTETS), "big")
