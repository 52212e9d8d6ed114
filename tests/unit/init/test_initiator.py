"""galera-init's pieces around the decision: reading my.cnf, turning reports into views (this
node's as its snmpd serves it), the published phase, the polling loop, safe_to_bootstrap, the
operator's position."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from support import node_report, stopped_node_config, synced_state

from galera_snmp.cluster.nodeset import node_set
from galera_snmp.config import ConfigError, InitConfig, load_config
from galera_snmp.init import initiator
from galera_snmp.init.initiator import (
    SAVED_VIEW,
    DisconnectWatch,
    InitError,
    Initiator,
    as_served,
    decision_text,
    own_view,
    parse_position,
    peer_view,
    remove_saved_view,
)
from galera_snmp.init.rule import Action, NodeView, decide
from galera_snmp.mycnf import server_options
from galera_snmp.node.galerafiles import GaleraFileError, mark_safe_to_bootstrap, parse_grastate
from galera_snmp.record import replace
from galera_snmp.snmp import settings as snmpsettings
from galera_snmp.snmp.client import Missing
from galera_snmp.snmp.mib import BY_NAME, read_node, render
from galera_snmp.state import (
    ZERO_UUID,
    Health,
    MysqlFailure,
    NodeReport,
    NodeState,
    Position,
    ProcessState,
    SeqnoSource,
    Status,
    apply_phase,
    derive_status,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
UUID = "6b1e2c3d-0000-11ef-8000-0123456789ab"


# --- my.cnf ----------------------------------------------------------------------------------


def test_server_options_follow_includes_and_last_value_wins(tmp_path):
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    (conf_d / "50-server.cnf").write_text("[mysqld]\nwsrep-node-address = 10.0.0.1\n")
    (conf_d / "60-galera.cnf").write_text(
        "[galera]\nwsrep_cluster_address = \"gcomm://10.0.0.1,10.0.0.2:4567,10.0.0.3\"  # the cluster\n"
        "wsrep_on\n[client]\nwsrep_cluster_address = not-this-one\n"
    )
    (conf_d / "README").write_text("[mysqld]\nwsrep_node_address = ignored: not a .cnf\n")
    extra = tmp_path / "extra.cnf"
    extra.write_text("[mariadb]\nwsrep_node_address = 10.0.0.2:4567\n")
    main = tmp_path / "my.cnf"
    main.write_text(f"# top\n!includedir {conf_d}\n!include {extra}\n")
    options = server_options(main)
    assert options["wsrep_cluster_address"] == "gcomm://10.0.0.1,10.0.0.2:4567,10.0.0.3"
    assert options["wsrep_node_address"] == "10.0.0.2:4567"
    assert options["wsrep_on"] == ""


def test_server_options_include_loop_and_missing_file_are_errors(tmp_path):
    loop = tmp_path / "loop.cnf"
    loop.write_text(f"!include {loop}\n")
    with pytest.raises(ConfigError, match="nested"):
        server_options(loop)
    with pytest.raises(ConfigError, match="cannot read"):
        server_options(tmp_path / "missing.cnf")


# --- views -----------------------------------------------------------------------------------


def at(seqno: int, source: SeqnoSource = SeqnoSource.RECOVERED, uuid: str | None = UUID) -> Position:
    return Position(uuid, seqno, source, False)


def stopped(**changes: object):
    fields = {"status": Status.STOPPED, "process": ProcessState.ABSENT, "pid": None,
              "mysql_failure": MysqlFailure.REFUSED, "position": at(42)}
    return synced_state(**{**fields, **changes})


def test_own_view_uses_only_a_recovered_or_saved_position():
    assert own_view(0, "a", stopped()).position == at(42)
    assert own_view(0, "a", stopped(position=at(42, SeqnoSource.GRASTATE))).position == at(42, SeqnoSource.GRASTATE)
    assert own_view(0, "a", stopped(position=at(-1, SeqnoSource.UNKNOWN))).position is None
    assert own_view(0, "a", stopped(position=at(42, uuid=None))).position is None
    assert own_view(0, "a", stopped(position=at(42, SeqnoSource.LIVE))).position is None  # mysqld is stopped


def test_a_reset_history_position_is_carried_for_the_operator_to_name():
    """Never elected (rule.elect refuses it), but --force-bootstrap compares against it."""
    reset = at(5, uuid=ZERO_UUID)
    assert own_view(0, "a", stopped(position=reset)).position == reset
    assert peer_view(2, "c", report(position=reset)).position == reset
    assert own_view(0, "a", stopped(position=at(-1, uuid=ZERO_UUID))).position is None


def test_an_interrupted_sst_never_gives_a_position():
    view = own_view(0, "a", stopped(sst_in_progress=True))
    assert view.position is None and "sst_in_progress" in view.problem


SET = node_set(("a", "b", "c"))


def report(valid: bool | None = True, **changes: object) -> NodeReport:
    return replace(node_report(stopped(**changes), valid=valid, health=Health(False, "stopped")), node_set=SET)


def test_peer_view_from_a_report():
    view = peer_view(2, "c", report())
    assert (view.status, view.position, view.safe_to_bootstrap, view.answered, view.node_set) == (
        Status.STOPPED, at(42), False, True, SET)


def test_a_peer_whose_agent_has_no_current_data_is_no_report_but_keeps_its_node_set():
    """The node set comes from the agent's configuration, not from mysqld: a mismatch counts anyway."""
    view = peer_view(2, "c", report(valid=False))
    assert (view.answered, view.problem, view.node_set) == (False, "no current data (mysqld hangs)", SET)


