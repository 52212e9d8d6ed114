"""Traffic steering without a cluster: the verdict, the track file, the HTTP check, drain, and
the watcher that decides when the next snapshot is due."""

from __future__ import annotations

import errno
import json
import os
import pwd
import socket
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from support import free_tcp_port, http_get, node_report, synced_state

from galera_snmp.config import AgentConfig, Config, HttpConfig, MysqlConfig, ServerConfig
from galera_snmp.node import refresh
from galera_snmp.node.refresh import ExitGuard, Newest, Wake, WakeSocket, Watcher
from galera_snmp.record import replace
from galera_snmp.state import ZERO_UUID, Health, HealthCode, NodeReport, ProcessState, Status
from galera_snmp.traffic.drain import drain, undrain
from galera_snmp.traffic.httpcheck import HealthServer, describe
from galera_snmp.traffic.keepalived import FAULT, SERVE, TrackFile

HEALTHY = Health(True, "Synced, Primary, ready", HealthCode.SYNCED)


def report(health: Health = HEALTHY, valid: bool | None = True, **changes: object) -> NodeReport:
    return node_report(health=health, valid=valid, last_error="" if valid else "mysqld does not answer", **changes)


# --- the verdict -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("health", "valid", "serves", "reason"),
    [
        (HEALTHY, True, True, "Synced, Primary, ready"),
        (Health(False, "wsrep_desync is ON"), True, False, "wsrep_desync is ON"),
        (Health(None, "wsrep status incomplete"), True, False, "wsrep status incomplete"),
        # a stale "healthy" must not keep traffic on a node that may be gone
        (HEALTHY, False, False, "no current data: mysqld does not answer"),
        (HEALTHY, None, False, "no current data: mysqld does not answer"),
    ],
)
def test_verdict_serves_only_on_current_healthy_data(health, valid, serves, reason):
    verdict = report(health, valid).verdict()
    assert verdict.healthy is serves
    assert verdict.reason == reason


# --- the track file --------------------------------------------------------------------------


def test_track_file_says_1_or_0_and_is_replaced_not_rewritten(tmp_path):
    path = tmp_path / "keepalived.track"
    track = TrackFile(path)
    track.update(HEALTHY)
    assert path.read_text() == f"{SERVE}\n"
    with open(path) as before:
        track.update(Health(False, "drained by the operator"))
        assert before.read() == f"{SERVE}\n"  # keepalived never reads a half-written file
    assert path.read_text() == f"{FAULT}\n"
    assert os.listdir(tmp_path) == ["keepalived.track"]
    assert (path.stat().st_mode & 0o777) == 0o644


def test_track_file_is_written_only_on_change(tmp_path):
    path = tmp_path / "keepalived.track"
    track = TrackFile(path)
    track.update(HEALTHY)
    inode = path.stat().st_ino
    track.update(Health(True, "Donor/Desynced, Primary, ready"))  # another reason, same value
    assert path.stat().st_ino == inode
    track.update(Health(None, "cannot tell"))  # cannot tell is not "serve"
    assert path.read_text() == f"{FAULT}\n"


def test_track_file_write_failure_is_logged_and_retried(tmp_path, caplog):
    folder = tmp_path / "run"
    track = TrackFile(folder / "keepalived.track")
    track.update(HEALTHY)
    assert track.written is None
    assert "cannot write the keepalived track file" in caplog.text
    folder.mkdir()
    track.update(HEALTHY)
    assert (folder / "keepalived.track").read_text() == f"{SERVE}\n"


def test_track_file_fault_on_the_way_out(tmp_path):
    track = TrackFile(tmp_path / "t")
    track.update(HEALTHY)
    track.fault("stopped")
    assert (tmp_path / "t").read_text() == f"{FAULT}\n"


# --- the HTTP check --------------------------------------------------------------------------


def test_describe_healthy_and_not():
    code, line, document = describe(report())
    assert (code, line) == (200, "Galera node node1 is healthy: Synced, Primary, ready")
    assert document["healthy"] is True and document["status"] == "running" and document["data_valid"] is True
    code, line, document = describe(report(Health(False, "drained by the operator", HealthCode.DRAINED), drained=True))
    assert (code, line) == (503, "Galera node node1 is not healthy: drained by the operator")
    assert document["drained"] is True
    code, line, _ = describe(None)
    assert code == 503 and "not known yet" in line


def test_describe_says_when_the_history_was_reset():
    assert describe(report())[2]["history_reset"] is False
    code, _, document = describe(report(cluster_state_uuid=ZERO_UUID))
    assert (code, document["history_reset"]) == (200, True)  # it still serves: docs/INIT.md says why


