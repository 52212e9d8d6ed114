"""How the probe reads the local node: the order of its observations, what it reads from the
datadir, when it runs a recovery, and what it loads. What it makes of them: test_assemble.py."""

import subprocess
import sys
from pathlib import Path

import pytest
from support import free_tcp_port, stopped_node_config

from galera_snmp.config import ServerConfig, load_config
from galera_snmp.node import probe as probe_module
from galera_snmp.node.assemble import MysqlReading
from galera_snmp.node.galerafiles import parse_grastate
from galera_snmp.node.phase import write_phase
from galera_snmp.node.probe import Probe, RecoveryError
from galera_snmp.node.process import ProcessInfo
from galera_snmp.record import replace
from galera_snmp.state import MysqlFailure, Position, ProcessState, SeqnoSource, Status

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
UUID = "cf45eb64-e601-11f1-9293-5ec05f0f5611"


@pytest.mark.parametrize(
    ("during_read", "failure", "expected"),
    [
        (ProcessState.SUSPENDED, MysqlFailure.TIMEOUT, Status.UNKNOWN),  # SIGSTOP arrived meanwhile
        (ProcessState.ABSENT, MysqlFailure.REFUSED, Status.STOPPED),  # it died meanwhile
    ],
)
def test_process_change_during_the_read_is_what_the_snapshot_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, during_read: ProcessState, failure: MysqlFailure, expected: Status
) -> None:
    process = {"now": ProcessInfo(ProcessState.RUNNING, 4242)}
    monkeypatch.setattr(probe_module, "find_server", lambda server: process["now"])

    def read() -> MysqlReading:
        process["now"] = ProcessInfo(during_read, None if during_read is ProcessState.ABSENT else 4242)
        return MysqlReading(failure=failure, error="simulated")

    with Probe(load_config(stopped_node_config(tmp_path))) as probe:
        monkeypatch.setattr(probe._mysql, "read", read)
        state = probe.snapshot()
    assert state.process is during_read
    assert state.status is expected


def test_a_probe_is_its_own_context_and_closes_its_connection_on_leaving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[bool] = []
    with Probe(load_config(stopped_node_config(tmp_path))) as probe:
        assert isinstance(probe, Probe)
        monkeypatch.setattr(probe._mysql, "close", lambda: closed.append(True))
    assert closed == [True]


_LOADED = """
import sys
from galera_snmp.config import load_config
from galera_snmp.node.probe import Probe

with Probe(load_config(sys.argv[1])) as probe:
    state = probe.snapshot()
import pymysql

print(state.mysql_failure, "ssl" in sys.modules, "cryptography" in sys.modules, pymysql._auth._have_cryptography)
import ssl  # hidden only while PyMySQL loaded

print(sys.modules["ssl"] is ssl, ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).protocol.name)
"""


@pytest.mark.parametrize(
    ("client_options", "cryptography"),
    [
        ("socket = /nonexistent/mysqld.sock\n", False),  # no RSA exchange on a local socket
        ("host = 127.0.0.1\nport = {port}\n", True),  # caching_sha2_password over plain TCP needs it
    ],
)
def test_probe_loads_pymysql_without_tls_and_only_needed_crypto(
    tmp_path: Path, client_options: str, cryptography: bool
) -> None:
    config = stopped_node_config(tmp_path)
    option_file = tmp_path / "client.cnf"
    option_file.write_text(
        "[client]\nuser = monitor\npassword = s3cret\n" + client_options.format(port=free_tcp_port())
    )
    result = subprocess.run([sys.executable, "-c", _LOADED, str(config)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "refused", "False", str(cryptography), str(cryptography), "True", "PROTOCOL_TLS_CLIENT"
    ]


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        ((MysqlFailure.ERROR, MysqlFailure.REFUSED), Status.STOPPED),  # a --wsrep-recover run reset it
        ((MysqlFailure.ERROR, MysqlFailure.ERROR), Status.UNKNOWN),  # something keeps answering: never "stopped"
        ((MysqlFailure.TIMEOUT,), Status.UNKNOWN),  # not asked twice: that would double the wait
    ],
)
def test_no_server_but_a_reset_connection_is_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failures: tuple[MysqlFailure, ...], expected: Status
) -> None:
    monkeypatch.setattr(probe_module, "find_server", lambda server: ProcessInfo(ProcessState.ABSENT))
    answers = iter(failures)
    with Probe(load_config(stopped_node_config(tmp_path))) as probe:
        monkeypatch.setattr(probe._mysql, "read", lambda: MysqlReading(failure=next(answers), error="reset by peer"))
        assert probe.snapshot().status is expected
    assert next(answers, None) is None  # every planned reading was taken, and no more


