"""galera_snmp.snmp.usm: RFC 3414's key vectors, then our messages against pysnmp's independent
implementation both ways (its ASN.1 specs, key localization, HMACs and AES), then what a forger
or a broken agent may send."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from galera_snmp.snmp import ber, usm
from galera_snmp.snmp.client import AUTH_NAMES, PRIV_NAMES
from galera_snmp.snmp.usm import Engine, User

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from pyasn1.codec.ber import decoder, encoder
    from pyasn1.type import univ
    from pysnmp.proto import api, rfc1902
    from pysnmp.proto.mpmod.rfc3412 import ScopedPDU, SNMPv3Message
    from pysnmp.proto.secmod import rfc3414  # noqa: F401 - before eso: pysnmp's modules import each other
    from pysnmp.proto.secmod.eso.priv import aes192, aes256
    from pysnmp.proto.secmod.rfc3414.auth import hmacmd5, hmacsha
    from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters
    from pysnmp.proto.secmod.rfc3826.priv import aes
    from pysnmp.proto.secmod.rfc7860.auth import hmacsha2

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
PYSNMP_AUTH = {
    "MD5": hmacmd5.HmacMd5(),
    "SHA": hmacsha.HmacSha(),
    "SHA-224": hmacsha2.HmacSha2(hmacsha2.HmacSha2.SHA224_SERVICE_ID),
    "SHA-256": hmacsha2.HmacSha2(hmacsha2.HmacSha2.SHA256_SERVICE_ID),
    "SHA-384": hmacsha2.HmacSha2(hmacsha2.HmacSha2.SAH384_SERVICE_ID),
    "SHA-512": hmacsha2.HmacSha2(hmacsha2.HmacSha2.SHA512_SERVICE_ID),
}
PYSNMP_AUTH_ID = {
    "MD5": hmacmd5.HmacMd5.SERVICE_ID,
    "SHA": hmacsha.HmacSha.SERVICE_ID,
    "SHA-224": hmacsha2.HmacSha2.SHA224_SERVICE_ID,
    "SHA-256": hmacsha2.HmacSha2.SHA256_SERVICE_ID,
    "SHA-384": hmacsha2.HmacSha2.SAH384_SERVICE_ID,
    "SHA-512": hmacsha2.HmacSha2.SHA512_SERVICE_ID,
}
# net-snmp's AES-192/256 are the Blumenthal key extension (the test against real snmpd shows it)
PYSNMP_PRIV = {"AES": aes.Aes(), "AES-192": aes192.AesBlumenthal192(), "AES-256": aes256.AesBlumenthal256()}
ENGINE = Engine(bytes.fromhex("80001f8880c2d8a0b4e3c7f56700000000"), 7, 4242)


def their_auth_key(auth: str, password: str, engine_id: bytes) -> bytes:
    service = PYSNMP_AUTH[auth]
    return bytes(service.localize_key(service.hash_passphrase(password.encode()), univ.OctetString(engine_id)))


def their_priv_key(auth: str, priv: str, password: str, engine_id: bytes) -> bytes:
    cipher, auth_id = PYSNMP_PRIV[priv], PYSNMP_AUTH_ID[auth]
    key = cipher.hash_passphrase(auth_id, password.encode())
    return bytes(cipher.localize_key(auth_id, key, univ.OctetString(engine_id)))


def test_the_protocol_names_are_one_list() -> None:
    """Target checks names without importing usm (a v2c check stays light); they must agree."""
    assert AUTH_NAMES == tuple(usm.AUTH_PROTOCOLS) == tuple(PYSNMP_AUTH)
    assert PRIV_NAMES == tuple(usm.PRIV_PROTOCOLS) == tuple(PYSNMP_PRIV)


# --- keys -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hash_name", "ku", "kul"),
    [  # RFC 3414 A.3.1 and A.3.2: "maplesyrup", engine ID 00..02
        ("md5", "9faf3283884e92834ebc9847d8edd963", "526f5eed9fcce26f8964c2930787d82b"),
        ("sha1", "9fb5cc0381497b3793528939ff788d5d79145211", "6695febc9288e36282235fc7151f128497b38f3f"),
    ],
)
def test_rfc3414_key_localization_vectors(hash_name: str, ku: str, kul: str) -> None:
    engine_id = bytes.fromhex("000000000000000000000002")
    assert usm.password_to_key(b"maplesyrup", hash_name).hex() == ku
    assert usm.localized_key("maplesyrup", engine_id, hash_name).hex() == kul


@settings(max_examples=60, deadline=None)
@given(
    st.text(min_size=8, max_size=40),
    st.binary(min_size=5, max_size=32),
    st.sampled_from(AUTH_NAMES),
    st.sampled_from(PRIV_NAMES),
)
def test_keys_match_pysnmps(password: str, engine_id: bytes, auth: str, priv: str) -> None:
    user = User("u", "authPriv", auth, password, priv, password[::-1])
    assert user.auth_key(engine_id) == their_auth_key(auth, password, engine_id)
    assert user.priv_key(engine_id) == their_priv_key(auth, priv, password[::-1], engine_id)


# --- our requests, read by pysnmp -------------------------------------------------------------------

users = st.builds(
    lambda level, auth, priv: User("galeramon", level, auth, "auth-pass-phrase", priv, "priv-pass-phrase"),
    st.sampled_from(("noAuthNoPriv", "authNoPriv", "authPriv")),
    st.sampled_from(AUTH_NAMES),
    st.sampled_from(PRIV_NAMES),
)


def pysnmp_read(message: bytes, user: User) -> tuple[univ.Sequence, univ.Sequence]:
    """``message`` as pysnmp reads it, checked and decrypted by pysnmp's services: (USM params, PDU)."""
    whole, rest = decoder.decode(message, asn1Spec=SNMPv3Message())
    assert not rest
    params, rest = decoder.decode(whole["msgSecurityParameters"], asn1Spec=UsmSecurityParameters())
    assert not rest
    engine_id = bytes(params["msgAuthoritativeEngineId"])
    flags = bytes(whole["msgGlobalData"]["msgFlags"])[0]
    assert flags == user.flags | usm.FLAG_REPORTABLE
    if user.level != "noAuthNoPriv":
        key = their_auth_key(user.auth_protocol, user.auth_password, engine_id)
        PYSNMP_AUTH[user.auth_protocol].authenticate_incoming_message(  # raises if wrong
            univ.OctetString(key), params["msgAuthenticationParameters"], message)
    data = whole["msgData"]
    if user.level == "authPriv":
        key = their_priv_key(user.auth_protocol, user.priv_protocol, user.priv_password, engine_id)
        clear = PYSNMP_PRIV[user.priv_protocol].decrypt_data(
            univ.OctetString(key),
            (params["msgAuthoritativeEngineBoots"], params["msgAuthoritativeEngineTime"],
             params["msgPrivacyParameters"]),
            data["encryptedPDU"],
        )
        scoped, _ = decoder.decode(clear, asn1Spec=ScopedPDU())
    else:
        scoped = data["plaintext"]
    return params, scoped["data"].getComponent()


