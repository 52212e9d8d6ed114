"""The keepalived track file: one number keepalived reads through inotify.

Our configs track it with ``weight 0 reverse``: a non-zero value is OK, zero is FAULT — and so
is a file that is missing, empty or garbled (keepalived reads those as 0), so nothing but a
healthy verdict written by us keeps a VIP on this node.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..config import Config
from ..node.probe import Probe
from ..node.refresh import ExitGuard, Newest, Reporter, WakeSocket, Watcher, server_group
from ..safeio import write_atomically
from ..state import Health, HealthCode, NodeReport, NodeState

log = logging.getLogger(__name__)

SERVE = "1"
FAULT = "0"


class TrackFile:
    """Writes the node's verdict when it changes (and the first time)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written: str | None = None

    def update(self, verdict: Health) -> None:
        value = SERVE if verdict.healthy is True else FAULT
        if value == self.written:
            return
        try:
            write_atomically(self.path, value + "\n")
        except OSError as err:  # retried on the next report; keepalived still has the old value
            log.error("cannot write the keepalived track file %s: %s", self.path, err)
            return
        self.written = value
        log.info("keepalived track file %s: %s (%s)", self.path, value, verdict.reason)

    def fault(self, reason: str) -> None:
        """On the way out: whoever keeps the file current is gone, so the node must not serve."""
        self.update(Health(False, reason, HealthCode.NO_CURRENT_DATA))


def follow(config: Config, track: TrackFile, stop: threading.Event) -> None:
    """Keep the track file current without the agent (hosts that run no snmpd), as fast as the
    agent would: wsrep events through the wake socket, a mysqld exit at once (the ExitGuard)."""
    try:
        wake: WakeSocket | None = WakeSocket(config.agent.wake_socket, server_group(config))
    except OSError as err:
        log.warning("no wsrep wake-ups (%s): changes show within %g s", err, config.agent.refresh_interval)
        wake = None
    probe = Probe(config)
    reporter = Reporter(config, probe.snapshot)
    lock, newest = threading.Lock(), Newest()
    last: list[NodeReport] = []  # the report the file says

    def refresh(snapshot: Callable[[], NodeState] | None = None) -> NodeReport:
        started = time.monotonic()
        report = reporter.report(snapshot)
        with lock:  # the exit guard writes too: never an older verdict over a newer one
            if newest.admit(started):
                track.update(report.verdict())
                last[:] = [report]
        return report

    def exited(pid: int) -> None:
        refresh(lambda: probe.exit_snapshot(pid))

    try:
        first = refresh()
        ExitGuard(lambda: last[0] if last else None, exited, stop).start()
        Watcher(config, wake, stop).follow(refresh, first)
    finally:
        track.fault("the track-file follower stopped")
        probe.close()
        if wake is not None:
            wake.close()