def test_this_node_as_its_snmpd_serves_it_with_the_probes_position():
    """Status and node set as the peers read them (the announcement visible or not), the position
    from the probe (saved or recovered, never a guessed one)."""
    mine = own_view(0, "a", stopped())
    served = as_served(mine, peer_view(0, "a", report(status=Status.BOOTSTRAPPING, position=at(41))))
    assert (served.status, served.position, served.node_set, served.problem) == (
        Status.BOOTSTRAPPING, at(42), SET, "")
    silent = as_served(mine, NodeView(0, "a", problem="no answer from 127.0.0.1:161 after 2 tries (timeout)"))
    assert (silent.status, silent.position, silent.node_set, silent.answered) == (None, at(42), None, False)
    assert silent.problem == "no answer from 127.0.0.1:161 after 2 tries (timeout)"
    sst = as_served(own_view(0, "a", stopped(sst_in_progress=True)), peer_view(0, "a", report()))
    assert (sst.status, sst.position) == (Status.STOPPED, None)
    assert sst.problem == ("an interrupted state transfer (sst_in_progress): this node's data cannot be trusted")


@pytest.mark.parametrize("status", [Status.RUNNING, Status.BOOTSTRAPPING])
def test_unverified_claims_of_a_primary_still_hold_us_back(status):
    """The seed's extend lines (valid unknown) or stale data saying "running": joining is the
    safe direction, so the claim counts — but never with a position."""
    view = peer_view(2, "c", report(valid=None, status=status))
    assert view.status is status and view.position is None


@pytest.mark.parametrize("valid", [True, None, False])
def test_joining_without_a_primary_component_is_no_evidence_of_one(valid):
    """A server that refuses connections with a leftover sst_in_progress says "joining", but no
    Primary component is confirmed (its cluster status is unknown): it holds the election back
    (its mysqld runs) and never makes the others join."""
    view = peer_view(1, "b", report(valid=valid, status=Status.JOINING, cluster_status=None))
    assert (view.status, view.position) == (Status.NONPRIMARY, None)
    assert view.problem == "joining without a Primary component confirmed (a state transfer marker): no evidence of one"
    views = [as_served(own_view(0, "a", stopped()), peer_view(0, "a", report(status=Status.INITIATING))), view,
             peer_view(2, "c", report())]
    decision = decide(0, views, elapsed=0, deadline=10, poll_period=1)
    assert decision.action is Action.WAIT
    assert peer_view(1, "b", report(status=Status.JOINING, cluster_status="Primary")).status is Status.JOINING


def test_a_peer_without_a_seqno_source_has_no_position():
    assert peer_view(2, "c", report(position=at(42, SeqnoSource.UNKNOWN))).position is None


