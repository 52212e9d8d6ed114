"""check_galera's peers mode: every listed node read over SNMP at once, judged by the cluster
rule (:func:`galera_snmp.cluster.assess_cluster`, shared with ``galera-snmp status``)."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator, Mapping, Sequence

import nagiosplugin
from nagiosplugin import Context, Metric, Resource, Result
from nagiosplugin.state import Critical, Ok, Warn

from ..cluster.consistency import ClusterVerdict, assess_cluster
from ..record import record
from ..state import NodeReport
from .sources import SnmpSource, SourceDown


@record
class Peers:
    """Every node's answer (a report, or why it did not answer) by name, and the verdict on them:
    assessed once, in the resource, and handed to the context with the metric."""

    reports: Mapping[str, NodeReport | str]
    verdict: ClusterVerdict

    @classmethod
    def of(cls, reports: Mapping[str, NodeReport | str]) -> Peers:
        return cls(reports, assess_cluster(reports))

    def label(self, name: str) -> str:
        """A node as the result text names it: its wsrep_node_name, else how it was reached."""
        report = self.reports[name]
        return (report.state.node_name or name) if isinstance(report, NodeReport) else name


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
        peers = Peers.of(reports)
        yield Metric("peers", peers, context="peers")
        total, verdict = len(peers.reports), peers.verdict
        yield Metric("answering", total - len(verdict.down), min=0, max=total, context="perfdata")
        yield Metric("primary_components", len(verdict.components), min=0, context="perfdata")


class PeersContext(Context):
    """One Primary component, every node answering and in it, sizes agreeing (and at least
    --expected): OK. A split brain, or no Primary component: CRITICAL."""

    def __init__(self, unreachable: nagiosplugin.state.ServiceState, expected: int | None) -> None:
        super().__init__("peers")
        self.unreachable = unreachable
        self.expected = expected

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        peers: Peers = metric.value
        verdict, label = peers.verdict, peers.label
        if verdict.split:
            return Result(Critical, f"split brain: {verdict.describe_split(label)}", metric)
        if not verdict.components:
            return Result(Critical, "no node is in a Primary component", metric)
        if verdict.history_reset:
            names = ", ".join(map(label, verdict.history_reset))
            why = next(iter(verdict.history_reset.values()))  # the same words for every node
            return Result(Critical, f"{names}: {why}", metric)
        component = verdict.components[0]
        text = f"one Primary component {component.describe(label)}"
        if verdict.down:
            return Result(self.unreachable, f"{text}; not answering: {', '.join(verdict.down)}", metric)
        if verdict.outside:
            return Result(Warn, f"{text}; outside it: {', '.join(map(label, verdict.outside))}", metric)
        sizes = sorted({size or 0 for size in component.sizes.values()})
        if component.sizes_differ:
            return Result(Warn, f"{text}; sizes disagree: {sizes}", metric)
        size = next(iter(component.sizes.values()))
        if self.expected is not None and (size or 0) < self.expected:
            return Result(Warn, f"{text}; size {size} < expected {self.expected}", metric)
        return Result(Ok, f"{text}, size {size}", metric)
