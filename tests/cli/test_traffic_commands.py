"""galera-snmp drain / undrain / keepalived track-file, run as an operator runs them."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from support import stopped_node_config

from galera_snmp.dev.base import wait_for


def write_config(tmp_path: Path, track: bool = True) -> Path:
    """A node whose mysqld is not running (no socket, no process on the datadir)."""
    return stopped_node_config(
        tmp_path,
        "[health]\ndrain_file = drained\n"
        f"[agent]\nwake_socket = {tmp_path / 'wake.sock'}\nrefresh_interval = 0.5\n"
        + ("[keepalived]\ntrack_file = keepalived.track\n" if track else ""),
    )


def test_drain_then_undrain(cli, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = cli("galera-snmp", "drain", "-c", str(config), "--reason", "kernel upgrade")
    assert result.returncode == 0, result.stderr
    assert "drained" in result.stdout
    assert (tmp_path / "drained").read_text().strip().endswith("kernel upgrade")
    result = cli("galera-snmp", "undrain", "-c", str(config))
    assert result.returncode == 0 and "undrained" in result.stdout
    assert not (tmp_path / "drained").exists()
    assert cli("galera-snmp", "undrain", "-c", str(config)).stdout.strip() == "was not drained"


def test_drain_with_an_unwritable_place_exits_3(cli, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "drained").mkdir()
    (tmp_path / "drained" / "x").write_text("")  # a non-empty directory cannot be replaced
    result = cli("galera-snmp", "drain", "-c", str(config))
    assert result.returncode == 3 and "drain file" in result.stderr and "Traceback" not in result.stderr


def test_track_file_once_for_a_stopped_node_says_fault(cli, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = cli("galera-snmp", "keepalived", "track-file", "-c", str(config))
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("0 (")
    assert (tmp_path / "keepalived.track").read_text() == "0\n"


def test_track_file_fault_overwrites_a_serving_file(cli, tmp_path: Path) -> None:
    """The agent unit's ExecStopPost: whatever killed the agent, keepalived must not keep serving."""
    config = write_config(tmp_path)
    track = tmp_path / "keepalived.track"
    track.write_text("1\n")
    result = cli("galera-snmp", "keepalived", "track-file", "--fault", "-c", str(config))
    assert (result.returncode, result.stdout) == (0, "0 (galera-snmp-agent is not running)\n"), result.stderr
    assert track.read_text() == "0\n"


def test_track_file_without_a_file_configured_exits_3(cli, tmp_path: Path) -> None:
    config = write_config(tmp_path, track=False)
    result = cli("galera-snmp", "keepalived", "track-file", "-c", str(config))
    assert result.returncode == 3 and "track_file" in result.stderr


def test_track_file_follow_runs_until_stopped_and_leaves_fault(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    track = tmp_path / "other.track"
    script = Path(sys.executable).parent / "galera-snmp"
    follower = subprocess.Popen([str(script), "keepalived", "track-file", "-c", str(config), "--file", str(track),
                                 "--follow"], stderr=subprocess.PIPE, text=True)
    try:
        wait_for(track.exists, 10, "the follower to write the track file")
        assert follower.poll() is None
    finally:
        follower.send_signal(signal.SIGTERM)
        _, err = follower.communicate(timeout=10)
    assert follower.returncode == 0, err
    assert track.read_text() == "0\n"
