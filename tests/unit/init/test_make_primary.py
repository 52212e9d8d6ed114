"""galera_snmp/init/make_primary.py's reading helpers: the component, and a node as it counts."""

from __future__ import annotations

import pytest
from support import synced_state

from galera_snmp.config import ConfigError
from galera_snmp.init.make_primary import component_of, view
from galera_snmp.state import Health, NodeReport, Position, SeqnoSource, Status

NODES = ("10.0.0.11", "10.0.0.12", "10.0.0.13")
UUID = "6b1e2c3d-0000-11ef-8000-0123456789ab"


def test_the_component_from_wsrep_incoming_addresses():
    assert component_of("10.0.0.11:3306,10.0.0.13:3306", NODES) == {"10.0.0.11", "10.0.0.13"}
    assert component_of("", NODES) == set()
    with pytest.raises(ConfigError, match=r"10\.9\.9\.9 of this component are not among"):
        component_of("10.0.0.11:3306,10.9.9.9:3306", NODES)


def report(valid: bool | None, **changes) -> NodeReport:
    return NodeReport(synced_state(**changes), Health(True, "ok"), valid, 0, "" if valid else "mysqld hangs")


def test_only_current_data_gives_a_position_but_a_claimed_primary_always_counts():
    current = view("10.0.0.12", report(True, status=Status.NONPRIMARY, cluster_status="non-Primary",
                                       position=Position(UUID, 40, SeqnoSource.LIVE)))
    assert (current.status, current.position) == (Status.NONPRIMARY, Position(UUID, 40, SeqnoSource.LIVE))
    stale = view("10.0.0.12", report(False))  # a Synced Primary, not known to be current
    assert (stale.answered, stale.position, stale.cluster_status) == (False, None, "Primary")
    assert view("10.0.0.13", "timeout").problem == "timeout"
    unknown = view("10.0.0.13", report(True, position=Position(UUID)))
    assert unknown.answered and unknown.position is None
