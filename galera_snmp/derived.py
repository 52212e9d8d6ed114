"""Values derived from a snapshot, or from the agent's own window of snapshots (pure).

What operators ask for and mysqld gives only raw or averaged since a moment nobody chose:

- EVS replication latency: ``wsrep_evs_repl_latency`` is one string,
  ``min/avg/max/stddev/samples`` in seconds;
- the gcache: its size (``gcache.size`` in ``wsrep_provider_options``), the write-sets it holds
  (``wsrep_last_committed`` - ``wsrep_local_cached_downto`` + 1), and how many seconds of the
  current write rate that is — roughly how long a node may be away and still rejoin by IST
  instead of SST;
- the receive and send queues averaged over the agent's own window of instantaneous samples
  (mysqld's ``*_avg`` values average since the last FLUSH STATUS, which nobody controls), and
  the share of that window flow control paused replication (from the
  ``wsrep_flow_control_paused_ns`` counter; mysqld's ``wsrep_flow_control_paused`` is another
  average since FLUSH STATUS).
"""

from __future__ import annotations

import re
from collections import deque

from .record import record
from .state import NodeState, WindowStats

WINDOW_SECONDS = 60.0  # the agent's averaging window
SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


@record
class EvsLatency:
    """EVS replication latency over Galera's last sampling period (seconds)."""

    minimum: float
    average: float
    maximum: float
    stddev: float
    samples: int


def evs_latency(state: NodeState) -> EvsLatency | None:
    """``wsrep_evs_repl_latency`` parsed; None when absent or malformed."""
    value = state.wsrep.get("wsrep_evs_repl_latency")
    if value is None:
        return None
    parts = value.raw.strip().split("/")
    if len(parts) != 5:
        return None
    try:
        numbers = [float(part) for part in parts[:4]]
        samples = int(parts[4])
    except ValueError:
        return None
    if not all(0 <= n < 1e6 for n in numbers) or samples < 0:
        return None
    return EvsLatency(*numbers, samples)


def gcache_size(provider_options: str | None) -> int | None:
    """Bytes of ``gcache.size`` in a ``wsrep_provider_options`` string (``128M``, ``1G``, ``134217728``)."""
    if not provider_options:
        return None
    found = re.search(r"(?:^|;)\s*gcache\.size\s*=\s*(\d+)\s*([KMGT]?)B?\s*(?:;|$)", provider_options, re.IGNORECASE)
    return None if found is None else int(found[1]) * SIZE_UNITS[found[2].upper()]


def gmcast_segment(provider_options: str) -> int | None:
    """The Galera segment ``gmcast.segment`` of a ``wsrep_provider_options`` string: 0 (Galera's
    default) when it is not set, None when the value is not a segment number (0..255)."""
    found = re.search(r"(?:^|;)\s*gmcast\.segment\s*=\s*([^;]*?)\s*(?:;|$)", provider_options, re.IGNORECASE)
    if found is None:
        return 0
    value = found[1]
    return int(value) if value.isascii() and value.isdigit() and int(value) <= 255 else None


def paused_share(paused_ns_per_second: float) -> float:
    """The share of time flow control paused replication (0..1), from the rate of
    ``wsrep_flow_control_paused_ns``: nanoseconds paused per second of wall time."""
    return min(1.0, max(0.0, paused_ns_per_second / 1e9))


def gcache_write_sets(state: NodeState) -> int | None:
    """The write-sets the gcache holds now (IST can resend them), or None."""
    last, downto = (state.wsrep_int(name) for name in ("wsrep_last_committed", "wsrep_local_cached_downto"))
    if last is None or downto is None or downto <= 0 or downto > last + 1:
        return None  # downto is 0 or huge while the cache is empty
    return last - downto + 1


class Window:
    """The last ``WINDOW_SECONDS`` of snapshots: (taken_at, receive queue, send queue, last committed,
    flow control paused ns)."""

    def __init__(self, seconds: float = WINDOW_SECONDS) -> None:
        self.seconds = seconds
        self._samples: deque[tuple[float, int | None, int | None, int | None, int | None]] = deque()

    def add(self, state: NodeState) -> WindowStats | None:
        """Take a snapshot in (a repeated one only once) and say what the window holds; None
        while mysqld gives no values."""
        if not state.answered:
            self._samples.clear()  # a restart resets the counters: start over
            return None
        if not self._samples or state.taken_at > self._samples[-1][0]:
            last = state.wsrep_int("wsrep_last_committed")
            paused = state.wsrep_int("wsrep_flow_control_paused_ns")
            if self._samples and _went_back(self._samples[-1], last, paused):
                self._samples.clear()  # a restart, or FLUSH STATUS: the counters start over
            self._samples.append((state.taken_at, state.wsrep_int("wsrep_local_recv_queue"),
                                  state.wsrep_int("wsrep_local_send_queue"), last, paused))
        while self._samples and self._samples[0][0] < state.taken_at - self.seconds:
            self._samples.popleft()
        first, latest = self._samples[0], self._samples[-1]
        span = latest[0] - first[0]
        rate = share = None
        if span > 0 and first[3] is not None and latest[3] is not None:
            rate = (latest[3] - first[3]) / span
        if span > 0 and first[4] is not None and latest[4] is not None:
            share = paused_share((latest[4] - first[4]) / span)
        cached = gcache_write_sets(state)
        return WindowStats(
            seconds=span,
            recv_queue_avg=_mean([s[1] for s in self._samples]),
            send_queue_avg=_mean([s[2] for s in self._samples]),
            write_sets_per_second=rate,
            gcache_seconds=cached / rate if cached is not None and rate else None,
            paused_share=share,
        )


def _went_back(previous: tuple[float, int | None, int | None, int | None, int | None],
               last: int | None, paused: int | None) -> bool:
    return (last is not None and (previous[3] or 0) > last) or (paused is not None and (previous[4] or 0) > paused)


def _mean(values: list[int | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None
