"""Keeping a node's report current: when to take the next snapshot, and what it says.

Shared by every long-running consumer (the agent, the keepalived track-file follower), so
they notice the same changes equally fast: a wsrep event (galera-snmp-notify wakes us), a
mysqld that appears or vanishes (a crash sends no wsrep event), or else the refresh interval.
The one-shot commands take their single report through :func:`local_report`, so they judge a
node exactly as the agent does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import select
import socket
import stat
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from ..config import Config, ServerConfig
from ..state import Health, HealthCode, NodeReport, NodeState, ProcessState, Status, assess_health
from .probe import Probe
from .process import find_server, process_state

log = logging.getLogger(__name__)

PROCESS_WATCH = 0.2  # seconds between checks that mysqld is still (or not yet) there
MIN_WAKE_INTERVAL = 0.05  # seconds: events a few ms apart (a view change sends several) share one refresh


def is_valid(state: NodeState) -> bool:
    """A snapshot is current when mysqld answered, or when we know for sure it is not running."""
    return state.answered or state.process is ProcessState.ABSENT


def process_changed(state: NodeState, server: ServerConfig) -> bool:
    """Whether mysqld appeared or vanished since ``state`` (cheap: one /proc read, or a scan)."""
    if state.pid is None:
        return find_server(server).state is not ProcessState.ABSENT
    return process_state(state.pid) is not state.process


class Reporter:
    """Turns snapshots into reports: the health verdict, whether the data is current, and how
    old the last current data is. A failed snapshot keeps what we had, marked invalid."""

    def __init__(
        self,
        config: Config,
        snapshot: Callable[[], NodeState],
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.config = config
        self._snapshot = snapshot
        self._clock = clock  # wall time, for a snapshot's taken_at
        self.monotonic = monotonic  # for ages: a clock step must not make data look current
        self._started = monotonic()
        self._last_valid: float | None = None
        self.last: NodeReport | None = None

    def report(self, snapshot: Callable[[], NodeState] | None = None) -> NodeReport:
        """The report of a new snapshot (``snapshot``, else the usual one: the quick one after an exit)."""
        started = self.monotonic()
        try:
            state = (snapshot or self._snapshot)()
        except Exception as err:
            log.exception("snapshot failed")
            self.last = self._failure(f"snapshot failed: {err!r}")
            return self.last
        valid = is_valid(state)
        if valid:
            self._last_valid = started
        self.last = NodeReport(
            state=state,
            health=assess_health(state, self.config.health),
            valid=valid,
            age=self.age(),
            last_error="" if valid else state.reason,
        )
        return self.last

    def age(self) -> int:
        """Seconds since the last current snapshot (since start, before the first)."""
        since = self._last_valid if self._last_valid is not None else self._started
        return max(0, int(self.monotonic() - since))

    def _failure(self, error: str) -> NodeReport:
        previous = self.last
        if previous is None:
            state = NodeState(taken_at=self._clock(), status=Status.UNKNOWN, reason=error)
            previous = NodeReport(state, Health(None, error, HealthCode.NO_CURRENT_DATA), valid=False, age=0)
        return NodeReport(previous.state, previous.health, valid=False, age=self.age(), last_error=error)


def local_report(config: Config) -> NodeReport:
    """This node's report from one fresh snapshot, judged exactly as the agent judges its own: the
    one way the one-shot commands (galera-check, the track-file writer, check_galera) read the node.
    They never run ``--wsrep-recover``: they read the agent's result (see Probe)."""
    with Probe(config, recover=False) as probe:
        return Reporter(config, probe.snapshot).report()


def server_group(config: Config) -> int | None:
    """The primary group of mysqld's user ([server] user), whose notify command wakes us."""
    try:
        return pwd.getpwnam(config.server.user).pw_gid
    except KeyError:
        return None


