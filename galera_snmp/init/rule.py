"""galera-init's decision: bootstrap, join, wait or refuse — a pure function of what is known.

This is where a mistake loses committed transactions or splits the brain, so the rule is
small, takes no I/O, and is tested exhaustively (tests/unit/init/test_rule.py):

- any configured node in a Primary component → join it; one announcing a bootstrap → wait;
- bootstrap only with usable reports from *every* configured node, none Primary, all sharing
  one non-zero state UUID and a known seqno; the winner is the highest seqno, then the one
  safe_to_bootstrap node among those tied, then the lowest configured index — every node
  computes the same winner from the same reports;
- the winner first announces its intent, and bootstraps only when the reports still say the
  same after more than two poll periods;
- with incomplete information nothing is bootstrapped: wait until the deadline, then blocked,
  naming whom we wait for. An operator may force an expected ``uuid:seqno``, refused when any
  node reports a newer position.

An unreachable node is never "absent": it is missing information.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ..state import Position, Status

PRIMARY_STATUSES = frozenset({Status.RUNNING, Status.JOINING})
# A node in one of these states is down and takes part in the election.
ELECTING_STATUSES = frozenset({Status.STOPPED, Status.INITIATING, Status.BLOCKED})


class Action(StrEnum):
    JOIN = "join"  # start mysqld normally: a Primary component exists
    WAIT = "wait"  # not yet: poll again
    ANNOUNCE = "bootstrap-intent"  # publish "bootstrapping", then poll again
    BOOTSTRAP = "bootstrap"  # start mysqld with --wsrep-new-cluster at our position
    BLOCKED = "blocked"  # deadline passed without enough information: never guess


@dataclass(frozen=True)
class NodeView:
    """What is known of one configured node: its report, or why there is none."""

    index: int  # position in the configured node list, 0-based; also the last tie-breaker
    name: str
    status: Status | None = None  # None: no usable report (unreachable, garbage)
    position: Position | None = None  # the node's reported position; None when it may not vote
    problem: str = ""  # why there is no usable report, or what is wrong with it

    @property
    def answered(self) -> bool:
        return self.status is not None and self.status is not Status.UNKNOWN

    def usable_position(self) -> bool:
        return self.position is not None and self.position.is_known

    @property
    def safe_to_bootstrap(self) -> bool | None:
        return self.position.safe_to_bootstrap if self.position else None

    def describe(self) -> str:
        if not self.answered:
            return f"{self.name}: no report ({self.problem or 'unknown'})"
        where = str(self.position) if self.position else "no position"
        return f"{self.name}: {self.status.value if self.status else '?'} at {where}"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    winner: int | None = None  # index of the node that bootstraps, when one is known
    evidence: tuple[NodeView, ...] = ()


def election_facts(views: Sequence[NodeView]) -> tuple[tuple[object, ...], ...]:
    """What an election rests on, per node: whether it answered, whether it is down and
    electing (stopped, initiating and blocked are alike: a peer whose galera-init starts is no
    change), its position (with its safe_to_bootstrap). A change of any of these aborts an announcement."""
    return tuple(
        (v.index, v.answered, "electing" if v.status in ELECTING_STATUSES else v.status, v.position) for v in views
    )


def elect(views: Sequence[NodeView]) -> tuple[NodeView | None, str]:
    """The node to bootstrap, or None and why not. Needs every node's usable report."""
    missing = [v for v in views if not v.answered]
    if missing:
        return None, "no report from " + ", ".join(v.describe() for v in missing)
    busy = [v for v in views if v.status not in ELECTING_STATUSES]
    if busy:
        return None, "not every node is down and electing: " + ", ".join(v.describe() for v in busy)
    unknown = [v for v in views if not v.usable_position()]
    if unknown:
        return None, "unknown position on " + ", ".join(v.describe() for v in unknown)
    uuids = {v.position.uuid for v in views if v.position}
    if len(uuids) != 1:
        return None, "nodes do not share one history: " + ", ".join(v.describe() for v in views)
    top = max(v.position.seqno for v in views if v.position)
    tied = [v for v in views if v.position and v.position.seqno == top]
    safe = [v for v in tied if v.safe_to_bootstrap]
    if len(safe) == 1:
        return safe[0], f"highest seqno {top}, marked safe_to_bootstrap"
    winner = min(tied, key=lambda v: v.index)
    return winner, f"highest seqno {top}" + (f", lowest index of {len(tied)} tied" if len(tied) > 1 else "")


