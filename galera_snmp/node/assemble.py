"""The probe's deciding, apart from its reading: an :class:`Observation` (what the probe read of
the node) in, a :class:`NodeState` out.

Pure functions of their arguments — no files, no /proc, no clock — so every rule of a snapshot
(status, which position counts, when ``--wsrep-recover`` may run, notes, wsrep typing) is
tested by feeding observations (tests/unit/node/test_assemble.py), with no server and no patching.
"""

from __future__ import annotations

from types import MappingProxyType

from ..derived import gcache_size
from ..record import field, record, replace
from ..state import (
    Member,
    MysqlFailure,
    NodeState,
    Position,
    ProcessState,
    SeqnoSource,
    Status,
    apply_phase,
    derive_status,
)
from ..wsrep import WsrepValue, classify, parse_int
from .galerafiles import GraState
from .history import KnownHistory, left_history

RECOVERY_PENDING = "pending"  # Observation.recovered of the snapshot taken the moment mysqld exited


@record
class MysqlReading:
    """One answer from mysqld, or why there was none."""

    status: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    members: tuple[Member, ...] | None = None
    members_error: str | None = None
    failure: MysqlFailure | None = None
    error: str | None = None


@record
class Observation:
    """Everything the probe read for one snapshot, as it read it."""

    taken_at: float
    reading: MysqlReading
    process: ProcessState  # the mysqld of the datadir, looked at after the read
    pid: int | None
    grastate: GraState | str  # the parsed file, or the note saying why there is none
    sst_in_progress: bool
    gvwstate_present: bool
    phase: tuple[Status, str] | None  # what a live galera-init publishes, if one runs
    drained: bool
    recovered: Position | str | None = None  # --wsrep-recover's position or error (or RECOVERY_PENDING); None: not run
    initialized: bool = True  # the datadir holds a server's data (its mysql/ schema folder): something to recover
    history: KnownHistory | str = KnownHistory()  # the history kept in state_dir, or why it cannot be read
    promotion: str | None = None  # what make-primary last did here


NOT_OURS = "an answer came, but no mysqld runs on the datadir: not believed"


def _believed(observation: Observation) -> Observation:
    """The observation without an answer no server of the datadir can have given: something else
    holds the port or the socket path (a fake server, a stale process of another instance). Its
    wsrep values are dropped, so no position, status or Primary component is taken from it."""
    if observation.process is ProcessState.ABSENT and observation.reading.failure is None:
        return replace(observation, reading=MysqlReading(failure=MysqlFailure.ERROR, error=NOT_OURS))
    return observation


def _process(observation: Observation) -> ProcessState:
    """No server on the datadir, yet the connection was not refused: something answered (or we
    could not even try). Never call that "stopped", and never recover a datadir it may be using."""
    if observation.process is ProcessState.ABSENT and observation.reading.failure is not MysqlFailure.REFUSED:
        return ProcessState.UNKNOWN
    return observation.process


def _saved(observation: Observation) -> Position:
    """grastate.dat's position (possibly unknown), or an unknown one when the file cannot be read."""
    return observation.grastate.position if isinstance(observation.grastate, GraState) else Position()


def _known_without_recovery(observation: Observation) -> Position | None:
    """The position of the running mysqld, else grastate.dat's, if either is known."""
    saved = _saved(observation)
    status = observation.reading.status
    seqno = parse_int(status.get("wsrep_last_committed"))
    if observation.reading.failure is None and seqno is not None:
        live = Position(status.get("wsrep_local_state_uuid"), seqno, SeqnoSource.LIVE, saved.safe_to_bootstrap)
        if live.is_known:
            return live
    return saved if saved.is_known else None


def _why_not_recover(observation: Observation, enabled: bool) -> str | None:
    """Why ``--wsrep-recover`` is not to run, as the snapshot's note ("" when no note is due);
    None when it is. It runs only when it is ``enabled``, neither mysqld nor grastate.dat knows
    the position, and no server runs on the datadir (two mariadbd on one datadir would fight over
    InnoDB) — and never on a datadir with nothing to recover (no mysql/ folder: wiped for a state
    transfer, where a recovery run would create InnoDB files) or one a state transfer left
    half-written (sst_in_progress): that position must stay unknown."""
    if _known_without_recovery(observation) is not None or _process(observation) is not ProcessState.ABSENT:
        return ""
    if not enabled:
        return "seqno unknown: grastate.dat has none and recovery is off"
    if observation.sst_in_progress:
        return "seqno unknown: a state transfer was interrupted (sst_in_progress); the data is incomplete"
    if not observation.initialized:
        return "seqno unknown: the datadir holds no data (no mysql/ folder)"
    return None


def recovery_wanted(observation: Observation, enabled: bool) -> bool:
    """Whether to run ``--wsrep-recover`` before assembling (see _why_not_recover)."""
    return _why_not_recover(observation, enabled) is None


