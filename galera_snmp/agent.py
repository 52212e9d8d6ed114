"""galera-snmp-agent: serves the latest snapshot as GALERA-MIB through an AgentX master.

The refresher thread takes one snapshot per ``refresh_interval`` (or at once when
galera-snmp-notify wakes it), renders it into an immutable OidTree and swaps it in; it is the
only code that talks to mysqld, so SNMP load never turns into MySQL load. The session thread
answers the master from whatever tree is current, so a hung mysqld never delays an answer. A
staleness thread marks the data not current when the refresher is stuck, and the HTTP check
(when enabled) has a thread of its own; all publish the same report.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable

from .cluster.nodeset import node_set
from .cluster.peers import data_nodes
from .cluster.peerwatch import PeerWatch
from .config import Config, ConfigError
from .derived import Window
from .eviction import Evictor
from .node.probe import Probe
from .node.watch import ExitGuard, Newest, Reporter, WakeSocket, Watcher, server_group
from .record import replace
from .snmp.agentx import AgentxError, ConnectionLost, OidTree, Refused, Session, encode_varbind
from .snmp.mib import (
    BY_NAME,
    GALERA_MIB,
    MEMBER_COLUMNS,
    MEMBER_ENTRY,
    NOTIFICATION_OBJECTS,
    OID,
    SCALARS,
    MibObject,
    Syntax,
    render,
)
from .state import NodeReport, NodeSet, NodeState, history_reset
from .traffic.agentcheck import AgentCheckServer
from .traffic.httpcheck import HealthServer, MetricsServer
from .traffic.keepalived import TrackFile

log = logging.getLogger(__name__)

# Every object OID: a GET for a missing instance of one of these is noSuchInstance.
OBJECT_OIDS: frozenset[OID] = frozenset(
    [obj.oid for obj in SCALARS] + [(*MEMBER_ENTRY, column) for _, column, _, _ in MEMBER_COLUMNS]
)


MAX_PENDING_NOTIFICATIONS = 64


def changed_notifications(previous: NodeReport | None, current: NodeReport) -> list[str]:
    """Which notifications a new snapshot calls for (none for the first one)."""
    if previous is None:
        return []
    before, after = previous.state, current.state
    names = []
    if before.status != after.status:
        names.append("galeraStatusChange")
    if before.local_state != after.local_state:
        names.append("galeraLocalStateChange")
    if before.cluster_size != after.cluster_size:
        names.append("galeraClusterSizeChange")
    if previous.health.healthy != current.health.healthy:
        names.append("galeraHealthChange")
    if (history_reset(before) is None) != (history_reset(after) is None):
        names.append("galeraHistoryResetChange")
    if before.promotion != after.promotion and after.promotion is not None:
        names.append("galeraPromotion")
    if (previous.site_advice is None) != (current.site_advice is None):
        names.append("galeraSiteSilentChange")
    if current.last_eviction is not None and current.last_eviction != previous.last_eviction:
        names.append("galeraEviction")
    return names


class Publisher:
    """Turns each new report into the served tree, the notifications to send, and whatever
    else listens (the keepalived track file)."""

    def __init__(
        self,
        config: Config,
        snapshot: Callable[[], NodeState],
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.config = config
        self.reporter = Reporter(config, snapshot, clock, monotonic)
        self._monotonic = monotonic
        self._refreshed = monotonic()
        self._lock = threading.Lock()  # the refresh thread, the exit guard and the staleness watch publish
        self._newest = Newest()
        self.context: NodeReport | None = None
        self._node_set_problem = ""
        self.tree = OidTree([], OBJECT_OIDS)  # as published: what notifications carry
        self._served: tuple[object, OidTree] = (None, self.tree)  # as of the last answer (served_tree)
        # appended by the refresh thread, drained by the session thread (deque ops are atomic); when
        # nobody drains it (no AgentX master), the oldest give way: the newest say how things are now
        self.notifications: deque[tuple[OID, list[bytes]]] = deque(maxlen=MAX_PENDING_NOTIFICATIONS)
        self.listeners: list[Callable[[NodeReport], None]] = []
        self.site_advice: str | None = None  # set by the peer watch, published with the next report
        self.peer_watch: PeerWatch | None = None  # the other nodes, for the writer rule
        self.window = Window()  # the published snapshots of the last minute (queue averages, write rate)
        self.evictions: int | None = None  # crash evictions made (eviction.py); None: crash eviction off
        self.last_eviction: str | None = None

    def refresh(self, snapshot: Callable[[], NodeState] | None = None) -> NodeReport:
        """A new report, published unless a snapshot that began later was published meanwhile
        (``snapshot``: the ExitGuard's, else the probe's)."""
        started = self._monotonic()
        report = replace(self.reporter.report(snapshot), node_set=self.node_set(), site_advice=self.site_advice,
                         evictions=self.evictions, last_eviction=self.last_eviction)
        if self.peer_watch is not None:
            report = replace(report, writer=self.peer_watch.writer(report))
        with self._lock:  # with the staleness check: a stale report never follows a fresh one
            if self._newest.admit(started):
                self._refreshed = self._monotonic()
                report = replace(report, window=self.window.add(report.state))
                self._announce(report)
        return report

    def evicted(self, text: str) -> None:
        """A crash eviction made: counted and published at once (with its notification), on the
        last report, without a snapshot (the refresh thread owns the probe)."""
        with self._lock:
            self.evictions = (self.evictions or 0) + 1
            self.last_eviction = text
            if self.context is not None:
                self._announce(replace(self.context, evictions=self.evictions, last_eviction=text))

    def stale_after(self) -> float:
        """Seconds without a finished snapshot after which the last one is no longer current: the
        next refresh is overdue — one refresh interval plus the longest a snapshot may take (a
        hung mysqld costs both timeouts twice); a recovery run takes longer, and its node does
        not serve meanwhile anyway."""
        mysql = self.config.mysql
        return self.config.agent.refresh_interval + 2 * (mysql.connect_timeout + mysql.read_timeout)

    def current(self) -> NodeReport | None:
        """The last report as of this moment, what every answer serves (SNMP, HTTP, agent-check):
        its age counted to now, and not current once the refresh it waits for is overdue."""
        with self._lock:
            return self._as_of_now()

    def _as_of_now(self) -> NodeReport | None:
        """The caller holds the lock. The published report itself while nothing has changed."""
        report = self.context
        if report is None:
            return None
        age = self.reporter.age()
        waited = self._monotonic() - self._refreshed
        if waited > self.stale_after():
            why = f"no new snapshot for {waited:.0f} s: the refresh is stuck"
            return replace(report, valid=False, age=age, last_error=why)
        return report if report.age == age else replace(report, age=age)

    def served_tree(self) -> OidTree:
        """GALERA-MIB as of now (:meth:`current`), rendered again only when the age or the
        validity has changed since it last was (at most once a second)."""
        with self._lock:
            report, published, tree = self._as_of_now(), self.context, self.tree
            if report is None or report is published:
                return tree
            key = (id(published), report.age, report.valid, report.last_error)
            if self._served[0] != key:
                self._served = (key, OidTree(render(report), OBJECT_OIDS))
            return self._served[1]

    def check_stale(self) -> NodeReport | None:
        """Publish the last report as not current when the refresh is overdue, so the listeners
        (the keepalived track file) drop a "healthy" that must not keep a VIP (called by a watch
        thread of its own). Decided and published under the lock a refresh publishes under, so
        it can never undo a fresh one."""
        with self._lock:
            if self._monotonic() - self._refreshed <= self.stale_after():
                return None
            report = self._as_of_now()
            if report is not None:
                self._announce(report)  # again at each tick: its age keeps counting
            return report

    def silence(self) -> None:
        """No more listeners (the agent is stopping: its last word to the track file is its own)."""
        with self._lock:
            self.listeners.clear()

    def _announce(self, report: NodeReport) -> None:
        """Publish ``report`` and tell the listeners; the caller holds the lock."""
        self._publish(report)
        for listener in self.listeners:
            listener(report)

    def node_set(self) -> NodeSet | None:
        """The data nodes galera-init elects with (galeraNodeSetDigest), computed as galera-init
        computes them, again at each refresh so that an edited wsrep_cluster_address shows without
        a restart; None, so not served, when the configuration does not tell them."""
        try:
            found, problem = node_set(data_nodes(self.config)), ""
        except ConfigError as err:
            found, problem = None, str(err)
        if problem and problem != self._node_set_problem:
            log.warning("galeraNodeSetDigest not served: %s", problem)
        self._node_set_problem = problem
        return found

    def _publish(self, context: NodeReport) -> None:
        tree = OidTree(render(context), OBJECT_OIDS)
        previous, previous_tree = self.context, self.tree
        self.context, self.tree = context, tree
        # A failed snapshot repeats the previous state: it changes nothing to notify about.
        for name in changed_notifications(previous, context):
            trap_oid, objects = NOTIFICATION_OBJECTS[name]
            varbinds = [self._notification_varbind(BY_NAME[obj], tree, previous_tree) for obj in objects]
            if len(self.notifications) == MAX_PENDING_NOTIFICATIONS:
                log.warning("%d notifications pending (no AgentX master?): the oldest dropped", len(self.notifications))
            self.notifications.append((trap_oid, varbinds))


    @staticmethod
    def _notification_varbind(obj: MibObject, tree: OidTree, previous: OidTree) -> bytes:
        """A notification must carry every object it lists: the current value, else the last
        known one (a stopped node no longer reports its name), else an empty value."""
        oid = (*obj.oid, 0)
        for source in (tree, previous):
            if oid in source:
                return source.get(oid)
        return encode_varbind(oid, obj.syntax, b"" if obj.syntax is Syntax.OCTET_STRING else 0)


def _alive(workers: tuple[threading.Thread, ...]) -> bool:
    """Whether the threads the outputs depend on still run (else exit, so the service restarts us)."""
    dead = [worker.name for worker in workers if not worker.is_alive()]
    if dead:
        log.error("the %s thread died; exiting so the service manager restarts us", " and ".join(dead))
    return not dead


RECONNECT_FIRST = 0.25  # seconds before the first new registration attempt; doubled up to reconnect_interval


class _MasterLog:
    """Logs the AgentX session's changes, not every failed attempt: an snmpd that stays away for
    an hour gives two lines, not thousands."""

    def __init__(self) -> None:
        self.state = ""

    def registered(self, where: str) -> None:
        self._say(f"registered GALERA-MIB with the AgentX master at {where}", logging.INFO)

    def lost(self, err: Exception) -> None:
        kind = "refused by" if isinstance(err, Refused) else "without"
        self._say(f"{kind} the AgentX master ({err}); GALERA-MIB is not served, registering again", logging.WARNING)

    def _say(self, message: str, level: int) -> None:
        state = message.split(" (", 1)[0]
        if state != self.state:
            log.log(level, "%s", message)
        self.state = state


class Agent:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.probe = Probe(config)
        self.publisher = Publisher(config, self.probe.snapshot)
        self.session = Session(str(config.agent.socket), GALERA_MIB, "galera-snmp-agent")
        self.stop = threading.Event()
        self._wake = WakeSocket(config.agent.wake_socket, server_group(config))
        self._watcher = Watcher(config, self._wake, self.stop)
        self.track: TrackFile | None = None
        if config.keepalived.track_file is not None:
            self.track = TrackFile(config.keepalived.track_file)
            self.publisher.listeners.append(lambda report: self.track.update(report.verdict()))
        self.http: HealthServer | None = None
        if config.http.enabled:
            self.http = HealthServer(config.http, self.publisher.current)
        self.agent_check: AgentCheckServer | None = None
        if config.agentcheck.enabled:
            self.agent_check = AgentCheckServer(config.agentcheck, config.health, self.publisher.current)
        self.metrics: MetricsServer | None = None
        if config.metrics.enabled:
            self.metrics = MetricsServer(config.metrics, self.publisher.current)
        self.evictor = self._evictor()

    def run(self) -> int:
        """Serve until stopped (0), or until a thread the outputs depend on dies (1)."""
        first = self.publisher.refresh()  # serve real data from the first request on
        refresher = threading.Thread(
            target=self._watcher.follow, args=(self.publisher.refresh, first), name="refresh", daemon=True
        )
        refresher.start()
        self._exit_guard().start()
        staleness = threading.Thread(target=self._watch_staleness, name="staleness", daemon=True)
        staleness.start()
        workers = (refresher, staleness)
        self._peer_watch()
        if self.evictor is not None:
            threading.Thread(target=self.evictor.serve, args=(self.stop,), name="crash-notices", daemon=True).start()
        for server in (self.http, self.agent_check, self.metrics):
            if server is not None:
                server.start()
        master = _MasterLog()
        wait = RECONNECT_FIRST
        try:
            while not self.stop.is_set():
                registered = time.monotonic()
                try:
                    self.session.connect()
                    master.registered(self.session.socket_path)
                    registered = time.monotonic()
                    while not self.stop.is_set() and _alive(workers):
                        self.session.serve_once(self.publisher.served_tree, 0.2)
                        self._send_notifications()
                except (OSError, ConnectionLost, AgentxError) as err:
                    # snmpd restarting, down or refusing us: GALERA-MIB is gone until it is back, but the
                    # track file, the HTTP check and galera-init's phase go on from the refresh thread.
                    # The wait grows unless the session lasted (a master that drops us at once must not
                    # make us knock four times a second).
                    master.lost(err)
                    self.session.close()
                    if time.monotonic() - registered >= self.config.agent.reconnect_interval:
                        wait = RECONNECT_FIRST
                    self.stop.wait(wait)
                    wait = min(wait * 2, self.config.agent.reconnect_interval)
                if not self.stop.is_set() and not _alive(workers):
                    return 1
            return 0
        finally:
            self.stop.set()
            for server in (self.http, self.agent_check, self.metrics):
                if server is not None:
                    server.stop()
            self.session.close()
            if self.evictor is not None:
                self.evictor.close()
            refresher.join(self.config.mysql.connect_timeout + self.config.mysql.read_timeout + 1)
            if not refresher.is_alive():  # else it is stuck in a snapshot; the process is exiting anyway
                self._wake.close()
                self.probe.close()
            self.publisher.silence()  # a refresh still running must not write after this
            if self.track is not None:
                self.track.fault("galera-snmp-agent stopped")

    def _exit_guard(self) -> ExitGuard:
        """Publishes a mysqld exit at once: the last report's server, watched by its pidfd."""

        def exited(pid: int) -> None:
            if self.evictor is not None:  # first: every millisecond here is one the cluster waits
                self.evictor.announce(self.publisher.context)
            self.publisher.refresh(lambda: self.probe.exit_snapshot(pid))

        return ExitGuard(lambda: self.publisher.context, exited, self.stop)

    def _evictor(self) -> Evictor | None:
        """Crash eviction ([cluster] evict_on_crash, evict_key), unless it cannot run: then the
        agent serves on without it and the log says why."""
        cluster = self.config.cluster
        if not cluster.evict_on_crash:
            return None
        if cluster.evict_key is None:
            log.info("crash eviction off: no [cluster] evict_key (docs/TRAFFIC.md, 'Writes back after a crash')")
            return None
        try:
            evictor = Evictor(self.config, self.publisher.current, self.publisher.evicted)
        except ConfigError as err:
            log.warning("crash eviction off: %s", err)
            return None
        self.publisher.evictions = 0
        return evictor

    def _peer_watch(self) -> None:
        """Start the watch over the other nodes ([cluster] watch: the silent-site advice, the writer),
        unless the cluster's nodes or their SNMP settings are unusable: then the rest of the agent
        serves on (no advice, never the writer), and the log says why."""
        if not self.config.cluster.watch:
            return
        try:
            watch = PeerWatch(self.config)
        except ConfigError as err:
            log.warning("no peer watch (no silent-site advice, not a writer): %s", err)
            return
        self.publisher.peer_watch = watch

        def publish(advice: str | None) -> None:
            self.publisher.site_advice = advice

        threading.Thread(target=watch.follow, args=(publish, self.stop, self.config.cluster.watch_interval),
                         name="peer-watch", daemon=True).start()

    def _watch_staleness(self) -> None:
        period = min(1.0, self.config.agent.refresh_interval)
        stuck = False
        while not self.stop.wait(period):
            stale = self.publisher.check_stale()  # republished at each tick: its age keeps counting
            if (stale is not None) != stuck:
                stuck = stale is not None
                if stale is not None:
                    log.warning("%s", stale.last_error)
                else:
                    log.info("the refresh is back")

    def _send_notifications(self) -> None:
        pending = self.publisher.notifications
        while pending:
            trap_oid, varbinds = pending[0]
            self.session.notify(trap_oid, varbinds)
            pending.popleft()


def run(config: Config) -> int:
    agent = Agent(config)

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        agent.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return agent.run()
