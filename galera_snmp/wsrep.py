"""Typing of ``SHOW GLOBAL STATUS LIKE 'wsrep%'`` values.

mysqld returns every status value as a string. Consumers need to know which are monotonic
counters (rates, Counter64), which are levels (Gauge32) and which are averages (floats such as
``1.42823e-05``). Unknown names are typed by their value, never dropped.
"""

from __future__ import annotations

import math
from enum import StrEnum

from .record import record


class Kind(StrEnum):
    COUNTER = "counter"  # monotonic since mysqld start
    GAUGE = "gauge"  # an integer level or identifier
    FLOAT = "float"  # an average or ratio
    TEXT = "text"


# The counters and levels GALERA-MIB's wsrep tables serve, in their OID order (append only).
COUNTER_NAMES = (
    "wsrep_replicated",
    "wsrep_replicated_bytes",
    "wsrep_repl_keys",
    "wsrep_repl_keys_bytes",
    "wsrep_repl_data_bytes",
    "wsrep_repl_other_bytes",
    "wsrep_received",
    "wsrep_received_bytes",
    "wsrep_local_commits",
    "wsrep_local_cert_failures",
    "wsrep_local_replays",
    "wsrep_local_bf_aborts",
    "wsrep_flow_control_paused_ns",
    "wsrep_flow_control_sent",
    "wsrep_flow_control_recv",
    "wsrep_apply_waits",
    "wsrep_causal_reads",
)
GAUGE_NAMES = (
    "wsrep_local_send_queue",
    "wsrep_local_send_queue_max",
    "wsrep_local_send_queue_min",
    "wsrep_local_recv_queue",
    "wsrep_local_recv_queue_max",
    "wsrep_local_recv_queue_min",
    "wsrep_cert_index_size",
    "wsrep_open_transactions",
    "wsrep_open_connections",
    "wsrep_desync_count",
    "wsrep_applier_thread_count",
    "wsrep_rollbacker_thread_count",
    "wsrep_cluster_weight",
    "wsrep_local_index",
    "wsrep_gmcast_segment",
)
COUNTERS = frozenset(COUNTER_NAMES)
# Levels served elsewhere in the MIB (galeraClusterSize, galeraSeqno...) or not at all.
GAUGES = frozenset(GAUGE_NAMES) | {
    "wsrep_cluster_conf_id",
    "wsrep_cluster_size",
    "wsrep_last_committed",
    "wsrep_local_cached_downto",
    "wsrep_local_state",
    "wsrep_protocol_version",
    "wsrep_thread_count",
}

FLOATS = frozenset(
    {
        "wsrep_apply_oooe",
        "wsrep_apply_oool",
        "wsrep_apply_window",
        "wsrep_cert_deps_distance",
        "wsrep_cert_interval",
        "wsrep_commit_oooe",
        "wsrep_commit_oool",
        "wsrep_commit_window",
        "wsrep_flow_control_paused",
        "wsrep_local_recv_queue_avg",
        "wsrep_local_send_queue_avg",
    }
)


@record
class WsrepValue:
    """One status value: its kind, the raw string, and the parsed value (None if unparsable)."""

    kind: Kind
    raw: str
    value: int | float | str | None


def parse_int(raw: str | None) -> int | None:
    """An integer status value, or None when it is missing or not an integer."""
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return None


def _float(raw: str) -> float | None:
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def kind_of(name: str, raw: str) -> Kind:
    """The kind of a status variable: from the table, else inferred from its value."""
    name = name.lower()
    if name in COUNTERS:
        return Kind.COUNTER
    if name in GAUGES:
        return Kind.GAUGE
    if name in FLOATS:
        return Kind.FLOAT
    if parse_int(raw) is not None:
        return Kind.GAUGE
    if _float(raw) is not None:
        return Kind.FLOAT
    return Kind.TEXT


def classify(name: str, raw: str) -> WsrepValue:
    """Type one status value. Never raises: a counter that does not parse has value None."""
    kind = kind_of(name, raw)
    value: int | float | str | None
    if kind is Kind.COUNTER:
        value = parse_int(raw)
    elif kind is Kind.GAUGE:
        value = parse_int(raw)
        if value is not None and value >= 2**63:
            value -= 2**64  # Galera prints -1 as an unsigned 64-bit number (wsrep_local_index, ...)
    elif kind is Kind.FLOAT:
        value = _float(raw)
    else:
        value = raw
    return WsrepValue(kind=kind, raw=raw, value=value)