def _position(observation: Observation, recover: bool, notes: list[str]) -> Position:
    """Sources in order: live, grastate.dat, recovered; else unknown, with grastate.dat's UUID
    and safe_to_bootstrap (and a note saying why, when recovery could have told)."""
    known = _known_without_recovery(observation)
    if known is not None:
        return known
    saved = _saved(observation)
    unknown = Position(saved.uuid, safe_to_bootstrap=saved.safe_to_bootstrap)
    recovered = observation.recovered
    why_not = _why_not_recover(observation, recover)
    if why_not is not None:
        if why_not:
            notes.append(why_not)
    elif isinstance(recovered, Position) and recovered.is_stated:
        if recovered.is_reset:
            notes.append(f"a reset history ({recovered}): no election; docs/INIT.md, 'A history reset'")
        return replace(recovered, source=SeqnoSource.RECOVERED, safe_to_bootstrap=saved.safe_to_bootstrap)
    elif isinstance(recovered, Position):
        notes.append(f"recovery found no usable position ({recovered})")
    elif recovered == RECOVERY_PENDING:
        notes.append("seqno unknown until --wsrep-recover has run: mysqld has just exited")
    else:
        notes.append(f"recovery failed: {recovered or 'it did not run'}")
    return unknown


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return {"ON": True, "OFF": False}.get(value.strip().upper())


def assemble(observation: Observation, *, recover: bool) -> NodeState:
    """The snapshot ``observation`` stands for. ``recover`` says whether ``--wsrep-recover`` is
    enabled: it only changes the note of a node whose position nothing else knows."""
    observation = _believed(observation)
    reading = observation.reading
    status_vars, variables = reading.status, reading.variables
    notes: list[str] = []
    if isinstance(observation.grastate, str):
        notes.append(observation.grastate)
    process = _process(observation)
    if process is not observation.process:
        notes.append("no server process was found for the datadir, but the connection was not refused")
    cluster_status = status_vars.get("wsrep_cluster_status")
    local_state = parse_int(status_vars.get("wsrep_local_state"))
    local_state_comment = status_vars.get("wsrep_local_state_comment")
    observed = derive_status(
        process=process,
        pid=observation.pid,
        failure=reading.failure,
        error=reading.error,
        cluster_status=cluster_status,
        local_state=local_state,
        local_state_comment=local_state_comment,
        sst_in_progress=observation.sst_in_progress,
    )
    status, reason = apply_phase(observed, observation.phase)
    position = _position(observation, recover, notes)
    if reading.members_error:
        notes.append(f"cluster members unknown: {reading.members_error}")
    if isinstance(observation.history, str):
        notes.append(f"history change not checked: {observation.history}")
    wsrep: dict[str, WsrepValue] = {name: classify(name, raw) for name, raw in status_vars.items()}
    state = NodeState(
        taken_at=observation.taken_at,
        status=status,
        reason=reason,
        position=position,
        gvwstate_present=observation.gvwstate_present,
        sst_in_progress=observation.sst_in_progress,
        process=process,
        pid=observation.pid,
        mysql_failure=reading.failure,
        local_state=local_state,
        local_state_comment=local_state_comment,
        cluster_status=cluster_status,
        cluster_size=parse_int(status_vars.get("wsrep_cluster_size")),
        cluster_state_uuid=status_vars.get("wsrep_cluster_state_uuid"),
        cluster_conf_id=parse_int(status_vars.get("wsrep_cluster_conf_id")),
        ready=_bool(status_vars.get("wsrep_ready")),
        connected=_bool(status_vars.get("wsrep_connected")),
        desync=_bool(variables.get("wsrep_desync")),
        reject_queries=variables.get("wsrep_reject_queries"),
        node_name=variables.get("wsrep_node_name"),
        cluster_name=variables.get("wsrep_cluster_name"),
        drained=observation.drained,
        read_only=_read_only(variables),
        maint_mode=variables.get("pxc_maint_mode"),
        donor_rejects_queries=_bool(variables.get("wsrep_sst_donor_rejects_queries")),
        gcache_size=gcache_size(variables.get("wsrep_provider_options")),
        promotion=observation.promotion,
        notes=tuple(notes),
        members=reading.members,
        wsrep=MappingProxyType(wsrep),
    )
    if isinstance(observation.history, KnownHistory):
        state = replace(state, left_history=left_history(observation.history, state),
                        seen_position=observation.history.seen_position)
    return state


def _read_only(variables: dict[str, str]) -> bool | None:
    """Whether writes are refused: read_only or super_read_only ON; None when neither is known."""
    flags = [_bool(variables[name]) for name in ("read_only", "super_read_only") if name in variables]
    if any(flags):
        return True
    return False if flags and None not in flags else None
