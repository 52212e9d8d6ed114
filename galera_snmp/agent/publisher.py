"""The agent's one report: built whole at each refresh (the node's snapshot, its node set, the
silent-site advice, the writer, the rejoin forecast, the transfer under way, the minute's window,
the evictions), then
published at once as the served GALERA-MIB tree, the notifications it calls for, and to whatever
else listens (the keepalived track file). Every answer (SNMP, HTTP, agent-check, /metrics) serves this report."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from ..cluster.nodeset import node_set
from ..cluster.peers import data_nodes
from ..cluster.peerwatch import PeerWatch
from ..config import ConfigError
from ..derived import Window
from ..node.refresh import Newest, Reporter
from ..node.sst import sst_processes
from ..node.transfer import TransferWatch, datadir_bytes
from ..record import replace
from ..snmp import notifications
from ..snmp.agentx import OidTree
from ..snmp.mib import MEMBER_COLUMNS, MEMBER_ENTRY, OID, SCALARS, render
from ..state import SYNCED, NodeReport, NodeSet, NodeState, Transfer

log = logging.getLogger(__name__)

# Every object OID: a GET for a missing instance of one of these is noSuchInstance.
OBJECT_OIDS: frozenset[OID] = frozenset(
    [obj.oid for obj in SCALARS] + [(*MEMBER_ENTRY, column) for _, column, _, _ in MEMBER_COLUMNS]
)


MAX_PENDING_NOTIFICATIONS = 64


class Publisher:
    """Turns each new report into the served tree, the notifications to send, and whatever
    else listens (the keepalived track file)."""

    def __init__(self, reporter: Reporter):
        """Publishes what ``reporter`` reports, and counts staleness on its clock, so ages and
        staleness never disagree."""
        self.reporter = reporter
        self.config = reporter.config
        self._monotonic = reporter.monotonic
        self._refreshed = self._monotonic()
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
        self._transfer_lock = threading.Lock()  # the refresh thread and the exit guard look
        self.transfers = TransferWatch(self.config.agent.transfer_stalled_after,
                                       lambda method: datadir_bytes(self.config.server.datadir, method))

    def refresh(self, snapshot: Callable[[], NodeState] | None = None) -> NodeReport:
        """A new report, published unless a snapshot that began later was published meanwhile
        (``snapshot``: the ExitGuard's, else the probe's)."""
        started = self._monotonic()
        report = self.reporter.report(snapshot)
        node_set = self.node_set()
        writer = self.peer_watch.writer(report) if self.peer_watch is not None else None
        transfer = self._transfer(report.state)
        with self._lock:  # with the staleness check: a stale report never follows a fresh one
            # under the lock: a forecast redone after a peer-watch round (forecast_again) is never
            # followed by one from answers read before it
            rejoin = self.peer_watch.rejoin(report) if self.peer_watch is not None else None
            admitted = self._newest.admit(started)
            if admitted:
                self._refreshed = self._monotonic()
            window = self.window.add(report.state) if admitted else None
            report = replace(report, node_set=node_set, site_advice=self.site_advice, writer=writer, window=window,
                             evictions=self.evictions, last_eviction=self.last_eviction, rejoin=rejoin,
                             transfer=transfer)
            if admitted:
                self._announce(report)
        return report

    def _transfer(self, state: NodeState) -> Transfer | None:
        """The state transfer this node takes part in (node/transfer.py): its processes are looked
        for only while the node is not Synced or a transfer is under way (one scan of /proc)."""
        donor, size, target = self.peer_watch.transfer_source() if self.peer_watch is not None else (None, None, None)
        with self._transfer_lock:
            current = self.transfers.current
            live = current is not None and current.live
            sst = sst_processes(state.pid) if state.pid and (live or state.local_state != SYNCED) else None
            return self.transfers.see(time.time(), state, sst, peer=donor, peer_expected=size, target=target)

    def forecast_again(self) -> None:
        """The last report's rejoin forecast redone from the peers' answers just read, published at
        once when it changed: a node out of the cluster sees its donors' caches move at the peer
        watch's pace, not a refresh after it."""
        if self.peer_watch is None:
            return
        with self._lock:
            if self.context is None:
                return
            rejoin = self.peer_watch.rejoin(self.context)
            if rejoin != self.context.rejoin:
                self._announce(replace(self.context, rejoin=rejoin))

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
        for notification in notifications.changed(previous, context):
            if len(self.notifications) == MAX_PENDING_NOTIFICATIONS:
                log.warning("%d notifications pending (no AgentX master?): the oldest dropped", len(self.notifications))
            self.notifications.append((notification.oid, notifications.varbinds(notification, tree, previous_tree)))
