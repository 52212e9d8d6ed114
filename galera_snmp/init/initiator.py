"""galera-init's I/O around the pure rule in rule.py: find the nodes, know this node's
position, publish the phase, poll every node (this one included), start mysqld, wait until Synced.

Nothing here decides: every round turns what was read into NodeViews and asks
``rule.decide``. Whatever cannot be read is missing information, never an absent node.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..cluster.peers import find_cluster, own_segment, trusted_targets
from ..cluster.peerwatch import transfer_source
from ..cluster.rejoin import spared_donors
from ..config import Config
from ..node import history
from ..node.galerafiles import mark_safe_to_bootstrap
from ..node.phase import clear_phase, write_phase
from ..node.probe import Probe, datadir_lock
from ..node.process import find_server
from ..node.sst import sst_processes
from ..node.transfer import TransferWatch, datadir_bytes
from ..node.transfer import describe as describe_transfer
from ..record import replace
from ..safeio import poke, read_regular, write_atomically
from ..snmp.remote import read_all
from ..state import NodeReport, NodeState, Position, ProcessState, SeqnoSource, Status, TransferUnit
from .guard import mark_starting, unmark_starting
from .rule import Action, Announcement, Decision, Heard, carry_forward, decide
from .transfer import LINE_EVERY, SIZE_EVERY, Progress, look
from .views import NodeView, evidence_table, peer_view

STOP_GRACE = 30.0  # seconds for a clean shutdown of a mysqld stuck outside a Primary component
JOIN_ATTEMPTS = 3  # a join whose mysqld exits before it is Synced is tried again, up to this many times in all
SYNCED_POLL = 0.2  # seconds between looks at a starting mysqld (one local snapshot each)
APPEAR_TIMEOUT = 10.0  # seconds for a started mysqld to show in /proc
DISCONNECTED_GRACE = 10.0  # seconds a joining mysqld may stay out of every group before it is restarted


class InitError(Exception):
    """galera-init cannot go on; the message says why (exit 1)."""


def own_view(index: int, name: str, state: NodeState) -> NodeView:
    """This node, mysqld stopped: its saved or recovered position (never a guessed one)."""
    if state.sst_in_progress:
        problem = "an interrupted state transfer (sst_in_progress): this node's data cannot be trusted"
        return NodeView(index, name, Status.INITIATING, problem=problem)
    position = state.position
    if position.is_stated and position.source in (SeqnoSource.GRASTATE, SeqnoSource.RECOVERED):
        return NodeView(index, name, Status.INITIATING, position)
    return NodeView(index, name, Status.INITIATING,
                    problem=f"own position unknown: {'; '.join(state.notes) or state.reason}")


class DisconnectWatch:
    """Whether a joining mysqld has been out of every group (wsrep_cluster_status Disconnected,
    the server answering) for longer than ``grace`` seconds.

    Galera leaves a joiner so when it gives up on it, e.g. "Receiving IST failed, node restart
    required: IST didn't contain all write sets" (seen with four joiners at once, one served by a
    donor that had just joined itself): mariadbd keeps running, never rejoins, never exits. A
    restart is what Galera asks for; a disconnected joiner has committed nothing, so it is safe."""

    def __init__(self, grace: float = DISCONNECTED_GRACE) -> None:
        self.grace = grace
        self._since: float | None = None

    def expired(self, state: NodeState, now: float) -> bool:
        disconnected = state.process is ProcessState.RUNNING and (state.cluster_status or "").lower() == "disconnected"
        if not disconnected:
            self._since = None
            return False
        if self._since is None:
            self._since = now
        return now - self._since > self.grace


def as_served(own: NodeView, served: NodeView) -> NodeView:
    """This node for the rule: its position from the probe (``own``), its status and node set as its
    snmpd serves them to the peers (``served``) — so the rule sees whether its announcement is
    visible, and whether its agent publishes the node set galera-init elects with."""
    return replace(served, position=own.position, problem="; ".join(p for p in (own.problem, served.problem) if p))


def decision_text(decision: Decision, me: int) -> str:
    return evidence_table(decision.evidence, me) + f"\ndecision: {decision.action.value}: {decision.reason}"


class Initiator:
    def __init__(self, config: Config, *, force: Position | None = None, say: Callable[[str], None] = print) -> None:
        self.config = config
        self.init = config.init
        self.cluster = find_cluster(config)
        self.targets = trusted_targets(config, self.cluster, "galera-init decides")
        self.force = force
        self.say = say
        self.probe = Probe(config)
        self._published: tuple[Status, str] | None = None
        self._heard: Heard = {}
        self._reports: dict[str, NodeReport | str] = {}  # the last answers, for the donors a join asks for
        # a peer's last answer counts through two failed polls (rule.carry_forward)
        self.keep = 2 * (self.init.poll_period + self.init.snmp_timeout * (self.init.snmp_retries + 1))

    # --- reading -------------------------------------------------------------------------

    def views(self, state: NodeState) -> list[NodeView]:
        """Every node as its snmpd serves it, asked in parallel — this one too, as the peers see it
        (``as_served``) — with this node's position from ``state``, its probe's."""
        self._reports = self.answers()
        views = [peer_view(i, host, report) for i, (host, report) in enumerate(self._reports.items())]
        me = self.cluster.me
        views[me] = as_served(own_view(me, self.cluster.nodes[me], state), views[me])
        return carry_forward(me, views, self._heard, time.monotonic(), self.keep)

    def answers(self) -> dict[str, NodeReport | str]:
        """Every node's agent, asked in parallel: its report, or why it did not answer."""
        return dict(zip(self.cluster.nodes, read_all(self.targets), strict=True))

    # --- the phase, published through the agent ---------------------------------------------

    def publish(self, status: Status, reason: str) -> None:
        if self._published == (status, reason):
            return
        write_phase(self.init.phase_file, status, reason)
        self._published = (status, reason)
        self._wake_agent()

    def unpublish(self) -> None:
        clear_phase(self.init.phase_file)
        self._published = None
        self._wake_agent()

    def _wake_agent(self) -> None:
        # no agent: peers then see "stopped", which is still the truth about mysqld
        poke(self.config.agent.wake_socket, b'{"galera-init": "phase"}')

    # --- mysqld ------------------------------------------------------------------------------

    def stop_stuck_mysqld(self, state: NodeState) -> None:
        """A mysqld up outside a Primary component takes part in the election only once stopped.

        It cannot commit anything there, so when it ignores the clean shutdown (a mariadbd
        waiting for its old view's members may, for as long as they stay away) it is killed
        after STOP_GRACE; its position is then recovered like after any crash.
        """
        self.say(f"mysqld is up but {state.status.value} ({state.reason}): stopping it cleanly to take part")
        if self.init.stop_command:
            self._run(self.init.stop_command, None)
        elif state.pid is not None:
            os.kill(state.pid, signal.SIGTERM)
        if self._wait_mysqld(running=False, timeout=STOP_GRACE):
            return
        info = find_server(self.config.server)
        if info.pid is not None:
            self.say(f"mysqld (pid {info.pid}) ignored the shutdown for {STOP_GRACE:g} s: killing it")
            os.kill(info.pid, signal.SIGKILL)
        if not self._wait_mysqld(running=False, timeout=APPEAR_TIMEOUT):
            raise InitError("mysqld does not go away, even after SIGKILL")

    def _wait_mysqld(self, *, running: bool, timeout: float) -> bool:
        """Whether a mysqld runs on the datadir (or none does) within ``timeout``."""
        deadline = time.monotonic() + timeout
        while (find_server(self.config.server).state is not ProcessState.ABSENT) != running:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def start_mysqld(self, command: str, position: Position | None, donors: str | None = None) -> None:
        datadir = self.config.server.datadir
        with datadir_lock(datadir):  # no --wsrep-recover of the agent may run on it meanwhile
            if find_server(self.config.server).state is not ProcessState.ABSENT:
                raise InitError("a mysqld appeared on the datadir meanwhile: not starting another")
            mark_starting(self.init.phase_file)  # mariadb.service's guard lets this start through
            try:
                self._run(command, position, donors)
                if not self._wait_mysqld(running=True, timeout=APPEAR_TIMEOUT):
                    raise InitError(f"{command!r} ran, but no mysqld runs on {datadir}")
            finally:
                unmark_starting(self.init.phase_file)

    def _run(self, command: str, position: Position | None, donors: str | None = None) -> None:
        # {position} is the recovered UUID:SEQNO, {donors} the spared donors; an argument naming
        # either is left out when it has no value
        values = {"{position}": None if position is None else str(position), "{donors}": donors}
        argv = [_fill(word, values) for word in shlex.split(command)
                if not any(key in word and value is None for key, value in values.items())]
        self.say("running: " + " ".join(shlex.quote(arg) for arg in argv))
        # Output to a file, not a pipe: a command that leaves mysqld running in the background
        # would keep a pipe open, and reading it would wait for mysqld to exit.
        with tempfile.TemporaryFile("w+") as output:
            try:
                result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                        timeout=self.init.synced_timeout, check=False)
            except (OSError, subprocess.TimeoutExpired) as err:
                raise InitError(f"{argv[0]}: {err}") from None
            if result.returncode != 0:
                output.seek(0)
                tail = output.read().strip().splitlines()[-3:]
                raise InitError(f"{argv[0]} exited {result.returncode}: {' / '.join(tail)}")

    def spare_the_writer(self) -> str | None:
        """With ``[init] spare_writer``: the donors this join asks for (cluster/rejoin.spared_donors,
        from the answers of the last poll, this node's segment first), written to ``donor_file``
        too; None otherwise (and a donor_file then names nobody, so no old list outlives the
        option). A donor file that cannot be written is said and the join goes on: a donor choice
        is never a reason to leave a node down."""
        donors = None
        if self.init.spare_writer:
            me = self.cluster.nodes[self.cluster.me]
            donors = spared_donors(self._reports, me, own_segment(self.config))
            if donors is None:
                self.say("no Synced node but the writer answers: Galera chooses the donor")
            else:
                self.say(f"asking for donors {donors} (the writer and drained nodes spared)")
        if self.init.donor_file is not None:
            line = f"wsrep_sst_donor = {donors}\n" if donors else "# no donor to ask for: Galera chooses\n"
            try:
                write_atomically(self.init.donor_file, f"# written by galera-init before each join\n[galera]\n{line}")
            except OSError as err:
                self.say(f"warning: cannot write {self.init.donor_file} ({err.strerror or err}): joining without it")
        return donors

    def mark_safe(self) -> None:
        mark_safe(self.config.server.datadir / "grastate.dat")

    def wait_synced(self, *, joining: bool = False) -> NodeState:
        """This node's state once Synced. ``synced_timeout`` counts from the last time the node
        moved (init/transfer.py: a long SST that goes on is waited for, one that stopped is not),
        and a line says how it goes every LINE_EVERY seconds. A joining mysqld that stays
        disconnected is stopped (:class:`DisconnectWatch`), and the join fails, to be elected and
        tried again."""
        started = time.monotonic()
        progress = Progress(started)
        next_size, next_line = started, started + LINE_EVERY
        watch = DisconnectWatch()
        transfers = TransferWatch(self.init.synced_timeout, lambda _method: None)  # what the SST's copiers stored
        donor: str | None = None  # the peer that donates to this node, and the size it published
        expected: int | None = None
        while True:
            state = self.probe.snapshot()
            if state.synced:
                return state
            now = time.monotonic()
            size = None
            if now >= next_size:
                size, next_size = datadir_bytes(self.config.server.datadir), now + SIZE_EVERY
            transfer = transfers.see(now, state, sst_processes(state.pid) if state.pid else None,
                                     peer=donor, peer_expected=expected)
            copied = transfer.done if transfer is not None and transfer.unit is TransferUnit.BYTES else None
            progress.see(look(now, state, size, copied))
            if now >= next_line:
                if copied and expected is None:  # a copy goes on: its donor's agent publishes the size
                    donor, expected, _ = transfer_source(self.cluster.nodes[self.cluster.me], self.answers())
                line = progress.line(now, state)
                if transfer is not None and transfer.percent is not None:
                    line += f" ({describe_transfer(transfer)})"
                self.say(line)
                next_line = now + LINE_EVERY
            if joining and watch.expired(state, now):
                self.say(f"mysqld stays out of the group while joining ({state.reason} for {watch.grace:g} s; "
                         "Galera wants a restart then, see its error log)")
                self.stop_stuck_mysqld(state)
                raise InitError("mysqld was disconnected from the group while joining")
            if state.process is ProcessState.ABSENT and now - started > APPEAR_TIMEOUT:
                raise InitError(f"mysqld exited before it was Synced ({state.reason}); see its error log")
            if progress.still_for(now) > self.init.synced_timeout:
                raise InitError(f"not Synced, and nothing moved for {self.init.synced_timeout:g} s: "
                                f"{state.status.value}, {state.reason}")
            time.sleep(SYNCED_POLL)

    # --- the loop ----------------------------------------------------------------------------

    def prepare(self) -> NodeState | None:
        """This node with mysqld stopped, for the election, or None when mysqld already is in a Primary
        component."""
        state = self.probe.snapshot()
        # "Cannot tell" may pass: at boot the agent's own --wsrep-recover run can hold the datadir
        # for a moment (CI saw a connection reset then). Wait it out; a hung mysqld stays unknown.
        deadline = time.monotonic() + STOP_GRACE
        while state.status is Status.UNKNOWN and time.monotonic() < deadline:
            time.sleep(SYNCED_POLL)
            state = self.probe.snapshot()
        if state.in_primary:
            return None
        if state.process is not ProcessState.ABSENT:
            if state.status is Status.UNKNOWN:
                raise InitError(f"mysqld runs but cannot be read ({state.reason}) for {STOP_GRACE:g} s: "
                                "not touching it")
            self.stop_stuck_mysqld(state)
            state = self.probe.snapshot()
        return state

    def expect_new_history(self) -> None:
        """A node in a reset history gets a new one on purpose: bootstrapped (Galera gives it a new
        UUID) or joining a Primary (a full state transfer). Recorded first, so that the agent takes
        the change for what it is, not for a history reset."""
        try:
            history.expect_new(self.config.agent.state_dir)
        except OSError as err:
            raise InitError(f"cannot record the new history in {self.config.agent.state_dir}: "
                            f"{err.strerror or err}") from None
        self.say("recorded: the next history of this node is expected (a reset history bootstraps into a new one)")

    def rewind_history(self, position: Position) -> None:
        """The operator forced a bootstrap below what was seen of the history: recorded first, so
        that this is the history's last position from now on (the peers' agents follow when they
        see it live)."""
        try:
            history.rewind(self.config.agent.state_dir, position)
        except OSError as err:
            raise InitError(f"cannot record the forced position in {self.config.agent.state_dir}: "
                            f"{err.strerror or err}") from None
        self.say(f"recorded: {position} forced by the operator; the history goes on from there")

    def dry_run(self) -> int:
        """The evidence and the decision, changing nothing: no mysqld is stopped, no recovery runs
        (the agent's recovered position is read, as galera-check reads it)."""
        with Probe(self.config, recover=False) as probe:
            state = probe.snapshot()
        if state.in_primary:
            self.say("mysqld is already in a Primary component: nothing to decide")
            return 0
        if state.process is not ProcessState.ABSENT:
            self.say(f"mysqld is up but {state.status.value} ({state.reason}): galera-init would stop it first")
        views = self.views(state)
        decision = decide(self.cluster.me, views, elapsed=0.0, deadline=self.init.deadline,
                          poll_period=self.init.poll_period, force=self.force)
        self.say(decision_text(decision, self.cluster.me))
        return 0

    def run(self) -> int:
        state = self.prepare()
        if state is None:
            self.say("mysqld is already in a Primary component")
            self.wait_synced()
            return 0
        try:
            for attempt in range(1, JOIN_ATTEMPTS + 1):
                action = self._elect(state)
                try:
                    state = self.wait_synced(joining=action is Action.JOIN)
                    break
                except InitError as err:
                    # A joiner can lose a race with a view change ("State transfer request failed
                    # unrecoverably": its mysqld exits) or be left out of the group (wait_synced
                    # stops it); nothing committed. Elect and join again; never after a bootstrap,
                    # and never while a mysqld still runs.
                    last = attempt == JOIN_ATTEMPTS
                    if action is not Action.JOIN or last or self.probe.snapshot().process is not ProcessState.ABSENT:
                        raise
                    self.say(f"{err}: electing again ({attempt + 1} of {JOIN_ATTEMPTS})")
                prepared = self.prepare()
                if prepared is None:  # in a Primary component after all
                    state = self.wait_synced()
                    break
                state = prepared
            self.say(f"Synced in a Primary component of {state.cluster_size} at seqno {state.position.seqno}")
            return 0
        finally:
            clear_phase(self.init.phase_file)

    def forget_saved_view(self, what: str) -> None:
        if remove_saved_view(self.config.server.datadir):
            self.say(f"removed {SAVED_VIEW}: this node {what}, it does not restore the one it was in "
                     "before the outage")

    def _elect(self, state: NodeState) -> Action:
        """Poll and decide until this node joins or bootstraps; start mysqld so; say which."""
        self.publish(Status.INITIATING, f"polling {len(self.cluster.nodes) - 1} peers")
        started = time.monotonic()
        announced: Announcement | None = None
        said = ""
        while True:
            views = self.views(state)
            position = views[self.cluster.me].position
            elapsed = time.monotonic() - started
            decision = decide(self.cluster.me, views, elapsed=elapsed, deadline=self.init.deadline,
                              poll_period=self.init.poll_period, announced=announced, force=self.force)
            # only ANNOUNCE and BOOTSTRAP carry it: any other decision starts an announcement over
            announced = decision.announcement
            if decision.reason != said:
                self.say(decision_text(decision, self.cluster.me))
                said = decision.reason
            if decision.action is Action.JOIN:
                self.unpublish()
                if position is not None and position.is_reset:
                    self.expect_new_history()  # a reset node takes the Primary's history by a full transfer
                self.forget_saved_view("joins the Primary component")
                donors = self.spare_the_writer()
                self.start_mysqld(self.init.join_command, position, donors)  # so it can catch up by IST
                return Action.JOIN
            if decision.action is Action.BOOTSTRAP:
                assert position is not None  # decide() never elects a node without one
                if position.is_reset:
                    self.expect_new_history()
                elif self.force is not None:
                    self.rewind_history(position)
                self.mark_safe()
                self.forget_saved_view("forms a new Primary component")
                self.start_mysqld(self.init.bootstrap_command, position)
                return Action.BOOTSTRAP
            if decision.action is Action.ANNOUNCE:
                self.publish(Status.BOOTSTRAPPING, decision.reason)
            else:
                blocked = decision.action is Action.BLOCKED
                self.publish(Status.BLOCKED if blocked else Status.INITIATING, decision.reason)
            time.sleep(self.init.poll_period)