@settings(max_examples=80, deadline=None)
@given(users, st.integers(1, 2**31 - 1), st.integers(0, 2**64 - 1), st.lists(st.sampled_from(
    [SYS_UPTIME, (1, 3, 6, 1, 4, 1, 32473, 1, 1, 1, 0), (1, 3, 6, 1, 2, 1, 1, 1, 0)]), max_size=3))
def test_our_requests_verify_and_decrypt_with_pysnmp(user: User, msg_id: int, salt: int, oids: list) -> None:
    pdu = ber.encode_pdu(ber.GET, msg_id, oids)
    params, read = pysnmp_read(usm.request_message(msg_id, pdu, user, ENGINE, salt), user)
    assert bytes(params["msgUserName"]) == b"galeramon"
    assert int(params["msgAuthoritativeEngineBoots"]) == ENGINE.boots
    assert int(V2C.apiPDU.get_request_id(read)) == msg_id
    assert [tuple(name) for name, _ in V2C.apiPDU.get_varbinds(read)] == oids


def test_discovery_is_an_empty_reportable_get() -> None:
    whole, _ = decoder.decode(usm.discovery_message(77), asn1Spec=SNMPv3Message())
    assert bytes(whole["msgGlobalData"]["msgFlags"]) == b"\x04"
    params, _ = decoder.decode(whole["msgSecurityParameters"], asn1Spec=UsmSecurityParameters())
    assert (bytes(params["msgAuthoritativeEngineId"]), bytes(params["msgUserName"])) == (b"", b"")
    assert V2C.apiPDU.get_varbinds(whole["msgData"]["plaintext"]["data"].getComponent()) == []


def test_a_salt_is_never_reused_and_the_message_carries_it() -> None:
    user = User("u", "authPriv", "SHA", "auth-pass-phrase", "AES", "priv-pass-phrase")
    pdu = ber.encode_pdu(ber.GET, 1, [SYS_UPTIME])
    salts = {bytes(pysnmp_read(usm.request_message(1, pdu, user, ENGINE, s), user)[0]["msgPrivacyParameters"])
             for s in (1, 2, 3)}  # fmt: skip
    assert salts == {s.to_bytes(8, "big") for s in (1, 2, 3)}


# --- pysnmp's answers, read by us -------------------------------------------------------------------


