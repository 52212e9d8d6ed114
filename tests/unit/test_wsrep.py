"""Typing of SHOW GLOBAL STATUS LIKE 'wsrep%' values."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from galera_snmp.wsrep import COUNTERS, FLOATS, GAUGES, Kind, WsrepValue, classify, kind_of


@pytest.mark.parametrize(
    ("name", "raw", "kind", "value"),
    [
        # counters (monotonic, Counter64)
        ("wsrep_replicated", "1234", Kind.COUNTER, 1234),
        ("wsrep_received_bytes", "18446744073709551615", Kind.COUNTER, 2**64 - 1),
        ("wsrep_flow_control_paused_ns", "0", Kind.COUNTER, 0),
        ("wsrep_local_commits", " 17 ", Kind.COUNTER, 17),
        ("WSREP_LOCAL_COMMITS", "17", Kind.COUNTER, 17),
        # gauges (levels)
        ("wsrep_cluster_size", "3", Kind.GAUGE, 3),
        ("wsrep_local_state", "4", Kind.GAUGE, 4),
        ("wsrep_local_recv_queue", "0", Kind.GAUGE, 0),
        ("wsrep_last_committed", "2147483653", Kind.GAUGE, 2147483653),
        ("wsrep_local_index", "-1", Kind.GAUGE, -1),
        # floats (averages)
        ("wsrep_local_recv_queue_avg", "0.5", Kind.FLOAT, 0.5),
        ("wsrep_flow_control_paused", "1.42823e-05", Kind.FLOAT, 1.42823e-05),
        ("wsrep_cert_deps_distance", "1", Kind.FLOAT, 1.0),
        ("wsrep_apply_window", "0.000000", Kind.FLOAT, 0.0),
        # text
        ("wsrep_cluster_status", "Primary", Kind.TEXT, "Primary"),
        ("wsrep_local_state_comment", "Synced", Kind.TEXT, "Synced"),
        ("wsrep_ready", "ON", Kind.TEXT, "ON"),
        ("wsrep_provider_name", "Galera", Kind.TEXT, "Galera"),
        ("wsrep_cluster_state_uuid", "cf45eb64-e601-11f1-9293-5ec05f0f5611", Kind.TEXT,
         "cf45eb64-e601-11f1-9293-5ec05f0f5611"),
        ("wsrep_incoming_addresses", "127.0.0.11:3306,127.0.0.12:3306", Kind.TEXT,
         "127.0.0.11:3306,127.0.0.12:3306"),
        ("wsrep_provider_version", "26.4.20(r7a5e3ea5)", Kind.TEXT, "26.4.20(r7a5e3ea5)"),
        ("wsrep_cluster_name", "", Kind.TEXT, ""),
    ],
)
def test_classify_known_names(name, raw, kind, value):
    result = classify(name, raw)
    assert result == WsrepValue(kind=kind, raw=raw, value=value)
    assert type(result.value) is type(value)
    assert kind_of(name, raw) is kind


def test_scientific_notation_is_a_float():
    result = classify("wsrep_flow_control_paused", "1.42823e-05")
    assert result.kind is Kind.FLOAT
    assert isinstance(result.value, float)
    assert math.isclose(result.value, 0.0000142823)


@pytest.mark.parametrize("raw", ["", "abc", "12abc", "1.5", "1e3", "NULL", "nan"])
@pytest.mark.parametrize("name", ["wsrep_replicated", "wsrep_cluster_size"])
def test_unparsable_integer_gives_none(name, raw):
    result = classify(name, raw)
    # The table decides the kind even when the value is garbage: the MIB object stays typed.
    assert result.kind is (Kind.COUNTER if name in COUNTERS else Kind.GAUGE)
    assert result.value is None
    assert result.raw == raw


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "", "fast"])
def test_non_finite_or_garbled_float_gives_none(raw):
    result = classify("wsrep_flow_control_paused", raw)
    assert result.kind is Kind.FLOAT
    assert result.value is None
    assert result.raw == raw


@pytest.mark.parametrize(
    ("name", "raw", "kind", "value"),
    [
        ("wsrep_some_new_counter", "42", Kind.GAUGE, 42),
        ("wsrep_some_new_counter", "-7", Kind.GAUGE, -7),
        ("wsrep_new_ratio", "0.25", Kind.FLOAT, 0.25),
        ("wsrep_new_ratio", "2.5e-07", Kind.FLOAT, 2.5e-07),
        ("wsrep_new_text", "hello", Kind.TEXT, "hello"),
        ("wsrep_new_text", "", Kind.TEXT, ""),
        # Not finite: not a usable float, so it stays text rather than becoming a None float.
        ("wsrep_new_text", "nan", Kind.TEXT, "nan"),
        ("wsrep_new_text", "inf", Kind.TEXT, "inf"),
    ],
)
def test_unknown_names_are_inferred_from_value(name, raw, kind, value):
    assert name not in COUNTERS | GAUGES | FLOATS
    result = classify(name, raw)
    assert result.kind is kind
    assert result.value == value
    assert type(result.value) is type(value)


def test_tables_do_not_overlap():
    assert not COUNTERS & GAUGES
    assert not COUNTERS & FLOATS
    assert not GAUGES & FLOATS


def test_kind_words():
    assert [k.value for k in Kind] == ["counter", "gauge", "float", "text"]
    assert Kind.COUNTER == "counter"


_names = st.one_of(st.sampled_from(sorted(COUNTERS | GAUGES | FLOATS)), st.text(max_size=40))
_raws = st.one_of(
    st.text(),
    st.integers().map(str),
    st.floats().map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "1_000", " 12 ", "9" * 5000]),
)


TABLE_KINDS = {**dict.fromkeys(COUNTERS, Kind.COUNTER), **dict.fromkeys(GAUGES, Kind.GAUGE),
               **dict.fromkeys(FLOATS, Kind.FLOAT)}


@settings(max_examples=200)
@given(_names, _raws)
def test_classify_never_raises(name, raw):
    result = classify(name, raw)
    assert result.raw == raw
    if name.lower() in TABLE_KINDS:
        assert result.kind is TABLE_KINDS[name.lower()]  # the table decides, whatever the value
    else:
        assert result.kind is not Kind.COUNTER  # inferred from a value that parses as that kind
        assert result.value is not None
    if result.kind in (Kind.COUNTER, Kind.GAUGE):
        assert result.value is None or type(result.value) is int
    elif result.kind is Kind.FLOAT:
        assert result.value is None or (type(result.value) is float and math.isfinite(result.value))
    else:
        assert result.value == raw
