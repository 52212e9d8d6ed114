"""Values derived from a snapshot, or from the agent's own window of snapshots (pure).

What operators ask for and mysqld gives only raw or averaged since a moment nobody chose:

- EVS replication latency: ``wsrep_evs_repl_latency`` is one string,
  ``min/avg/max/stddev/samples`` in seconds;
- the gcache: its size (``gcache.size`` in ``wsrep_provider_options``), the write-sets it holds
  (``wsrep_last_committed`` - ``wsrep_local_cached_downto`` + 1), and how many seconds of the
  current write rate that is — roughly how long a node may be away and still rejoin by IST
  instead of SST;
- the receive and send queues averaged over the agent's own window of instantaneous samples
  (mysqld's ``*_avg`` values average since the last FLUSH STATUS, which nobody controls).
"""

from __future__ import annotations

import re
from collections import deque

from ..record import record
from ..state import NodeState, WindowStats

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


def gcache_write_sets(state: NodeState) -> int | None:
    """The write-sets the gcache holds now (IST can resend them), or None."""
    last, downto = (_integer(state, name) for name in ("wsrep_last_committed", "wsrep_local_cached_downto"))
    if last is None or downto is None or downto <= 0 or downto > last + 1:
        return None  # downto is 0 or huge while the cache is empty
    return last - downto + 1


class Window:
    """The last ``WINDOW_SECONDS`` of snapshots: (taken_at, receive queue, send queue, last committed)."""

    def __init__(self, seconds: float = WINDOW_SECONDS) -> None:
        self.seconds = seconds
        self._samples: deque[tuple[float, int | None, int | None, int | None]] = deque()

    def add(self, state: NodeState) -> WindowStats | None:
        """Take a snapshot in (a repeated one only once) and say what the window holds; None
        while mysqld gives no values."""
        if not state.answered:
            self._samples.clear()  # a restart resets the counters: start over
            return None
        if not self._samples or state.taken_at > self._samples[-1][0]:
            last = _integer(state, "wsrep_last_committed")
            if self._samples and last is not None and (self._samples[-1][3] or 0) > last:
                self._samples.clear()
            self._samples.append((state.taken_at, _integer(state, "wsrep_local_recv_queue"),
                                  _integer(state, "wsrep_local_send_queue"), last))
        while self._samples and self._samples[0][0] < state.taken_at - self.seconds:
            self._samples.popleft()
        first, latest = self._samples[0], self._samples[-1]
        span = latest[0] - first[0]
        rate = None
        if span > 0 and first[3] is not None and latest[3] is not None:
            rate = (latest[3] - first[3]) / span
        cached = gcache_write_sets(state)
        return WindowStats(
            seconds=span,
            recv_queue_avg=_mean([s[1] for s in self._samples]),
            send_queue_avg=_mean([s[2] for s in self._samples]),
            write_sets_per_second=rate,
            gcache_seconds=cached / rate if cached is not None and rate else None,
        )


def _mean(values: list[int | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _integer(state: NodeState, name: str) -> int | None:
    value = state.wsrep.get(name)
    return value.value if value is not None and isinstance(value.value, int) else None
