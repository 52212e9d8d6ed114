"""Test data shared by the unit tests: a healthy node to change one thing of at a time."""

from __future__ import annotations

from types import MappingProxyType

from galera_snmp.state import NodeState, ProcessState, SeqnoSource, Status
from galera_snmp.wsrep import WsrepValue, classify

UUID = "cf45eb64-e601-11f1-9293-5ec05f0f5611"


def wsrep_values(**raw: str) -> MappingProxyType[str, WsrepValue]:
    """Typed wsrep status values, as the probe makes them from SHOW STATUS strings."""
    return MappingProxyType({name: classify(name, value) for name, value in raw.items()})


def synced_state(**changes: object) -> NodeState:
    """A Synced node of a healthy 3-node Primary component; ``changes`` replace any field."""
    fields: dict[str, object] = {
        "taken_at": 1_700_000_000.0,
        "status": Status.RUNNING,
        "reason": "Primary, local state 4 (Synced)",
        "seqno": 17,
        "seqno_source": SeqnoSource.LIVE,
        "state_uuid": UUID,
        "safe_to_bootstrap": False,
        "process": ProcessState.RUNNING,
        "pid": 4332,
        "local_state": 4,
        "local_state_comment": "Synced",
        "cluster_status": "Primary",
        "cluster_size": 3,
        "cluster_state_uuid": UUID,
        "cluster_conf_id": 3,
        "ready": True,
        "connected": True,
        "desync": False,
        "reject_queries": "NONE",
        "node_name": "node1",
        "cluster_name": "galera",
    }
    fields.update(changes)
    return NodeState(**fields)  # type: ignore[arg-type]
