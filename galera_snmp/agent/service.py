"""galera-snmp-agent's service: its threads started, the AgentX session served, all stopped.

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

from ..cluster.peerwatch import PeerWatch
from ..config import Config, ConfigError
from ..eviction import Evictor
from ..node.probe import Probe
from ..node.refresh import ExitGuard, Reporter, WakeSocket, Watcher, server_group
from ..snmp.agentx import AgentxError, ConnectionLost, Refused, Session
from ..snmp.mib import GALERA_MIB
from ..traffic.agentcheck import AgentCheckServer
from ..traffic.httpcheck import HealthServer, MetricsServer
from ..traffic.keepalived import TrackFile
from .publisher import Publisher

log = logging.getLogger(__name__)

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
        self.publisher = Publisher(Reporter(config, self.probe.snapshot))
        self.session = Session(str(config.agent.socket), GALERA_MIB, "galera-snmp-agent")
        self.stop = threading.Event()
        self._wake = WakeSocket(config.agent.wake_socket, server_group(config))
        self._watcher = Watcher(config, self._wake, self.stop, self._refresh_interval)
        self.track: TrackFile | None = None
        if config.keepalived.track_file is not None:
            self.track = TrackFile(config.keepalived.track_file)
            self.publisher.listeners.append(lambda report: self.track.update(report.verdict()))
        self.http: HealthServer | None = None
        if config.http.enabled:
            self.http = HealthServer(config.http, self.publisher.current)
        self.agent_check: AgentCheckServer | None = None
        if config.agentcheck.enabled:
            self.agent_check = AgentCheckServer(config.agentcheck, self.publisher.current)
        self.metrics: MetricsServer | None = None
        if config.metrics.enabled:
            self.metrics = MetricsServer(config.metrics, self.publisher.current)
        self.evictor = self._evictor()

    def run(self) -> int:
        """Serve until stopped (0), or until a thread the outputs depend on dies (1)."""
        workers = self.start()
        try:
            return self.serve(workers)
        finally:
            self.close(workers)

    def start(self) -> tuple[threading.Thread, ...]:
        """The first report (real data from the first request on), then every thread that feeds or
        serves it; returns the threads it cannot go on without (one dead: the agent exits, and its
        service manager restarts it)."""
        first = self.publisher.refresh()
        refresher = threading.Thread(
            target=self._watcher.follow, args=(self.publisher.refresh, first), name="refresh", daemon=True
        )
        refresher.start()
        guard = self._exit_guard()
        guard.start()
        staleness = threading.Thread(target=self._watch_staleness, name="staleness", daemon=True)
        staleness.start()
        self._peer_watch()
        workers = (refresher, staleness, guard.thread)
        if self.evictor is not None:
            notices = threading.Thread(target=self.evictor.serve, args=(self.stop,), name="crash-notices", daemon=True)
            notices.start()
            workers += (notices,)
        for server in (self.http, self.agent_check, self.metrics):
            if server is not None:
                server.start()
        return workers

    def serve(self, workers: tuple[threading.Thread, ...]) -> int:
        """Answer the AgentX master and send the notifications, registering again whenever the
        master goes; 0 once stopped, 1 when a worker died."""
        master = _MasterLog()
        wait = RECONNECT_FIRST
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

    def close(self, workers: tuple[threading.Thread, ...]) -> None:
        """Stop everything; the track file's last word is the agent's own (stopped)."""
        self.stop.set()
        for server in (self.http, self.agent_check, self.metrics):
            if server is not None:
                server.stop()
        self.session.close()
        if self.evictor is not None:
            self.evictor.close()
        refresher = workers[0]
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

        threading.Thread(target=watch.follow, args=(publish, self.stop, self._watch_interval,
                                                    self.publisher.forecast_again),
                         name="peer-watch", daemon=True).start()

    def _paces(self) -> tuple[float, float]:
        report = self.publisher.context
        watch = self.publisher.peer_watch
        return paces(self.config.agent.refresh_interval, self.config.cluster.watch_interval,
                     this_out=report is not None and not report.state.in_primary,
                     peer_out=watch is not None and watch.someone_out())

    def _refresh_interval(self) -> float:
        return self._paces()[0]

    def _watch_interval(self) -> float:
        return self._paces()[1]

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


def paces(refresh: float, watch: float, *, this_out: bool, peer_out: bool) -> tuple[float, float]:
    """The seconds between two snapshots and between two rounds of the peer watch. While a node of
    the cluster is out of a Primary component (this one, or a peer as the watch last heard) every
    agent refreshes twice as often, and the out node's watch reads its peers at that pace too (not
    every watch_interval): its rejoin forecast, redone after each round (cluster/rejoin.py),
    follows the donors' caches within their refresh and one round, both halved, so within one
    refresh_interval."""
    if not (this_out or peer_out):
        return refresh, watch
    return refresh / 2, (min(watch, refresh / 2) if this_out else watch)


def run(config: Config) -> int:
    agent = Agent(config)

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        agent.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return agent.run()
