"""Parsers of grastate.dat and the --wsrep-recover log, on real and garbage input."""

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from galera_snmp.node.galerafiles import GaleraFileError, GraState, parse_grastate, parse_recovered_position
from galera_snmp.state import SEQNO_MAX, ZERO_UUID, Position, SeqnoSource

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CLUSTER_UUID = "cf45eb64-e601-11f1-9293-5ec05f0f5611"
UUID = CLUSTER_UUID


def fixture_text(name):
    return (FIXTURES / name).read_text(encoding="ascii")


def fixture_bytes(name):
    return (FIXTURES / name).read_bytes()


def grastate(uuid=UUID, seqno="15", safe="0"):
    lines = ["# GALERA saved state", "version: 2.1"]
    if uuid is not None:
        lines.append(f"uuid:    {uuid}")
    if seqno is not None:
        lines.append(f"seqno:   {seqno}")
    if safe is not None:
        lines.append(f"safe_to_bootstrap: {safe}")
    return "\n".join(lines) + "\n"


def recovered_line(position):
    return f"2026-11-21 23:18:31 0 [Note] WSREP: Recovered position: {position}\n"


# --- grastate.dat fixtures -------------------------------------------------------------------


@pytest.mark.parametrize("read", [fixture_text, fixture_bytes], ids=["str", "bytes"])
def test_grastate_running_has_unknown_seqno(read):
    state = parse_grastate(read("grastate-running.dat"))
    assert state == GraState(version="2.1", position=Position(CLUSTER_UUID, -1, SeqnoSource.GRASTATE, False))
    assert state.position.is_known is False


def test_grastate_clean_shutdown():
    state = parse_grastate(fixture_text("grastate-clean-shutdown.dat"))
    assert state.position.uuid == CLUSTER_UUID
    assert state.position.seqno == 15
    assert state.position.is_known is True
    assert state.position.safe_to_bootstrap is False
    assert str(state.position) == f"{CLUSTER_UUID}:15"


def test_grastate_last_to_leave_is_safe_to_bootstrap():
    state = parse_grastate(fixture_bytes("grastate-last-to-leave.dat"))
    assert state.position == Position(CLUSTER_UUID, 16, SeqnoSource.GRASTATE, True)


def test_grastate_old_format_has_no_safe_to_bootstrap():
    state = parse_grastate(fixture_text("grastate-old-format.dat"))
    assert state.position == Position("6b1c9b32-2a2f-11e6-9cd4-6f6b7a9d0e55", 8821, SeqnoSource.GRASTATE, None)
    assert state.version == "2.1"


def test_grastate_uuid_is_lowercased():
    state = parse_grastate(grastate(uuid=UUID.upper()))
    assert state.position.uuid == UUID


def test_grastate_zero_uuid_is_not_known():
    state = parse_grastate(grastate(uuid=ZERO_UUID, seqno="-1"))
    assert state.position.uuid == ZERO_UUID
    assert state.position.is_known is False


def test_grastate_accepts_largest_seqno():
    state = parse_grastate(grastate(seqno=str(SEQNO_MAX)))
    assert state.position.seqno == 2**63 - 1


# --- grastate.dat garbage --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param(b"", "empty", id="empty-bytes"),
        pytest.param("  \n\n \t\n", "empty", id="blank"),
        pytest.param(b"\x7fELF\x02\x01\x01\x00\xff\xfe\x00\x00", "not a text file", id="binary"),
        pytest.param(b"\x00" * 64, "NUL", id="nul-bytes"),
        pytest.param(grastate().replace("seqno:   15", "seqno:   1\x005"), "NUL", id="nul-in-text"),
        pytest.param(grastate(seqno="abc"), "'abc' is not an integer", id="seqno-abc"),
        pytest.param(grastate(seqno="12abc"), "'12abc' is not an integer", id="seqno-12abc"),
        pytest.param(grastate(seqno="1.5"), "not an integer", id="seqno-float"),
        pytest.param(grastate(seqno="0x10"), "not an integer", id="seqno-hex"),
        pytest.param(grastate(seqno=""), "not an integer", id="seqno-empty"),
        pytest.param(grastate(seqno="99999999999999999999"), "out of range", id="seqno-too-big"),
        pytest.param(grastate(seqno=str(2**63)), "out of range", id="seqno-2^63"),
        pytest.param(grastate(seqno="-2"), "out of range", id="seqno-minus-2"),
        pytest.param(grastate(uuid="cf45eb64-e601-11f1-9293"), "is not a UUID", id="uuid-short"),
        pytest.param(grastate(uuid="zf45eb64-e601-11f1-9293-5ec05f0f5611"), "is not a UUID", id="uuid-not-hex"),
        pytest.param(grastate(uuid=""), "is not a UUID", id="uuid-empty"),
        pytest.param(grastate(uuid=None), "no 'uuid' line", id="missing-uuid"),
        pytest.param(grastate(seqno=None), "no 'seqno' line", id="missing-seqno"),
        pytest.param(grastate(safe="2"), "safe_to_bootstrap '2'", id="safe-2"),
        pytest.param(grastate(safe="yes"), "safe_to_bootstrap 'yes'", id="safe-yes"),
        pytest.param(grastate(safe=""), "safe_to_bootstrap ''", id="safe-empty"),
        pytest.param(grastate() + "this line has no colon\n", "unexpected line", id="no-colon"),
        pytest.param("<html><body>404</body></html>\n", "unexpected line", id="html"),
    ],
)
def test_grastate_garbage_raises(data, expected):
    with pytest.raises(GaleraFileError, match=r"grastate\.dat") as info:
        parse_grastate(data)
    assert expected in str(info.value)


