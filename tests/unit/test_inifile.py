"""galera_snmp/inifile.py: the INI file read with errors that name it, and paths in it resolved
against its folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from galera_snmp.inifile import ConfigError, read_ini, resolve_path


def test_inline_comments_and_no_interpolation(tmp_path: Path) -> None:
    path = tmp_path / "a.conf"
    path.write_text("[agent]\nrefresh_interval = 2 ; seconds\nsocket = /run/%(x)s # literal\n")
    parser = read_ini(path)
    assert parser.get("agent", "refresh_interval") == "2"
    assert parser.get("agent", "socket") == "/run/%(x)s"


def test_text_already_read_is_parsed_under_the_files_name(tmp_path: Path) -> None:
    parser = read_ini(tmp_path / "never-opened.conf", text="[mysql]\nuser = monitor\n")
    assert parser.get("mysql", "user") == "monitor"


@pytest.mark.parametrize(("content", "expected"), [
    ("no section\n", "is not a valid INI file: File contains no section headers."),
    ("[a]\nx = 1\n[a]\n", "is not a valid INI file: While reading from"),
])
def test_a_broken_file_is_one_line_naming_it(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "broken.conf"
    path.write_text(content)
    with pytest.raises(ConfigError) as error:
        read_ini(path)
    message = str(error.value)
    assert message.startswith(f"config {path} ") and expected in message and "\n" not in message


def test_an_unreadable_file_names_it_and_why(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^cannot read credentials .*missing\.cnf: No such file or directory$"):
        read_ini(tmp_path / "missing.cnf", what="credentials")


def test_undecodable_bytes_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.conf"
    path.write_bytes(b"[a]\nname = caf\xe9\n")
    with pytest.raises(ConfigError, match="is not a valid INI file"):
        read_ini(path)


def test_relative_paths_are_relative_to_the_files_folder() -> None:
    assert resolve_path(" state ", "/etc/galera-snmp/galera-snmp.conf", "[agent] state_dir") == \
        "/etc/galera-snmp/state"
    assert resolve_path("/var/lib/x", "/etc/galera-snmp/galera-snmp.conf", "[agent] state_dir") == "/var/lib/x"
    with pytest.raises(ConfigError, match=r"^\[agent\] state_dir: empty path$"):
        resolve_path("  ", "/etc/galera-snmp/galera-snmp.conf", "[agent] state_dir")
