"""check_galera's checks, as nagiosplugin resources and contexts: one class a job.

A source (the local mysqld through the probe, or a node's GALERA-MIB over SNMP) gives a
:class:`~galera_snmp.state.NodeReport`; each mode turns reports into metrics, and contexts judge
them. Expected failures (unreachable peer, bad credentials) are CheckErrors, which nagiosplugin
reports as UNKNOWN with one line.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import nagiosplugin
from nagiosplugin import Context, Metric, Performance, Resource, Result
from nagiosplugin.state import Critical, Ok, Unknown, Warn

from ..state import DONOR, PRIMARY, Member, NodeReport, Status

if TYPE_CHECKING:
    from ..snmp.client import Target

# --- sources ---------------------------------------------------------------------------------


class MysqlSource:
    """The local node, read by the probe (one connection) and judged by the health rule."""

    def __init__(self, config_path: str) -> None:
        self.config_path = config_path
        self.name = "local mysqld"

    def read(self, members: bool = False) -> NodeReport:
        from ..config import ConfigError, load_config  # imported here: SNMP runs never pay for PyMySQL
        from ..node.probe import Probe
        from ..state import assess_health

        try:
            config = load_config(self.config_path)
            with Probe(config) as probe:
                state = probe.snapshot()
        except ConfigError as err:
            raise nagiosplugin.CheckError(str(err)) from None
        return NodeReport(state, assess_health(state, config.health), True, 0, "")


class SourceDown(Exception):
    """The source did not answer (the message says how)."""


class SnmpSource:
    """A node's GALERA-MIB through its snmpd: what its own agent says about it."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.name = target.host if target.port == 161 else f"{target.host}:{target.port}"

    def read(self, members: bool = False) -> NodeReport:
        from ..snmp.client import SnmpError
        from ..snmp.remote import read_report  # imported here: MySQL runs never pay for it

        try:
            return read_report(self.target, members)
        except SnmpError as err:
            raise SourceDown(str(err)) from None


Source = MysqlSource | SnmpSource


class SourceResource(Resource):
    """A resource reading one source. A source that does not answer is UNKNOWN, or CRITICAL
    when the operator says so (--unreachable critical)."""

    def __init__(self, source: Source, unreachable_critical: bool = False) -> None:
        self.source = source
        self.unreachable_critical = unreachable_critical

    def probe(self) -> Iterator[Metric]:
        try:
            yield from self.metrics()
        except SourceDown as err:
            if not self.unreachable_critical:
                raise nagiosplugin.CheckError(str(err)) from None
            yield Metric("unreachable", str(err), context="unreachable")

    def metrics(self) -> Iterator[Metric]:
        raise NotImplementedError


class UnreachableContext(Context):
    def __init__(self) -> None:
        super().__init__("unreachable")

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        return Result(Critical, metric.value, metric)


def _wsrep(report: NodeReport, name: str) -> int | float | None:
    item = report.state.wsrep.get(name)
    return item.value if item is not None and isinstance(item.value, int | float) else None


def _who(report: NodeReport, source: Source) -> str:
    return report.state.node_name or source.name


# --- node ------------------------------------------------------------------------------------


class NodeResource(SourceResource):
    def metrics(self) -> Iterator[Metric]:
        report = self.source.read()
        yield Metric("node", report, context="node")
        state = report.state
        if state.cluster_size is not None:
            yield Metric("cluster_size", state.cluster_size, min=0, context="perfdata")
        if state.local_state is not None:
            yield Metric("local_state", state.local_state, min=0, max=4, context="perfdata")
        if state.seqno >= 0:
            yield Metric("seqno", state.seqno, uom="c", min=0, context="perfdata")


class NodeContext(Context):
    """Synced and healthy: OK. Donor/Desynced, Joining, Joined: WARNING. Not Primary, stopped,
    not ready: CRITICAL. The health rule's reason is in the text."""

    def __init__(self, source: Source, donor_ok: bool = False) -> None:
        super().__init__("node")
        self.source = source
        self.donor_ok = donor_ok

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        report: NodeReport = metric.value
        state, health = report.state, report.health
        who = _who(report, self.source)
        comment = f" ({state.local_state_comment})" if state.local_state_comment else ""
        text = f"{who}: {state.status.value}{comment}, {health.reason}"
        if state.status in (Status.STOPPED, Status.NONPRIMARY, Status.BLOCKED):
            return Result(Critical, text, metric)
        if state.status is Status.UNKNOWN:
            return Result(Critical if health.healthy is False else Unknown, text, metric)
        if state.ready is False or state.cluster_status not in (None, PRIMARY):
            return Result(Critical, text, metric)
        if health.healthy:
            return Result(Ok, text, metric)
        if state.local_state == DONOR and self.donor_ok and not state.desync:
            return Result(Ok, f"{text} (donors allowed)", metric)
        if state.status in (Status.RUNNING, Status.JOINING, Status.INITIATING, Status.BOOTSTRAPPING):
            return Result(Warn, text, metric)
        return Result(Unknown, text, metric)