class WakeSocket:
    """A datagram socket galera-snmp-notify writes to, so a wsrep event refreshes at once."""

    def __init__(self, path: Path, group: int | None = None) -> None:
        """``group``: the group of mysqld's user, which runs the notify command (as root we hand
        the socket to it; otherwise the socket has our own group)."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                if self._alive(path):
                    self.sock.close()
                    raise OSError(f"{path} is in use by another running agent or follower")
                path.unlink()  # a stale socket of an earlier run
        except FileNotFoundError:
            pass
        # Owner and group only (0660): created so by the umask, never changed through the path,
        # which another user could swap for a symlink. Before any thread starts: umask is per process.
        previous = os.umask(0o117)
        try:
            self.sock.bind(str(path))  # fails on anything else at that path: we never delete it
        finally:
            os.umask(previous)
        if group is not None and os.geteuid() == 0:
            os.chown(path, -1, group, follow_symlinks=False)
        self._inode = os.stat(path).st_ino

    def _alive(self, path: Path) -> bool:
        """Someone is bound to the socket when an empty datagram (which wakes nobody) is accepted."""
        try:
            self.sock.sendto(b"", str(path))
        except OSError:
            return False
        return True

    def receive(self) -> bytes | None:
        """The first event waiting (the rest are drained), or None when none is."""
        event = None
        while select.select([self.sock], [], [], 0)[0]:
            data = self.sock.recv(4096)
            event = data if event is None else event
        return event

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            if os.lstat(self.path).st_ino == self._inode:  # not a newer agent's socket
                self.path.unlink()


class Wake(StrEnum):
    """Why :meth:`Watcher.wait` returned."""

    EVENT = "event"  # a datagram on the wake socket (galera-snmp-notify, drain)
    PROCESS = "process"  # mysqld appeared or vanished
    INTERVAL = "interval"  # the refresh interval passed
    STOP = "stop"  # the stop event was set


class Newest:
    """Two threads take snapshots (the refresh, and the ExitGuard at an exit): a report may replace
    the published one only if its snapshot began after that one's — a snapshot that began before
    mysqld died must not undo the news of its death. The caller holds its publishing lock."""

    def __init__(self) -> None:
        self._started: float | None = None

    def admit(self, started: float) -> bool:
        if self._started is not None and started < self._started:
            return False
        self._started = started
        return True


class ExitWatch:
    """The exit of one process as a file descriptor (a pidfd, Linux >= 5.3) that becomes readable
    the moment it ends. None where pidfd is unavailable; then the Watcher's poll alone tells."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.fd: int | None = None

    def follow(self, pid: int | None) -> int | None:
        """The descriptor for ``pid`` (opened once per process), or None."""
        if pid != self.pid:
            self.close()
            self.pid = pid
            if pid is not None and hasattr(os, "pidfd_open"):
                try:
                    self.fd = os.pidfd_open(pid)
                except OSError:  # gone already (the poll says so), or no pidfd here
                    self.fd = None
        return self.fd

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
        self.pid = self.fd = None


class ExitGuard:
    """A thread of its own that reports a mysqld exit the moment it happens, also while the
    refresh thread is busy in a snapshot (a query to a dying server blocks until the kernel has
    closed its sockets, ~0.1 s for mariadbd): ``on_exit(pid)`` runs at once. It follows the server
    the last published report (``last()``) names running, so a restarted mysqld is watched too."""

    def __init__(self, last: Callable[[], NodeReport | None], on_exit: Callable[[int], object],
                 stop: threading.Event) -> None:
        self.last = last
        self.on_exit = on_exit
        self.stop = stop
        self.exits = ExitWatch()
        self.thread = threading.Thread(target=self.run, name="exit-guard", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def run(self) -> None:
        reported: int | None = None  # an exit is reported once, however long a report names its pid
        try:
            while not self.stop.is_set():
                report = self.last()
                running = report is not None and report.state.process is ProcessState.RUNNING
                pid = report.state.pid if running and report is not None else None
                fd = self.exits.follow(None if pid == reported else pid)
                if fd is None:
                    self.stop.wait(PROCESS_WATCH)
                    continue
                if select.select([fd], [], [], PROCESS_WATCH)[0]:
                    reported = self.exits.pid
                    log.info("mysqld (pid %s) exited", reported)
                    self.exits.close()
                    if reported is not None:
                        self.on_exit(reported)
        finally:
            self.exits.close()


class Watcher:
    """Waits until the next snapshot is due: after the refresh interval, at once on a wsrep
    event, or when mysqld appears or vanishes (seen within PROCESS_WATCH; its exit is reported at
    once by the ExitGuard)."""

    def __init__(self, config: Config, wake: WakeSocket | None, stop: threading.Event,
                 interval: Callable[[], float] | None = None) -> None:
        """``interval``: what says the seconds to the next snapshot before each wait (by default
        the refresh interval)."""
        every = config.agent.refresh_interval
        self.interval = interval or (lambda: every)
        self.server = config.server
        self.wake = wake
        self.stop = stop

    def wait(self, state: NodeState | None) -> Wake:
        """Wait until the next snapshot is due, and say why it is (an empty datagram wakes nobody)."""
        deadline = time.monotonic() + self.interval()
        while (left := deadline - time.monotonic()) > 0 and not self.stop.is_set():
            if self.wake is None:
                event = None
                self.stop.wait(min(left, PROCESS_WATCH))
            else:
                ready, _, _ = select.select([self.wake.sock], [], [], min(left, PROCESS_WATCH))
                event = self.wake.receive() if ready else None
            if event:
                log.info("woken by wsrep event: %r", event[:200])
                self.stop.wait(MIN_WAKE_INTERVAL)  # a flood of wake-ups is not a flood of queries
                return Wake.EVENT
            if state is not None and process_changed(state, self.server):
                return Wake.PROCESS
        return Wake.STOP if self.stop.is_set() else Wake.INTERVAL

    def follow(self, refresh: Callable[[], NodeReport], last: NodeReport) -> None:
        """Call ``refresh`` whenever a snapshot is due, until stopped."""
        while not self.stop.is_set():
            self.wait(last.state)
            if not self.stop.is_set():
                last = refresh()
