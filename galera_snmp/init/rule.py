"""galera-init's decision: bootstrap, join, wait or refuse — a pure function of what is known.

This is where a mistake loses committed transactions or splits the brain, so the rule is
small, takes no I/O, and is tested exhaustively (tests/unit/init/test_rule.py), down to
simulated schedules of whole clusters:

- any other node in a Primary component → join it;
- every node that answers must elect from this node's node set (its galeraNodeSetDigest equals
  ours, ``nodeset.py``): a node missing from a list, an extra one, a hostname on one node and its
  address on another → blocked at once, naming the nodes and how their sets differ. Waiting
  cannot mend a configuration; galera-init keeps polling, so mending it un-blocks;
- bootstrap only with usable reports from *every* node of the set, none Primary, all sharing one
  non-zero state UUID and a known seqno, all publishing the set; the winner is the highest seqno,
  then the one safe_to_bootstrap node among those tied, then the lowest address (nodeset.py's
  order, never a position in a list): every node computes the same winner from the same
  reports, whatever the order of its list;
- a node announcing a bootstrap (status bootstrapping) → wait for it, unless the rule names
  this node; when this node cannot elect (incomplete information), blocked past the deadline,
  naming the announcer and what is missing (it still joins once the announcer is Primary);
- the winner announces, and bootstraps only once (1) the facts of the election stayed the same
  for more than two poll periods, (2) no other node announces, and (3) its own snmpd serves its
  announcement (its own status read over SNMP, as the peers read it);
- with incomplete information nothing is bootstrapped: wait until the deadline, then blocked,
  naming whom we wait for. An operator may force an expected ``uuid:seqno``, refused when any
  node reports a newer position or another history;
- a reset history (the zero state UUID, after a plain start following a crash) is never elected:
  the operator names it (``--force-bootstrap 00000000-...:SEQNO``) after comparing the nodes;
- never backwards: when a node saw a later seqno of the winner's history committed than the
  winner holds (galeraSeenPosition: data restored from an older copy, a disk rolled back), every
  node is blocked, naming the node that saw it; the operator may accept the loss by naming the
  winner's position (``--force-bootstrap``).

An unreachable node is never "absent": it is missing information.

When announcements cross. Nodes may see different facts for a while (a position or a node
published late) and name different winners, so several may announce. Each follows the rule:

- a node the rule does not name withdraws: it waits, and galera-init publishes ``initiating``;
- the node the rule names keeps announcing and never waits for another announcer, but does not
  bootstrap while one announces. Another's announcement is an election fact, so its withdrawal
  restarts the two-poll-period wait;
- once all see the same facts they name the same node: the others withdraw, its wait runs out,
  it bootstraps. No node waits for a node that waits for it, so announcing cannot livelock.

Why at most one node bootstraps: a node bootstraps only when, in one poll, its snmpd serves its
announcement and no other node's does. What an snmpd serves is the same for every reader, and a
served announcement stays served until its node is Primary (then the others join). So if X and Y
both bootstrapped, Y's last poll came before X's announcement was served, so before X's own last
poll, and X's before Y's: impossible. The announcement a node sees served is its current one
when what galera-init publishes reaches snmpd within the two-poll-period wait (the agent's
refresh_interval must stay below it).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from ..cluster.nodeset import address_key, difference, node_set
from ..record import record, replace
from ..state import DOWN_STATUSES, ZERO_UUID, Position, Status
from .views import NodeView

PRIMARY_STATUSES = frozenset({Status.RUNNING, Status.JOINING})
# DOWN_STATUSES (state.py): down and electing; a change among these is no change for the election.
# A node in one of these states is down and takes part in the election (an announcing one too).
ELECTING_STATUSES = DOWN_STATUSES | {Status.BOOTSTRAPPING}


class Action(StrEnum):
    JOIN = "join"  # start mysqld normally: a Primary component exists
    WAIT = "wait"  # not yet: poll again
    ANNOUNCE = "bootstrap-intent"  # publish "bootstrapping", then poll again
    BOOTSTRAP = "bootstrap"  # start mysqld with --wsrep-new-cluster at our position
    BLOCKED = "blocked"  # deadline passed without enough information, or the node sets differ: never guess


Facts = tuple[tuple[object, ...], ...]


@record
class Announcement:
    """This node's standing bootstrap announcement: since when (elapsed seconds) the facts it rests
    on have not changed, and those facts."""

    since: float
    facts: Facts


@record
class Decision:
    action: Action
    reason: str
    winner: int | None = None  # index of the node that bootstraps, when one is known
    evidence: tuple[NodeView, ...] = ()
    announcement: Announcement | None = None  # this node's announcement, to pass back as ``announced``


# A peer's last answer, and when it came (monotonic seconds)
Heard = dict[int, tuple[float, NodeView]]


def carry_forward(me: int, views: Sequence[NodeView], heard: Heard, now: float, keep: float) -> list[NodeView]:
    """The views with a peer that did not answer this poll replaced by its last answer, if that
    came at most ``keep`` seconds ago; ``heard`` is updated with this poll's answers.

    On a lossy network a poll of every node rarely has every answer, and the election needs every
    answer in several polls in a row: without this, one lost datagram restarts an announcement,
    and under loss nobody ever bootstraps. A peer that stays silent longer than ``keep`` counts as
    silent again. A stopped peer's position does not change, and a peer cannot leave "down" by
    itself meanwhile without a Primary to join or winning the same election, so a view a few
    seconds old is evidence, not a guess. This node's own view is never carried."""
    result = list(views)
    for view in views:
        if view.index == me:
            continue
        if view.answered:
            heard[view.index] = (now, view)
            continue
        last = heard.get(view.index)
        if last is not None and now - last[0] <= keep:
            result[view.index] = replace(last[1], problem=f"this poll: {view.problem or 'no answer'}; "
                                                          f"its answer of {now - last[0]:.1f} s ago counts")
    return result


