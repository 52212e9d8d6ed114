"""check_galera's peers mode: every listed node read over SNMP at once, judged by the cluster
rule (:func:`galera_snmp.cluster.assess_cluster`, shared with ``galera-snmp status``) and put
into the same words (:func:`galera_snmp.cluster.consistency.findings`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import nagiosplugin
from nagiosplugin import Context, Metric, Resource, Result
from nagiosplugin.state import Critical, Ok, Unknown, Warn

from ..cluster.consistency import ClusterVerdict, Kind, assess_cluster, findings
from ..record import record
from ..state import NodeReport
from .sources import SnmpSource

ServiceState = nagiosplugin.state.ServiceState


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
    """Every listed node, read over SNMP at the same time (the reader ``galera-snmp status``,
    galera-init and the doctor use: :func:`galera_snmp.snmp.remote.read_all`)."""

    def __init__(self, sources: Sequence[SnmpSource]) -> None:
        self.sources = sources

    def probe(self) -> Iterator[Metric]:
        from ..snmp.remote import read_all  # imported here, as SnmpSource.read does

        answers = read_all([source.target for source in self.sources], members=True)
        peers = Peers.of(dict(zip((source.name for source in self.sources), answers, strict=True)))
        yield Metric("peers", peers, context="peers")
        total, verdict = len(peers.reports), peers.verdict
        yield Metric("answering", total - len(verdict.down), min=0, max=total, context="perfdata")
        yield Metric("primary_components", len(verdict.components), min=0, context="perfdata")


# Worst first when kinds are ranked by state: a known split outranks an unknown answer.
_RANK = {Critical: 0, Unknown: 1, Warn: 2}


class PeersContext(Context):
    """One Primary component, every node answering and in it, sizes agreeing (and at least
    --expected): OK. A split brain, no Primary component or a reset history: CRITICAL. A silent
    node: the --unreachable state. Anything else the cluster rule finds: WARNING."""

    def __init__(self, unreachable: ServiceState, expected: int | None) -> None:
        super().__init__("peers")
        self.unreachable = unreachable
        self.expected = expected

    def state_of(self, kind: Kind) -> ServiceState:
        """Each finding's Nagios state: silence is the operator's call (--unreachable)."""
        if kind is Kind.NOT_ANSWERING:
            return self.unreachable
        return Critical if kind in (Kind.SPLIT, Kind.NO_PRIMARY, Kind.HISTORY_RESET) else Warn

    def judged(self, peers: Peers) -> list[tuple[ServiceState, str]]:
        """The cluster rule's findings in their words with their states, worst first, and this
        mode's own: one component smaller than --expected."""
        found = [(self.state_of(finding.kind), finding.text) for finding in findings(peers.verdict, peers.label)]
        components = peers.verdict.components
        if len(components) == 1 and not components[0].sizes_differ and self.expected is not None:
            size = next(iter(components[0].sizes.values()))
            if (size or 0) < self.expected:
                found.append((Warn, f"size {size} < expected {self.expected}"))
        return sorted(found, key=lambda judged: _RANK[judged[0]])  # stable: the rule's order within a state

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        peers: Peers = metric.value
        found = self.judged(peers)
        texts = [text for _, text in found]
        components = peers.verdict.components
        if len(components) != 1 or peers.verdict.history_reset:
            # no one component to speak of, or one whose history is the news
            return Result(found[0][0], "; ".join(texts), metric)
        component = components[0]
        text = f"one Primary component {component.describe(peers.label)}"
        if not found:
            return Result(Ok, f"{text}, size {next(iter(component.sizes.values()))}", metric)
        return Result(found[0][0], "; ".join([text, *texts]), metric)
