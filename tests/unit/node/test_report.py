"""local_report: one snapshot, one judgement, whichever command asks — galera-check, the one-shot
track-file writer, check_galera's MySQL source, and the agent (which judges with the same Reporter)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import stopped_node_config, synced_state

from galera_snmp.agent.publisher import Publisher
from galera_snmp.cli import check
from galera_snmp.cli.main import _write_once
from galera_snmp.config import Config, load_config
from galera_snmp.nagios.sources import MysqlSource
from galera_snmp.node.probe import Probe
from galera_snmp.node.refresh import Reporter, local_report
from galera_snmp.state import MysqlFailure, NodeState, ProcessState, Status
from galera_snmp.traffic.keepalived import TrackFile

UNANSWERED = {"local_state": None, "local_state_comment": None, "cluster_status": None, "ready": None,
              "reject_queries": None}
STATES = {
    "synced": synced_state(),
    "donor": synced_state(local_state=2, local_state_comment="Donor/Desynced"),
    "drained": synced_state(drained=True),
    "stopped": synced_state(status=Status.STOPPED, reason="mysqld is not running", process=ProcessState.ABSENT,
                            pid=None, mysql_failure=MysqlFailure.REFUSED, **UNANSWERED),
    "hung": synced_state(status=Status.UNKNOWN, reason="mysqld (pid 4332) does not answer: timed out",
                         mysql_failure=MysqlFailure.TIMEOUT, **UNANSWERED),
    "access-denied": synced_state(status=Status.UNKNOWN, reason="mysqld (pid 4332) runs but cannot be read",
                                  mysql_failure=MysqlFailure.ACCESS_DENIED, **UNANSWERED),
}
# healthy, current (valid), may serve (verdict), galera-check health's exit code, the track file
EXPECTED = {
    "synced": (True, True, True, 0, "1"),
    "donor": (False, True, False, 1, "0"),
    "drained": (False, True, False, 1, "0"),
    "stopped": (False, True, False, 1, "0"),
    "hung": (False, False, False, 1, "0"),
    "access-denied": (None, False, False, 3, "0"),
}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(stopped_node_config(tmp_path))


def serve(monkeypatch: pytest.MonkeyPatch, state: NodeState) -> None:
    """Every probe of this process sees ``state`` (only the reading is replaced, not the judging)."""
    monkeypatch.setattr(Probe, "snapshot", lambda self: state)


@pytest.mark.parametrize("name", STATES)
def test_every_one_shot_command_judges_a_snapshot_alike(
    name: str, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = STATES[name]
    healthy, valid, serves, exit_code, track_value = EXPECTED[name]
    serve(monkeypatch, state)

    report = local_report(config)
    assert report.state is state
    assert (report.health.healthy, report.valid, report.verdict().healthy) == (healthy, valid, serves)

    assert check.main(["-c", str(config.path), "health"]) == exit_code
    word = {True: "healthy", False: "unhealthy", None: "unknown"}[healthy]
    assert capsys.readouterr().out == f"{word}: {report.health.reason}\n"
    check.main(["-c", str(config.path), "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert printed["health"] == {"healthy": healthy, "reason": report.health.reason}
    assert printed == {**state.to_dict(), "health": printed["health"]}

    track = TrackFile(tmp_path / "track")
    assert _write_once(config, track) == (0 if serves else 1)
    assert track.path.read_text() == track_value + "\n"
    assert capsys.readouterr().out == f"{track_value} ({report.verdict().reason})\n"

    published = Publisher(Reporter(config, lambda: state)).refresh()  # the agent's own report of the same snapshot
    assert (published.state, published.health, published.valid) == (state, report.health, valid)
    assert published.verdict() == report.verdict()

    plugin = MysqlSource(str(config.path)).read()  # check_galera's MySQL source
    assert (plugin.state, plugin.health, plugin.valid) == (state, report.health, valid)


@pytest.mark.parametrize(("command", "printed"), [("status", "running"), ("seqno", "17")])
def test_galera_check_prints_one_word(
    command: str, printed: str, config: Config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    serve(monkeypatch, synced_state())
    assert check.main(["-c", str(config.path), command]) == 0
    assert capsys.readouterr().out == printed + "\n"


def test_a_snapshot_that_fails_is_unknown_not_a_traceback(
    config: Config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(self: Probe) -> NodeState:
        raise RuntimeError("a bug in the probe")

    monkeypatch.setattr(Probe, "snapshot", broken)
    report = local_report(config)
    assert (report.state.status, report.health.healthy, report.valid) == (Status.UNKNOWN, None, False)
    assert report.health.reason == "snapshot failed: RuntimeError('a bug in the probe')"
    assert check.main(["-c", str(config.path), "health"]) == 3
    assert capsys.readouterr().out == "unknown: snapshot failed: RuntimeError('a bug in the probe')\n"