@pytest.fixture
def server():
    current = {"report": report()}
    config = HttpConfig(enabled=True, address="127.0.0.1", port=free_tcp_port())
    health = HealthServer(config, lambda: current["report"])
    thread = health.start()
    yield health, current
    health.stop()
    thread.join(5)
    assert not thread.is_alive()


def ask(health: HealthServer, method: str = "GET", path: str = "/", headers: dict[str, str] | None = None):
    return http_get(*health.server_address[:2], path, method, headers=headers)


def test_server_answers_every_check_method_from_the_current_report(server):
    health, current = server
    assert ask(health) == (200, "text/plain; charset=utf-8", "Galera node node1 is healthy: Synced, Primary, ready\r\n")
    assert ask(health, "OPTIONS")[0] == 200
    assert ask(health, "HEAD") == (200, "text/plain; charset=utf-8", "")
    current["report"] = report(Health(False, "wsrep_desync is ON", HealthCode.DESYNCED), desync=True)
    assert ask(health)[0] == 503
    status, kind, body = ask(health, path="/json")
    assert (status, kind) == (503, "application/json")
    assert json.loads(body)["reason"] == "wsrep_desync is ON"
    assert json.loads(ask(health, headers={"Accept": "application/json"})[2])["healthy"] is False


def test_a_silent_client_does_not_block_others(server):
    health, _ = server
    with socket.create_connection(health.server_address[:2]):  # connects, says nothing
        assert ask(health)[0] == 200


def test_garbage_request_gets_an_error_not_a_crash(server):
    health, _ = server
    with socket.create_connection(health.server_address[:2], timeout=5) as raw:
        raw.sendall(b"\x00\xff garbage\r\n\r\n")
        with raw.makefile("rb") as answer:  # http.server's error page, to the end of the connection
            assert b"<p>Error code: 400</p>" in answer.read()
    assert ask(health)[0] == 200


# --- drain -----------------------------------------------------------------------------------


def config_in(folder: Path) -> Config:
    return Config(
        path=folder / "galera-snmp.conf",
        mysql=MysqlConfig(option_file=folder / "client.cnf"),
        server=ServerConfig(datadir=folder / "data"),
        agent=AgentConfig(wake_socket=folder / "wake.sock", refresh_interval=0.5),
        drain_file=folder / "state" / "drained",
    )


def test_drain_and_undrain_keep_state_in_a_file_and_wake_the_agent(short_dir):
    config = config_in(short_dir)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as agent:
        agent.bind(str(config.agent.wake_socket))
        agent.settimeout(5)
        drain(config, "kernel upgrade")
        assert agent.recv(4096) == b'{"drain": "changed"}'
        assert config.drain_file.read_text().strip().endswith("kernel upgrade")
        assert undrain(config) is True
        assert agent.recv(4096) == b'{"drain": "changed"}'
    assert not config.drain_file.exists()
    assert undrain(config) is False


def test_drain_without_a_running_agent_still_drains(short_dir):
    config = config_in(short_dir)
    drain(config, "no agent")
    assert config.drain_file.exists()


# --- the wake socket and the watcher ----------------------------------------------------------


@pytest.fixture
def short_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("w")  # UNIX socket paths are limited to 108 bytes


def test_wake_socket_replaces_a_stale_one_but_not_a_live_one(short_dir):
    path = short_dir / "wake.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(path))
    stale.close()  # the file stays: a crashed agent's socket
    first = WakeSocket(path)
    with pytest.raises(OSError, match="in use"):
        WakeSocket(path)
    assert first.receive() == b""  # the liveness probe came, and is an empty datagram: not an event
    first.close()
    assert not path.exists()


def test_wake_socket_is_for_its_owner_and_mysqlds_group_only(short_dir):
    """Only mysqld's user runs the notify command: nobody else may wake (and so load) the agent."""
    group = pwd.getpwnam("nobody").pw_gid
    wake = WakeSocket(short_dir / "wake.sock", group)
    try:
        info = os.lstat(short_dir / "wake.sock")
        assert stat.S_IMODE(info.st_mode) == 0o660
        assert info.st_gid == (group if os.geteuid() == 0 else os.getegid())
    finally:
        wake.close()