# --- cluster ---------------------------------------------------------------------------------


def is_arbitrator(member: Member) -> bool:
    """garbd takes no client connections: its incoming address is empty (or unset)."""
    address = member.address.strip()
    return address in ("", "AUTO") or address.startswith(":") or address.endswith(":0")


class ClusterResource(SourceResource):
    def metrics(self) -> Iterator[Metric]:
        report = self.source.read(members=True)
        state = report.state
        if state.cluster_size is None:
            raise nagiosplugin.CheckError(f"{_who(report, self.source)}: cluster size unknown ({state.reason})")
        yield Metric("primary", report, context="primary")
        yield Metric("cluster_size", state.cluster_size, min=0, context="cluster_size")
        if state.members is not None:
            arbitrators = sum(1 for m in state.members if is_arbitrator(m))
            yield Metric("data_nodes", len(state.members) - arbitrators, min=0, context="perfdata")
            yield Metric("arbitrators", arbitrators, min=0, context="perfdata")


class PrimaryContext(Context):
    """Primary, and every member in the node's view shares its cluster state UUID."""

    def __init__(self, source: Source) -> None:
        super().__init__("primary")
        self.source = source

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        state = metric.value.state
        who = _who(metric.value, self.source)
        if state.cluster_status != PRIMARY:
            return Result(Critical, f"{who}: cluster status {state.cluster_status or 'unknown'}, not Primary", metric)
        if state.members is None:
            hint = "no SELECT grant on mysql.wsrep_cluster_members?"
            return Result(Warn, f"{who}: Primary, but its member table is unknown ({hint}): UUIDs not compared", metric)
        uuids = {m.cluster_uuid for m in state.members} | {state.cluster_state_uuid}
        if len(uuids) > 1:
            return Result(Critical, f"{who}: members disagree on the cluster UUID: {', '.join(sorted(uuids))}", metric)
        members = state.members or ()
        arbitrators = [m.name or m.uuid for m in members if is_arbitrator(m)]
        extra = ""
        if arbitrators:
            extra = f" ({len(members) - len(arbitrators)} data nodes, arbitrator {', '.join(arbitrators)})"
        return Result(Ok, f"Primary, {state.cluster_size} members{extra}", metric)


# --- rates from counters kept between runs -----------------------------------------------------


@dataclass(frozen=True)
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
                value = _wsrep(report, name)
                if not isinstance(value, int):
                    raise nagiosplugin.CheckError(f"{_who(report, self.source)} does not report {name}")
                rates[name] = counter_rate(cookie, name, value, now)
        self.notes = sorted({rate.note for rate in rates.values() if rate.note})
        return report, rates


class FlowControlResource(CounterResource):
    COUNTERS = ("wsrep_flow_control_paused_ns",)

    def metrics(self) -> Iterator[Metric]:
        report, rates = self.rates()
        paused = rates["wsrep_flow_control_paused_ns"].per_second
        if paused is not None:
            # nanoseconds paused per second of wall time, as a share of time
            share = round(min(100.0, paused / 1e7), 3)
            yield Metric("flow_control_paused", share, uom="%", min=0, max=100, context="paused")
        for name in ("wsrep_flow_control_sent", "wsrep_flow_control_recv", "wsrep_flow_control_paused_ns"):
            value = _wsrep(report, name)
            if isinstance(value, int):
                yield Metric(name.removeprefix("wsrep_"), value, uom="c", min=0, context="perfdata")


class ConflictResource(CounterResource):
    COUNTERS = ("wsrep_local_cert_failures", "wsrep_local_bf_aborts")

    def metrics(self) -> Iterator[Metric]:
        report, rates = self.rates()
        for name, rate in rates.items():
            short = name.removeprefix("wsrep_local_")
            if rate.per_second is not None:
                yield Metric(f"{short}_per_second", round(rate.per_second, 4), min=0, context="conflicts")
            yield Metric(short, _wsrep(report, name), uom="c", min=0, context="perfdata")


class RateSummary(nagiosplugin.Summary):
    """Adds the notes of a rate check (first run, counter reset) to an OK line."""

    def __init__(self, resource: CounterResource) -> None:
        self.resource = resource

    def ok(self, results: nagiosplugin.Results) -> str:
        text = ", ".join(str(r) for r in results if r.metric is not None and r.metric.context != "perfdata")
        notes = "; ".join(self.resource.notes)
        return "; ".join(part for part in (text, notes) if part) or "no rate yet"


# --- queues ----------------------------------------------------------------------------------