def test_evidence_table_names_every_node_and_the_decision():
    views = [as_served(own_view(0, "a", stopped()), peer_view(0, "a", report(status=Status.INITIATING))),
             peer_view(1, "b", report(position=at(50))), peer_view(2, "c", report(valid=False))]
    lines = decision_text(decide(0, views, elapsed=0, deadline=10, poll_period=1), 0).splitlines()
    assert lines[0].split() == ["NODE", "STATUS", "CLUSTER", "POSITION", "SAFE", "NODE", "SET", "NOTE"]
    # CLUSTER: what each report says (this fixture's reports carry a Synced node's "Primary")
    assert lines[1].split() == ["a", "(this", "node)", "initiating", "Primary", f"{UUID}:42", "0", SET.digest]
    assert lines[2].split() == ["b", "stopped", "Primary", f"{UUID}:50", "0", SET.digest]
    assert lines[3].split() == ["c", "-", "Primary", "-", "-", SET.digest, "no", "current", "data", "(mysqld",
                                "hangs)"]
    assert lines[4] == "decision: wait: no report from c: no report (no current data (mysqld hangs))"


# --- the phase -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "process", "cluster_status", "published"),
    [
        (MysqlFailure.REFUSED, ProcessState.ABSENT, None, True),  # stopped: the phase speaks
        (MysqlFailure.REFUSED, ProcessState.RUNNING, None, True),  # starting, not yet Primary
        (None, ProcessState.RUNNING, "non-Primary", True),
        (None, ProcessState.RUNNING, "Primary", False),  # mysqld speaks for itself
        (MysqlFailure.TIMEOUT, ProcessState.RUNNING, None, False),  # unknown stays unknown
    ],
)
def test_the_phase_speaks_only_for_a_node_outside_a_primary_component(failure, process, cluster_status, published):
    observed = derive_status(
        process=process, pid=1, failure=failure, error="e", cluster_status=cluster_status, local_state=4,
        local_state_comment="Synced", sst_in_progress=False,
    )
    status, reason = apply_phase(observed, (Status.BOOTSTRAPPING, "node1 wins"))
    assert (status is Status.BOOTSTRAPPING) is published
    assert (reason == "galera-init: node1 wins") is published


# --- grastate.dat and the operator's position ---------------------------------------------------


@pytest.mark.parametrize("fixture", ["grastate-clean-shutdown.dat", "grastate-running.dat", "grastate-old-format.dat"])
def test_mark_safe_to_bootstrap_changes_only_that(fixture):
    before = (FIXTURES / fixture).read_text()
    after = mark_safe_to_bootstrap(before)
    assert parse_grastate(after).position == replace(parse_grastate(before).position, safe_to_bootstrap=True)
    changed = set(after.splitlines()) ^ set(before.splitlines())
    assert all("safe_to_bootstrap" in line for line in changed)


def test_mark_safe_to_bootstrap_refuses_garbage():
    with pytest.raises(GaleraFileError):
        mark_safe_to_bootstrap(b"\x00\x01garbage")


def test_parse_position():
    assert parse_position(f"{UUID.upper()}:4294967396") == Position(UUID, 4294967396)
    # a reset history is named explicitly, zero UUID and all
    assert parse_position(f"{ZERO_UUID}:5") == Position(ZERO_UUID, 5)
    for bad in (f"{UUID}:-1", f"{ZERO_UUID}:-1", f"{UUID}", "x:5", f"{UUID}:5a", "0-0-0-0-0:5"):
        with pytest.raises(ValueError):
            parse_position(bad)


# --- SNMP settings ---------------------------------------------------------------------------


def test_snmp_settings_first_value_wins_then_defaults():
    settings = snmpsettings.merge({"community": None, "protocol": "3"}, {"community": "c", "protocol": "2c"})
    assert settings["community"] == "c" and settings["protocol"] == "3" and settings["privproto"] == "AES"


@pytest.mark.parametrize("layer", [{"comunity": "x"}, {"protocol": "1"}, {"seclevel": "high"}])
def test_snmp_settings_refuse_unknown_keys_and_values(layer):
    with pytest.raises(ValueError):
        snmpsettings.merge(layer)


# --- garbage from peers never leads to a bootstrap -------------------------------------------

