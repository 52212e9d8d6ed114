"""pace.py: how fast a count moves, from its first move on."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from galera_snmp.pace import Pace


def test_a_pace_is_the_slope_over_the_span() -> None:
    pace = Pace(span=20)
    assert pace.add(0.0, 100) is None  # one look: no slope yet
    assert pace.add(10.0, 150) == 5.0
    assert pace.add(20.0, 300) == 10.0
    assert pace.add(25.0, 300) == 10.0  # the look at 0 aged out; the pause counts: 150 in 15 s
    assert pace.add(60.0, 300) is None  # every older look aged out


def test_the_wait_before_the_first_move_is_not_counted() -> None:
    pace = Pace(span=20)
    for at in (0.0, 3.0, 6.0, 9.0):
        assert pace.add(at, 7) is None  # still waiting: one look kept
    assert pace.add(10.0, 17) == 10.0  # from the last look before the move, not from 0
    assert pace.add(12.0, 17) == 10 / 3  # a pause after the first move counts


def test_a_count_that_goes_back_starts_over() -> None:
    pace = Pace(span=60)
    pace.add(0.0, 10)
    assert pace.add(1.0, 20) == 10.0
    assert pace.add(2.0, 5) is None
    assert pace.add(4.0, 9) == 2.0


def test_an_empty_span_after_pruning_has_no_pace() -> None:
    pace = Pace(span=5)
    pace.add(0.0, 1)
    pace.add(1.0, 2)
    pace.prune(100.0)
    assert pace.rate() is None


@given(st.lists(st.tuples(st.floats(0.01, 10), st.integers(0, 1000)), min_size=2, max_size=40))
def test_a_rising_count_never_has_a_negative_pace_or_one_above_its_steepest_step(steps) -> None:
    pace, at, count, steepest = Pace(span=30), 0.0, 0, 0.0
    pace.add(at, count)
    for seconds, more in steps:
        at, count = at + seconds, count + more
        steepest = max(steepest, more / seconds)
        rate = pace.add(at, count)
        assert rate is None or 0 <= rate <= steepest * (1 + 1e-9)
