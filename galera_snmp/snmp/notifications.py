"""GALERA-MIB's notifications, each once: its OID, the objects it carries (besides sysUpTime.0
and snmpTrapOID.0) and the change that sends it. GALERA-MIB.txt says the same for people and
NMSs; a test checks the two are equal."""

from __future__ import annotations

from collections.abc import Callable

from ..record import record
from ..state import NodeReport, TransferState, history_reset
from .agentx import OidTree, encode_varbind
from .mib import BY_NAME, NOTIFICATIONS, OID, Syntax


@record
class Notification:
    name: str
    oid: OID
    objects: tuple[str, ...]
    fires: Callable[[NodeReport, NodeReport], bool]  # (previous report, new report): sent on this change


TABLE: tuple[Notification, ...] = (
    Notification("galeraStatusChange", (*NOTIFICATIONS, 1), ("galeraStatus", "galeraStatusReason", "galeraNodeName"),
                 lambda before, after: before.state.status != after.state.status),
    Notification("galeraLocalStateChange", (*NOTIFICATIONS, 2),
                 ("galeraLocalState", "galeraLocalStateComment", "galeraNodeName"),
                 lambda before, after: before.state.local_state != after.state.local_state),
    Notification("galeraClusterSizeChange", (*NOTIFICATIONS, 3),
                 ("galeraClusterSize", "galeraClusterStatus", "galeraNodeName"),
                 lambda before, after: before.state.cluster_size != after.state.cluster_size),
    Notification("galeraHealthChange", (*NOTIFICATIONS, 4), ("galeraHealthy", "galeraHealthReason", "galeraNodeName"),
                 lambda before, after: before.health.healthy != after.health.healthy),
    Notification("galeraHistoryResetChange", (*NOTIFICATIONS, 5),
                 ("galeraHistoryReset", "galeraClusterStateUUID", "galeraNodeName"),
                 lambda before, after: (history_reset(before.state) is None) != (history_reset(after.state) is None)),
    Notification("galeraPromotion", (*NOTIFICATIONS, 6),
                 ("galeraLastPromotion", "galeraClusterStateUUID", "galeraNodeName"),
                 lambda before, after: after.state.promotion not in (None, before.state.promotion)),
    Notification("galeraSiteSilentChange", (*NOTIFICATIONS, 7),
                 ("galeraSiteAdvice", "galeraClusterStatus", "galeraNodeName"),
                 lambda before, after: (before.site_advice is None) != (after.site_advice is None)),
    Notification("galeraEviction", (*NOTIFICATIONS, 8), ("galeraLastEviction", "galeraEvictions", "galeraNodeName"),
                 lambda before, after: after.last_eviction not in (None, before.last_eviction)),
    Notification("galeraTransferChange", (*NOTIFICATIONS, 9),
                 ("galeraTransferState", "galeraTransferRole", "galeraTransferPeer", "galeraNodeName"),
                 lambda before, after: _transfer_state(before) != _transfer_state(after)),
)


def _transfer_state(report: NodeReport) -> TransferState | None:
    return report.transfer.state if report.transfer is not None else None
BY_NOTIFICATION: dict[str, Notification] = {notification.name: notification for notification in TABLE}


def changed(previous: NodeReport | None, current: NodeReport) -> list[Notification]:
    """The notifications a new report calls for, in the table's order (none for the first one)."""
    if previous is None:
        return []
    return [notification for notification in TABLE if notification.fires(previous, current)]


def varbinds(notification: Notification, tree: OidTree, previous: OidTree) -> list[bytes]:
    """What ``notification`` carries. It must carry every object it lists: the current value, else
    the last known one (a stopped node no longer reports its name), else an empty value."""
    found = []
    for name in notification.objects:
        obj = BY_NAME[name]
        oid = (*obj.oid, 0)
        source = next((source for source in (tree, previous) if oid in source), None)
        found.append(source.get(oid) if source is not None else
                     encode_varbind(oid, obj.syntax, b"" if obj.syntax is Syntax.OCTET_STRING else 0))
    return found
