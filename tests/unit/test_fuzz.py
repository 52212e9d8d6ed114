"""Bounded fuzzing of every parser that reads what others wrote (SNMP v2c and v3 answers, AgentX,
HTTP, Galera's files): any input gives a result or the parser's own clean error, never another
exception. The seeds below start it on inputs close to real ones.

In CI each parser gets 400 examples from a fixed seed (derandomized: the same inputs every run,
seconds in all, no wall-clock limit). A long local run draws fresh random inputs, e.g. a million
per parser (docs/SECURITY.md):

    GALERA_SNMP_FUZZ=1000000 .venv/bin/python -m pytest tests/unit/test_fuzz.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from galera_snmp.node.galerafiles import GaleraFileError, parse_grastate, parse_recovered_position
from galera_snmp.snmp import agentx, ber, usm
from galera_snmp.snmp.agentx import AgentxError, parse_header, parse_request
from galera_snmp.traffic.httpcheck import HEAD_LIMIT, BadRequest
from galera_snmp.traffic.httpcheck import parse_request as parse_http_request

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LONG = int(os.environ.get("GALERA_SNMP_FUZZ", "0"))  # examples per parser for a long run; 0: the CI run
FUZZ = settings(max_examples=LONG or 400, derandomize=not LONG, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def mutations(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """Random bytes, and real inputs cut, extended, or with a byte flipped."""

    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(0, 4))):
            how = draw(st.sampled_from(["flip", "cut", "insert"]))
            where = draw(st.integers(0, max(0, len(data) - 1)))
            if how == "flip" and data:
                data[where] ^= 1 << draw(st.integers(0, 7))
            elif how == "cut":
                del data[where:]
            else:
                data[where:where] = draw(st.binary(max_size=8))
        return bytes(data)

    return st.one_of(st.binary(max_size=512), mutated())


def fixtures(pattern: str) -> list[bytes]:
    found = [path.read_bytes() for path in sorted(FIXTURES.glob(pattern))]
    assert found, pattern
    return found


RESPONSE = ber.tlv(ber.SEQUENCE, ber.encode_integer(1) + ber.tlv(4, b"public") + ber.tlv(
    ber.RESPONSE,
    ber.encode_integer(42) + ber.encode_integer(0) + ber.encode_integer(0)
    + ber.tlv(ber.SEQUENCE, ber.tlv(ber.SEQUENCE, ber.encode_oid((1, 3, 6, 1, 2, 1, 1, 3, 0)) + b"\x43\x01\x05")),
))  # fmt: skip
GET = agentx.encode_header(agentx.GET, 1, 2, 3, agentx.encode_oid((1, 3, 6, 1, 4, 1, 32473, 1)) + b"\x00" * 4)


@FUZZ
@given(mutations([RESPONSE]), st.sampled_from([None, b"public", b"other"]))
def test_ber_decode_response(data: bytes, community: bytes | None) -> None:
    try:
        request_id, status, index, varbinds = ber.decode_response(data, community)
    except ber.BerError:
        return
    assert (type(request_id), type(status), type(index), type(varbinds)) == (int, int, int, list)


# SNMPv3 answers as the client reads them: the same Response, plain and signed + encrypted
V3_ENGINE = usm.Engine(b"\x80\x00\x1f\x88\x80\x01\x02\x03\x04", 3, 1000)
V3_USERS = [usm.User("galeramon", "noAuthNoPriv"),
            usm.User("galeramon", "authPriv", "SHA-256", "auth-pass-phrase", "AES", "priv-pass-phrase")]
V3_RESPONSE = RESPONSE[RESPONSE.index(bytes((ber.RESPONSE,))):]
V3_ANSWERS = [usm.request_message(42, V3_RESPONSE, user, V3_ENGINE, 1) for user in V3_USERS]


@FUZZ
@given(mutations(V3_ANSWERS), st.sampled_from(V3_USERS))
def test_usm_read_message(data: bytes, user: usm.User) -> None:
    try:
        answer = usm.read_message(data, 42, user, V3_ENGINE)
    except ber.BerError:
        return
    # a Response is to our request; a Report may carry 0 (an agent that could not read ours)
    assert (answer.request_id == 42 or answer.pdu_type == ber.REPORT) and isinstance(answer.varbinds, list)


def test_the_usm_seeds_are_read() -> None:
    """The seeds above are valid answers: the fuzzer starts from inputs that get deep."""
    for user, answer in zip(V3_USERS, V3_ANSWERS, strict=True):
        assert usm.read_message(answer, 42, user, V3_ENGINE).varbinds == [((1, 3, 6, 1, 2, 1, 1, 3, 0), 5)]


@FUZZ
@given(mutations([GET]))
def test_agentx_header_and_request(data: bytes) -> None:
    try:
        header = parse_header(data)
        request = parse_request(header, data[agentx.HEADER_LEN : agentx.HEADER_LEN + header.payload_length])
    except AgentxError:
        return
    assert all(isinstance(start, tuple) and isinstance(end, tuple) for start, end, _ in request.ranges)


@FUZZ
@given(mutations(fixtures("grastate-*.dat")))
def test_grastate(data: bytes) -> None:
    try:
        state = parse_grastate(data)
    except GaleraFileError:
        return
    assert state.position.seqno >= -1


@FUZZ
@given(mutations(fixtures("recover-*.log")))
def test_recovery_log(data: bytes) -> None:
    try:
        position = parse_recovered_position(data)
    except GaleraFileError:
        return
    assert position.seqno >= -1


HTTP_CHECK = b"GET / HTTP/1.1\r\nHost: 10.0.0.11:9200\r\nAccept: application/json\r\nUser-Agent: HAProxy"


@FUZZ
@given(st.one_of(mutations([HTTP_CHECK]), st.binary(min_size=HEAD_LIMIT - 8, max_size=HEAD_LIMIT + 8)))
def test_http_request_head(data: bytes) -> None:
    try:
        request = parse_http_request(data)
    except BadRequest:
        return
    assert len(data) <= HEAD_LIMIT
    assert (type(request.method), type(request.target), type(request.wants_json)) == (str, str, bool)


@pytest.mark.parametrize("size", [0, 1, 4096])
def test_the_parsers_take_empty_and_nul_input(size: int) -> None:
    for parse, error in ((ber.decode_response, ber.BerError), (parse_grastate, GaleraFileError),
                         (parse_recovered_position, GaleraFileError), (parse_header, AgentxError),
                         (parse_http_request, BadRequest)):
        with pytest.raises(error):
            parse(b"\x00" * size)