def test_grastate_error_is_a_value_error():
    # Callers may catch ValueError; the subclass relationship is part of the contract.
    with pytest.raises(ValueError):
        parse_grastate("nonsense")


# --- --wsrep-recover logs --------------------------------------------------------------------


def test_recover_crash_log():
    position = parse_recovered_position(fixture_text("recover-crash.log"))
    assert position == Position(CLUSTER_UUID, 6, SeqnoSource.RECOVERED)
    assert position.is_known is True


def test_recover_gtid_suffix_is_stripped_from_seqno():
    position = parse_recovered_position(fixture_bytes("recover-gtid-suffix.log"))
    assert position.uuid == CLUSTER_UUID
    assert position.seqno == 19
    # The "Last wsrep seqno to be recovered 19" line is not the position line.
    assert str(position) == f"{CLUSTER_UUID}:19"


def test_recover_bracket_form_with_seqno_above_2_31():
    position = parse_recovered_position(fixture_text("recover-bracket-form.log"))
    assert position.uuid == "3e2f1c4a-9b6d-11ef-8a9e-0242ac120002"
    assert position.seqno == 2147483653
    assert position.seqno > 2**31


def test_recover_failed_log_names_the_errors():
    with pytest.raises(GaleraFileError, match="no 'Recovered position'") as info:
        parse_recovered_position(fixture_text("recover-failed.log"))
    message = str(info.value)
    # The last two [ERROR] lines are quoted so the operator sees why recovery aborted.
    assert "Do you already have another server running on socket" in message
    assert "Aborting" in message


def test_recover_log_without_errors_says_so():
    with pytest.raises(GaleraFileError, match="no error lines either"):
        parse_recovered_position("2026-11-21 23:18:31 0 [Note] Starting MariaDB\n")


def test_recover_last_position_line_wins():
    log = (
        recovered_line(f"{CLUSTER_UUID}:6")
        + "2026-11-21 23:19:00 0 [Note] Starting MariaDB again\n"
        + recovered_line(f"{CLUSTER_UUID}:42,0-1-42")
        + "2026-11-21 23:19:01 0 [Note] mariadbd: Shutdown complete\n"
    )
    position = parse_recovered_position(log)
    assert position.seqno == 42


def test_recover_last_position_wins_even_if_lower():
    log = fixture_text("recover-gtid-suffix.log") + fixture_text("recover-crash.log")
    position = parse_recovered_position(log)
    assert position.seqno == 6


def test_recover_unknown_position():
    position = parse_recovered_position(recovered_line(f"{ZERO_UUID}:-1"))
    assert position == Position(ZERO_UUID, -1, SeqnoSource.RECOVERED)
    assert position.is_known is False


@pytest.mark.parametrize(
    "position",
    [
        pytest.param(f"{CLUSTER_UUID}:abc", id="seqno-abc"),
        pytest.param(f"{CLUSTER_UUID}:", id="seqno-empty"),
        pytest.param(f"{CLUSTER_UUID}:12abc", id="seqno-12abc"),
        pytest.param(f"{CLUSTER_UUID}:1.5", id="seqno-float"),
        pytest.param(f"{CLUSTER_UUID}:99999999999999999999", id="seqno-too-big"),
        pytest.param(f"{CLUSTER_UUID}:-2", id="seqno-minus-2"),
        pytest.param("------------------------------------:6", id="uuid-dashes"),
    ],
)
def test_recover_bad_position_raises(position):
    log = fixture_text("recover-crash.log").replace(f"{CLUSTER_UUID}:6", position)
    with pytest.raises(GaleraFileError):
        result = parse_recovered_position(log)
        pytest.fail(f"a garbled position {position!r} gave a number: {result}")


# --- property tests --------------------------------------------------------------------------

