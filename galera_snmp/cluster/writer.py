"""One writer: which node takes the writes, decided alike on every node (pure).

Multi-writer Galera turns conflicting writes into certification failures and deadlocks, so most
deployments send writes to one node. The writer is the first node of the priority order
(``[cluster] writers``, else the node set's order) that may write: healthy (the health rule,
on current data) and not read_only. Each node judges itself from its own snapshot and the nodes
before it through their agents (the agent's peer watch):

- a node before it that is not a member of its Primary component cannot write here (a node
  outside the Primary refuses queries): skipped, without asking — so a writer that dies or is
  cut off is passed over as soon as the view changes, not after the next peer read;
- a member before it that may write is the writer; one that answers it may not is skipped;
- a member before it whose agent gives no current answer: this node cannot tell, and says no.

Every node computes the same answer from the same reports. They read each other at different
moments, so for up to one peer-watch interval two nodes may both say yes (a writer back in
service, the next one not yet aware), or none: Galera accepts writes on any node, so the cost of
such a window is at most some certification conflicts, never lost or diverging data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..address import normalise
from ..state import Health, HealthCode, NodeReport, NodeState


def may_write(report: NodeReport) -> Health:
    """Whether this node could be the writer: healthy on current data (the verdict, with its
    code), and read_only known OFF."""
    verdict = report.verdict()
    if verdict.healthy is not True:
        return verdict
    if report.state.read_only is None:
        return Health(False, "read_only is not known", HealthCode.NOT_WRITER)
    if report.state.read_only:
        return Health(False, "read_only is ON", HealthCode.READ_ONLY)
    return verdict


def members_of(state: NodeState) -> frozenset[str] | None:
    """The nodes of this node's Primary component, by normalised address; None when not known."""
    if not state.says_primary or state.members is None:
        return None
    return frozenset(normalise(m.address) for m in state.members if m.address)


def writer(me: str, order: Sequence[str], mine: NodeReport, peers: Mapping[str, NodeReport | str]) -> Health:
    """Whether ``me`` is the writer (module docstring); the reason names who is, or why not."""
    if me not in order:
        return Health(False, f"{me} is not in the writers' order", HealthCode.NOT_WRITER)
    fit = may_write(mine)
    if not fit.healthy:
        return Health(False, f"may not write: {fit.reason}", HealthCode.NOT_WRITER)
    members = members_of(mine.state)
    for node in order[: order.index(me)]:
        if members is not None and node not in members:
            continue  # outside this Primary component: it cannot take writes here
        peer = peers.get(node)
        if not isinstance(peer, NodeReport):
            why = peer or "no current report"
            return Health(False, f"cannot tell whether {node} is the writer: {why}", HealthCode.NOT_WRITER)
        if may_write(peer).healthy:
            return Health(False, f"{node} is the writer", HealthCode.NOT_WRITER)
    return Health(True, "the writer: the first node of the writers' order that may write", HealthCode.WRITER)