OTHER_UUID = "11111111-2222-3333-4444-555555555555"


def served_peer(seqno: int) -> dict:
    state = stopped(position=at(seqno))
    return {oid: value for oid, _, value in render(NodeReport(state, Health(False, "stopped"), True, 0, "", SET))}


def scalar(name: str) -> tuple[int, ...]:
    return (*BY_NAME[name].oid, 0)


GARBAGE = {
    "status-wrong-type": {scalar("galeraStatus"): b"stopped"},
    "status-out-of-range": {scalar("galeraStatus"): 99},
    "status-no-such-object": {scalar("galeraStatus"): Missing("NoSuchObject")},
    "seqno-as-string": {scalar("galeraSeqno"): b"1000"},
    "seqno-no-such-instance": {scalar("galeraSeqno"): Missing("NoSuchInstance")},
    "seqno-source-garbage": {scalar("galeraSeqnoSource"): b"live"},
    "uuid-wrong-type": {scalar("galeraStateUUID"): 5},
    "uuid-zero": {scalar("galeraStateUUID"): b"00000000-0000-0000-0000-000000000000"},
    "another-cluster": {scalar("galeraStateUUID"): OTHER_UUID.encode()},
    "data-not-valid": {scalar("galeraDataValid"): 2},
    "data-valid-garbage": {scalar("galeraDataValid"): b"yes"},
    "node-set-no-such-instance": {scalar("galeraNodeSetDigest"): Missing("NoSuchInstance")},
    "node-set-digest-wrong-type": {scalar("galeraNodeSetDigest"): 5},
    "node-set-digest-upper-case": {scalar("galeraNodeSetDigest"): SET.digest.upper().encode()},
    "node-set-digest-short": {scalar("galeraNodeSetDigest"): SET.digest[:15].encode()},
    "node-set-of-another-cluster": {scalar("galeraNodeSetDigest"): node_set(("a", "b", "d")).digest.encode()},
}


@pytest.mark.parametrize("garbage", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_from_one_peer_never_leads_to_a_bootstrap(garbage):
    """Two good stopped nodes and one whose agent answers garbage (with the highest seqno, to
    tempt the rule): nobody may announce or bootstrap, whoever decides."""
    good = [peer_view(i, name, read_node(served_peer(seqno=40 + i))) for i, name in enumerate(("a", "b"))]
    bad = peer_view(2, "c", read_node({**served_peer(seqno=99), **garbage}))
    views = [*good, bad]
    for me in range(3):
        decision = decide(me, views, elapsed=1000, deadline=10, poll_period=1)
        assert decision.action is Action.BLOCKED, (me, decision)


def test_a_peer_that_does_not_answer_never_leads_to_a_bootstrap():
    views = [peer_view(0, "a", read_node(served_peer(seqno=50))), peer_view(1, "b", read_node(served_peer(seqno=40))),
             NodeView(2, "c", problem="no answer from 127.0.0.13:161 after 2 tries (timeout)")]
    for me in range(3):
        assert decide(me, views, elapsed=1000, deadline=10, poll_period=1).action is Action.BLOCKED


def test_the_same_reports_untouched_do_elect():
    """The control for the garbage tests: without the garbage the highest seqno wins."""
    views = [peer_view(i, name, read_node(served_peer(seqno=40 + i))) for i, name in enumerate(("a", "b", "c"))]
    assert decide(2, views, elapsed=0, deadline=10, poll_period=1).action is Action.ANNOUNCE


# --- the loop: every node polled, this one too; the bootstrap waits for the own announcement -------


class Stop(Exception):
    """Ends a loop that would poll forever."""


@dataclass
class Loop:
    init: Initiator
    polls: list[list[str]] = field(default_factory=list)  # the hosts each round read
    done: list[object] = field(default_factory=list)  # what would have changed the node


def loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, agent_serves_phase: bool,
         peer: NodeState | None = None, peer_writes: bool = False, extra: str = "") -> Loop:
    """galera-init on 127.0.0.1 (recovered at seqno 42) with one peer stopped at seqno 40, over a
    fake SNMP: this node's agent serves the phase galera-init publishes, or (dead, or stuck) keeps
    serving "stopped" (or ``peer``). Starting mysqld is recorded, not done; time is a fake clock
    that sleeping advances; after 100 polls the loop stops."""
    config = load_config(stopped_node_config(tmp_path, (
        "[init]\nnodes = 127.0.0.1, 203.0.113.2\naddress = 127.0.0.1\npoll_period = 0.01\nallow_v2c = yes\n"
        f"phase_file = {tmp_path / 'phase.json'}\n{extra}[agent]\nwake_socket = {tmp_path / 'wake'}\n")))
    run = Loop(Initiator(config, say=lambda line: None))
    served_set = node_set(run.init.cluster.nodes)
    now = [0.0]

    def read_all(targets):
        run.polls.append([target.host for target in targets])
        published = run.init._published
        own = published[0] if agent_serves_phase and published else Status.STOPPED
        writer = Health(peer_writes, "the writer" if peer_writes else "not the writer")
        return [NodeReport(stopped(status=own), Health(False, "stopped"), True, 0, "", served_set),
                NodeReport(peer or stopped(position=at(40)), Health(False, "stopped"), True, 0, "", served_set,
                           writer=writer)]

    def sleep(seconds: float) -> None:
        if len(run.polls) >= 100:
            raise Stop
        now[0] += seconds

    monkeypatch.setattr(initiator, "read_all", read_all)
    monkeypatch.setattr(initiator, "time", SimpleNamespace(monotonic=lambda: now[0], sleep=sleep))
    monkeypatch.setattr(run.init, "mark_safe", lambda: run.done.append("marked safe"))
    monkeypatch.setattr(run.init, "start_mysqld", lambda command, position, donors=None: run.done.append(
        (command, position) if donors is None else (command, position, donors)))
    monkeypatch.setattr(run.init, "wait_synced", synced_state)
    return run