def election_facts(me: int, views: Sequence[NodeView]) -> Facts:
    """What an election rests on, per node: whether it answered, what it does — down and electing
    (stopped, initiating and blocked are alike: a peer whose galera-init starts is no change),
    announcing, or else its status —, its position (with its safe_to_bootstrap) and its node set.
    This node's own status is left out: its own announcement changes it. A change of any of these
    restarts an announcement's wait."""
    return tuple(
        (v.name, v.answered, None if v.index == me else "down" if v.status in DOWN_STATUSES else v.status,
         v.position, v.node_set)
        for v in views
    )


def node_set_mismatch(me: int, views: Sequence[NodeView]) -> str:
    """Why the nodes that answer do not all elect from this node's set (its views' names), or ""."""
    mine = node_set(v.name for v in views)
    differing = [
        f"{v.name}{' (its agent)' if v.index == me else ''} {difference(mine, v.node_set)}"
        for v in views
        if v.node_set is not None and v.node_set.digest != mine.digest
    ]
    if not differing:
        return ""
    return (f"node sets differ from this node's ({', '.join(mine.nodes)}): {'; '.join(differing)} — "
            "every node must list the same data nodes ([init] nodes, arbitrators, wsrep_cluster_address)")


def elect(views: Sequence[NodeView]) -> tuple[NodeView | None, str]:
    """The node to bootstrap, or None and why not. Needs every node's usable report."""
    missing = [v for v in views if not v.answered]
    if missing:
        return None, "no report from " + ", ".join(v.describe() for v in missing)
    busy = [v for v in views if v.status not in ELECTING_STATUSES]
    if busy:
        return None, "not every node is down and electing: " + ", ".join(v.describe() for v in busy)
    reset = [v.describe() for v in views if v.position and v.position.is_reset]
    if reset:
        return None, (f"a reset history (zero state UUID) on {', '.join(reset)}: no election; compare the nodes' "
                      f"data, then galera-init --force-bootstrap {ZERO_UUID}:SEQNO on the node to keep (docs/INIT.md)")
    unknown = [v for v in views if not v.usable_position()]
    if unknown:
        return None, "unknown position on " + ", ".join(v.describe() for v in unknown)
    unset = [v.name for v in views if v.node_set is None]
    if unset:
        return None, "no node set (galeraNodeSetDigest) from " + ", ".join(unset)
    uuids = {v.position.uuid for v in views if v.position}
    if len(uuids) != 1:
        return None, "nodes do not share one history: " + ", ".join(v.describe() for v in views)
    top = max(v.position.seqno for v in views if v.position)
    tied = [v for v in views if v.position and v.position.seqno == top]
    safe = [v for v in tied if v.safe_to_bootstrap]
    if len(safe) == 1:
        return safe[0], f"highest seqno {top}, marked safe_to_bootstrap"
    winner = min(tied, key=lambda v: address_key(v.name))
    return winner, f"highest seqno {top}" + (f", lowest address of {len(tied)} tied" if len(tied) > 1 else "")


