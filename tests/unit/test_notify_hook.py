"""galera-snmp-notify, the wsrep_notify_cmd hook: parse, record atomically, wake, always exit 0."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from galera_snmp.cli.notify import main, parse_event, record, wake_agent

NOTIFY_BIN = Path(sys.executable).parent / "galera-snmp-notify"
RECV_TIMEOUT = 5.0


# --- parse_event -----------------------------------------------------------------------------


def test_parse_galera3_style():
    before = time.time()
    event = parse_event(["--status", "Synced", "--uuid", "U", "--primary", "yes", "--members", "a,b", "--index", "1"])
    after = time.time()
    assert event["status"] == "synced"
    assert event["uuid"] == "U"
    assert event["primary"] is True
    assert event["members"] == ["a", "b"]
    assert event["index"] == 1
    assert before <= event["time"] <= after  # when the event was parsed
    assert event["config"] == "/etc/galera-snmp/galera-snmp.conf"


@pytest.mark.parametrize(
    ("argv", "status", "primary"),
    [
        (["--status", "synced", "--primary", "yes"], "synced", True),
        (["--status", "joined"], "joined", None),
        (["--status", "donor", "--primary", "no"], "donor", False),
        (["--status", "disconnected", "--primary", "NO"], "disconnected", False),
        (["--status", "Donor/Desynced", "--primary", "1"], "donor/desynced", True),
        (["--status", "SYNCED", "--primary", "True"], "synced", True),
    ],
)
def test_parse_mariadb_style(argv, status, primary):
    event = parse_event(argv)
    assert event["status"] == status
    assert event["primary"] is primary
    assert event["members"] == []
    assert event["index"] is None


def test_parse_members_and_config():
    members = "u1/node1/127.0.0.11:3306,u2/node2/127.0.0.12:3306"
    event = parse_event(["-c", "/tmp/x.conf", "--members", members, "--index", "0"])
    assert event["members"] == ["u1/node1/127.0.0.11:3306", "u2/node2/127.0.0.12:3306"]
    assert event["index"] == 0
    assert event["config"] == "/tmp/x.conf"
    assert event["status"] is None
    assert event["uuid"] is None


def test_unknown_arguments_are_ignored():
    event = parse_event(["--status", "Synced", "--future-option", "x", "--flag", "positional", "--uuid", "U"])
    assert event["status"] == "synced"
    assert event["uuid"] == "U"


@pytest.mark.parametrize("index", ["x", "1.5", "", "--", "1a"])
def test_bad_index_is_none(index):
    assert parse_event(["--status", "synced", f"--index={index}"])["index"] is None


def test_negative_index():
    assert parse_event(["--index=-1"])["index"] == -1


def test_event_is_json_serialisable():
    event = parse_event(["--status", "Synced", "--members", "a,b", "--index", "2", "--primary", "yes"])
    assert json.loads(json.dumps(event)) == event


# --- record and wake -------------------------------------------------------------------------


def test_record_replaces_the_file_atomically(tmp_path):
    path = tmp_path / "last-event.json"
    record(str(path), {"status": "joined"})
    assert json.loads(path.read_text()) == {"status": "joined"}
    with open(path) as old:
        record(str(path), {"status": "synced", "members": ["a", "b"]})
        # the old file was replaced, not rewritten in place: a reader never sees a torn file
        assert json.loads(old.read()) == {"status": "joined"}
    assert json.loads(path.read_text()) == {"status": "synced", "members": ["a", "b"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last-event.json"]  # no temp files left
    assert (path.stat().st_mode & 0o777) == 0o644


def test_record_failure_leaves_no_temp_file(tmp_path):
    target = tmp_path / "is-a-directory"
    target.mkdir()
    (target / "keep").write_text("x")  # os.replace onto a non-empty directory fails
    with pytest.raises(IsADirectoryError):
        record(str(target), {"status": "synced"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["is-a-directory"]


def test_record_unserialisable_event_leaves_no_temp_file(tmp_path):
    with pytest.raises(TypeError):
        record(str(tmp_path / "e.json"), {"bad": object()})
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def short_dir(tmp_path_factory) -> Path:
    # UNIX socket paths are limited to 108 bytes
    return tmp_path_factory.mktemp("n")


def bound_socket(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(RECV_TIMEOUT)
    return sock


def test_wake_sends_one_datagram(short_dir):
    path = short_dir / "agent.sock"
    with bound_socket(path) as sock:
        wake_agent(str(path), {"status": "synced", "index": 1})
        assert json.loads(sock.recv(8192)) == {"status": "synced", "index": 1}


def test_wake_without_listener_raises_oserror(short_dir):
    with pytest.raises(FileNotFoundError):
        wake_agent(str(short_dir / "nobody.sock"), {"status": "synced"})


# --- main ------------------------------------------------------------------------------------


def write_config(directory: Path) -> Path:
    option_file = directory / "client.cnf"
    option_file.write_text("[client]\nuser = monitor\npassword = secret\n")
    os.chmod(option_file, 0o600)
    conf = directory / "galera-snmp.conf"
    conf.write_text(
        f"[mysql]\noption_file = {option_file}\n\n"
        f"[agent]\nwake_socket = {directory / 'agent.sock'}\nevent_file = {directory / 'last-event.json'}\n"
    )
    return conf


def test_main_records_and_wakes(short_dir, capsys):
    conf = write_config(short_dir)
    with bound_socket(short_dir / "agent.sock") as sock:
        argv = ["-c", str(conf), "--status", "Synced", "--uuid", "U", "--primary", "yes", "--members", "a,b"]
        assert main(argv) == 0
        woken = json.loads(sock.recv(8192))
    recorded = json.loads((short_dir / "last-event.json").read_text())
    assert recorded == woken
    assert recorded["status"] == "synced"
    assert recorded["members"] == ["a", "b"]
    assert "config" not in recorded
    assert capsys.readouterr().err == ""


def test_main_with_missing_config_exits_0(tmp_path, capsys):
    assert main(["-c", str(tmp_path / "missing.conf"), "--status", "synced"]) == 0
    assert "galera-snmp-notify" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_main_with_nobody_listening_exits_0_and_still_records(short_dir, capsys):
    conf = write_config(short_dir)
    assert main(["-c", str(conf), "--status", "donor"]) == 0
    assert json.loads((short_dir / "last-event.json").read_text())["status"] == "donor"
    assert "wake" in capsys.readouterr().err


def test_main_with_a_stale_wake_socket_exits_0(short_dir, capsys):
    conf = write_config(short_dir)
    bound_socket(short_dir / "agent.sock").close()  # the file stays, nobody listens: ECONNREFUSED
    assert (short_dir / "agent.sock").exists()
    assert main(["-c", str(conf), "--status", "joined"]) == 0
    assert "wake" in capsys.readouterr().err
    assert json.loads((short_dir / "last-event.json").read_text())["status"] == "joined"


def test_main_with_missing_directories_exits_0(tmp_path, capsys):
    option_file = tmp_path / "client.cnf"
    option_file.write_text("[client]\n")
    os.chmod(option_file, 0o600)
    conf = tmp_path / "galera-snmp.conf"
    conf.write_text(
        f"[mysql]\noption_file = {option_file}\n[agent]\nwake_socket = {tmp_path}/no/dir/a.sock\n"
        f"event_file = {tmp_path}/no/dir/e.json\n"
    )
    assert main(["-c", str(conf), "--status", "synced"]) == 0
    err = capsys.readouterr().err
    assert "record" in err
    assert "wake" in err


def test_notify_imports_only_the_standard_library_and_config():
    """mysqld waits for the hook: it must not drag in pyagentx3, the probe or a MySQL driver."""
    code = (
        "import sys, galera_snmp.cli.notify; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pyagentx3', 'pymysql', 'MySQLdb') "
        "or m.startswith('galera_snmp.agent') or m in ('galera_snmp.node.probe', 'galera_snmp.snmp.agentx')); "
        "print(bad)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"


def test_console_script(short_dir):
    conf = write_config(short_dir)
    assert NOTIFY_BIN.exists(), f"{NOTIFY_BIN} is not installed"
    with bound_socket(short_dir / "agent.sock") as sock:
        result = subprocess.run(
            [str(NOTIFY_BIN), "-c", str(conf), "--status", "synced"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(sock.recv(8192))["status"] == "synced"
    assert json.loads((short_dir / "last-event.json").read_text())["status"] == "synced"
    assert result.stderr == ""
