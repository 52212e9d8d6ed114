"""A crashed mysqld is seen at once: the agent's track file says 0 within 50 ms of a SIGKILL of
mariadbd (timed with inotify, as keepalived sees the file), also after mariadbd was restarted.

Runnable by itself: pytest tests/integration/test_fast_failover.py
"""

from __future__ import annotations

import signal
import time

import pytest
from support import FileWatch

from galera_snmp.dev.sandbox import Sandbox, wait_for

pytestmark = pytest.mark.integration
TRACK_FILE_AFTER_KILL = 0.050  # seconds (issue: failover in under 0.3 s, our share a few ms)


def test_the_track_file_says_0_within_50_ms_of_a_sigkill_and_follows_a_restart(cluster: Sandbox) -> None:
    node = cluster.node(1)
    seconds = []
    for _ in range(2):  # the second mariadbd is a new process: the agent must watch it too
        wait_for(lambda: node.track_file.read_text().strip() == "1", 30, "the track file to say 1")
        watch = FileWatch(node.track_file.parent)
        try:
            killed = time.monotonic()
            node.signal(signal.SIGKILL)  # not kill(): it waits for the process, and we read events after it
            seconds.append(watch.when(node.track_file.name, "0", 5) - killed)
        finally:
            watch.close()
        cluster.up()
    assert max(seconds) <= TRACK_FILE_AFTER_KILL, f"kill -> track file 0: {seconds}"
