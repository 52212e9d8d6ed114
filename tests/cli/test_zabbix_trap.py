"""`galera-snmp zabbix-trap FILE`, snmptrapd's trap handler for Zabbix: each trap appended whole to
Zabbix's SNMP trapper file, nothing written on bad input, never through a symbolic link."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from galera_snmp.cli.main import main
from galera_snmp.snmp.zabbix import MAX_TRAP

TRAP = ("<UNKNOWN>\nUDP: [192.0.2.12]:45678->[192.0.2.10]:162\nSNMPv2-MIB::sysUpTime.0 0:0:00:02.35\n"
        "SNMPv2-MIB::snmpTrapOID.0 GALERA-MIB::galeraHealthChange\nGALERA-MIB::galeraHealthy.0 false\n")


def handle(monkeypatch: pytest.MonkeyPatch, file: Path, stdin: bytes) -> int:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    try:
        return main(["zabbix-trap", str(file)])
    except SystemExit as stop:
        return int(stop.code or 0)


def test_each_trap_is_appended_as_one_record(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    file = tmp_path / "snmptraps.log"
    assert handle(monkeypatch, file, TRAP.encode()) == 0
    assert handle(monkeypatch, file, TRAP.encode()) == 0
    text = file.read_text()
    assert text.count(" ZBXTRAP 192.0.2.12\nnotification galeraHealthChange\n") == 2
    assert text.endswith("GALERA-MIB::galeraHealthy.0 false\n")
    assert file.stat().st_mode & 0o777 == 0o640


def test_a_symbolic_link_is_never_followed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "shadow"
    target.write_text("untouched\n")
    link = tmp_path / "snmptraps.log"
    link.symlink_to(target)
    assert handle(monkeypatch, link, TRAP.encode()) == 3
    assert target.read_text() == "untouched\n"
    assert "symbolic link" in capsys.readouterr().err


@pytest.mark.parametrize(("stdin", "why"), [
    (b"x" * (MAX_TRAP + 1), "more than"),
    (b"<UNKNOWN>\nno transport address\n", "no sender address"),
])
def test_bad_input_writes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  stdin: bytes, why: str) -> None:
    file = tmp_path / "snmptraps.log"
    assert handle(monkeypatch, file, stdin) == 3
    assert not file.exists()
    error = capsys.readouterr().err
    assert why in error and error.count("\n") == 1


def test_an_unwritable_file_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-folder" / "snmptraps.log"
    assert handle(monkeypatch, missing, TRAP.encode()) == 3
    assert capsys.readouterr().err.count("\n") == 1
    assert not os.path.exists(missing)