# --- the datadir and recovery -------------------------------------------------------------------


def recovering_config(folder: Path) -> Path:
    """A stopped node (no socket, an initialized datadir) whose probe may run --wsrep-recover."""
    (folder / "mysql").mkdir()
    config = stopped_node_config(folder, f"[health]\ndrain_file = {folder / 'drained'}\n"
                                         f"[init]\nphase_file = {folder / 'phase.json'}\n"
                                         f"[agent]\nstate_dir = {folder / 'state'}\n")
    config.write_text(config.read_text().replace("recover = no", "recover = yes"))
    return config


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """No mysqld on the test's datadir, whatever else runs on this machine."""
    monkeypatch.setattr(probe_module, "find_server", lambda server: ProcessInfo(ProcessState.ABSENT))


@pytest.mark.usefixtures("no_server")
def test_observe_reads_the_datadir(tmp_path: Path) -> None:
    grastate = (FIXTURES / "grastate-last-to-leave.dat").read_bytes()
    (tmp_path / "grastate.dat").write_bytes(grastate)
    for name in ("sst_in_progress", "gvwstate.dat", "drained"):
        (tmp_path / name).touch()
    write_phase(tmp_path / "phase.json", Status.BLOCKED, "no report from node2")
    with Probe(load_config(recovering_config(tmp_path))) as probe:
        observation = probe.observe()
    assert observation.reading.failure is MysqlFailure.REFUSED
    assert (observation.process, observation.pid) == (ProcessState.ABSENT, None)
    assert observation.grastate == parse_grastate(grastate)
    assert (observation.sst_in_progress, observation.gvwstate_present, observation.drained) == (True, True, True)
    assert observation.phase == (Status.BLOCKED, "no report from node2")
    assert observation.recovered is None


@pytest.mark.usefixtures("no_server")
def test_observe_notes_a_missing_or_garbled_grastate(tmp_path: Path) -> None:
    with Probe(load_config(recovering_config(tmp_path))) as probe:
        assert probe.observe().grastate == f"{tmp_path / 'grastate.dat'} does not exist"
        (tmp_path / "grastate.dat").write_text("")
        assert probe.observe().grastate == f"{tmp_path / 'grastate.dat'}: grastate.dat is empty"
        observation = probe.observe()
    assert (observation.sst_in_progress, observation.gvwstate_present, observation.drained) == (False, False, False)
    assert observation.phase is None


@pytest.mark.parametrize(
    ("fixture", "runs", "position"),
    [
        ("grastate-clean-shutdown.dat", 0, Position(UUID, 15, SeqnoSource.GRASTATE, False)),
        ("grastate-running.dat", 1, Position(UUID, 6, SeqnoSource.RECOVERED, False)),  # seqno -1 after a crash
    ],
)
@pytest.mark.usefixtures("no_server")
def test_recovery_runs_only_when_wanted_and_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture: str, runs: int, position: Position
) -> None:
    calls: list[ServerConfig] = []

    def recover(server: ServerConfig) -> Position:
        calls.append(server)
        return Position(UUID, 6, SeqnoSource.RECOVERED)

    monkeypatch.setattr(probe_module, "recover_position", recover)
    (tmp_path / "grastate.dat").write_bytes((FIXTURES / fixture).read_bytes())
    with Probe(load_config(recovering_config(tmp_path))) as probe:
        assert [probe.snapshot().position for _ in range(3)] == [position] * 3
    assert len(calls) == runs  # remembered while the datadir is unchanged


@pytest.mark.usefixtures("no_server")
def test_a_failed_recovery_is_a_note_and_not_rerun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[ServerConfig] = []

    def recover(server: ServerConfig) -> Position:
        calls.append(server)
        raise RecoveryError("--wsrep-recover did not finish within 300 s")

    monkeypatch.setattr(probe_module, "recover_position", recover)
    (tmp_path / "grastate.dat").write_bytes((FIXTURES / "grastate-running.dat").read_bytes())
    with Probe(load_config(recovering_config(tmp_path))) as probe:
        states = [probe.snapshot() for _ in range(2)]
        (tmp_path / "grastate.dat").write_bytes((FIXTURES / "grastate-running.dat").read_bytes() + b"\n")
        states.append(probe.snapshot())  # the datadir changed: worth another try
    assert len(calls) == 2
    for state in states:
        assert state.position == Position(UUID, safe_to_bootstrap=False)
        assert state.notes == ("recovery failed: --wsrep-recover did not finish within 300 s",)