class QueueResource(SourceResource):
    def metrics(self) -> Iterator[Metric]:
        report = self.source.read()
        for name, context in (("wsrep_local_recv_queue", "recv_queue"), ("wsrep_local_send_queue", "send_queue")):
            value = _wsrep(report, name)
            if value is None:
                raise nagiosplugin.CheckError(f"{_who(report, self.source)} does not report {name}")
            yield Metric(context, value, min=0, context=context)


# --- peers -----------------------------------------------------------------------------------


class PeersResource(Resource):
    """Every listed node, read over SNMP at the same time."""

    def __init__(self, sources: Sequence[SnmpSource]) -> None:
        self.sources = sources

    def probe(self) -> Iterator[Metric]:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(self.sources)) as pool:
            futures = {source.name: pool.submit(source.read, True) for source in self.sources}
        reports: dict[str, NodeReport | str] = {}
        for name, future in futures.items():
            try:
                reports[name] = future.result()
            except SourceDown as err:
                reports[name] = str(err)
        yield Metric("peers", reports, context="peers")
        answered = [r for r in reports.values() if isinstance(r, NodeReport)]
        yield Metric("answering", len(answered), min=0, max=len(reports), context="perfdata")
        components = primary_components(reports)
        yield Metric("primary_components", len(components), min=0, context="perfdata")


@dataclass
class Component:
    """Nodes that are in one Primary component, as far as their member tables tell."""

    members: set[str]  # member UUIDs (or, without a member table, the cluster UUID and conf_id)
    nodes: list[str]
    conf_ids: set[int | None]
    uuids: set[str | None]

    def describe(self) -> str:
        confs = "/".join(str(c) for c in sorted(self.conf_ids, key=lambda c: -1 if c is None else c))
        uuids = "/".join(sorted(u or "?" for u in self.uuids))
        return f"[{', '.join(sorted(self.nodes))}] uuid {uuids} conf_id {confs}"


def primary_components(reports: dict[str, NodeReport | str]) -> list[Component]:
    """The Primary components the nodes are in: two Primary nodes are in one component when
    their member tables overlap. Comparing conf_ids instead would cry split brain at every
    membership change, when nodes briefly report different conf_ids of one component."""
    components: list[Component] = []
    for name, report in sorted(reports.items()):
        if not isinstance(report, NodeReport) or report.state.cluster_status != PRIMARY:
            continue
        state = report.state
        members = (
            {m.uuid for m in state.members}
            if state.members
            else {f"{state.cluster_state_uuid}:{state.cluster_conf_id}"}
        )
        node = Component(members, [state.node_name or name], {state.cluster_conf_id}, {state.cluster_state_uuid})
        for other in [c for c in components if c.members & node.members]:
            components.remove(other)
            node.members |= other.members
            node.nodes += other.nodes
            node.conf_ids |= other.conf_ids
            node.uuids |= other.uuids
        components.append(node)
    return sorted(components, key=lambda c: sorted(c.nodes))


class PeersContext(Context):
    def __init__(self, unreachable: nagiosplugin.state.ServiceState, expected: int | None) -> None:
        super().__init__("peers")
        self.unreachable = unreachable
        self.expected = expected

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        reports: dict[str, NodeReport | str] = metric.value
        components = primary_components(reports)
        if len(components) > 1:
            parts = " and ".join(c.describe() for c in components)
            return Result(Critical, f"split brain: {len(components)} Primary components: {parts}", metric)
        if not components:
            return Result(Critical, "no node is in a Primary component", metric)
        component = components[0]
        down = [name for name, r in reports.items() if not isinstance(r, NodeReport)]
        outside = [
            r.state.node_name or name
            for name, r in reports.items()
            if isinstance(r, NodeReport) and r.state.cluster_status != PRIMARY
        ]
        sizes = {
            r.state.cluster_size
            for r in reports.values()
            if isinstance(r, NodeReport) and r.state.cluster_status == PRIMARY
        }
        text = f"one Primary component {component.describe()}"
        if down:
            return Result(self.unreachable, f"{text}; not answering: {', '.join(down)}", metric)
        if outside:
            return Result(Warn, f"{text}; outside it: {', '.join(outside)}", metric)
        if len(sizes) > 1:
            return Result(Warn, f"{text}; sizes disagree: {sorted(s or 0 for s in sizes)}", metric)
        size = next(iter(sizes))
        if self.expected is not None and (size or 0) < self.expected:
            return Result(Warn, f"{text}; size {size} < expected {self.expected}", metric)
        return Result(Ok, f"{text}, size {size}", metric)


class PerfdataContext(Context):
    """Performance data only; never changes the state."""

    def __init__(self) -> None:
        super().__init__("perfdata")

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        return Result(Ok, metric=metric)

    def performance(self, metric: Metric, resource: Resource) -> Performance:
        return Performance(metric.name, metric.value, metric.uom, min=metric.min, max=metric.max)
