"""make-primary's decision: may this running, non-Primary component be made Primary, and on which
member — a pure function of what every configured node reports, tested in
tests/unit/init/test_promote.py down to a property over random clusters.

``pc.bootstrap=YES`` on a component that is not the only one left is a split brain. So the rule
promotes only when everything outside the component is known to be harmless:

- no node anywhere reports a Primary component (then there is one to join, or this one is Primary);
- every member of the component answers with a position in one history (the member that
  bootstraps must be the one with the newest commits), none a reset history (the zero state
  UUID: its data cannot be placed in any history, so nothing is promoted from it);
- every node outside the component answers and is down (stopped, or galera-init electing), at a
  position no newer than the component's and in the same history. A node that runs outside the
  component is another component: heal the partition or stop it. A node with a newer position
  holds commits the component lacks: start it so that it joins;
- a node that does not answer, or answers without a position, may hold anything (a partition,
  not a loss): refused unless the operator names every such node as lost (``--confirm-lost``),
  and only those — naming a node that answers with its position is refused too.

The member with the highest seqno bootstraps (ties: the lowest address, nodeset.py's order).
With every node answering, two components can never both pass: each sees the other running.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ..cluster.nodeset import address_key
from ..record import record
from ..state import DOWN_STATUSES, ZERO_UUID
from .views import NodeView


@record
class Promotion:
    target: str | None  # the member to set pc.bootstrap=YES on; None: refused
    reason: str
    evidence: tuple[NodeView, ...] = ()


def decide(views: Sequence[NodeView], component: Collection[str], confirm_lost: Collection[str] = ()) -> Promotion:
    """Whether the running component ``component`` (its members' names) may be made Primary."""
    evidence = tuple(views)
    names = {v.name for v in views}
    members = [v for v in views if v.name in component]
    outside = [v for v in views if v.name not in component]

    def refuse(reason: str) -> Promotion:
        return Promotion(None, reason, evidence)

    unknown = sorted(set(confirm_lost) - names) + sorted(set(component) - names)
    if unknown:
        return refuse(f"not configured nodes: {', '.join(unknown)} ([init] nodes)")
    primary = [v for v in views if v.says_primary]  # even from data not known to be current
    if primary:
        if any(v.name in component for v in primary):
            return refuse("this component is Primary already: nothing to do")
        return refuse(f"a Primary component exists ({', '.join(v.name for v in primary)}): "
                      "start or restart the other nodes so that they join it; never make a second one")
    silent = [v for v in members if not (v.answered and v.position)]
    if silent:
        return refuse("every member of the component must report its position: " + ", ".join(map(_why, silent)))
    reset = [v.describe() for v in members if v.position and v.position.is_reset]
    if reset:
        return refuse(f"a reset history ({ZERO_UUID}) on {', '.join(reset)}: its data cannot be placed in a "
                      "history; compare the nodes' data before anything is made Primary (docs/INIT.md, "
                      "'A history reset')")
    histories = {v.position.uuid for v in members if v.position}
    if len(histories) != 1:
        return refuse("the component's members do not share one history: " + ", ".join(v.describe() for v in members))
    top = max(v.position.seqno for v in members if v.position)
    not_lost = [v.name for v in outside if v.name in confirm_lost and v.answered and v.position]
    if not_lost:
        return refuse(f"{', '.join(not_lost)} answer with their position: not lost (leave them out of --confirm-lost)")
    unaccounted = [v for v in outside if not (v.answered and v.position) and v.name not in confirm_lost]
    if unaccounted:
        lost = ",".join(v.name for v in outside if not (v.answered and v.position))
        return refuse(
            "no position from " + ", ".join(map(_why, unaccounted)) + ": they may be cut off, not lost — a partition "
            f"with a component of its own. Only if they are really gone (powered off, destroyed): --confirm-lost {lost}"
        )
    running = [v for v in outside if v.answered and v.status not in DOWN_STATUSES]
    if running:
        return refuse(f"{', '.join(v.describe() for v in running)} outside this component: another component; "
                      "heal the partition so that they merge, or stop those nodes")
    other = [v for v in outside if v.answered and v.position and v.position.uuid not in histories]
    if other:
        return refuse("another history outside this component: " + ", ".join(v.describe() for v in other))
    newer = [v for v in outside if v.answered and v.position and v.position.seqno > top]
    if newer:
        return refuse(f"newer than this component (seqno {top}): {', '.join(v.describe() for v in newer)} — start "
                      "them so that they join, or galera-init")
    target = min((v for v in members if v.position and v.position.seqno == top), key=lambda v: address_key(v.name))
    lost = [v.name for v in outside if v.name in confirm_lost]
    why = f"{target.name} has the component's highest seqno {top}"
    if lost:
        why += f"; confirmed lost by the operator: {', '.join(lost)}"
    return Promotion(target.name, why, evidence)


def _why(view: NodeView) -> str:
    return view.describe() if not view.answered else f"{view.name}: {view.status.value if view.status else '?'} " \
        "without a known position"
