"""The agent's watch over the other nodes: for the silent-site advice (sites.py decides), for
the writer (cluster/writer.py decides) and for the rejoin forecast (cluster/rejoin.py decides).

Every ``[cluster] watch_interval`` seconds it reads every configured node's agent, as
``galera-snmp status`` does, keeps the answers for the writer rule (for at most a few intervals:
older ones count as no answer), and remembers when each node last answered and which Galera
segment it was in: silence is only measured from memory, and a site's segment is only known
from the time its nodes still answered. Memory starts with the agent, so after a restart a site
must be silent for ``silent_after`` again before it is named.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from ..address import normalise
from ..config import Config
from ..snmp.client import Target
from ..snmp.remote import read_all
from ..state import Health, NodeReport, NodeState, Rejoin, TransferRole
from .peers import find_cluster, trusted_targets
from .rejoin import ForgetRate, donors_of, forecast
from .sites import segment_of, silent_site, site_of
from .writer import writer

log = logging.getLogger(__name__)

Reader = Callable[[Sequence[Target]], list[NodeReport | str]]


STALE_INTERVALS = 3  # watch intervals after which the last answers no longer count


class PeerWatch:
    def __init__(self, config: Config, read: Reader = read_all, clock: Callable[[], float] = time.monotonic):
        """ConfigError when the nodes or their SNMP settings are unusable (or, for nodes read from
        wsrep_cluster_address, ``[cluster] sites`` or ``writers``)."""
        cluster = find_cluster(config)
        self.nodes = cluster.nodes
        self.me = cluster.nodes[cluster.me]
        self.targets = trusted_targets(config, cluster, "the writer rule chooses")
        self.configured = cluster.sites
        self.order = cluster.writers
        self.silent_after = config.cluster.silent_after
        self.fresh_for = STALE_INTERVALS * config.cluster.watch_interval + 2 * config.init.snmp_timeout
        self._read, self._clock = read, clock
        self._started = clock()
        self._heard: dict[str, float] = {}
        self._segments: dict[str, int] = {}
        self._known = ""
        self._latest: tuple[float, dict[str, NodeReport | str]] = (self._started, {})
        self._forgetting = ForgetRate()

    def peers(self) -> dict[str, NodeReport | str]:
        """The last answers, unless they are too old to tell anything now."""
        read_at, reports = self._latest
        return reports if self._clock() - read_at <= self.fresh_for else {}

    def someone_out(self) -> bool:
        """Whether a peer is out of a Primary component, as the current answers say (a peer that
        does not answer is taken as out)."""
        return any(isinstance(r, str) or not r.state.in_primary for node, r in self.peers().items() if node != self.me)

    def writer(self, mine: NodeReport) -> Health:
        """Whether this node is the writer now (cluster/writer.py), from its own report and the peers'."""
        return writer(self.me, self.order, mine, self.peers())

    def rejoin(self, mine: NodeReport) -> Rejoin:
        """Whether this node, joining now (or after a restart), would get IST or need SST
        (cluster/rejoin.py), from its own position and the other nodes' current answers, counting
        what their caches may have forgotten since those answers were true."""
        read_at, _ = self._latest
        valid = _current(self.peers())
        age = self._clock() - read_at + max((r.age or 0 for r in valid.values()), default=0)
        segment = segment_of(mine.state)
        return forecast(mine.state.position, self._segments.get(self.me) if segment is None else segment,
                        donors_of({node: r.state for node, r in valid.items()}, self.me), self._forgetting.rate(),
                        age)

    def transfer_source(self) -> tuple[str | None, int | None, int | None]:
        """For this node's transfer as a joiner (:func:`transfer_source`), from the current answers."""
        return transfer_source(self.me, self.peers())

    def poll(self) -> str | None:
        """Read every node once; the advice line when a whole site is silent (sites.silent_site)."""
        reports = self._read(self.targets)
        now = self._clock()
        self._latest = (now, dict(zip(self.nodes, reports, strict=True)))
        answers: dict[str, NodeState | None] = {}
        for node, report in zip(self.nodes, reports, strict=True):
            if isinstance(report, str):
                answers[node] = None
                continue
            answers[node] = report.state
            self._heard[node] = now
            segment = segment_of(report.state)
            if segment is not None:
                self._segments[node] = segment
        self._forgetting.add(now, donors_of({node: r.state for node, r in _current(self._latest[1]).items()}, self.me))
        sites = {node: site_of(node, self.configured, self._segments.get(node)) for node in self.nodes}
        self._log_sites(sites)
        since = {node: self._heard.get(node, self._started) for node in self.nodes}
        found = silent_site(sites, answers, since, now, self.silent_after)
        return found.advice() if found else None

    def _log_sites(self, sites: dict[str, str | None]) -> None:
        """One line whenever what the watch knows of the sites changes: an operator (and a test)
        sees that it would name a site that goes dark."""
        grouped: dict[str, list[str]] = {}
        for node, site in sites.items():
            grouped.setdefault(site or "unknown", []).append(node)
        known = "; ".join(f"{site}: {', '.join(nodes)}" for site, nodes in sorted(grouped.items()))
        if known != self._known:
            log.info("sites: %s", known)
            self._known = known

    def follow(self, publish: Callable[[str | None], None], stop: threading.Event,
               interval: float | Callable[[], float], polled: Callable[[], None] | None = None) -> None:
        """Poll until ``stop``, handing every change of the advice to ``publish``; ``interval``:
        the seconds between two rounds, or what says them before each wait; ``polled``: called
        after each round (what depends on the answers may be redone at once)."""
        said: str | None = None
        while True:
            advice = self.poll()
            if polled is not None:
                polled()
            if (advice is None) != (said is None):
                log.warning("%s", advice) if advice else log.info("no site is silent any more")
            if advice != said:
                publish(advice)
                said = advice
            if stop.wait(interval() if callable(interval) else interval):
                return


def transfer_source(me: str, reports: Mapping[str, NodeReport | str]) -> tuple[str | None, int | None, int | None]:
    """For node ``me``'s transfer as a joiner: the peer donating now (the one whose transfer goes
    to ``me``'s address, in its normal form, else the only donor), the size it published, and the highest position a
    current peer in a Primary component has committed (how far an IST goes)."""
    valid = _current(reports)
    donating = {node: r.transfer for node, r in valid.items() if node != me and r.transfer is not None
                and r.transfer.role is TransferRole.DONOR and r.transfer.live}
    to_me = [node for node, t in donating.items() if t.peer is not None and normalise(t.peer) == normalise(me)]
    donor = to_me[0] if len(to_me) == 1 else next(iter(donating)) if len(donating) == 1 else None
    positions = [r.state.seqno for r in valid.values() if r.state.in_primary and r.state.position.is_known]
    return donor, donating[donor].expected if donor else None, max(positions, default=None)


def _current(reports: Mapping[str, NodeReport | str]) -> dict[str, NodeReport]:
    """The answers that are reports on current data."""
    return {node: r for node, r in reports.items() if isinstance(r, NodeReport) and r.valid}
