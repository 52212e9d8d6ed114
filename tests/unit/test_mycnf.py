"""The one my.cnf reader: the server's options and our credentials file are read alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from galera_snmp.config import read_option_file
from galera_snmp.inifile import ConfigError
from galera_snmp.mycnf import option_value, read_groups, server_options

VALUES = [
    ('"se #cret"', "se #cret"),
    ("'single # quoted'", "single # quoted"),
    ("pa#ss  # a comment", "pa"),
    ("plain", "plain"),
    ("  spaced  ", "spaced"),
    ('"gcomm://a,b"  # the cluster', "gcomm://a,b"),
]


@pytest.mark.parametrize(("raw", "value"), VALUES)
def test_server_options_and_the_credentials_file_read_a_value_alike(tmp_path, raw, value):
    path = tmp_path / "my.cnf"
    path.write_text(f"[mysqld]\npassword = {raw}\n[client]\npassword = {raw}\n")
    path.chmod(0o600)
    assert option_value(raw) == value
    assert server_options(path)["password"] == value
    assert read_option_file(path).password == value


def test_bare_keys_dashes_and_the_last_value(tmp_path):
    path = tmp_path / "my.cnf"
    path.write_text("[mysqld]\nwsrep-on\nwsrep_node_name = a\n[galera]\nwsrep-node-name = b\n[client]\nuser = x\n")
    options, groups = read_groups(path, ("mysqld", "galera"))
    assert options == {"wsrep_on": None, "wsrep_node_name": "b"}
    assert groups == {"mysqld", "galera", "client"}
    assert server_options(path) == {"wsrep_on": "", "wsrep_node_name": "b"}


def test_credentials_file_does_not_follow_includes(tmp_path):
    other = tmp_path / "other.cnf"
    other.write_text("[client]\npassword = from-elsewhere\n")
    path = tmp_path / "client.cnf"
    path.write_text(f"[client]\nuser = monitor\n!include {other}\n")
    path.chmod(0o600)
    assert read_option_file(path).password is None
    assert read_groups(path, ("client",))[0]["password"] == "from-elsewhere"


@pytest.mark.parametrize(
    ("text", "message"),
    [("user = x\n", "before any"), ("[client\nuser = x\n", "does not close")],
)
def test_malformed_files_are_refused_with_the_line(tmp_path, text, message):
    path = tmp_path / "my.cnf"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        server_options(path)
    assert "line 1" in str(info.value)
    assert str(path) in str(info.value)


def test_an_unreadable_include_folder_is_a_config_error(tmp_path, monkeypatch):
    """The agent reads my.cnf at every refresh: an include folder it may not list must be a
    ConfigError (not served, logged), never an exception that kills the refresh thread."""
    folder = tmp_path / "conf.d"
    folder.mkdir()
    main = tmp_path / "my.cnf"
    main.write_text(f"[mysqld]\n!includedir {folder}\n")

    def denied(self: Path) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", denied)
    with pytest.raises(ConfigError, match=f"cannot read {folder}: Permission denied"):
        server_options(main)