@pytest.mark.usefixtures("no_server")
def test_a_one_shot_probe_never_recovers_and_reads_the_agents_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """galera-check and check_galera run every second from vrrp_script/NRPE, as root: they read
    what the agent's recovery found for the datadir as it is, never run --wsrep-recover."""
    recovered = Position(UUID, 6, SeqnoSource.RECOVERED)
    runs: list[bool] = []

    def recover(server: ServerConfig) -> Position:
        runs.append(True)
        return recovered

    monkeypatch.setattr(probe_module, "recover_position", recover)
    (tmp_path / "grastate.dat").write_bytes((FIXTURES / "grastate-running.dat").read_bytes())
    config = load_config(recovering_config(tmp_path))
    hint = "one-shot commands never run --wsrep-recover; galera-snmp-agent does and keeps its result"
    with Probe(config, recover=False) as one_shot:
        before = one_shot.snapshot()
    assert before.position == Position(UUID, safe_to_bootstrap=False)
    assert before.notes == (f"recovery failed: no recovered position in {tmp_path / 'state' / 'recovered.json'} "
                            f"({hint})",)
    with Probe(config) as agent:
        assert agent.snapshot().position == replace(recovered, safe_to_bootstrap=False)
    with Probe(config, recover=False) as one_shot:
        assert one_shot.snapshot().position == replace(recovered, safe_to_bootstrap=False)
        (tmp_path / "grastate.dat").write_bytes((FIXTURES / "grastate-running.dat").read_bytes() + b"\n")
        changed = one_shot.snapshot()  # the datadir changed since the agent's recovery
    assert changed.position == Position(UUID, safe_to_bootstrap=False)
    assert changed.notes == (f"recovery failed: no recovered position for the datadir as it is now ({hint})",)
    assert runs == [True]


@pytest.mark.usefixtures("no_server")
def test_the_agents_failed_recovery_is_what_a_one_shot_probe_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def recover(server: ServerConfig) -> Position:
        raise RecoveryError("no 'Recovered position' in the error log")

    monkeypatch.setattr(probe_module, "recover_position", recover)
    (tmp_path / "grastate.dat").write_bytes((FIXTURES / "grastate-running.dat").read_bytes())
    config = load_config(recovering_config(tmp_path))
    with Probe(config) as agent:
        agent.snapshot()
    with Probe(config, recover=False) as one_shot:
        state = one_shot.snapshot()
    assert state.notes == ("recovery failed: the agent's recovery failed: no 'Recovered position' in the error log",)


@pytest.mark.usefixtures("no_server")
def test_a_position_another_probe_kept_for_this_datadir_is_not_recovered_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At boot the agent recovers the crashed datadir, then galera-init probes it: one run, not two."""
    runs: list[bool] = []

    def recover(server: ServerConfig) -> Position:
        runs.append(True)
        return Position(UUID, 6, SeqnoSource.RECOVERED)

    monkeypatch.setattr(probe_module, "recover_position", recover)
    (tmp_path / "grastate.dat").write_bytes((FIXTURES / "grastate-running.dat").read_bytes())
    config = load_config(recovering_config(tmp_path))
    with Probe(config) as agent, Probe(config) as galera_init:
        expected = Position(UUID, 6, SeqnoSource.RECOVERED, False)
        assert agent.snapshot().position == galera_init.snapshot().position == expected
    assert runs == [True]


def test_a_position_is_kept_as_seen_only_once_it_has_been_committed_a_while(tmp_path, monkeypatch):
    """InnoDB may lose its last second of commits to a crash (innodb_flush_log_at_trx_commit 0 or
    2) while the cluster keeps them: only a position seen SEEN_LAG ago is a floor for galera-init."""
    from types import SimpleNamespace

    from support import synced_state

    from galera_snmp.node.history import SEEN_LAG

    now = [1000.0]
    monkeypatch.setattr(probe_module, "time", SimpleNamespace(monotonic=lambda: now[0], time=lambda: now[0]))
    probe = Probe(load_config(stopped_node_config(tmp_path)))
    uuid = "6b1c9b32-2a2f-11e6-9cd4-6f6b7a9d0e55"

    def seen_at(seqno: int, later: float, **changes):
        now[0] += later
        live = Position(uuid, seqno, SeqnoSource.LIVE)
        return probe._committed_long_enough(synced_state(position=live, cluster_state_uuid=uuid, **changes))

    assert seen_at(10, 0) is None  # too fresh
    assert seen_at(20, SEEN_LAG - 1) is None
    assert seen_at(30, 1) == Position(uuid, 10, SeqnoSource.LIVE)  # 10 is SEEN_LAG old now
    assert seen_at(40, SEEN_LAG) == Position(uuid, 30, SeqnoSource.LIVE)
    assert seen_at(99, SEEN_LAG, cluster_status="non-Primary") == Position(uuid, 40, SeqnoSource.LIVE)  # not kept
    assert len(probe._committed) == 1  # older ones are dropped
