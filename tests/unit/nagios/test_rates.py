"""Rates from counters kept between runs: counter_rate's cases, and the flow-control and
conflicts checks as check_galera builds them, run twice against a state directory."""

from __future__ import annotations

import json
from pathlib import Path

import nagiosplugin
import pytest
from nagiosplugin.state import Critical, Ok, Unknown, Warn
from support import wsrep_values

from galera_snmp.cli.check_galera import FACTORIES, build_parser
from galera_snmp.nagios.rates import Rate, counter_rate

# --- counter_rate ----------------------------------------------------------------------------


def test_the_first_run_has_no_rate_and_keeps_the_sample() -> None:
    cookie = nagiosplugin.Cookie()
    assert counter_rate(cookie, "c", 100, 1000.0) == Rate(None, "first run, no previous sample yet")
    assert cookie["c"] == [100, 1000.0]


def test_the_rate_is_per_second_since_the_previous_sample() -> None:
    cookie = nagiosplugin.Cookie()
    cookie["c"] = [100, 1000.0]
    assert counter_rate(cookie, "c", 150, 1010.0) == Rate(5.0, "")
    assert cookie["c"] == [150, 1010.0]


def test_a_counter_that_went_down_is_sampled_again_never_a_negative_rate() -> None:
    cookie = nagiosplugin.Cookie()
    cookie["c"] = [100, 1000.0]
    assert counter_rate(cookie, "c", 7, 1010.0) == Rate(None, "counter went down (mysqld restarted?), sampling again")
    assert cookie["c"] == [7, 1010.0]


@pytest.mark.parametrize("now", [1000.0, 990.0])
def test_no_time_passed_has_no_rate(now: float) -> None:
    cookie = nagiosplugin.Cookie()
    cookie["c"] = [100, 1000.0]
    assert counter_rate(cookie, "c", 120, now) == Rate(None, "no time passed since the previous run")


# --- the modes -------------------------------------------------------------------------------


def run(mode: str, source, state_dir: Path, *argv: str) -> nagiosplugin.Check:
    parser = build_parser()
    args = parser.parse_args(["-m", mode, "--state-dir", str(state_dir), *argv])
    check = FACTORIES[args.mode](args, parser, source)
    check()
    return check


def age_samples(state_dir: Path, seconds: float) -> None:
    """Make the kept samples ``seconds`` older: the next run then has a known time base."""
    (path,) = state_dir.iterdir()
    samples = json.loads(path.read_text())
    path.write_text(json.dumps({key: [value, taken - seconds] for key, (value, taken) in samples.items()}))


def flow(report, paused_ns: int):
    return report(
        wsrep=wsrep_values(
            wsrep_flow_control_paused_ns=str(paused_ns), wsrep_flow_control_sent="10", wsrep_flow_control_recv="20"
        )
    )


def test_flow_control_first_run_is_ok_and_says_why(report, answering, tmp_path: Path) -> None:
    check = run("flow-control", answering(flow(report, 10**12)), tmp_path)
    assert (check.state, check.summary_str) == (Ok, "first run, no previous sample yet")
    assert check.perfdata == [
        "flow_control_paused_ns=1000000000000c;;;0",
        "flow_control_recv=20c;;;0",
        "flow_control_sent=10c;;;0",
    ]


@pytest.mark.parametrize(("paused_per_second", "state"), [(0.02, Ok), (0.15, Warn), (0.5, Critical)])
def test_flow_control_is_the_share_of_time_paused(report, answering, tmp_path: Path, paused_per_second, state) -> None:
    run("flow-control", answering(flow(report, 10**12)), tmp_path)
    age_samples(tmp_path, 100)
    check = run("flow-control", answering(flow(report, 10**12 + int(paused_per_second * 100 * 1e9))), tmp_path)
    assert check.state == state
    (paused,) = [p for p in check.perfdata if p.startswith("flow_control_paused=")]
    assert float(paused.split("=")[1].split("%")[0]) == pytest.approx(paused_per_second * 100, rel=0.01)
    assert paused.endswith("%;10;25;0;100")


def conflicts(report, cert_failures: int, bf_aborts: int):
    return report(
        wsrep=wsrep_values(wsrep_local_cert_failures=str(cert_failures), wsrep_local_bf_aborts=str(bf_aborts))
    )


def test_conflict_rates_are_judged_each(report, answering, tmp_path: Path) -> None:
    run("conflicts", answering(conflicts(report, 100, 50)), tmp_path)
    age_samples(tmp_path, 100)
    check = run("conflicts", answering(conflicts(report, 100, 250)), tmp_path)
    assert check.state == Warn
    name, value, outside = check.summary_str.split(" ", 2)
    assert (name, outside) == ("bf_aborts_per_second", "(outside range 0:1)")
    assert float(value) == pytest.approx(2.0, rel=0.01)
    assert "cert_failures_per_second=0.0;1;10;0" in check.perfdata


def test_conflicts_unchanged_are_ok_with_both_rates(report, answering, tmp_path: Path) -> None:
    run("conflicts", answering(conflicts(report, 100, 50)), tmp_path)
    age_samples(tmp_path, 10)
    check = run("conflicts", answering(conflicts(report, 100, 50)), tmp_path)
    assert (check.state, check.summary_str) == (Ok, "cert_failures_per_second 0.0, bf_aborts_per_second 0.0")


def test_a_restarted_node_is_noticed(report, answering, tmp_path: Path) -> None:
    run("conflicts", answering(conflicts(report, 100, 50)), tmp_path)
    check = run("conflicts", answering(conflicts(report, 3, 1)), tmp_path)
    assert (check.state, check.summary_str) == (Ok, "counter went down (mysqld restarted?), sampling again")
    assert check.perfdata == ["bf_aborts=1c;;;0", "cert_failures=3c;;;0"]


def test_a_missing_counter_is_unknown(report, answering, tmp_path: Path) -> None:
    check = run("flow-control", answering(report()), tmp_path)
    assert (check.state, check.summary_str) == (Unknown, "node1 does not report wsrep_flow_control_paused_ns")


def test_samples_are_kept_per_mode_and_source(report, answering, tmp_path: Path) -> None:
    run("conflicts", answering(conflicts(report, 1, 1), "db1"), tmp_path)
    run("conflicts", answering(conflicts(report, 1, 1), "db2"), tmp_path)
    run("flow-control", answering(flow(report, 1), "db1"), tmp_path)
    assert len(list(tmp_path.iterdir())) == 3
