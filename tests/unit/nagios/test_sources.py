"""Where check_galera reads a node, and what each way costs at start-up: an SNMP run never
loads PyMySQL or the probe, a MySQL run never loads the SNMP reader or the MIB."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nagiosplugin
import pytest
from support import free_udp_port

from galera_snmp.cli.check_galera import MODES
from galera_snmp.nagios.sources import MysqlSource, SnmpSource, name_of
from galera_snmp.snmp.client import Target

RUN_ONCE = """
import json, sys
from galera_snmp.cli import check_galera
parser = check_galera.build_parser()
args = parser.parse_args(sys.argv[1:])
check = check_galera.build_check(args, parser)
check()
print(json.dumps(sorted(sys.modules)))
"""
MYSQL_ONLY = ("pymysql", "galera_snmp.node.probe")
SNMP_ONLY = ("galera_snmp.snmp.remote", "galera_snmp.snmp.mib")


def modules_after_one_run(*argv: str) -> set[str]:
    """The modules a fresh interpreter has loaded after building and running one check."""
    result = subprocess.run(
        [sys.executable, "-c", RUN_ONCE, *argv], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("mode", MODES)
def test_an_snmp_run_never_loads_the_mysql_side(mode: str, tmp_path: Path) -> None:
    # a local port nobody listens on: the read is attempted and fails at once
    node = f"127.0.0.1:{free_udp_port()}"
    where = ["--peers", node] if mode == "peers" else ["-H", "127.0.0.1", "-p", node.split(":")[1]]
    loaded = modules_after_one_run("-m", mode, *where, "--state-dir", str(tmp_path), "-t", "2")
    assert "galera_snmp.snmp.remote" in loaded  # the read ran
    assert [name for name in MYSQL_ONLY if name in loaded] == []


@pytest.mark.parametrize("mode", [mode for mode in MODES if mode != "peers"])
def test_a_mysql_run_never_loads_the_snmp_reader(mode: str, tmp_path: Path) -> None:
    # a missing configuration: the read is attempted and fails at once
    loaded = modules_after_one_run("-m", mode, "--config", str(tmp_path / "missing.conf"), "--state-dir", str(tmp_path))
    assert "galera_snmp.node.probe" in loaded  # the read ran
    assert [name for name in SNMP_ONLY if name in loaded] == []


def test_an_unusable_configuration_is_a_check_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.conf"
    with pytest.raises(nagiosplugin.CheckError, match=str(missing)):
        MysqlSource(str(missing)).read()


@pytest.mark.parametrize(("port", "name"), [(161, "db1.example.com"), (1161, "db1.example.com:1161")])
def test_an_snmp_source_is_named_by_how_it_is_reached(port: int, name: str) -> None:
    assert SnmpSource(Target("db1.example.com", port)).name == name


def test_a_node_is_named_by_wsrep_node_name_else_by_its_source(report) -> None:
    source = MysqlSource("/etc/galera-snmp/galera-snmp.conf")
    assert name_of(report(node_name="db1"), source) == "db1"
    assert name_of(report(node_name=None), source) == "local mysqld"

