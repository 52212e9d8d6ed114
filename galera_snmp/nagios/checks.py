"""check_galera's single-node checks, as nagiosplugin resources (acquire) and contexts (judge):
node, cluster, queues, and the pieces every mode shares. Rates are in :mod:`.rates`, the peers
mode in :mod:`.peers`, the sources in :mod:`.sources`.

Expected failures (unreachable node, bad credentials) are CheckErrors, which nagiosplugin
reports as UNKNOWN with one line.
"""

from __future__ import annotations

from collections.abc import Iterator

import nagiosplugin
from nagiosplugin import Context, Metric, Performance, Resource, Result
from nagiosplugin.state import Critical, Ok, Unknown, Warn

from ..node.transfer import describe
from ..state import (
    DOWN_STATUSES,
    Health,
    HealthPolicy,
    Member,
    NodeReport,
    ProcessState,
    Status,
    Transfer,
    TransferRole,
    TransferState,
    assess_health,
    history_reset,
)
from .sources import Source, SourceDown, name_of


class SourceResource(Resource):
    """A resource reading one source. A source that does not answer is UNKNOWN, or CRITICAL
    when the operator says so (--unreachable critical)."""

    def __init__(self, source: Source, unreachable_critical: bool = False) -> None:
        self.source = source
        self.unreachable_critical = unreachable_critical

    def probe(self) -> Iterator[Metric]:
        try:
            yield from self.metrics()
        except SourceDown as err:
            if not self.unreachable_critical:
                raise nagiosplugin.CheckError(str(err)) from None
            yield Metric("unreachable", str(err), context="unreachable")

    def metrics(self) -> Iterator[Metric]:
        raise NotImplementedError


class UnreachableContext(Context):
    """--unreachable critical: the node's silence is the result."""

    def __init__(self) -> None:
        super().__init__("unreachable")

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        return Result(Critical, metric.value, metric)


class PerfdataContext(Context):
    """Performance data only; never changes the state."""

    def __init__(self) -> None:
        super().__init__("perfdata")

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        return Result(Ok, metric=metric)

    def performance(self, metric: Metric, resource: Resource) -> Performance:
        return Performance(metric.name, metric.value, metric.uom, min=metric.min, max=metric.max)


# --- node ------------------------------------------------------------------------------------


class NodeResource(SourceResource):
    def metrics(self) -> Iterator[Metric]:
        report = self.source.read()
        yield Metric("node", report, context="node")
        state = report.state
        if state.cluster_size is not None:
            yield Metric("cluster_size", state.cluster_size, min=0, context="perfdata")
        if state.local_state is not None:
            yield Metric("local_state", state.local_state, min=0, max=4, context="perfdata")
        if state.seqno >= 0:
            yield Metric("seqno", state.seqno, uom="c", min=0, context="perfdata")
        transfer = report.transfer
        if transfer is not None:
            yield Metric("transfer", transfer, context="transfer")
            if transfer.percent is not None and transfer.live:
                yield Metric("transfer_percent", transfer.percent, uom="%", min=0, max=100, context="perfdata")


class TransferContext(Context):
    """A state transfer under way is not an outage: OK while it moves ("63 %, ETA 4 min"); one
    that has not moved for ``warning`` / ``critical`` seconds (else: once the agent says stalled)
    is WARNING / CRITICAL; one that failed lately is WARNING (the node's own state says the rest)."""

    def __init__(self, warning: float | None = None, critical: float | None = None) -> None:
        super().__init__("transfer")
        self.warning, self.critical = warning, critical

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        transfer: Transfer = metric.value
        text = f"transfer: {describe(transfer)}"
        if transfer.state is TransferState.FAILED:
            return Result(Warn, text, metric)
        if not transfer.live:
            return Result(Ok, text, metric)
        if self.critical is not None and transfer.still >= self.critical:
            return Result(Critical, text, metric)
        warning = self.warning is not None and transfer.still >= self.warning
        if warning or (self.warning is None and transfer.state is TransferState.STALLED):
            return Result(Warn, text, metric)
        return Result(Ok, text, metric)