def test_the_winner_bootstraps_once_its_own_snmpd_serves_its_announcement(tmp_path, monkeypatch):
    run = loop(tmp_path, monkeypatch, agent_serves_phase=True)
    (tmp_path / SAVED_VIEW).write_text("my_uuid: x\n")  # restored, it would re-form the old Primary
    assert run.init._elect(stopped()) is Action.BOOTSTRAP
    assert not (tmp_path / SAVED_VIEW).exists()
    # announced at 0 s, served from the next poll, bootstrapped at the first poll past 2 * 0.01 s
    assert run.polls == [["127.0.0.1", "203.0.113.2"]] * 4  # this node is read through its snmpd, like the peer
    assert run.init._published == (Status.BOOTSTRAPPING, "announced; waiting more than two poll periods")
    assert run.done == ["marked safe", ("galera_new_cluster", at(42))]


def test_a_joiner_forgets_its_saved_primary_view_before_it_starts(tmp_path, monkeypatch):
    primary = stopped(status=Status.RUNNING, process=ProcessState.RUNNING, cluster_status="Primary",
                      local_state=4, cluster_size=2, position=at(44))
    run = loop(tmp_path, monkeypatch, agent_serves_phase=False, peer=primary)
    (tmp_path / SAVED_VIEW).write_text("my_uuid: x\n")
    assert run.init._elect(stopped()) is Action.JOIN
    assert not (tmp_path / SAVED_VIEW).exists()
    assert run.done == [("systemctl start mariadb", at(42))]


SYNCED_PEER = {"status": Status.RUNNING, "process": ProcessState.RUNNING, "cluster_status": "Primary",
               "local_state": 4, "cluster_size": 2, "position": at(44), "node_name": "node2"}


@pytest.mark.parametrize(("writes", "donors", "line"), [
    (False, "node2,", "[galera]\nwsrep_sst_donor = node2,\n"),
    (True, None, "[galera]\n# no donor to ask for: Galera chooses\n"),  # only the writer: Galera chooses it
])
def test_a_join_asks_for_the_donors_that_spare_the_writer(tmp_path, monkeypatch, writes, donors, line):
    donor_file = tmp_path / "99-galera-snmp-donor.cnf"
    run = loop(tmp_path, monkeypatch, agent_serves_phase=False, peer=stopped(**SYNCED_PEER), peer_writes=writes,
               extra=f"spare_writer = yes\ndonor_file = {donor_file}\n")
    assert run.init._elect(stopped()) is Action.JOIN
    assert run.done == [("systemctl start mariadb", at(42)) + ((donors,) if donors else ())]
    assert donor_file.read_text() == "# written by galera-init before each join\n" + line


