"""galera-snmp-agent: serves the latest snapshot as GALERA-MIB through an AgentX master.

Two threads. The refresher takes one snapshot per ``refresh_interval`` (or at once when
galera-snmp-notify wakes it), renders it into an immutable OidTree and swaps it in; it is the
only code that talks to mysqld, so SNMP load never turns into MySQL load. The session thread
answers the master from whatever tree is current, so a hung mysqld never delays an answer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import stat
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from .agentx import AgentxError, ConnectionLost, OidTree, Refused, Session, encode_varbind
from .config import Config
from .mib import (
    BY_NAME,
    GALERA_MIB,
    MEMBER_COLUMNS,
    MEMBER_ENTRY,
    NOTIFICATION_OBJECTS,
    OID,
    SCALARS,
    MibObject,
    ServeContext,
    Syntax,
    render,
)
from .probe import Probe
from .process import find_mysqld, process_state
from .state import Health, NodeState, ProcessState, Status, assess_health

log = logging.getLogger(__name__)

# Every object OID: a GET for a missing instance of one of these is noSuchInstance.
OBJECT_OIDS: frozenset[OID] = frozenset(
    [obj.oid for obj in SCALARS] + [(*MEMBER_ENTRY, column) for _, column, _, _ in MEMBER_COLUMNS]
)


def is_valid(state: NodeState) -> bool:
    """A snapshot is current when mysqld answered, or when we know for sure it is not running."""
    return state.answered or state.process is ProcessState.ABSENT


MAX_PENDING_NOTIFICATIONS = 64
PROCESS_WATCH = 0.2  # seconds between checks that mysqld is still (or not yet) there
MIN_WAKE_INTERVAL = 0.05  # seconds: events a few ms apart (a view change sends several) share one refresh


def process_changed(state: NodeState, datadir: Path) -> bool:
    """Whether mysqld appeared or vanished since ``state`` (cheap: one /proc read, or a scan)."""
    if state.pid is None:
        return find_mysqld(datadir).state is not ProcessState.ABSENT
    return process_state(state.pid) is not state.process


def changed_notifications(previous: ServeContext | None, current: ServeContext) -> list[str]:
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
    return names


class Publisher:
    """Turns snapshots into the served tree and the notifications to send."""

    def __init__(self, config: Config, snapshot: Callable[[], NodeState], clock: Callable[[], float] = time.time):
        self.config = config
        self._snapshot = snapshot
        self._clock = clock
        self._started = clock()
        self._last_valid: float | None = None
        self.context: ServeContext | None = None
        self.tree = OidTree([], OBJECT_OIDS)
        # appended by the refresh thread, drained by the session thread (deque ops are atomic)
        self.notifications: deque[tuple[OID, list[bytes]]] = deque()

    def refresh(self) -> ServeContext:
        try:
            state = self._snapshot()
        except Exception as err:
            log.exception("snapshot failed")
            return self._publish_failure(f"snapshot failed: {err!r}")
        now = self._clock()
        valid = is_valid(state)
        if valid:
            self._last_valid = state.taken_at
        since = self._last_valid if self._last_valid is not None else self._started
        context = ServeContext(
            state=state,
            health=assess_health(state, self.config.health),
            valid=valid,
            age=max(0, int(now - since)),
            last_error="" if valid else state.reason,
        )
        self._publish(context)
        return context

    def _publish_failure(self, error: str) -> ServeContext:
        """Keep what we had (or, before any snapshot, an unknown state), marked invalid, with
        its age growing."""
        now = self._clock()
        previous = self.context
        if previous is None:
            state = NodeState(taken_at=now, status=Status.UNKNOWN, reason=error)
            previous = ServeContext(state, Health(None, error), valid=False, age=0)
        since = self._last_valid if self._last_valid is not None else self._started
        context = ServeContext(
            state=previous.state,
            health=previous.health,
            valid=False,
            age=max(0, int(now - since)),
            last_error=error,
        )
        self._publish(context, notify=False)
        return context

    def _publish(self, context: ServeContext, notify: bool = True) -> None:
        tree = OidTree(render(context), OBJECT_OIDS)
        previous, previous_tree = self.context, self.tree
        self.context, self.tree = context, tree
        if not notify:
            return
        for name in changed_notifications(previous, context):
            trap_oid, objects = NOTIFICATION_OBJECTS[name]
            varbinds = [self._notification_varbind(BY_NAME[obj], tree, previous_tree) for obj in objects]
            if len(self.notifications) >= MAX_PENDING_NOTIFICATIONS:
                log.warning("%d notifications pending (no AgentX master?): %s dropped", len(self.notifications), name)
                continue
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


class WakeSocket:
    """A datagram socket galera-snmp-notify writes to, so a wsrep event refreshes at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                path.unlink()  # a stale socket of an earlier run; a live agent is refused by snmpd
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))  # fails on anything else at that path: we never delete it
        os.chmod(path, 0o666)  # mysqld's user runs the notify command; all it can do is wake us
        self._inode = os.stat(path).st_ino

    def wait(self, timeout: float) -> bytes | None:
        """The first event that arrives within ``timeout`` (the rest are drained), or None."""
        ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not ready:
            return None
        event = self.sock.recv(4096)
        while select.select([self.sock], [], [], 0)[0]:
            self.sock.recv(4096)
        return event

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            if os.lstat(self.path).st_ino == self._inode:  # not a newer agent's socket
                self.path.unlink()