class NodeContext(Context):
    """Synced and healthy: OK. Donor/Desynced, Joining, Joined: WARNING. Not Primary, stopped,
    not ready: CRITICAL. The health rule's reason is in the text."""

    def __init__(self, source: Source, donor_ok: bool = False) -> None:
        super().__init__("node")
        self.source = source
        self.donor_ok = donor_ok

    def health(self, report: NodeReport) -> tuple[Health, bool]:
        """The source's verdict, and whether --donor-ok overrode it. A refusal is judged again by
        the health rule with donors serving, so the rule alone says which donor may serve (not
        desynced, ready, accepting queries, not drained). Only a "yes" replaces the source's
        verdict: an SNMP snapshot does not carry whether mysqld answered, so the source's own
        refusal (and its reason) stands otherwise."""
        if self.donor_ok and not report.health.healthy:
            rejudged = assess_health(report.state, HealthPolicy(donor_serves=True))
            if rejudged.healthy:
                return rejudged, True
        return report.health, False

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        report: NodeReport = metric.value
        state = report.state
        health, donor_allowed = self.health(report)
        comment = f" ({state.local_state_comment})" if state.local_state_comment else ""
        text = f"{name_of(report, self.source)}: {state.status.value}{comment}, {health.reason}"
        joining = report.transfer is not None and report.transfer.role is TransferRole.JOINER \
            and report.transfer.live and state.process is not ProcessState.ABSENT
        if joining and state.status in (Status.NONPRIMARY, Status.JOINING):
            return Result(Warn, text, metric)  # between its copy and its first answer: the transfer context judges
        if state.status in (Status.STOPPED, Status.NONPRIMARY, Status.BLOCKED):
            return Result(Critical, text, metric)
        if state.status is Status.UNKNOWN:
            return Result(Critical if health.healthy is False else Unknown, text, metric)
        if state.ready is False or (state.cluster_status is not None and not state.says_primary):
            return Result(Critical, text, metric)
        reset = history_reset(state)
        if reset:
            return Result(Critical, f"{name_of(report, self.source)}: {reset}", metric)
        if health.healthy and report.valid is False:
            # the agent republishes its last snapshot while it cannot read mysqld: never an OK
            stale = f"{text}; but that is not current data ({report.age} s old: {report.last_error})"
            return Result(Unknown, stale, metric)
        if health.healthy:
            return Result(Ok, f"{text} (donors allowed)" if donor_allowed else text, metric)
        if state.status in (Status.RUNNING, Status.JOINING, Status.INITIATING, Status.BOOTSTRAPPING):
            return Result(Warn, text, metric)
        return Result(Unknown, text, metric)


# --- cluster ---------------------------------------------------------------------------------


def is_arbitrator(member: Member) -> bool:
    """garbd takes no client connections: its incoming address is empty (or unset)."""
    address = member.address.strip()
    return address in ("", "AUTO") or address.startswith(":") or address.endswith(":0")


class ClusterResource(SourceResource):
    def metrics(self) -> Iterator[Metric]:
        report = self.source.read(members=True)
        state = report.state
        if state.status in DOWN_STATUSES:  # known: no mysqld, so in no Primary component (CRITICAL)
            yield Metric("primary", report, context="primary")
            return
        if state.cluster_size is None:
            raise nagiosplugin.CheckError(f"{name_of(report, self.source)}: cluster size unknown ({state.reason})")
        yield Metric("primary", report, context="primary")
        yield Metric("cluster_size", state.cluster_size, min=0, context="cluster_size")
        if state.members is not None:
            arbitrators = sum(1 for m in state.members if is_arbitrator(m))
            yield Metric("data_nodes", len(state.members) - arbitrators, min=0, context="perfdata")
            yield Metric("arbitrators", arbitrators, min=0, context="perfdata")


class PrimaryContext(Context):
    """Primary, and every member in the node's view shares its cluster state UUID."""

    def __init__(self, source: Source) -> None:
        super().__init__("primary")
        self.source = source

    def evaluate(self, metric: Metric, resource: Resource) -> Result:
        state = metric.value.state
        who = name_of(metric.value, self.source)
        if state.status in DOWN_STATUSES:
            return Result(Critical, f"{who}: {state.status.value}, {state.reason}: in no Primary component", metric)
        if not state.says_primary:
            return Result(Critical, f"{who}: cluster status {state.cluster_status or 'unknown'}, not Primary", metric)
        if state.members is None:
            hint = "no SELECT grant on mysql.wsrep_cluster_members?"
            return Result(Warn, f"{who}: Primary, but its member table is unknown ({hint}): UUIDs not compared", metric)
        uuids = {m.cluster_uuid for m in state.members} | {state.cluster_state_uuid}
        if len(uuids) > 1:
            listed = ", ".join(sorted(uuid or "unknown" for uuid in uuids))
            return Result(Critical, f"{who}: members disagree on the cluster UUID: {listed}", metric)
        arbitrators = [m.name or m.uuid for m in state.members if is_arbitrator(m)]
        extra = ""
        if arbitrators:
            extra = f" ({len(state.members) - len(arbitrators)} data nodes, arbitrator {', '.join(arbitrators)})"
        return Result(Ok, f"Primary, {state.cluster_size} members{extra}", metric)


# --- queues ----------------------------------------------------------------------------------


class QueueResource(SourceResource):
    def metrics(self) -> Iterator[Metric]:
        report = self.source.read()
        for name, context in (("wsrep_local_recv_queue", "recv_queue"), ("wsrep_local_send_queue", "send_queue")):
            value = report.state.wsrep_number(name)
            if value is None:
                raise nagiosplugin.CheckError(f"{name_of(report, self.source)} does not report {name}")
            yield Metric(context, value, min=0, context=context)
