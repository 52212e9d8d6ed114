"""The node's report as Prometheus / OpenMetrics metrics, for the agent's ``/metrics``.

A consumer of the snapshot like ``snmp/mib.py``'s ``render()``, and derived from the same table:
every GALERA-MIB scalar becomes one metric family, its type chosen by the object's SNMP type
(Counter64 counters as counters, enumerations as state sets, truth values as 0/1 gauges, text
as labels of the ``galera_node_info`` metric), the wsrep status values as ``galera_wsrep_*``
with the wsrep name, and the member table as ``galera_member_info`` series. A new MIB object
shows up here without a second list to keep. Values the node does not know are left out, as
SNMP leaves them uninstantiated; enumerations always have one state set, ``unknown`` included.

Rendering never reads the node: it formats the report the agent already holds, so a scrape
costs no MySQL statement. The exposition is the official client library's (``prometheus_client``),
imported only by an agent that serves metrics.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
)
from prometheus_client.exposition import choose_encoder

from .snmp.mib import (
    CLUSTER_STATUS,
    CLUSTER_STATUS_UNKNOWN,
    FALSE,
    LOCAL_STATE_UNKNOWN,
    MEMBER_COLUMNS,
    REJECT_QUERIES,
    REJECT_QUERIES_UNKNOWN,
    REJOIN_METHOD,
    SCALARS,
    SEQNO_SOURCE,
    STATUS,
    TRANSFER_ROLE,
    TRANSFER_STATE,
    TRANSFER_UNIT,
    TRUE,
    MibObject,
    Syntax,
    tri_state,
    wsrep_object_names,
)
from .state import NodeReport

PREFIX = "galera"

# Enumerated objects: their number -> the state's name (the MIB's words, in snake case).
ENUMERATIONS: dict[str, dict[int, str]] = {
    "galeraStatus": {number: status.value for status, number in STATUS.items()},
    "galeraSeqnoSource": {number: source.value for source, number in SEQNO_SOURCE.items()},
    "galeraClusterStatus": {
        **{number: word.replace("-", "_") for word, number in CLUSTER_STATUS.items()},
        CLUSTER_STATUS_UNKNOWN: "unknown",
    },
    "galeraRejectQueries": {
        **{number: word.lower() for word, number in REJECT_QUERIES.items()},
        REJECT_QUERIES_UNKNOWN: "unknown",
    },
    "galeraLocalState": {LOCAL_STATE_UNKNOWN: "unknown", 1: "joining", 2: "donor", 3: "joined", 4: "synced"},
    "galeraRejoinMethod": {number: method.value for method, number in REJOIN_METHOD.items()},
    "galeraTransferRole": {number: role.value if role else "none" for role, number in TRANSFER_ROLE.items()},
    "galeraTransferState": {number: state.value if state else "none" for state, number in TRANSFER_STATE.items()},
    "galeraTransferUnit": {n: unit.replace("-", "_") if unit else "none" for unit, n in TRANSFER_UNIT.items()},
}
TRUTH_TYPES = ("GaleraTriState", "TruthValue")
# Objects measured in a unit: (unit, factor from the MIB's number to the base unit).
UNITS: dict[str, tuple[str, float]] = {
    "galeraDataAge": ("seconds", 1.0),
    **{f"galeraEvsReplLatency{part}": ("seconds", 1e-6) for part in ("Min", "Avg", "Max", "Stddev")},
    "galeraGcacheSize": ("bytes", 1.0),
    "galeraGcacheSeconds": ("seconds", 1.0),
    "galeraWindowSeconds": ("seconds", 1.0),
    "galeraRejoinTimeLeft": ("seconds", 1.0),
    **{f"galeraTransfer{part}": ("seconds", 1.0) for part in ("TimeLeft", "Seconds", "Still", "Started")},
    **{name: ("", 1e-3) for name in ("galeraRecvQueueWindowAvg", "galeraSendQueueWindowAvg",
                                     "galeraWriteSetsPerSecond")},  # served in thousandths
}
# Text objects that are not labels of galera_node_info: the reasons label their own verdicts,
# the seqno's text repeats galera_seqno, the last error may quote mysqld's error text, and the
# seen position changes every few seconds (a label would start a new series each time).
NOT_INFO = ("galeraStatusReason", "galeraHealthReason", "galeraSeqnoText", "galeraLastError", "galeraSeenPosition",
            "galeraRejoinReason")
# Text that changes with the node's state: an info metric each, so that galera_node_info (what
# rules join on) stays one steady series per node.
OWN_INFO = (
    "galeraLocalStateComment", "galeraLeftHistory", "galeraLastPromotion", "galeraSiteAdvice", "galeraMaintMode",
    "galeraLastEviction", "galeraRejoinDonor", "galeraTransferMethod", "galeraTransferPeer",
)
# The verdict (the health rule, trusted only on current data: what the HTTP check and keepalived
# act on) stands for galeraHealthy, with its reason as a label.
VERDICT = "galeraHealthy"
TEXT_SYNTAXES = (Syntax.OCTET_STRING,)
WSREP_RATIO_SUFFIX = "GaleraPartsPerMillion"  # a fraction: a *_ratio metric


def snake(mib_name: str) -> str:
    """``galeraClusterStateUUID`` -> ``cluster_state_uuid``: a MIB name as a Prometheus name part."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", mib_name.removeprefix("galera"))
    return words.lower()


