"""Sites (data centres) and when one of them has gone silent: a pure rule, tested in
tests/unit/cluster/test_sites.py down to properties over random clusters.

A node's site is what ``[cluster] sites`` says, else its Galera segment (``gmcast.segment``) as
its agent last published it ("segment-1"), else unknown. When every node of one site has been
silent (no SNMP answer) for ``[cluster] silent_after`` seconds while answering nodes of another
site wait in a non-Primary component, the operator is told so, with the make-primary command
that would bring the waiting component back. Nothing promotes by itself: from here a dead site
and a site behind a cut link look the same (docs/QUORUM.md, "Sites").
"""

from __future__ import annotations

from collections.abc import Mapping

from ..record import record
from ..state import NodeState


def site_of(node: str, configured: Mapping[str, str], segment: int | None) -> str | None:
    """The node's site: configured, else its Galera segment, else None (unknown)."""
    if node in configured:
        return configured[node]
    return None if segment is None else f"segment-{segment}"


def segment_of(state: NodeState) -> int | None:
    """The Galera segment a running node reports (wsrep_gmcast_segment), else None."""
    value = state.wsrep.get("wsrep_gmcast_segment")
    return int(value.value) if value is not None and isinstance(value.value, int | float) else None


@record
class SilentSite:
    """A whole site silent while nodes elsewhere wait non-Primary."""

    site: str
    nodes: tuple[str, ...]  # the silent site's nodes, in configured order
    silent_for: float  # seconds since the last of them answered
    waiting: tuple[str, ...]  # answering nodes in a non-Primary component

    def advice(self) -> str:
        """One line, the command before the details: served in GALERA-MIB, where strings end at
        255 octets, a long list of waiting nodes is what gets cut."""
        return (
            f"site {self.site} silent for {self.silent_for:.0f} s. If it is lost, not cut off: "
            f"galera-snmp make-primary --confirm-lost {','.join(self.nodes)} (--dry-run first) on a node that "
            f"waits non-Primary: {', '.join(self.waiting)}"
        )


def silent_site(
    sites: Mapping[str, str | None],
    answers: Mapping[str, NodeState | None],
    silent_since: Mapping[str, float],
    now: float,
    silent_after: float,
) -> SilentSite | None:
    """The one site whose every node has been silent for ``silent_after`` seconds while answering
    nodes wait non-Primary, or None.

    ``answers`` holds every configured node in configured order (None: no answer now);
    ``sites`` each node's site (None: unknown); ``silent_since`` when each silent node last
    answered (or when watching began). None also when any node reports a Primary component (there
    is one to join), when silent nodes are spread over more than one site or any of them has no
    known site (that is not "a site went dark"), or when nobody waits.
    """
    if any(state is not None and state.says_primary for state in answers.values()):
        return None
    silent = [node for node, state in answers.items() if state is None]
    places = {sites.get(node) for node in silent}
    if not silent or len(places) != 1 or None in places:
        return None
    site = places.pop()
    if any(state is not None and sites.get(node) == site for node, state in answers.items()):
        return None  # part of the site answers: not a site gone dark
    waiting = tuple(node for node, state in answers.items() if state is not None and _waits(state))
    if not waiting:
        return None
    silent_for = now - max(silent_since.get(node, now) for node in silent)
    if silent_for < silent_after:
        return None
    return SilentSite(site, tuple(silent), silent_for, waiting)


def _waits(state: NodeState) -> bool:
    """A node that runs in a component that is not Primary (non-Primary, Disconnected)."""
    return state.cluster_status is not None and not state.says_primary

