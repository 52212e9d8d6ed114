"""What galera-init and make-primary know of each node: one view type, made from a node's report
by one function, so that both read a peer the same way.

A report's position counts when it says where the node's data stands: a known position, or a
reset history (the zero state UUID after a plain start following a crash) — the rules decide what
a reset history allows (rule.py elects none, promote.py promotes none), the view only reports it.
Data not known to be current counts only when it can hold back: a peer that claims to be Primary,
running, joining or bootstrapping — never as a position.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ..record import record
from ..state import PRIMARY, NodeReport, NodeSet, Position, SeqnoSource, Status
from ..tables import table

# statuses that hold galera-init and make-primary back even when the data is not known to be current
HOLDING_BACK = frozenset({Status.RUNNING, Status.JOINING, Status.BOOTSTRAPPING})


@record
class NodeView:
    """What is known of one node of the set: its report, or why there is none."""

    index: int  # position in this node's list (how views refer to each other): decides nothing
    name: str  # the node's normalised address: its identity, and the election's last tie-breaker
    status: Status | None = None  # None: no usable report (unreachable, garbage)
    position: Position | None = None  # the node's reported position (known, or a reset history); None: none
    problem: str = ""  # why there is no usable report, or what is wrong with it
    node_set: NodeSet | None = None  # the set its agent publishes; None: none (or none readable)
    seen: Position | None = None  # the last position it saw committed (galeraSeenPosition): a floor
    cluster_status: str | None = None  # wsrep_cluster_status (from stale data: only a Primary it claims)

    @property
    def answered(self) -> bool:
        return self.status is not None and self.status is not Status.UNKNOWN

    @property
    def says_primary(self) -> bool:
        """The node's mysqld says its component is Primary: :attr:`NodeState.says_primary`, kept
        on the view because a view of data not known to be current keeps only this claim (a
        Primary that may exist holds galera-init and make-primary back)."""
        return self.cluster_status == PRIMARY

    def usable_position(self) -> bool:
        """A position that may be elected or promoted from: known, not a reset history."""
        return self.position is not None and self.position.is_known

    @property
    def safe_to_bootstrap(self) -> bool | None:
        return self.position.safe_to_bootstrap if self.position else None

    def describe(self) -> str:
        if not self.answered:
            return f"{self.name}: no report ({self.problem or 'unknown'})"
        where = str(self.position) if self.position else "no position"
        return f"{self.name}: {self.status.value if self.status else '?'} at {where}"


def peer_view(index: int, name: str, report: NodeReport | str) -> NodeView:
    """A node as its agent reports it, or, for a text, why there is no report. The node set comes
    from the agent's configuration, not from mysqld: it counts either way."""
    if isinstance(report, str):
        return NodeView(index, name, problem=report)
    state = report.state
    seen = state.seen_position  # a record of the past: it holds an election back even from stale data
    if state.status is Status.JOINING and not state.in_primary:
        # "joining" from a leftover sst_in_progress on a server that refuses connections: no Primary
        # component is confirmed, so it is no evidence of one (a real joiner's donor is)
        why = "joining without a Primary component confirmed (a state transfer marker): no evidence of one"
        return NodeView(index, name, Status.NONPRIMARY, problem=why, node_set=report.node_set, seen=seen,
                        cluster_status=state.cluster_status)
    if report.valid is not True:
        claimed = state.cluster_status if state.says_primary else None
        if state.status in HOLDING_BACK:
            return NodeView(index, name, state.status, problem="not known to be current: may only hold us back",
                            node_set=report.node_set, seen=seen, cluster_status=claimed)
        return NodeView(index, name, problem=f"no current data ({report.last_error or state.reason})",
                        node_set=report.node_set, seen=seen, cluster_status=claimed)
    position = state.position
    counts = position.is_stated and position.source is not SeqnoSource.UNKNOWN
    return NodeView(index, name, state.status, position if counts else None,
                    "" if state.status is not Status.UNKNOWN else state.reason, report.node_set, seen,
                    state.cluster_status)


def evidence_table(views: Sequence[NodeView], me: int, component: Collection[str] = ()) -> str:
    """The views a decision rests on, as galera-init and make-primary print them: this node and
    the members of ``component`` (make-primary's, marked *) named."""
    rows = [("NODE", "STATUS", "CLUSTER", "POSITION", "SAFE", "NODE SET", "NOTE")]
    for view in views:
        rows.append((
            view.name + (" (this node)" if view.index == me else "") + (" *" if view.name in component else ""),
            view.status.value if view.status else "-",
            view.cluster_status or "-",
            str(view.position) if view.position else "-",
            {True: "1", False: "0", None: "-"}[view.safe_to_bootstrap],
            view.node_set.digest if view.node_set else "-",
            view.problem,
        ))
    return table(rows)