_line_pieces = st.sampled_from(
    [
        "version: 2.1",
        f"uuid: {UUID}",
        f"uuid: {ZERO_UUID}",
        "uuid: nonsense",
        "seqno: -1",
        "seqno: 15",
        "seqno: -2",
        f"seqno: {2**63}",
        f"seqno: {2**63 - 1}",
        "safe_to_bootstrap: 1",
        "safe_to_bootstrap: 2",
        "cert_index:",
        "# GALERA saved state",
        "",
        "garbage",
    ]
)
_grastate_like = st.lists(st.one_of(_line_pieces, st.text(max_size=30)), max_size=8).map("\n".join)
_HEX_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def grastate_complaint(data):
    """What parse_grastate must say about ``data``, or None when it must accept it: the first
    problem a reader meets, written independently of the code under test."""
    if isinstance(data, bytes):
        if not data.isascii():
            return "grastate.dat is not a text file"
        data = data.decode("ascii")
    if "\x00" in data:
        return "grastate.dat contains NUL bytes"
    if not data.strip():
        return "grastate.dat is empty"
    first = {}  # the first line of each key counts
    for line in (raw.strip() for raw in data.splitlines()):
        if not line or line.startswith("#"):
            continue
        if ":" not in line:
            return f"grastate.dat: unexpected line {line[:60]!r}"
        key, _, value = line.partition(":")
        first.setdefault(key.strip(), value.strip())
    for key in ("uuid", "seqno"):
        if key not in first:
            return f"grastate.dat has no {key!r} line"
    if not _HEX_UUID.fullmatch(first["uuid"]):
        return f"grastate.dat uuid {first['uuid']!r} is not a UUID"
    if not re.fullmatch(r"-?[0-9]+", first["seqno"]):
        return f"grastate.dat seqno {first['seqno']!r} is not an integer"
    if not -1 <= int(first["seqno"]) <= SEQNO_MAX:
        return f"grastate.dat seqno {int(first['seqno'])} is out of range (-1 .. 2^63-1)"
    if first.get("safe_to_bootstrap", "0") not in ("0", "1"):
        return f"grastate.dat safe_to_bootstrap {first['safe_to_bootstrap']!r} is neither 0 nor 1"
    return None


@settings(max_examples=200)
@given(st.one_of(st.text(), st.binary(), _grastate_like))
def test_parse_grastate_returns_valid_seqno_or_raises(data):
    complaint = grastate_complaint(data)
    try:
        state = parse_grastate(data)
    except GaleraFileError as err:
        assert str(err) == complaint
        return
    assert complaint is None
    assert -1 <= state.position.seqno < 2**63
    assert state.position.source is SeqnoSource.GRASTATE
    text = data.decode("ascii") if isinstance(data, bytes) else data
    lines = (line.strip().partition(":") for line in text.splitlines())
    flags = [value.strip() for key, _, value in lines if key.strip() == "safe_to_bootstrap"]
    assert state.position.safe_to_bootstrap is (flags[0] == "1" if flags else None)  # the first line counts


_seqno_text = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64).map(str),
    st.text(alphabet="0123456789-,abc. ", max_size=25),
)


@st.composite
def _recovery_logs(draw):
    prefix = draw(st.sampled_from(["", "[Note] WSREP: Recovered position: ", "[WSREP] Recovered position: "]))
    uuid = draw(st.sampled_from([UUID, ZERO_UUID, UUID.upper(), "x" * 36, ""]))
    return draw(st.text(max_size=40)) + prefix + uuid + ":" + draw(_seqno_text) + draw(st.text(max_size=40))


@settings(max_examples=200)
@given(st.one_of(st.text(), st.binary(), _recovery_logs(), _recovery_logs().map(str.encode)))
def test_parse_recovered_position_returns_valid_seqno_or_raises(data):
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    try:
        position = parse_recovered_position(data)
    except GaleraFileError as err:
        message = str(err)
        # Each message names what is wrong, and only what this log shows.
        no_line = re.fullmatch(r"no 'Recovered position' in the recovery log \((.*)\)", message, re.DOTALL)
        bad_uuid = re.fullmatch(r"recovered uuid '([0-9a-fA-F-]{36})' is not a UUID", message)
        bad_seqno = re.fullmatch(r"recovered seqno (-?[0-9]+) is out of range \(-1 \.\. 2\^63-1\)", message)
        if "Recovered position" not in text:
            assert no_line, message
        if no_line:
            if "[ERROR]" not in text:
                assert no_line[1] == "no error lines either"
        elif bad_uuid:
            assert f"{bad_uuid[1]}:" in text and not _HEX_UUID.fullmatch(bad_uuid[1])
        else:
            assert bad_seqno, message
            assert not -1 <= int(bad_seqno[1]) <= SEQNO_MAX
        return
    assert position.source is SeqnoSource.RECOVERED
    assert _HEX_UUID.fullmatch(position.uuid) and position.uuid == position.uuid.lower()
    assert f"{position.uuid}:" in text.lower()
    assert -1 <= position.seqno < 2**63
