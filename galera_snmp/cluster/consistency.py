"""Whether the nodes that answer are one consistent cluster: the one rule behind
``galera-snmp status`` and check_galera's peers mode. Pure: no I/O, no nagiosplugin.

Two Primary nodes are in one component when their member tables overlap (every node lists
itself, so a node that has taken a new view still shares members with one that has not yet),
or, when either publishes no member table, when both report the same view (conf_id). Nodes in
different histories (cluster state UUIDs) are never in one component.

More than one component is a split brain. Different conf_ids within one component are not:
during a membership change each node takes the new view on its own, and agents read their
nodes at different moments. Sizes that differ within one component deserve a look (a view
change in flight, or a node counting the cluster differently), but are no split.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from types import MappingProxyType

from ..record import record
from ..state import NodeReport, NodeState, history_reset


@record
class Component:
    """Primary nodes that are one component, by the names the caller gave them."""

    nodes: tuple[str, ...]
    history: str | None  # the cluster state UUID they share
    conf_ids: tuple[int | None, ...]  # the distinct views they report, unknown first
    sizes: Mapping[str, int | None]  # each node's wsrep_cluster_size

    @property
    def sizes_differ(self) -> bool:
        return len(set(self.sizes.values())) > 1

    def describe(self, label: Callable[[str], str] = str) -> str:
        """``[node1, node2] uuid <history> conf_id 11/12``, nodes named by ``label``."""
        confs = "/".join("?" if c is None else str(c) for c in self.conf_ids)
        names = ", ".join(sorted(label(node) for node in self.nodes))
        return f"[{names}] uuid {self.history or '?'} conf_id {confs}"


@record
class ClusterVerdict:
    """What the answers say about the cluster as a whole."""

    components: tuple[Component, ...]  # the Primary components, by their first node
    down: Mapping[str, str]  # nodes that did not answer: why
    outside: tuple[str, ...]  # nodes that answered from outside any Primary component
    history_reset: Mapping[str, str]  # nodes in a Primary component with a reset history: why

    @property
    def split(self) -> bool:
        return len(self.components) > 1

    @property
    def histories(self) -> tuple[str | None, ...]:
        """The histories (cluster state UUIDs) of the components: more than one is a split brain."""
        return tuple(dict.fromkeys(c.history for c in self.components))

    @property
    def size_disagreement(self) -> tuple[Component, ...]:
        """The components whose nodes report different cluster sizes."""
        return tuple(c for c in self.components if c.sizes_differ)

    def describe_split(self, label: Callable[[str], str] = str) -> str:
        """``2 Primary components in 2 histories: [...] and [...]``: the words both callers use."""
        histories = len(self.histories)
        where = f" in {histories} histories" if histories > 1 else ""
        parts = " and ".join(c.describe(label) for c in self.components)
        return f"{len(self.components)} Primary components{where}: {parts}"


def _one_component(a: NodeState, b: NodeState) -> bool:
    """Whether two Primary nodes are in one component (the module's docstring says why)."""
    if a.cluster_state_uuid != b.cluster_state_uuid:
        return False
    if a.members and b.members:
        return not {m.uuid for m in a.members}.isdisjoint(m.uuid for m in b.members)
    return a.cluster_conf_id == b.cluster_conf_id


def assess_cluster(reports: Mapping[str, NodeReport | str]) -> ClusterVerdict:
    """The verdict on every node's answer (a report, or why it did not answer), by name."""
    down = {name: report for name, report in reports.items() if isinstance(report, str)}
    states = {name: r.state for name, r in reports.items() if isinstance(r, NodeReport)}
    primary = {name: state for name, state in sorted(states.items()) if state.says_primary}
    groups: list[list[str]] = []
    for name, state in primary.items():
        linked = [g for g in groups if any(_one_component(state, primary[other]) for other in g)]
        groups = [g for g in groups if g not in linked]
        groups.append(sorted([name, *(other for g in linked for other in g)]))
    components = tuple(
        Component(
            nodes=tuple(group),
            history=primary[group[0]].cluster_state_uuid,
            conf_ids=tuple(sorted({primary[n].cluster_conf_id for n in group}, key=lambda c: -1 if c is None else c)),
            sizes={n: primary[n].cluster_size for n in group},
        )
        for group in sorted(groups)
    )
    outside = tuple(name for name in states if name not in primary)
    reset = {name: why for name, state in primary.items() if (why := history_reset(state))}
    return ClusterVerdict(components, down, outside, MappingProxyType(reset))


class Kind(Enum):
    """What a finding is about. Listed worst first: the order :func:`findings` keeps, so every
    caller reports the worst first without ranking kinds itself."""

    SPLIT = "split brain"
    NO_PRIMARY = "no Primary component"
    HISTORY_RESET = "history reset"
    NOT_ANSWERING = "not answering"
    OUTSIDE = "outside the component"
    SIZES_DIFFER = "sizes disagree"


@record
class Finding:
    """One thing about the cluster an operator must look at: its kind, the nodes it is about (by
    the caller's names) and its words."""

    kind: Kind
    nodes: tuple[str, ...]
    text: str


def findings(verdict: ClusterVerdict, label: Callable[[str], str] = str) -> list[Finding]:
    """The verdict in words, worst first: the one wording behind ``galera-snmp status`` and
    check_galera's peers mode, so the two cannot put the same fact differently. ``label`` names a
    node in the text (the peers mode says its wsrep_node_name)."""

    def names(nodes: Sequence[str]) -> str:
        return ", ".join(map(label, nodes))

    found = []
    if verdict.split:
        every = tuple(node for component in verdict.components for node in component.nodes)
        found.append(Finding(Kind.SPLIT, every, f"split brain: {verdict.describe_split(label)}"))
    elif not verdict.components:
        found.append(Finding(Kind.NO_PRIMARY, (), "no node is in a Primary component"))
    for why in dict.fromkeys(verdict.history_reset.values()):  # the same words for every node, as a rule
        nodes = tuple(node for node, its in verdict.history_reset.items() if its == why)
        found.append(Finding(Kind.HISTORY_RESET, nodes, f"{names(nodes)}: {why}"))
    if verdict.down:
        found.append(Finding(Kind.NOT_ANSWERING, tuple(verdict.down), f"not answering: {names(tuple(verdict.down))}"))
    if verdict.outside and verdict.components:  # with no component at all, NO_PRIMARY says it
        found.append(Finding(Kind.OUTSIDE, verdict.outside, f"outside any Primary component: {names(verdict.outside)}"))
    for component in verdict.size_disagreement:
        sizes = ", ".join(f"{label(node)} {'?' if size is None else size}" for node, size in component.sizes.items())
        found.append(Finding(Kind.SIZES_DIFFER, component.nodes, f"cluster sizes disagree: {sizes}"))
    return found


def disagreements(names: Sequence[str], reports: Sequence[NodeReport | str]) -> list[str]:
    """What an operator must look at: the cluster's findings (in the words check_galera's peers
    mode uses, from the same rule, so ``galera-snmp status`` and check_galera cannot disagree),
    then every other answering node that is not healthy (a desynced donor, say)."""
    by_name = dict(zip(names, reports, strict=True))
    found = findings(assess_cluster(by_name))
    outside = {node for finding in found if finding.kind is Kind.OUTSIDE for node in finding.nodes}  # said once
    problems = [finding.text for finding in found]
    for name, report in by_name.items():
        if isinstance(report, NodeReport) and name not in outside and report.verdict().healthy is not True:
            problems.append(f"{name} is {report.state.status.value}, not healthy: {report.verdict().reason}")
    return problems
