"""check_galera's rate modes (flow-control, conflicts): counters of one node turned into rates
per second between two runs, the previous run's sample kept in a state file (a nagiosplugin
Cookie).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import nagiosplugin
from nagiosplugin import Metric

from ..derived import paused_share
from ..record import record
from ..state import NodeReport
from .checks import SourceResource
from .sources import Source, name_of


@record
class Rate:
    """Per-second change of a counter since the previous run, or why there is none yet."""

    per_second: float | None
    note: str


def counter_rate(cookie: nagiosplugin.Cookie, key: str, value: int, now: float) -> Rate:
    """Remember (value, now) under ``key``; the rate against the previous sample. A counter
    that went down means mysqld restarted: never a negative rate."""
    previous = cookie.get(key)
    cookie[key] = [value, now]
    if not previous:
        return Rate(None, "first run, no previous sample yet")
    old_value, old_time = previous
    elapsed = now - old_time
    if value < old_value:
        return Rate(None, "counter went down (mysqld restarted?), sampling again")
    if elapsed <= 0:
        return Rate(None, "no time passed since the previous run")
    return Rate((value - old_value) / elapsed, "")


class CounterResource(SourceResource):
    """Counters of one node turned into rates with a state file (nagiosplugin Cookie)."""

    COUNTERS: tuple[str, ...] = ()
    CONTEXT = ""  # the context judging the rates

    def __init__(self, source: Source, state_file: str, unreachable_critical: bool = False) -> None:
        super().__init__(source, unreachable_critical)
        self.state_file = state_file
        self.notes: list[str] = []

    def rates(self) -> tuple[NodeReport, dict[str, Rate]]:
        report = self.source.read()
        now = time.time()
        rates: dict[str, Rate] = {}
        with nagiosplugin.Cookie(self.state_file) as cookie:
            for name in self.COUNTERS:
                value = report.state.wsrep_number(name)
                if not isinstance(value, int):
                    raise nagiosplugin.CheckError(f"{name_of(report, self.source)} does not report {name}")
                rates[name] = counter_rate(cookie, name, value, now)
        self.notes = sorted({rate.note for rate in rates.values() if rate.note})
        return report, rates


class FlowControlResource(CounterResource):
    COUNTERS = ("wsrep_flow_control_paused_ns",)
    CONTEXT = "paused"

    def metrics(self) -> Iterator[Metric]:
        report, rates = self.rates()
        paused = rates["wsrep_flow_control_paused_ns"].per_second
        if paused is not None:
            share = round(100 * paused_share(paused), 3)
            yield Metric("flow_control_paused", share, uom="%", min=0, max=100, context=self.CONTEXT)
        for name in ("wsrep_flow_control_sent", "wsrep_flow_control_recv", "wsrep_flow_control_paused_ns"):
            value = report.state.wsrep_number(name)
            if isinstance(value, int):
                yield Metric(name.removeprefix("wsrep_"), value, uom="c", min=0, context="perfdata")


class ConflictResource(CounterResource):
    COUNTERS = ("wsrep_local_cert_failures", "wsrep_local_bf_aborts")
    CONTEXT = "conflicts"

    def metrics(self) -> Iterator[Metric]:
        report, rates = self.rates()
        for name, rate in rates.items():
            short = name.removeprefix("wsrep_local_")
            if rate.per_second is not None:
                yield Metric(f"{short}_per_second", round(rate.per_second, 4), min=0, context=self.CONTEXT)
            yield Metric(short, report.state.wsrep_number(name), uom="c", min=0, context="perfdata")


class RateSummary(nagiosplugin.Summary):
    """Adds the notes of a rate check (first run, counter reset) to an OK line."""

    def __init__(self, resource: CounterResource) -> None:
        self.resource = resource

    def ok(self, results: nagiosplugin.Results) -> str:
        text = ", ".join(str(r) for r in results if r.metric is not None and r.metric.context != "perfdata")
        notes = "; ".join(self.resource.notes)
        return "; ".join(part for part in (text, notes) if part) or "no rate yet"