def test_without_spare_writer_a_join_names_no_donor_and_the_donor_file_nobody(tmp_path, monkeypatch):
    donor_file = tmp_path / "99-galera-snmp-donor.cnf"
    donor_file.write_text("[galera]\nwsrep_sst_donor = node2,\n")  # from when the option was on
    run = loop(tmp_path, monkeypatch, agent_serves_phase=False, peer=stopped(**SYNCED_PEER),
               extra=f"donor_file = {donor_file}\n")
    assert run.init._elect(stopped()) is Action.JOIN
    assert run.done == [("systemctl start mariadb", at(42))]
    assert "wsrep_sst_donor" not in donor_file.read_text()


def test_a_donor_file_that_cannot_be_written_never_keeps_a_node_down(tmp_path, monkeypatch):
    run = loop(tmp_path, monkeypatch, agent_serves_phase=False, peer=stopped(**SYNCED_PEER),
               extra=f"spare_writer = yes\ndonor_file = {tmp_path / 'missing' / 'donor.cnf'}\n")
    said: list[str] = []
    monkeypatch.setattr(run.init, "say", said.append)
    assert run.init._elect(stopped()) is Action.JOIN
    assert run.done == [("systemctl start mariadb", at(42), "node2,")]
    assert any(line.startswith("warning: cannot write") and "joining without it" in line for line in said)


def test_a_placeholder_without_a_value_leaves_its_argument_out(tmp_path):
    out = tmp_path / "argv"
    config = load_config(stopped_node_config(
        tmp_path, "[init]\nnodes = 127.0.0.1, 203.0.113.2\naddress = 127.0.0.1\nallow_v2c = yes\n"))
    init = Initiator(config, say=lambda line: None)
    command = f"sh -c 'printf \"%s\\n\" \"$@\" > {out}' sh --pos={{position}} --wsrep_sst_donor={{donors}} --x"
    init._run(command, at(42), "node2,node3,")
    assert out.read_text().splitlines() == [f"--pos={UUID}:42", "--wsrep_sst_donor=node2,node3,", "--x"]
    init._run(command, None, None)
    assert out.read_text().splitlines() == ["--x"]


def test_an_announcement_its_own_snmpd_never_serves_never_bootstraps(tmp_path, monkeypatch):
    run = loop(tmp_path, monkeypatch, agent_serves_phase=False)
    with pytest.raises(Stop):
        run.init._elect(stopped())
    assert len(run.polls) == 100
    assert run.init._published == (Status.BOOTSTRAPPING, "own announcement not visible through snmpd (it serves "
                                                         "stopped)")
    assert run.done == []


def test_a_dry_run_runs_no_recovery_and_stops_nothing(tmp_path, monkeypatch):
    """--dry-run reads the agent's recovered position, as galera-check does: it never runs
    --wsrep-recover (which writes to the datadir) and never stops a mysqld."""
    (tmp_path / "mysql").mkdir()  # a datadir with data, after a crash: recovery would be wanted
    (tmp_path / "grastate.dat").write_text(f"version: 2.1\nuuid: {UUID}\nseqno: -1\nsafe_to_bootstrap: 0\n")
    config = stopped_node_config(tmp_path, (
        "[init]\nnodes = 127.0.0.1, 203.0.113.2\naddress = 127.0.0.1\nallow_v2c = yes\nsnmp_timeout = 0.1\n"
        f"snmp_retries = 0\n[agent]\nstate_dir = {tmp_path / 'state'}\n"))
    config.write_text(config.read_text().replace("recover = no", "recover = yes"))

    def never(*_args: object) -> None:
        raise AssertionError("the dry run must change nothing")

    monkeypatch.setattr("galera_snmp.node.probe.recover_position", never)
    monkeypatch.setattr(Initiator, "stop_stuck_mysqld", never)
    said: list[str] = []
    assert Initiator(load_config(config), say=said.append).dry_run() == 0
    assert said[-1].splitlines()[-1].startswith("decision: wait: no report from")


