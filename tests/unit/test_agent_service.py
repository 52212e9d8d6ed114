"""agent/service.py's pace: how often the agent refreshes and its peer watch reads the peers."""

from __future__ import annotations

import pytest

from galera_snmp.agent.service import paces


@pytest.mark.parametrize(("this_out", "peer_out", "expected"), [
    (False, False, (2.0, 10.0)),  # everyone in: as configured
    (False, True, (1.0, 10.0)),  # a peer out: this node may donate, its caches published twice as often
    (True, False, (1.0, 1.0)),  # this node out: its forecast follows the donors at that pace
    (True, True, (1.0, 1.0)),
])
def test_a_node_out_of_the_cluster_halves_the_refresh_and_the_out_nodes_watch_round(
        this_out: bool, peer_out: bool, expected: tuple[float, float]) -> None:
    assert paces(2.0, 10.0, this_out=this_out, peer_out=peer_out) == expected


def test_a_watch_round_shorter_than_half_a_refresh_stays() -> None:
    assert paces(2.0, 0.5, this_out=True, peer_out=False) == (1.0, 0.5)