def _wsrep_metric(name: str, kind: str) -> tuple[str, str, float]:
    """A wsrep status value's metric: its name, unit and the factor to that unit."""
    base = f"{PREFIX}_{name}"
    if name.endswith("_ns"):
        return base.removesuffix("_ns") + "_seconds", "seconds", 1e-9
    if name.endswith("_bytes"):
        return base, "bytes", 1.0
    if kind == WSREP_RATIO_SUFFIX:
        return base + "_ratio", "ratio", 1.0
    if name.endswith("_count"):  # a level, not a summary's count: wsrep_applier_thread_count -> ..._threads
        return base.removesuffix("_count") + "s", "", 1.0
    return base, "", 1.0


def _read(obj: MibObject, report: NodeReport) -> object:
    try:
        return obj.read(report)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None  # as render(): a reader that cannot cope with odd data serves nothing


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


class ReportCollector:
    """Yields the metric families of the report ``current()`` returns (nothing before the first).

    ``detailed``: the health reason label carries the rule's full text (it may quote mysqld's
    errors), else the short class the HTTP check serves ([http] detailed_reasons)."""

    def __init__(self, current: Callable[[], NodeReport | None], detailed: bool = False,
                 short_reason: Callable[[NodeReport], str] | None = None) -> None:
        self.current = current
        self.detailed = detailed
        self.short_reason = short_reason

    def collect(self) -> Iterator[Metric]:
        report = self.current()
        if report is None:
            return
        yield from families(report, self._reason(report))

    def _reason(self, report: NodeReport) -> str:
        if self.detailed or self.short_reason is None:
            return report.verdict().reason
        return self.short_reason(report)


def families(report: NodeReport, reason: str | None = None) -> Iterator[Metric]:
    """Every metric family of one report, in MIB order; ``reason``: the health reason label."""
    wsrep = wsrep_object_names()
    info: dict[str, str] = {}
    for obj in SCALARS:
        value = tri_state(report.verdict().healthy) if obj.name == VERDICT else _read(obj, report)
        if obj.name in wsrep:
            family = _wsrep_family(obj, wsrep[obj.name], value, report)
        elif obj.syntax in TEXT_SYNTAXES:
            if obj.name in NOT_INFO or not isinstance(value, str) or not value:
                continue
            if obj.name not in OWN_INFO:
                info[snake(obj.name)] = value
                continue
            family = InfoMetricFamily(f"{PREFIX}_{snake(obj.name)}", f"GALERA-MIB {obj.name}")
            family.add_metric([], {snake(obj.name): value})
        else:
            family = _scalar_family(obj, value, report, reason)
        if family is not None:
            yield family
    node = InfoMetricFamily(f"{PREFIX}_node", "Identity and text values of the node (GALERA-MIB text objects)")
    node.add_metric([], info)
    yield node
    yield _members(report)


def _scalar_family(obj: MibObject, value: object, report: NodeReport, reason: str | None) -> Metric | None:
    name = f"{PREFIX}_{snake(obj.name)}"
    doc = f"GALERA-MIB {obj.name}"
    number = _number(value)
    if obj.name in ENUMERATIONS:
        words = ENUMERATIONS[obj.name]
        if number is None or int(number) not in words:
            return None
        family = StateSetMetricFamily(name, doc)
        family.add_metric([], {word: int(number) == n for n, word in sorted(words.items())})
        return family
    if obj.mib_type in TRUTH_TYPES:
        if value not in (TRUE, FALSE):
            return None  # unknown: left out, as a walk skips what SNMP does not know
        labels: list[str] = []
        label_values: list[str] = []
        if obj.name == VERDICT:
            labels, label_values = ["reason"], [reason if reason is not None else report.verdict().reason]
        family = GaugeMetricFamily(name, doc + " (1 true, 0 false; absent when unknown)", labels=labels)
        family.add_metric(label_values, 1.0 if value == TRUE else 0.0)
        return family
    if number is None:
        return None
    unit, factor = UNITS.get(obj.name, ("", 1.0))
    if unit and not name.endswith(f"_{unit}"):
        name = f"{name}_{unit}"
    if obj.mib_type == "Counter64":  # a count of events (galeraEvictions): galera_evictions_total
        family: Metric = CounterMetricFamily(name, doc, unit=unit)
    else:
        family = GaugeMetricFamily(name, doc, unit=unit)
    family.add_metric([], number * factor)
    return family


def _wsrep_family(obj: MibObject, wsrep_name: str, value: object, report: NodeReport) -> Metric | None:
    """A wsrep status value as the node reported it (floats unscaled), typed as GALERA-MIB types it."""
    item = report.state.wsrep.get(wsrep_name)
    raw = _number(item.value) if item is not None else None
    if raw is None or _number(value) is None:
        return None  # not reported, or not servable (a negative average: Galera's overflow mark)
    name, unit, factor = _wsrep_metric(wsrep_name, obj.mib_type)
    doc = f"{wsrep_name} (GALERA-MIB {obj.name})"
    if obj.syntax is Syntax.COUNTER64 and obj.mib_type == "Counter64":
        family: Metric = CounterMetricFamily(name, doc, unit=unit)
    else:
        family = GaugeMetricFamily(name, doc, unit=unit)
    family.add_metric([], raw * factor)
    return family


def _members(report: NodeReport) -> Metric:
    attributes = [attribute for _, _, _, attribute in MEMBER_COLUMNS]
    family = InfoMetricFamily(
        f"{PREFIX}_member",
        "The cluster's members as this node sees them (GALERA-MIB galeraMemberTable)",
        labels=["index", *attributes],
    )
    for index, member in enumerate(report.state.members or (), 1):
        family.add_metric([str(index), *(str(getattr(member, a)) for a in attributes)], {})
    return family


def exposition(collector: ReportCollector, accept: str = "") -> tuple[bytes, str]:
    """The scrape's body and content type: OpenMetrics when the scraper asks for it, else the
    Prometheus text format (the client library's own negotiation)."""
    encode, content_type = choose_encoder(accept)
    return encode(collector), content_type