# --- a join that fails is tried again; a bootstrap never ------------------------------------------


class Scripted(Initiator):
    """The loop of Initiator.run with its I/O played by the test: each election's action, and
    whether the mysqld it started gets Synced."""

    def __init__(self, tmp_path, outcomes: list[tuple[Action, bool]]) -> None:  # no super(): no config, no I/O
        self.init = InitConfig(phase_file=tmp_path / "phase.json")
        self.outcomes = outcomes
        self.said: list[str] = []
        self.say = self.said.append
        self.probe = self
        self.elections = 0

    def snapshot(self):
        return stopped()

    def prepare(self):
        return stopped()

    def _elect(self, state):
        self.elections += 1
        self.current = self.outcomes.pop(0)
        return self.current[0]

    def wait_synced(self, *, joining=False):
        assert joining is (self.current[0] is Action.JOIN)
        if not self.current[1]:
            raise InitError("mysqld exited before it was Synced (mysqld is not running); see its error log")
        return stopped(status=Status.RUNNING, local_state=4, cluster_size=3)


def test_a_failed_join_is_elected_and_joined_again_up_to_three_times_in_all(tmp_path):
    twice = Scripted(tmp_path, [(Action.JOIN, False), (Action.JOIN, False), (Action.JOIN, True)])
    assert twice.run() == 0 and twice.elections == 3
    assert any("electing again (3 of 3)" in line for line in twice.said)
    always = Scripted(tmp_path, [(Action.JOIN, False)] * 3)
    with pytest.raises(InitError, match="exited before it was Synced"):
        always.run()
    assert always.elections == 3


def test_a_failed_bootstrap_is_never_tried_again(tmp_path):
    once = Scripted(tmp_path, [(Action.BOOTSTRAP, False), (Action.BOOTSTRAP, True)])
    with pytest.raises(InitError):
        once.run()
    assert once.elections == 1


# --- a joiner Galera left disconnected is restarted -----------------------------------------------


def test_a_joiner_disconnected_longer_than_the_grace_is_due_for_a_restart():
    watch = DisconnectWatch(grace=10)
    out = stopped(status=Status.NONPRIMARY, process=ProcessState.RUNNING, cluster_status="Disconnected")
    joining = stopped(status=Status.JOINING, process=ProcessState.RUNNING, cluster_status="Primary")
    assert [watch.expired(out, t) for t in (100, 105, 110)] == [False, False, False]
    assert watch.expired(out, 110.5) is True
    # back in a group, even for one look, and the grace starts over
    assert watch.expired(joining, 111) is False
    assert [watch.expired(out, t) for t in (112, 122, 122.5)] == [False, False, True]


@pytest.mark.parametrize(("process", "cluster_status"), [
    (ProcessState.ABSENT, None),  # exited: the caller's other rule
    (ProcessState.RUNNING, None),  # not answering yet (state transfer, start-up)
    (ProcessState.RUNNING, "non-Primary"),  # in a group, waiting for a Primary component
    (ProcessState.RUNNING, "Primary"),
    (ProcessState.SUSPENDED, "Disconnected"),  # stopped by a signal: not Galera's verdict
])
def test_only_a_running_disconnected_server_counts(process, cluster_status):
    watch = DisconnectWatch(grace=1)
    state = stopped(status=Status.NONPRIMARY, process=process, cluster_status=cluster_status)
    assert [watch.expired(state, t) for t in (0, 5, 50)] == [False, False, False]


def test_a_join_forgets_the_saved_primary_view_and_follows_no_link(tmp_path):
    """pc.recovery would otherwise re-form the pre-outage Primary beside the one being joined."""
    assert remove_saved_view(tmp_path) is False
    (tmp_path / SAVED_VIEW).write_text("my_uuid: x\n#vwbeg\n")
    assert remove_saved_view(tmp_path) is True and not (tmp_path / SAVED_VIEW).exists()
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (tmp_path / SAVED_VIEW).symlink_to(target)
    assert remove_saved_view(tmp_path) is True
    assert target.read_text() == "keep" and not (tmp_path / SAVED_VIEW).is_symlink()