def test_watcher_returns_on_event_on_process_change_or_after_the_interval(short_dir):
    short = config_in(short_dir)  # refresh_interval 0.5
    config = replace(short, agent=replace(short.agent, refresh_interval=30))  # the event and the process come first
    wake = WakeSocket(config.agent.wake_socket)
    watcher = Watcher(config, wake, threading.Event())
    try:
        child = subprocess.Popen(["sleep", "60"])
        running = synced_state(pid=child.pid, process=ProcessState.RUNNING)
        threading.Timer(0.1, lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(
            b"event", str(config.agent.wake_socket))).start()
        assert watcher.wait(running) is Wake.EVENT
        threading.Timer(0.1, child.kill).start()
        assert watcher.wait(running) is Wake.PROCESS  # the process vanishing
        child.wait()
        stopped = synced_state(pid=None, process=ProcessState.ABSENT, status=Status.STOPPED)
        assert Watcher(short, wake, threading.Event()).wait(stopped) is Wake.INTERVAL  # nothing happens
    finally:
        wake.close()


def test_watcher_asks_its_interval_before_each_wait(short_dir):
    asked: list[float] = []

    def interval() -> float:
        asked.append(0.0)
        return 0.0

    watcher = Watcher(config_in(short_dir), None, threading.Event(), interval)
    stopped = synced_state(pid=None, process=ProcessState.ABSENT, status=Status.STOPPED)
    assert watcher.wait(stopped) is Wake.INTERVAL and watcher.wait(stopped) is Wake.INTERVAL
    assert len(asked) == 2


def test_watcher_without_a_wake_socket_still_sees_the_process_and_the_stop(short_dir):
    base = config_in(short_dir)
    config = replace(base, agent=replace(base.agent, refresh_interval=30))
    stop = threading.Event()
    watcher = Watcher(config, None, stop)
    child = subprocess.Popen(["sleep", "60"])
    threading.Timer(0.1, child.kill).start()
    assert watcher.wait(synced_state(pid=child.pid, process=ProcessState.RUNNING)) is Wake.PROCESS
    child.wait()
    threading.Timer(0.1, stop.set).start()
    # nothing changes but the stop (the interval is 30 s)
    assert watcher.wait(synced_state(pid=os.getpid(), process=ProcessState.RUNNING)) is Wake.STOP


def running(pid: int) -> NodeReport:
    return node_report(pid=pid, process=ProcessState.RUNNING, health=Health(True, "ok"))


def test_the_exit_guard_reports_an_exit_at_once_and_follows_the_next_server(monkeypatch):
    """With every poll made 30 s long, only the pidfd can tell the exit."""
    monkeypatch.setattr(refresh, "PROCESS_WATCH", 30.0)
    first, second = subprocess.Popen(["sleep", "60"]), subprocess.Popen(["sleep", "60"])
    current, exited, seen = [running(first.pid)], [], [threading.Event(), threading.Event()]

    def on_exit(pid: int) -> None:
        exited.append(pid)
        current[0] = running(second.pid)  # the next report names the restarted server
        seen[len(exited) - 1].set()

    stop = threading.Event()
    guard = ExitGuard(lambda: current[0], on_exit, stop)
    guard.start()
    try:
        first.kill()
        first.wait()
        assert seen[0].wait(60) and exited == [first.pid]
        second.kill()
        second.wait()
        assert seen[1].wait(60) and exited == [first.pid, second.pid]
    finally:
        stop.set()
        for child in (first, second):
            child.kill()
            child.wait()


def test_without_pidfd_the_guard_stays_quiet_and_the_watcher_polls(short_dir, monkeypatch):
    def unavailable(pid: int) -> int:
        raise OSError(errno.ENOSYS, "pidfd_open")

    monkeypatch.setattr(os, "pidfd_open", unavailable)
    child = subprocess.Popen(["sleep", "60"])
    exited, stop = [], threading.Event()
    guard = ExitGuard(lambda: running(child.pid), exited.append, stop)
    guard.start()
    base = config_in(short_dir)
    watcher = Watcher(replace(base, agent=replace(base.agent, refresh_interval=30)), None, threading.Event())
    threading.Timer(0.1, child.kill).start()
    assert watcher.wait(synced_state(pid=child.pid, process=ProcessState.RUNNING)) is Wake.PROCESS
    child.wait()
    stop.set()
    guard.thread.join()
    assert exited == [] and guard.exits.fd is None


def test_a_snapshot_begun_earlier_never_replaces_a_newer_one():
    newest = Newest()
    assert newest.admit(10.0) and newest.admit(10.0) and newest.admit(12.5)
    assert not newest.admit(11.0)  # began before the exit snapshot that was published
    assert newest.admit(13.0)