def decide(
    me: int,
    views: Sequence[NodeView],
    *,
    elapsed: float,
    deadline: float,
    poll_period: float,
    announced: tuple[float, tuple[NodeView, ...]] | None = None,
    force: Position | None = None,
) -> Decision:
    """What node ``me`` (an index into ``views``, which lists every configured node, this
    one included) does now.

    ``announced`` is (elapsed time, views) when this node published its bootstrap intent; the
    bootstrap happens only if the views are the same more than two poll periods later.
    """
    evidence = tuple(views)
    primary = [v for v in views if v.index != me and v.status in PRIMARY_STATUSES]
    if primary:
        return Decision(Action.JOIN, f"{primary[0].name} is in a Primary component", None, evidence)
    starting = [v for v in views if v.index != me and v.status is Status.BOOTSTRAPPING]
    if starting:
        return Decision(Action.WAIT, f"{starting[0].name} is bootstrapping; join once it is Primary", None, evidence)
    winner, why = elect(views)
    if winner is None and force is not None:
        return _forced(me, views, force, elapsed=elapsed, poll_period=poll_period, announced=announced)
    if winner is None:
        action = Action.BLOCKED if elapsed >= deadline else Action.WAIT
        return Decision(action, why, None, evidence)
    if winner.index != me:
        reason = f"{winner.name} bootstraps ({why}); join once it is Primary"
        return Decision(Action.WAIT, reason, winner.index, evidence)
    return _two_phase(me, evidence, why, elapsed=elapsed, poll_period=poll_period, announced=announced)


def _two_phase(
    me: int,
    evidence: tuple[NodeView, ...],
    why: str,
    *,
    elapsed: float,
    poll_period: float,
    announced: tuple[float, tuple[NodeView, ...]] | None,
) -> Decision:
    if announced is None:
        return Decision(Action.ANNOUNCE, f"this node wins ({why}): announcing the bootstrap", me, evidence)
    since, seen = announced
    if election_facts(seen) != election_facts(evidence):
        return Decision(Action.WAIT, "reports changed after the announcement: electing again", None, evidence)
    if elapsed - since <= 2 * poll_period:
        return Decision(Action.ANNOUNCE, "announced; waiting more than two poll periods", me, evidence)
    return Decision(Action.BOOTSTRAP, f"this node wins ({why}) and nothing changed since announcing", me, evidence)


def _forced(
    me: int,
    views: Sequence[NodeView],
    force: Position,
    *,
    elapsed: float,
    poll_period: float,
    announced: tuple[float, tuple[NodeView, ...]] | None,
) -> Decision:
    """The operator's override: bootstrap at ``force`` even without every report, but only
    from the node that holds exactly that position, and never past a newer one seen anywhere."""
    evidence = tuple(views)
    mine = views[me].position
    if mine is None or (mine.uuid, mine.seqno) != (force.uuid, force.seqno):
        return Decision(Action.BLOCKED, f"forced {force}, but this node is at {mine or 'an unknown position'}", None,
                        evidence)
    newer = [
        v for v in views
        if v.position and v.position.is_known and (v.position.uuid != force.uuid or v.position.seqno > force.seqno)
    ]
    if newer:
        return Decision(Action.BLOCKED, "refusing to force: " + ", ".join(v.describe() for v in newer), None, evidence)
    why = f"forced by the operator at {force}"
    return _two_phase(me, evidence, why, elapsed=elapsed, poll_period=poll_period, announced=announced)