def decide(
    me: int,
    views: Sequence[NodeView],
    *,
    elapsed: float,
    deadline: float,
    poll_period: float,
    announced: Announcement | None = None,
    force: Position | None = None,
) -> Decision:
    """What node ``me`` (an index into ``views``, which lists every node of the set, this one
    included, as its snmpd serves it) does now.

    ``announced`` is the announcement of the previous decision (``Decision.announcement``); the
    bootstrap happens only if its facts stayed the same more than two poll periods.
    """
    evidence = tuple(views)
    peers = [v for v in views if v.index != me]
    primary = [v for v in peers if v.status in PRIMARY_STATUSES]
    if primary:
        return Decision(Action.JOIN, f"{primary[0].name} is in a Primary component", None, evidence)
    mismatch = node_set_mismatch(me, views)
    if mismatch:
        return Decision(Action.BLOCKED, mismatch, None, evidence)
    winner, why = elect(views)
    behind = backwards(winner, views) if winner is not None else None
    if behind is not None:
        if force is None:
            return Decision(Action.BLOCKED, behind, None, evidence)
        return _forced(me, views, force, elapsed=elapsed, poll_period=poll_period, announced=announced)
    starting = [v for v in peers if v.status is Status.BOOTSTRAPPING]
    if winner is None and starting:
        # no election here to check it by: wait for it, but say so as blocked past the deadline
        action = Action.BLOCKED if elapsed >= deadline else Action.WAIT
        reason = f"{starting[0].name} is bootstrapping; join once it is Primary"
        if action is Action.BLOCKED:  # which condition failed first, as every blocked reason
            reason = f"{why}; waiting for {starting[0].name}, which announces a bootstrap, to be Primary"
        return Decision(action, reason, None, evidence)
    if winner is None and force is not None:
        return _forced(me, views, force, elapsed=elapsed, poll_period=poll_period, announced=announced)
    if winner is None:
        action = Action.BLOCKED if elapsed >= deadline else Action.WAIT
        return Decision(action, why, None, evidence)
    if winner.index != me:
        reason = f"{winner.name} bootstraps ({why}); join once it is Primary"
        return Decision(Action.WAIT, reason, winner.index, evidence)
    return _two_phase(me, evidence, why, elapsed=elapsed, poll_period=poll_period, announced=announced)


def backwards(winner: NodeView, views: Sequence[NodeView]) -> str | None:
    """Why bootstrapping ``winner`` would take its history back, or None: a node saw a later
    seqno of that history committed (galeraSeenPosition) than any node now holds — data restored
    from an older copy, a disk rolled back. The commits in between would be lost without a word."""
    position = winner.position
    assert position is not None  # elect() names only a node with a position
    ahead = [v for v in views if v.seen is not None and v.seen.uuid == position.uuid and v.seen.seqno > position.seqno]
    if not ahead:
        return None
    highest = max(v.seen.seqno for v in ahead)  # type: ignore[union-attr]
    top = min((v for v in ahead if v.seen.seqno == highest), key=lambda v: address_key(v.name))  # type: ignore[union-attr]
    return (f"refusing to bootstrap backwards: the newest position is {winner.name}'s {position}, but {top.name} "
            f"saw seqno {highest} of that history committed (data restored from an older copy? a disk "
            f"rolled back?); the commits in between would be lost. Bring the newer data back, or accept the "
            f"loss: galera-init --force-bootstrap {position} on {winner.name}")


def _two_phase(
    me: int,
    evidence: tuple[NodeView, ...],
    why: str,
    *,
    elapsed: float,
    poll_period: float,
    announced: Announcement | None,
) -> Decision:
    facts = election_facts(me, evidence)
    if announced is None or announced.facts != facts:
        again = "" if announced is None else "the reports changed: "
        return Decision(Action.ANNOUNCE, f"this node wins ({why}): {again}announcing the bootstrap", me, evidence,
                        Announcement(elapsed, facts))
    others = [v.name for v in evidence if v.index != me and v.status is Status.BOOTSTRAPPING]
    own = evidence[me].status
    if others:
        reason = f"{', '.join(others)} announcing too; this node wins ({why}): they withdraw once they see it"
    elif elapsed - announced.since <= 2 * poll_period:
        reason = "announced; waiting more than two poll periods"
    elif own is not Status.BOOTSTRAPPING:
        reason = f"own announcement not visible through snmpd (it serves {own.value if own else 'nothing'})"
    else:
        return Decision(Action.BOOTSTRAP, f"this node wins ({why}) and nothing changed since announcing", me,
                        evidence, announced)
    return Decision(Action.ANNOUNCE, reason, me, evidence, announced)


def _forced(
    me: int,
    views: Sequence[NodeView],
    force: Position,
    *,
    elapsed: float,
    poll_period: float,
    announced: Announcement | None,
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
        if v.position and v.position.is_stated
        and (v.position.uuid != force.uuid or v.position.seqno > force.seqno)
    ]
    if newer:
        return Decision(Action.BLOCKED, "refusing to force: " + ", ".join(v.describe() for v in newer), None, evidence)
    why = f"forced by the operator at {force}"
    return _two_phase(me, evidence, why, elapsed=elapsed, poll_period=poll_period, announced=announced)
