"""check_galera's settings: SNMP secrets from the environment, and a state folder of its own."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from galera_snmp.cli import check_galera
from galera_snmp.cli.check_galera import (
    _peer_list,
    _state_file,
    _UsageError,
    build_parser,
    default_state_dir,
    snmp_settings,
)


def settings(monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str]) -> dict[str, str | None]:
    for name in [n for n in os.environ if n.startswith(check_galera.ENV_PREFIX)]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return snmp_settings(build_parser().parse_args(argv))


def test_secrets_come_from_the_environment_and_the_command_line_wins(monkeypatch, tmp_path):
    credentials = tmp_path / "snmp.cnf"
    credentials.write_text("[snmp]\nprotocol = 3\nsecname = from-file\nauthpasswd = file-auth-pass\n")
    credentials.chmod(0o600)
    env = {"CHECK_GALERA_AUTHPASSWD": "env-auth-pass", "CHECK_GALERA_PRIVPASSWD": "env-priv-pass",
           "CHECK_GALERA_COMMUNITY": ""}  # an unset Icinga macro arrives empty: no value
    got = settings(monkeypatch, ["--credentials", str(credentials), "-U", "from-argv"], env)
    assert (got["secname"], got["authpasswd"], got["privpasswd"]) == ("from-argv", "env-auth-pass", "env-priv-pass")
    assert (got["protocol"], got["community"]) == ("3", "public")


def test_a_bad_value_in_the_environment_is_a_usage_error(monkeypatch):
    with pytest.raises(_UsageError, match="seclevel"):
        settings(monkeypatch, [], {"CHECK_GALERA_SECLEVEL": "everything"})


def test_the_default_state_folder_is_the_users_own(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_state_dir() == str(tmp_path / "state" / "check_galera")
    monkeypatch.delenv("XDG_STATE_HOME")
    home = pwd.getpwuid(os.geteuid()).pw_dir
    assert default_state_dir() == os.path.join(home, ".local", "state", "check_galera")


def state_file(folder: Path) -> str:
    args = build_parser().parse_args(["-m", "flow-control", "--state-dir", str(folder)])
    return _state_file(args, "local mysqld")


def test_the_state_folder_is_created_private(tmp_path):
    folder = tmp_path / "check_galera"
    path = state_file(folder)
    assert Path(path).parent == folder
    assert (folder.stat().st_mode & 0o777, folder.stat().st_uid) == (0o700, os.geteuid())


@pytest.mark.parametrize("problem", ["group-writable", "symlink", "other owner"])
def test_a_state_folder_others_control_is_refused(tmp_path, problem):
    folder = tmp_path / "check_galera"
    if problem == "symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        folder.symlink_to(tmp_path / "elsewhere")
    else:
        folder.mkdir(mode=0o700)
        if problem == "group-writable":
            folder.chmod(0o770)
        elif os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        else:
            pytest.skip("giving a folder to another user needs root")
    with pytest.raises(_UsageError) as info:
        state_file(folder)
    assert str(info.value) == f"--state-dir {folder} must be our own directory, not writable by others"


def test_peers_are_host_or_host_port_ipv6_in_brackets_too():
    assert _peer_list("db1, db2:1161,[fd00::1]:1162,fd00::2") == [
        ("db1", 161), ("db2", 1161), ("fd00::1", 1162), ("fd00::2", 161)]
    with pytest.raises(_UsageError, match="bad port"):
        _peer_list("db1:x")
    with pytest.raises(_UsageError, match="names no host"):
        _peer_list(" , ")
