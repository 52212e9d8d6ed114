"""galera-check refuses bad input with exit 3 and one line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import stopped_node_config


def assert_one_line_exit_3(result, *needles: str) -> None:
    assert result.returncode == 3, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("usage:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize("command", ["status", "seqno", "health"])
def test_missing_config(cli, tmp_path: Path, command: str) -> None:
    missing = tmp_path / "nope.conf"
    assert_one_line_exit_3(cli("galera-check", "-c", str(missing), command), str(missing))


def test_option_file_readable_by_others(cli, tmp_path: Path) -> None:
    config = stopped_node_config(tmp_path, option_mode=0o644)
    result = cli("galera-check", "-c", str(config), "status")
    assert_one_line_exit_3(result, "client.cnf", "others")
    assert "s3cret" not in result.stderr + result.stdout


def test_garbage_config(cli, tmp_path: Path) -> None:
    config = tmp_path / "galera-snmp.conf"
    config.write_bytes(b"\x00\xff garbage without a section\n")
    assert_one_line_exit_3(cli("galera-check", "-c", str(config), "status"), str(config))


def test_unknown_key_is_named(cli, tmp_path: Path) -> None:
    config = stopped_node_config(tmp_path, option_mode=0o600)
    config.write_text(config.read_text() + "[health]\ndonor_serve = yes\n")
    assert_one_line_exit_3(cli("galera-check", "-c", str(config), "health"), "donor_serve")


def test_bad_usage_exits_3(cli) -> None:
    assert cli("galera-check", "frobnicate").returncode == 3
    assert cli("galera-check").returncode == 3


def test_no_server_means_stopped(cli, tmp_path: Path) -> None:
    """A valid config for a datadir with no mysqld: stopped, seqno -1, health exit 1."""
    config = stopped_node_config(tmp_path, option_mode=0o600)
    assert cli("galera-check", "-c", str(config), "status").stdout.strip() == "stopped"
    assert cli("galera-check", "-c", str(config), "seqno").stdout.strip() == "-1"
    health = cli("galera-check", "-c", str(config), "health")
    assert health.returncode == 1
    assert health.stdout.startswith("unhealthy: mysqld is not running")