def _fill(word: str, values: dict[str, str | None]) -> str:
    for key, value in values.items():
        word = word.replace(key, value or "")
    return word


def parse_position(text: str) -> Position:
    """``UUID:SEQNO`` as the operator types it for --force-bootstrap."""
    uuid, sep, seqno = text.strip().rpartition(":")
    if not sep or not seqno.lstrip("-").isdigit():
        raise ValueError(f"{text!r} is not UUID:SEQNO")
    position = Position(uuid.lower(), int(seqno))
    if not position.is_stated:
        raise ValueError(f"{text!r} is not a usable position (a state UUID and a seqno of 0 or more)")
    return position


def mark_safe(grastate: Path) -> None:
    """Set ``safe_to_bootstrap: 1`` in the elected node's grastate.dat, keeping its owner and
    mode. Root does this in a folder the mysql user owns: the file is read without following a
    symlink, and its owner is set on the new file before it replaces the old one."""
    try:
        data, before = read_regular(grastate)
    except FileNotFoundError:
        return  # no grastate.dat: nothing forbids the bootstrap
    except OSError as err:
        raise InitError(f"cannot read {grastate}: {err.strerror}") from None
    text = mark_safe_to_bootstrap(data)
    write_atomically(grastate, text, mode=before.st_mode & 0o777, owner=(before.st_uid, before.st_gid))


SAVED_VIEW = "gvwstate.dat"  # Galera's last Primary view, which pc.recovery restores at start


def remove_saved_view(datadir: Path) -> bool:
    """Remove the datadir's saved Primary view before galera-init starts mysqld; True if there
    was one.

    With pc.recovery (Galera's default), a node started after an outage restores its old identity
    and tries to re-form the Primary component it was in, with whichever of its old members
    answer, even when started with --wsrep-new-cluster. galera-init has decided which node forms
    the new Primary and that the others join it; a re-formed old one beside it is a second
    Primary. Seen in the arbitrator test, both ways: two joiners and a garbd still holding the
    old view re-formed it (3 of its 4 members); and the bootstrapped node, back under its old
    identity, re-merged with the garbd as "partitioned components" of that view, whose quorum
    then took the garbd's old state over the new bootstrap and split the group. The link itself
    is removed if it is one; nothing is followed."""
    try:
        os.unlink(datadir / SAVED_VIEW)
    except FileNotFoundError:
        return False
    return True
