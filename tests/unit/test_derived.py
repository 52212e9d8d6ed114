"""galera_snmp/derived.py: EVS latency, the gcache, and the agent's window."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import synced_state

from galera_snmp.derived import (
    EvsLatency,
    Window,
    evs_latency,
    gcache_size,
    gcache_write_sets,
    gmcast_segment,
    paused_share,
)
from galera_snmp.state import MysqlFailure, NodeState
from galera_snmp.wsrep import classify


def state(taken_at: float = 0.0, **raw: str) -> NodeState:
    return synced_state(taken_at=taken_at, wsrep=MappingProxyType({k: classify(k, v) for k, v in raw.items()}))


def test_evs_latency_is_parsed_or_unknown():
    found = evs_latency(state(wsrep_evs_repl_latency="0.000178/0.000391/0.00061/0.0001/5"))
    assert found == EvsLatency(0.000178, 0.000391, 0.00061, 0.0001, 5)
    for garbage in ("", "0/0/0/0", "a/b/c/d/e", "0.1/0.2/0.3/0.4/-1", "1e9/0/0/0/1", "nan/0/0/0/1"):
        assert evs_latency(state(wsrep_evs_repl_latency=garbage)) is None, garbage
    assert evs_latency(state()) is None


@pytest.mark.parametrize(("options", "size"), [
    ("base_dir = /var/lib/mysql/; gcache.size = 128M; gcache.page_size = 128M", 128 << 20),
    ("gcache.size=1G;gmcast.segment=0", 1 << 30),
    ("gcache.size = 134217728", 134217728),
    ("gcache.size = 64k", 64 << 10),
    ("gcache.page_size = 128M", None),  # not gcache.size
    ("", None),
    (None, None),
])
def test_gcache_size_from_the_provider_options(options, size):
    assert gcache_size(options) == size


@pytest.mark.parametrize(("options", "segment"), [
    ("gmcast.listen_addr=tcp://10.0.0.11:4567;gmcast.segment=2;gcache.size=64M", 2),
    ("gcache.size = 1G; gmcast.segment = 0", 0),
    ("gcache.size=1G", 0),  # Galera's default
    ("", 0),
    ("gmcast.segment=east", None),
    ("gmcast.segment=256", None),
    ("gmcast.segment=", None),
])
def test_gmcast_segment_from_the_provider_options(options, segment):
    assert gmcast_segment(options) == segment


def test_the_write_sets_in_the_gcache():
    assert gcache_write_sets(state(wsrep_last_committed="40", wsrep_local_cached_downto="11")) == 30
    assert gcache_write_sets(state(wsrep_last_committed="40", wsrep_local_cached_downto="0")) is None  # empty
    assert gcache_write_sets(state(wsrep_last_committed="40", wsrep_local_cached_downto="18446744073709551615")) \
        is None
    assert gcache_write_sets(state(wsrep_last_committed="40")) is None


def test_the_window_averages_its_own_samples_and_forgets_old_ones():
    window = Window(seconds=10)
    window.add(state(0, wsrep_local_recv_queue="4", wsrep_local_send_queue="0", wsrep_last_committed="100"))
    window.add(state(5, wsrep_local_recv_queue="2", wsrep_local_send_queue="0", wsrep_last_committed="150"))
    stats = window.add(state(10, wsrep_local_recv_queue="0", wsrep_local_send_queue="3", wsrep_last_committed="200",
                             wsrep_local_cached_downto="101"))
    assert (stats.seconds, stats.recv_queue_avg, stats.send_queue_avg) == (10, 2.0, 1.0)
    assert stats.write_sets_per_second == 10.0 and stats.gcache_seconds == 10.0
    later = window.add(state(16, wsrep_local_recv_queue="6", wsrep_last_committed="260"))
    assert later.seconds == 6 and later.recv_queue_avg == 3.0  # the samples at 0 and 5 are gone
    assert window.add(state(16, wsrep_local_recv_queue="99")).recv_queue_avg == 3.0  # the same snapshot again


def test_the_window_starts_over_when_mysqld_cannot_be_read_or_restarted():
    window = Window(seconds=60)
    window.add(state(0, wsrep_local_recv_queue="8", wsrep_last_committed="500"))
    assert window.add(synced_state(taken_at=1, mysql_failure=MysqlFailure.REFUSED)) is None
    fresh = window.add(state(2, wsrep_local_recv_queue="0", wsrep_last_committed="3"))
    assert fresh.recv_queue_avg == 0.0 and fresh.seconds == 0 and fresh.write_sets_per_second is None
    window.add(state(3, wsrep_local_recv_queue="0", wsrep_last_committed="9"))
    restarted = window.add(state(4, wsrep_local_recv_queue="0", wsrep_last_committed="1"))
    assert restarted.write_sets_per_second is None  # the counter went back: no negative rate


def test_the_paused_share_is_the_counters_growth_over_the_window():
    window = Window(seconds=10)
    assert window.add(state(0, wsrep_flow_control_paused_ns="0")).paused_share is None  # one sample: no span
    assert window.add(state(2, wsrep_flow_control_paused_ns="500000000")).paused_share == 0.25
    assert window.add(state(4, wsrep_flow_control_paused_ns="500000000")).paused_share == 0.125
    flushed = window.add(state(5, wsrep_flow_control_paused_ns="100"))  # FLUSH STATUS: the counter starts over
    assert flushed.paused_share is None and flushed.seconds == 0
    assert window.add(state(6, wsrep_local_recv_queue="0")).paused_share is None  # no counter in the last sample


def test_the_paused_share_of_a_rate():
    assert [paused_share(r) for r in (0.0, 2.5e8, 1e9, 3e9, -5.0)] == [0.0, 0.25, 1.0, 1.0, 0.0]


@given(st.lists(st.tuples(st.floats(0, 5), st.integers(0, 1000), st.integers(0, 10**6)), min_size=1, max_size=40))
def test_the_window_never_reports_a_negative_or_impossible_value(steps):
    window, now = Window(seconds=30), 0.0
    for gap, queue, committed in steps:
        now += gap
        stats = window.add(state(now, wsrep_local_recv_queue=str(queue), wsrep_last_committed=str(committed)))
        assert 0 <= stats.seconds <= 30
        assert 0 <= stats.recv_queue_avg <= 1000
        assert stats.write_sets_per_second is None or stats.write_sets_per_second >= 0
