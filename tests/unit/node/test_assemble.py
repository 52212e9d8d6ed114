"""assemble(): what the probe read becomes a NodeState — fed Observations, no server, no patching.
And the position it decides is the one the agent serves, a peer reads back and galera-init elects on."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from galera_snmp.init.initiator import own_view, peer_view
from galera_snmp.node.assemble import RECOVERY_PENDING, MysqlReading, Observation, assemble, recovery_wanted
from galera_snmp.node.galerafiles import GraState
from galera_snmp.node.history import KnownHistory
from galera_snmp.record import replace
from galera_snmp.snmp.mib import read_node, render
from galera_snmp.state import (
    SEQNO_MAX,
    ZERO_UUID,
    Health,
    Member,
    MysqlFailure,
    NodeReport,
    Position,
    ProcessState,
    SeqnoSource,
    Status,
)
from galera_snmp.wsrep import Kind

UUID = "cf45eb64-e601-11f1-9293-5ec05f0f5611"
LIVE_UUID = "d3076c0f-e601-11f1-9932-16750c4fa6b8"
SYNCED = {
    "wsrep_cluster_status": "Primary",
    "wsrep_local_state": "4",
    "wsrep_local_state_comment": "Synced",
    "wsrep_cluster_size": "3",
    "wsrep_cluster_state_uuid": UUID,
    "wsrep_cluster_conf_id": "5",
    "wsrep_ready": "ON",
    "wsrep_connected": "ON",
    "wsrep_last_committed": "120",
    "wsrep_local_state_uuid": LIVE_UUID,
    "wsrep_replicated": "77",
    "wsrep_flow_control_paused": "0.25",
}
VARIABLES = {
    "wsrep_desync": "OFF",
    "wsrep_reject_queries": "NONE",
    "wsrep_node_name": "node1",
    "wsrep_cluster_name": "prod",
}
REFUSED = MysqlReading(failure=MysqlFailure.REFUSED, error="Can't connect (111)")
SAVED = GraState("2.1", Position(UUID, 15, SeqnoSource.GRASTATE, True))  # after a clean shutdown
CRASHED = GraState("2.1", Position(UUID, -1, SeqnoSource.GRASTATE, False))  # seqno -1: recovery's job
RECOVERED = Position(UUID, 19, SeqnoSource.RECOVERED)
NO_FILE = "/srv/galera/grastate.dat does not exist"


def running(**changes: object) -> Observation:
    """A Synced node of a healthy 3-node Primary component, as the probe reads it."""
    fields: dict[str, object] = {
        "taken_at": 1_700_000_000.0,
        "reading": MysqlReading(status=dict(SYNCED), variables=dict(VARIABLES), members=()),
        "process": ProcessState.RUNNING,
        "pid": 4332,
        "grastate": CRASHED,  # mysqld keeps seqno -1 in the file while it runs
        "sst_in_progress": False,
        "gvwstate_present": True,
        "phase": None,
        "drained": False,
    }
    fields.update(changes)
    return Observation(**fields)  # type: ignore[arg-type]


def stopped(**changes: object) -> Observation:
    return running(**{"reading": REFUSED, "process": ProcessState.ABSENT, "pid": None, "gvwstate_present": False,
                      **changes})


def answering(**status: str) -> MysqlReading:
    return MysqlReading(status={**SYNCED, **status}, variables=dict(VARIABLES))


# --- every field from what was read ------------------------------------------------------------


def test_a_synced_node():
    state = assemble(running(), recover=True)
    assert (state.status, state.reason) == (Status.RUNNING, "Primary, local state 4 (Synced)")
    assert state.position == Position(LIVE_UUID, 120, SeqnoSource.LIVE, False)
    assert (state.process, state.pid, state.mysql_failure) == (ProcessState.RUNNING, 4332, None)
    assert (state.local_state, state.local_state_comment, state.cluster_status) == (4, "Synced", "Primary")
    assert (state.cluster_size, state.cluster_state_uuid, state.cluster_conf_id) == (3, UUID, 5)
    assert (state.ready, state.connected, state.desync, state.reject_queries) == (True, True, False, "NONE")
    assert (state.node_name, state.cluster_name) == ("node1", "prod")
    assert (state.gvwstate_present, state.sst_in_progress, state.drained) == (True, False, False)
    assert (state.taken_at, state.notes, state.members) == (1_700_000_000.0, (), ())
    assert state.wsrep["wsrep_replicated"].value == 77
    assert state.wsrep["wsrep_replicated"].kind is Kind.COUNTER
    assert state.wsrep["wsrep_flow_control_paused"].value == 0.25


@pytest.mark.parametrize(
    ("raw", "value"), [("ON", True), ("off", False), (" On ", True), ("yes", None), ("", None), (None, None)]
)
def test_on_off_values(raw, value):
    status = {k: v for k, v in SYNCED.items() if k != "wsrep_ready"}
    if raw is not None:
        status["wsrep_ready"] = raw
    state = assemble(running(reading=MysqlReading(status=status, variables=VARIABLES)), recover=True)
    assert state.ready is value


def test_drained_and_members_come_through():
    members = (Member("a1", "node1", "10.0.0.1:3306", UUID),)
    reading = replace(running().reading, members=members)
    state = assemble(running(reading=reading, drained=True), recover=True)
    assert state.drained is True
    assert state.members == members


def test_unknown_member_table_is_a_note():
    reading = replace(running().reading, members=None, members_error="SELECT command denied (1142)")
    state = assemble(running(reading=reading), recover=True)
    assert state.members is None
    assert state.notes == ("cluster members unknown: SELECT command denied (1142)",)


# --- status: derive_status, then galera-init's phase ---------------------------------------------


@pytest.mark.parametrize(
    ("observation", "status", "reason"),
    [
        (stopped(), Status.STOPPED, "mysqld is not running"),
        (running(reading=REFUSED), Status.NONPRIMARY,
         "mysqld (pid 4332) is up but refuses connections: no Primary component yet"),
        (running(reading=REFUSED, sst_in_progress=True), Status.JOINING,
         "mysqld (pid 4332) is receiving a state transfer (sst_in_progress)"),
        (running(reading=answering(wsrep_cluster_status="non-Primary")), Status.NONPRIMARY,
         "cluster status is non-Primary"),
        (running(reading=answering(wsrep_local_state="1", wsrep_local_state_comment="Joining")), Status.JOINING,
         "Primary, local state 1 (Joining)"),
        (running(reading=MysqlReading(failure=MysqlFailure.TIMEOUT, error="timed out"), process=ProcessState.SUSPENDED),
         Status.UNKNOWN, "mysqld (pid 4332) is suspended (stopped by a signal): timed out"),
        (stopped(phase=(Status.BLOCKED, "no report from node2")), Status.BLOCKED, "galera-init: no report from node2"),
        (running(phase=(Status.BOOTSTRAPPING, "node1 wins")), Status.RUNNING, "Primary, local state 4 (Synced)"),
    ],
)
def test_status(observation, status, reason):
    state = assemble(observation, recover=False)
    assert (state.status, state.reason) == (status, reason)


def test_no_process_but_an_answer_is_never_stopped():
    """Something answered on the socket though /proc shows no server for the datadir."""
    failure = MysqlReading(failure=MysqlFailure.ERROR, error="Lost connection (2013)")
    state = assemble(stopped(reading=failure, grastate=SAVED), recover=True)
    assert state.process is ProcessState.UNKNOWN
    assert state.status is Status.UNKNOWN
    assert state.notes == ("no server process was found for the datadir, but the connection was not refused",)
    assert recovery_wanted(stopped(reading=failure), True) is False


def test_an_answer_with_no_mysqld_on_the_datadir_is_not_believed():
    """A fake server on the port (or a process of another instance) says Synced in a Primary
    component at a newer seqno: galera-init would then skip starting mysqld, and a peer would take
    that position. None of it is taken."""
    state = assemble(stopped(reading=answering(wsrep_last_committed="999"), grastate=SAVED), recover=True)
    assert (state.status, state.process, state.mysql_failure) == (Status.UNKNOWN, ProcessState.UNKNOWN,
                                                                  MysqlFailure.ERROR)
    assert "no mysqld runs on the datadir: not believed" in state.reason
    assert (state.cluster_status, state.local_state, state.cluster_size, state.wsrep) == (None, None, None, {})
    assert state.position == SAVED.position  # grastate.dat's, not the stranger's 999
    assert recovery_wanted(stopped(reading=answering()), True) is False  # something may use the datadir


# --- the position: live > grastate.dat > recovered > unknown --------------------------------------


@pytest.mark.parametrize(
    ("observation", "recover", "position", "notes"),
    [
        pytest.param(running(), True, Position(LIVE_UUID, 120, SeqnoSource.LIVE, False), (), id="live"),
        pytest.param(running(grastate=SAVED), True, Position(LIVE_UUID, 120, SeqnoSource.LIVE, True), (),
                     id="live-over-file"),
        pytest.param(running(reading=answering(wsrep_last_committed="-1"), grastate=SAVED), True, SAVED.position, (),
                     id="joiner-without-seqno"),
        pytest.param(running(reading=answering(wsrep_local_state_uuid=ZERO_UUID)), True,
                     Position(UUID, safe_to_bootstrap=False), (), id="live-zero-uuid"),
        pytest.param(running(reading=answering(wsrep_last_committed="garbage")), True,
                     Position(UUID, safe_to_bootstrap=False), (), id="live-garbled"),
        pytest.param(running(reading=replace(REFUSED, status={"wsrep_last_committed": "7"})), True,
                     Position(UUID, safe_to_bootstrap=False), (), id="no-answer-no-live"),
        pytest.param(stopped(grastate=SAVED), True, SAVED.position, (), id="clean-shutdown"),
        pytest.param(stopped(recovered=RECOVERED), True, Position(UUID, 19, SeqnoSource.RECOVERED, False), (),
                     id="recovered"),
        pytest.param(stopped(grastate=NO_FILE, recovered=RECOVERED), True,
                     Position(UUID, 19, SeqnoSource.RECOVERED, None), (NO_FILE,), id="recovered-without-file"),
        pytest.param(stopped(), False, Position(UUID, safe_to_bootstrap=False),
                     ("seqno unknown: grastate.dat has none and recovery is off",), id="recovery-off"),
        pytest.param(stopped(recovered="--wsrep-recover did not finish within 300 s"), True,
                     Position(UUID, safe_to_bootstrap=False),
                     ("recovery failed: --wsrep-recover did not finish within 300 s",), id="recovery-failed"),
        pytest.param(stopped(recovered=Position(ZERO_UUID, -1, SeqnoSource.RECOVERED)), True,
                     Position(UUID, safe_to_bootstrap=False),
                     (f"recovery found no usable position ({ZERO_UUID}:-1)",), id="recovered-nothing"),
        pytest.param(stopped(grastate=GraState("2.1", Position(ZERO_UUID, -1, SeqnoSource.GRASTATE, False)),
                             recovered=Position(ZERO_UUID, 4, SeqnoSource.RECOVERED)), True,
                     Position(ZERO_UUID, 4, SeqnoSource.RECOVERED, False),
                     (f"a reset history ({ZERO_UUID}:4): no election; docs/INIT.md, 'A history reset'",),
                     id="recovered-a-reset-history"),
        pytest.param(stopped(), True, Position(UUID, safe_to_bootstrap=False), ("recovery failed: it did not run",),
                     id="recovery-missing"),
        pytest.param(running(reading=REFUSED, recovered=RECOVERED), True, Position(UUID, safe_to_bootstrap=False), (),
                     id="never-recovered-while-mysqld-runs"),
        pytest.param(stopped(grastate="/srv/galera/grastate.dat: grastate.dat is empty"), False,
                     Position(), ("/srv/galera/grastate.dat: grastate.dat is empty",
                                  "seqno unknown: grastate.dat has none and recovery is off"), id="garbled-file"),
    ],
)
def test_position(observation, recover, position, notes):
    state = assemble(observation, recover=recover)
    assert state.position == position
    assert state.notes == notes


@pytest.mark.parametrize(
    ("observation", "enabled", "wanted"),
    [
        (stopped(), True, True),
        (stopped(grastate=NO_FILE), True, True),
        (stopped(), False, False),  # the operator turned it off
        (stopped(grastate=SAVED), True, False),  # grastate.dat knows
        (running(reading=REFUSED), True, False),  # mysqld runs on the datadir (waiting for a Primary)
        (running(reading=REFUSED, process=ProcessState.SUSPENDED), True, False),
        (stopped(process=ProcessState.UNKNOWN), True, False),  # cannot tell whether one runs
        (stopped(reading=MysqlReading(failure=MysqlFailure.TIMEOUT, error="timed out")), True, False),
        (stopped(sst_in_progress=True), True, False),  # an aborted state transfer: never a position
        (stopped(initialized=False), True, False),  # a wiped datadir: nothing to recover
    ],
)
def test_recovery_wanted(observation, enabled, wanted):
    assert recovery_wanted(observation, enabled) is wanted


# --- properties -----------------------------------------------------------------------------------

_uuid_text = st.one_of(st.sampled_from([UUID, LIVE_UUID, ZERO_UUID, "", "nonsense"]), st.uuids().map(str))
_seqno_text = st.one_of(st.integers(-3, SEQNO_MAX + 2).map(str), st.sampled_from(["", "abc", "18446744073709551615"]))
_readings = st.one_of(
    st.builds(
        MysqlReading,
        status=st.fixed_dictionaries(
            {"wsrep_cluster_status": st.sampled_from(["Primary", "non-Primary"])},
            optional={"wsrep_last_committed": _seqno_text, "wsrep_local_state_uuid": _uuid_text,
                      "wsrep_local_state": st.sampled_from(["1", "2", "4", "x"])},
        ),
    ),
    st.builds(MysqlReading, failure=st.sampled_from(MysqlFailure), error=st.just("no")),
)
_positions = st.builds(
    Position, st.one_of(st.none(), _uuid_text), st.integers(-1, SEQNO_MAX), st.sampled_from(SeqnoSource),
    st.one_of(st.none(), st.booleans()),
)
_grastates = st.one_of(
    st.builds(GraState, st.just("2.1"), _positions.map(lambda p: replace(p, source=SeqnoSource.GRASTATE))),
    st.just(NO_FILE),
)
observations = st.builds(
    Observation,
    taken_at=st.floats(0, 2**40),
    reading=_readings,
    process=st.sampled_from(ProcessState),
    pid=st.one_of(st.none(), st.integers(1, 2**22)),
    grastate=_grastates,
    sst_in_progress=st.booleans(),
    gvwstate_present=st.booleans(),
    phase=st.one_of(st.none(), st.tuples(st.sampled_from([Status.INITIATING, Status.BLOCKED]), st.just("x"))),
    drained=st.booleans(),
    recovered=st.one_of(st.none(), _positions.map(lambda p: replace(p, source=SeqnoSource.RECOVERED)), st.just("no")),
)


@settings(max_examples=300)
@given(observations, st.booleans())
def test_a_position_is_known_with_its_source_or_not_at_all(observation, recover):
    """Whatever was read: a known position carries the source it came from, and anything else is
    Galera's -1 with no source — never a seqno without a history (but a recovered reset history's, which
    galera-init shows and never elects), never a history without a source."""
    state = assemble(observation, recover=recover)
    position = state.position
    if position.source is SeqnoSource.UNKNOWN:
        assert position.seqno == -1 and position.is_known is False
    elif position.source is SeqnoSource.RECOVERED:  # a reset history's position is carried, never elected
        assert position.is_known or position.is_reset
    else:
        assert position.is_known is True
    saved = observation.grastate.position if isinstance(observation.grastate, GraState) else Position()
    assert position.safe_to_bootstrap is saved.safe_to_bootstrap  # always grastate.dat's flag
    if position.source is SeqnoSource.LIVE:
        assert observation.reading.failure is None
    if position.source is SeqnoSource.RECOVERED:
        assert recover and recovery_wanted(replace(observation, recovered=None), recover)
        assert position == replace(observation.recovered, safe_to_bootstrap=saved.safe_to_bootstrap)


@settings(max_examples=300)
@given(observations, st.booleans())
def test_recovery_is_wanted_only_when_nothing_else_knows(observation, enabled):
    wanted = recovery_wanted(observation, enabled)
    without = assemble(replace(observation, recovered=None), recover=enabled)
    if wanted:
        assert without.process is ProcessState.ABSENT
        assert without.position.is_known is False
    else:
        # An outcome the probe would not have asked for changes nothing.
        assert assemble(observation, recover=enabled).position == without.position


@settings(max_examples=300)
@given(observations, st.booleans())
def test_one_position_from_the_probe_to_the_election(observation, recover):
    """The position assemble() decides crosses GALERA-MIB unchanged, and galera-init's view of the
    node (its own, or a peer's read back) carries exactly that value — or none, for the same reason
    everywhere: Position.is_stated (a reset history's point is carried, never usable: is_known)."""
    state = assemble(observation, recover=recover)
    position = state.position
    remote = read_node({oid: value for oid, _, value in render(NodeReport(state, Health(False, "x"), True, 0))})
    assert remote.state.position == position

    peer = peer_view(1, "b", remote)
    # a "joining" server that refuses connections (a state transfer marker) is no evidence of a
    # Primary and has no trustworthy position: its view says nonprimary, without one
    unconfirmed = state.status is Status.JOINING and state.cluster_status != "Primary"
    carried = position.is_stated and position.source is not SeqnoSource.UNKNOWN
    assert peer.position == (position if carried and not unconfirmed else None)
    assert peer.usable_position() is (position.is_known and not unconfirmed)

    mine = own_view(0, "a", state)  # this node, mysqld stopped: only a saved or recovered position counts
    votes = position.source in (SeqnoSource.GRASTATE, SeqnoSource.RECOVERED) and not state.sst_in_progress
    assert mine.position == (position if votes and position.is_stated else None)
    assert mine.usable_position() is (position.is_known and votes)


# --- the kept history --------------------------------------------------------------------------


def test_a_primary_in_another_history_than_the_kept_one_is_flagged():
    assert assemble(running(history=KnownHistory(UUID)), recover=True).left_history is None
    state = assemble(running(history=KnownHistory(LIVE_UUID)), recover=True)
    assert state.left_history == LIVE_UUID
    assert assemble(running(history=KnownHistory(LIVE_UUID, accept_next=True)), recover=True).left_history is None


def test_an_unreadable_kept_history_is_a_note_not_a_flag():
    state = assemble(running(history="cannot read /var/lib/galera-snmp/history.json: Permission denied"),
                     recover=True)
    assert state.left_history is None
    assert "history change not checked: cannot read /var/lib/galera-snmp/history.json: Permission denied" in state.notes



def test_the_exit_snapshot_says_the_recovery_is_pending():
    state = assemble(stopped(grastate=CRASHED, recovered=RECOVERY_PENDING), recover=True)
    assert state.position == Position(UUID, safe_to_bootstrap=False)
    assert state.notes == ("seqno unknown until --wsrep-recover has run: mysqld has just exited",)
