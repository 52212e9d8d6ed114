"""galera-init's pieces around the decision: reading my.cnf, finding this node, turning reports
into views, the published phase, safe_to_bootstrap, the operator's position."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from support import synced_state

from galera_snmp.config import Config, ConfigError, InitConfig, MysqlConfig, ServerConfig
from galera_snmp.init.peers import cluster_hosts, find_cluster, is_local
from galera_snmp.init.rule import Action, NodeView, decide
from galera_snmp.init.run import evidence_table, own_view, parse_position, peer_view
from galera_snmp.mycnf import server_options
from galera_snmp.node.galerafiles import GaleraFileError, mark_safe_to_bootstrap, parse_grastate
from galera_snmp.node.phase import clear_phase, read_phase, write_phase
from galera_snmp.snmp import settings as snmpsettings
from galera_snmp.snmp.client import Missing
from galera_snmp.snmp.mib import BY_NAME, read_node, render
from galera_snmp.state import (
    Health,
    MysqlFailure,
    NodeReport,
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


@pytest.mark.parametrize(
    ("address", "hosts"),
    [
        ("gcomm://a,b,c", ("a", "b", "c")),
        ("gcomm://10.0.0.1:4567,10.0.0.2?pc.wait_prim=no", ("10.0.0.1", "10.0.0.2")),
        ("gcomm://[fd00::1]:4567,[fd00::2]", ("fd00::1", "fd00::2")),
    ],
)
def test_cluster_hosts(address, hosts):
    assert cluster_hosts(address) == hosts


@pytest.mark.parametrize("address", ["gcomm://", "mysql://a,b", "a,b,c"])
def test_cluster_hosts_refuses_what_is_not_a_cluster(address):
    with pytest.raises(ConfigError):
        cluster_hosts(address)


# --- which node am I ---------------------------------------------------------------------------


def config_with(tmp_path: Path, **init: object) -> Config:
    return Config(
        path=tmp_path / "galera-snmp.conf",
        mysql=MysqlConfig(option_file=tmp_path / "client.cnf"),
        server=ServerConfig(datadir=tmp_path, defaults_file=init.pop("defaults_file", None)),  # type: ignore[arg-type]
        init=InitConfig(**init),  # type: ignore[arg-type]
    )


def test_nodes_and_address_from_the_config(tmp_path):
    cluster = find_cluster(config_with(tmp_path, nodes=("10.9.9.1", "10.9.9.2", "10.9.9.3"), address="10.9.9.2"))
    assert (cluster.nodes, cluster.me) == (("10.9.9.1", "10.9.9.2", "10.9.9.3"), 1)


def test_nodes_and_address_from_my_cnf(tmp_path):
    mycnf = tmp_path / "my.cnf"
    mycnf.write_text("[galera]\nwsrep_cluster_address = gcomm://10.9.9.1,10.9.9.2\nwsrep_node_address = 10.9.9.2\n")
    cluster = find_cluster(config_with(tmp_path, defaults_file=mycnf))
    assert (cluster.nodes, cluster.me) == (("10.9.9.1", "10.9.9.2"), 1)


def test_this_node_found_by_its_local_address(tmp_path):
    cluster = find_cluster(config_with(tmp_path, nodes=("203.0.113.1", "127.0.0.1", "203.0.113.3")))
    assert cluster.me == 1


@pytest.mark.parametrize(
    ("init", "words"),
    [
        ({"nodes": ("203.0.113.1", "203.0.113.2")}, "cannot tell which"),
        ({"nodes": ("203.0.113.1", "203.0.113.2"), "address": "203.0.113.9"}, "not one of the nodes"),
        ({"nodes": ("203.0.113.1", "203.0.113.1"), "address": "203.0.113.1"}, "twice"),
        ({}, "defaults_file"),
    ],
)
def test_unclear_cluster_is_a_config_error(tmp_path, init, words):
    with pytest.raises(ConfigError, match=words):
        find_cluster(config_with(tmp_path, **init))


def test_is_local():
    assert is_local("127.0.0.1") and is_local("localhost")
    assert not is_local("203.0.113.77") and not is_local("no-such-host.invalid")


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


def test_an_interrupted_sst_never_gives_a_position():
    view = own_view(0, "a", stopped(sst_in_progress=True))
    assert view.position is None and "sst_in_progress" in view.problem


def report(valid: bool | None = True, **changes: object) -> NodeReport:
    return NodeReport(stopped(**changes), Health(False, "stopped"), valid, 0, "" if valid else "mysqld hangs")


def test_peer_view_from_a_report():
    view = peer_view(2, "c", report())
    assert (view.status, view.position, view.safe_to_bootstrap, view.answered) == (
        Status.STOPPED, at(42), False, True)


def test_a_peer_whose_agent_has_no_current_data_is_no_report():
    view = peer_view(2, "c", report(valid=False))
    assert not view.answered and "no current data" in view.problem


@pytest.mark.parametrize("status", [Status.RUNNING, Status.JOINING, Status.BOOTSTRAPPING])
def test_unverified_claims_of_a_primary_still_hold_us_back(status):
    """The seed's extend lines (valid unknown) or stale data saying "running": joining is the
    safe direction, so the claim counts — but never with a position."""
    view = peer_view(2, "c", report(valid=None, status=status))
    assert view.status is status and view.position is None


def test_a_peer_without_a_seqno_source_has_no_position():
    assert peer_view(2, "c", report(position=at(42, SeqnoSource.UNKNOWN))).position is None


def test_evidence_table_names_every_node_and_the_decision():
    views = [own_view(0, "a", stopped()), peer_view(1, "b", report(position=at(50))),
             peer_view(2, "c", report(valid=False))]
    text = evidence_table(decide(0, views, elapsed=0, deadline=10, poll_period=1), 0)
    assert "a (this node)" in text and f"{UUID}:50" in text and "no current data" in text
    assert text.splitlines()[-1].startswith("decision: wait: no report from c")


# --- the phase -------------------------------------------------------------------------------


def test_phase_round_trip_and_clear(tmp_path):
    path = tmp_path / "run" / "phase.json"
    write_phase(path, Status.BLOCKED, "no report from b")
    assert read_phase(path) == (Status.BLOCKED, "no report from b")
    clear_phase(path)
    clear_phase(path)  # twice is fine
    assert read_phase(path) is None


def test_a_phase_left_by_a_dead_galera_init_is_ignored(tmp_path):
    path = tmp_path / "phase.json"
    dead = subprocess.Popen(["true"])
    dead.wait()
    path.write_text(json.dumps({"status": "initiating", "reason": "x", "pid": dead.pid, "start": 1}))
    assert read_phase(path) is None
    # our own pid with another start time: the pid was reused by someone else
    path.write_text(json.dumps({"status": "initiating", "reason": "x", "pid": os.getpid(), "start": 1}))
    assert read_phase(path) is None


@pytest.mark.parametrize("text", ["", "{", "[]", '{"status": "running", "reason": "", "pid": 1, "start": 1}',
                                  '{"status": "initiating", "reason": "", "pid": true, "start": 1}'])
def test_garbage_phase_is_ignored(tmp_path, text):
    path = tmp_path / "phase.json"
    path.write_text(text)
    assert read_phase(path) is None


def test_write_phase_refuses_a_status_that_is_not_a_phase(tmp_path):
    with pytest.raises(ValueError):
        write_phase(tmp_path / "p", Status.RUNNING, "no")


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
    for bad in (f"{UUID}:-1", "00000000-0000-0000-0000-000000000000:5", f"{UUID}", "x:5", f"{UUID}:5a"):
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
    return {oid: value for oid, _, value in render(NodeReport(state, Health(False, "stopped"), True, 0))}


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