class Agent:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.probe = Probe(config)
        self.publisher = Publisher(config, self.probe.snapshot)
        self.session = Session(str(config.agent.socket), GALERA_MIB, "galera-snmp-agent")
        self.stop = threading.Event()
        self._wake = WakeSocket(config.agent.wake_socket)

    def _refresh_loop(self) -> None:
        """Refresh after each interval, at once on a wsrep event, or when mysqld appears or
        vanishes (run() took the first snapshot)."""
        interval = self.config.agent.refresh_interval
        while not self.stop.is_set():
            self._wait_for_change(interval)
            if not self.stop.is_set():
                self.publisher.refresh()

    def _wait_for_change(self, interval: float) -> None:
        state = self.publisher.context.state if self.publisher.context else None
        deadline = time.monotonic() + interval
        # Between refreshes, watch the process: a crashed mysqld sends no wsrep event.
        while (left := deadline - time.monotonic()) > 0 and not self.stop.is_set():
            event = self._wake.wait(min(left, PROCESS_WATCH))
            if event:
                log.info("woken by wsrep event: %r", event[:200])
                self.stop.wait(MIN_WAKE_INTERVAL)  # a flood of wake-ups is not a flood of queries
                return
            if state is not None and process_changed(state, self.config.server.datadir):
                return

    def run(self) -> int:
        """Serve until stopped (0) or until the master refuses us or stays away (1)."""
        self.publisher.refresh()  # serve real data from the first request on
        refresher = threading.Thread(target=self._refresh_loop, name="refresh", daemon=True)
        refresher.start()
        lost_since: float | None = None
        try:
            while not self.stop.is_set():
                try:
                    self.session.connect()
                    log.info("registered GALERA-MIB with the AgentX master at %s", self.session.socket_path)
                    lost_since = None
                    while not self.stop.is_set():
                        if not refresher.is_alive():
                            log.error("the refresh thread died; exiting so the service manager restarts us")
                            return 1
                        self.session.serve_once(lambda: self.publisher.tree, 0.2)
                        self._send_notifications()
                except Refused as err:
                    log.error("%s", err)
                    return 1
                except (OSError, ConnectionLost, AgentxError) as err:
                    now = time.monotonic()
                    if lost_since is None:
                        lost_since = now
                        log.warning("AgentX master unavailable (%s); reconnecting", err)
                    if now - lost_since > self.config.agent.reconnect_timeout:
                        log.error("no AgentX master for %g s; exiting", self.config.agent.reconnect_timeout)
                        return 1
                    self.stop.wait(0.25)
            return 0
        finally:
            self.stop.set()
            self.session.close()
            refresher.join(self.config.mysql.connect_timeout + self.config.mysql.read_timeout + 1)
            if not refresher.is_alive():  # else it is stuck in a snapshot; the process is exiting anyway
                self._wake.close()
                self.probe.close()

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
