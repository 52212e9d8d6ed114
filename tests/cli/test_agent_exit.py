"""galera-snmp-agent never lives on unregistered: without a master it exits 1 for systemd."""

from __future__ import annotations

from pathlib import Path


def test_exits_1_when_the_master_stays_away(cli, tmp_path: Path) -> None:
    option_file = tmp_path / "client.cnf"
    option_file.write_text("[client]\nuser = nobody\nsocket = /nonexistent.sock\n")
    option_file.chmod(0o600)
    config = tmp_path / "galera-snmp.conf"
    config.write_text(
        f"[mysql]\noption_file = {option_file}\n[server]\ndatadir = {tmp_path}\nrecover = no\n"
        f"[agent]\nsocket = {tmp_path / 'no-master.sock'}\nreconnect_timeout = 1\n"
        f"wake_socket = {tmp_path / 'wake.sock'}\nevent_file = {tmp_path / 'event.json'}\n"
    )
    result = cli("galera-snmp-agent", "-c", str(config))
    assert result.returncode == 1, result.stderr
    assert "no AgentX master for 1 s" in result.stderr
    assert not (tmp_path / "wake.sock").exists(), "the agent left its wake socket behind"


def test_bad_config_exits_3(cli, tmp_path: Path) -> None:
    result = cli("galera-snmp-agent", "-c", str(tmp_path / "missing.conf"))
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
