"""galera_snmp/snmp/notifications.py: which change sends which notification, and what it carries
when the node no longer reports an object."""

from __future__ import annotations

import pytest
from support import DONATING, node_report, synced_state

from galera_snmp.record import replace
from galera_snmp.snmp.agentx import OidTree, encode_varbind
from galera_snmp.snmp.mib import BY_NAME, render
from galera_snmp.snmp.notifications import BY_NOTIFICATION, TABLE, changed, varbinds
from galera_snmp.snmp.types import Syntax
from galera_snmp.state import ZERO_UUID, Health, NodeReport, NodeState, Status


def report(state: NodeState | None = None, healthy: bool = True, **fields: object) -> NodeReport:
    return replace(node_report(state, health=Health(healthy, "")), **fields)


BEFORE = report()
# one change per notification: the new report that must send it, and only it
CHANGES = {
    "galeraStatusChange": report(synced_state(status=Status.NONPRIMARY)),
    "galeraLocalStateChange": report(synced_state(local_state=2)),
    "galeraClusterSizeChange": report(synced_state(cluster_size=2)),
    "galeraHealthChange": report(healthy=False),
    "galeraHistoryResetChange": report(synced_state(cluster_state_uuid=ZERO_UUID)),
    "galeraPromotion": report(synced_state(promotion="2026-12-06 09:00:00 made Primary")),
    "galeraSiteSilentChange": report(site_advice="site east silent"),
    "galeraEviction": report(last_eviction="2026-12-06 09:00:00: node2 evicted"),
    "galeraTransferChange": report(transfer=DONATING),
}


def test_every_notification_has_its_change() -> None:
    assert sorted(CHANGES) == sorted(n.name for n in TABLE)


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_each_change_sends_its_notification_alone(name: str) -> None:
    assert [n.name for n in changed(BEFORE, CHANGES[name])] == [name]


def test_nothing_for_the_first_report_nor_for_no_change() -> None:
    assert changed(None, BEFORE) == []
    assert changed(BEFORE, BEFORE) == []


def test_several_changes_in_the_table_order() -> None:
    after = report(synced_state(status=Status.JOINING, local_state=1, cluster_size=1), healthy=False)
    assert [n.name for n in changed(BEFORE, after)] == [
        "galeraStatusChange", "galeraLocalStateChange", "galeraClusterSizeChange", "galeraHealthChange",
    ]


def test_a_promotion_or_an_eviction_going_away_sends_nothing() -> None:
    promoted = CHANGES["galeraPromotion"]
    assert changed(promoted, replace(promoted, state=replace(promoted.state, promotion=None))) == []
    evicted = CHANGES["galeraEviction"]
    assert changed(evicted, replace(evicted, last_eviction=None)) == []


def test_an_object_no_longer_served_is_carried_from_before_or_empty() -> None:
    notification = BY_NOTIFICATION["galeraStatusChange"]
    before = OidTree(render(BEFORE))
    name = (*BY_NAME["galeraNodeName"].oid, 0)
    stopped = OidTree([entry for entry in render(CHANGES["galeraStatusChange"]) if entry[0] != name])
    assert name in before and name not in stopped
    status = (*BY_NAME["galeraStatus"].oid, 0)
    assert varbinds(notification, stopped, before)[0] == stopped.get(status)  # the current value first
    assert varbinds(notification, stopped, before)[2] == before.get(name)  # else the last known one
    assert varbinds(notification, stopped, OidTree([]))[2] == encode_varbind(name, Syntax.OCTET_STRING, b"")