def pysnmp_answer(user: User, msg_id: int, varbinds: list, *, pdu_kind: str = "ResponsePDU",
                  flags: int | None = None, engine: Engine = ENGINE, sign_as: User | None = None,
                  request_id: int | None = None) -> bytes:
    """A Response (or Report) the way an agent's pysnmp would send it to ``user``."""
    pdu = getattr(V2C, pdu_kind)()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, msg_id if request_id is None else request_id)
    V2C.apiPDU.set_varbinds(pdu, varbinds)
    scoped = ScopedPDU()
    scoped["contextEngineId"] = engine.id
    scoped["contextName"] = b""
    scoped["data"].setComponentByType(pdu.tagSet, pdu)
    flags = user.flags if flags is None else flags
    signer = sign_as or user
    params = UsmSecurityParameters()
    params["msgAuthoritativeEngineId"] = engine.id
    params["msgAuthoritativeEngineBoots"] = engine.boots
    params["msgAuthoritativeEngineTime"] = engine.time
    params["msgUserName"] = user.name
    params["msgPrivacyParameters"] = b""
    whole = SNMPv3Message()
    whole["msgVersion"] = 3
    whole["msgGlobalData"]["msgID"] = msg_id
    whole["msgGlobalData"]["msgMaxSize"] = 65507
    whole["msgGlobalData"]["msgFlags"] = bytes((flags,))
    whole["msgGlobalData"]["msgSecurityModel"] = 3
    if flags & usm.FLAG_PRIV:
        key = their_priv_key(signer.auth_protocol, signer.priv_protocol, signer.priv_password, engine.id)
        encrypted, salt = PYSNMP_PRIV[signer.priv_protocol].encrypt_data(
            univ.OctetString(key), (engine.boots, engine.time, None), encoder.encode(scoped))
        params["msgPrivacyParameters"] = salt
        whole["msgData"]["encryptedPDU"] = encrypted
    else:
        whole["msgData"]["plaintext"] = scoped
    service = PYSNMP_AUTH[signer.auth_protocol]
    params["msgAuthenticationParameters"] = bytes(service.digest_length if flags & usm.FLAG_AUTH else 0)
    whole["msgSecurityParameters"] = encoder.encode(params)
    message = encoder.encode(whole)
    if flags & usm.FLAG_AUTH:
        key = their_auth_key(signer.auth_protocol, signer.auth_password, engine.id)
        message = service.authenticate_outgoing_message(univ.OctetString(key), message)
    return bytes(message)


@settings(max_examples=80, deadline=None)
@given(users, st.integers(1, 2**31 - 1), st.integers(0, 2**32 - 1))
def test_pysnmp_answers_read_the_same(user: User, msg_id: int, uptime: int) -> None:
    data = pysnmp_answer(user, msg_id, [(SYS_UPTIME, rfc1902.TimeTicks(uptime))])
    answer = usm.read_message(data, msg_id, user, ENGINE)
    assert (answer.pdu_type, answer.request_id, answer.varbinds) == (ber.RESPONSE, msg_id, [(SYS_UPTIME, uptime)])
    assert answer.authenticated is (user.level != "noAuthNoPriv")
    assert (answer.engine.id, answer.engine.boots, answer.engine.time) == (ENGINE.id, ENGINE.boots, ENGINE.time)
    assert answer.report is None


AUTH_PRIV = User("galeramon", "authPriv", "SHA-256", "auth-pass-phrase", "AES", "priv-pass-phrase")


def test_an_unauthenticated_report_is_read_and_says_so() -> None:
    data = pysnmp_answer(AUTH_PRIV, 9, [((*usm.USM_STATS, 3, 0), rfc1902.Counter32(1))], pdu_kind="ReportPDU",
                         flags=0)
    answer = usm.read_message(data, 9, AUTH_PRIV, ENGINE)
    assert (answer.report, answer.authenticated) == ((*usm.USM_STATS, 3, 0), False)
    assert usm.REPORTS[answer.report] == "unknown user"


@pytest.mark.parametrize(
    ("why", "data", "msg_id", "error"),
    [
        ("another message", pysnmp_answer(AUTH_PRIV, 5, []), 6, "not ours"),
        ("a Response to another request", pysnmp_answer(AUTH_PRIV, 5, [], request_id=6), 5, "request 6, not ours"),
        ("another user's key", pysnmp_answer(AUTH_PRIV, 5, [], sign_as=User(
            "galeramon", "authPriv", "SHA-256", "another-pass", "AES", "priv-pass-phrase")), 5, "wrong HMAC"),
        ("another engine", pysnmp_answer(AUTH_PRIV, 5, [], engine=Engine(b"\x80\x00\x00\x00\x01", 7, 4242)), 5,
         "another engine"),
        ("a Response below the level asked", pysnmp_answer(AUTH_PRIV, 5, [], flags=usm.FLAG_AUTH), 5,
         "another security level"),
        ("an unauthenticated Response", pysnmp_answer(AUTH_PRIV, 5, [], flags=0), 5, "another security level"),
        ("an SNMPv2c message", ber.encode_message(b"public", ber.encode_pdu(ber.GET, 5, [])), 5,
         "not an SNMPv3 message"),
    ],
)
def test_what_is_not_a_genuine_answer_is_refused(why: str, data: bytes, msg_id: int, error: str) -> None:
    with pytest.raises(ber.BerError, match=error):
        usm.read_message(data, msg_id, AUTH_PRIV, ENGINE)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 255))
def test_any_flipped_octet_of_a_signed_answer_is_refused(where: int, xor: int) -> None:
    data = bytearray(pysnmp_answer(AUTH_PRIV, 5, [(SYS_UPTIME, rfc1902.TimeTicks(5))]))
    data[where % len(data)] ^= xor
    with pytest.raises(ber.BerError):
        usm.read_message(bytes(data), 5, AUTH_PRIV, ENGINE)
