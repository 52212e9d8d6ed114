"""`galera-snmp mib`: the MIB an NMS imports (SMIv2 as written) and the copy net-snmp's tools
load by name on a host without the base modules (what the Debian package installs)."""

from __future__ import annotations

import pytest

from galera_snmp.cli.main import main
from galera_snmp.snmp.mib import MIB_FILE
from galera_snmp.snmp.mibfile import standalone


def mib(capsys: pytest.CaptureFixture[str], *options: str) -> str:
    assert main(["mib", *options]) == 0
    return capsys.readouterr().out


def test_plain_is_the_smiv2_module(capsys: pytest.CaptureFixture[str]) -> None:
    assert mib(capsys) == MIB_FILE.read_text()


def test_net_snmp_is_the_standalone_copy(capsys: pytest.CaptureFixture[str]) -> None:
    text = mib(capsys, "--net-snmp")
    assert text == standalone(MIB_FILE.read_text())
    assert "FROM SNMPv2-SMI" not in text


def test_path_names_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert mib(capsys, "--path").strip() == str(MIB_FILE)


def test_path_and_net_snmp_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["mib", "--path", "--net-snmp"])
    assert stop.value.code != 0 and "not allowed with" in capsys.readouterr().err
