"""check_galera starts fast: a run in each mode stays clear of standard modules that cost
milliseconds at every start and that it does not need (docs/BENCHMARKS.md, bench/plugins)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import free_udp_port, stopped_node_config

# A run of the check, then the modules it loaded. The check's own output goes to stderr.
_LOADED = """
import contextlib, json, sys
from galera_snmp.cli import check_galera
with contextlib.redirect_stdout(sys.stderr), contextlib.suppress(SystemExit):
    check_galera.main(json.loads(sys.argv[1]))
for module in json.loads(sys.argv[2]):  # what the mode's siblings import besides
    __import__(module)
print(json.dumps(sorted(sys.modules)))
"""
# dataclasses brings inspect (and ast, dis), typing is typing; neither is needed on the plugin path
# (galera_snmp/record.py). subprocess only runs --wsrep-recover, which a check never does.
_ALWAYS = ("dataclasses", "typing", "inspect", "subprocess")


def loaded(argv: list[str], siblings: tuple[str, ...] = ()) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", _LOADED, json.dumps(argv), json.dumps(siblings)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "GALERA" in result.stderr  # the check ran and said something
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("version", ["2c", "3"])
def test_snmp_modes_load_no_costly_module(version: str) -> None:
    """Nothing listens on the port: the SNMP client and the node mode run to the end (UNKNOWN);
    the other single-node modes' modules are imported too. No thread pool, and no INI reader: no
    file is read."""
    argv = ["-H", "127.0.0.1", "-p", str(free_udp_port()), "-t", "2"]
    if version == "3":  # on the command line here only: there is no secret to protect
        argv += ["-P", "3", "-U", "galeramon", "-a", "SHA-256", "-A", "auth-pass", "-X", "priv-pass"]
    modules = loaded(argv, ("galera_snmp.nagios.checks", "galera_snmp.nagios.rates", "galera_snmp.snmp.mib"))
    costly = (*_ALWAYS, "concurrent.futures", "configparser")
    assert [name for name in costly if name in modules] == []


def test_the_peers_mode_loads_only_the_thread_pool_besides() -> None:
    port = free_udp_port()
    modules = loaded(["-m", "peers", "--peers", f"127.0.0.1:{port},127.0.0.1:{port}", "-t", "2"])
    assert [name for name in (*_ALWAYS, "configparser") if name in modules] == []
    assert "concurrent.futures" in modules


@pytest.mark.parametrize("mode", ["node", "flow-control"])
def test_the_mysql_source_loads_no_costly_module(tmp_path: Path, mode: str) -> None:
    """The local node through the probe (and PyMySQL: a refused connection), with its INI file."""
    config = stopped_node_config(tmp_path)
    modules = loaded(["--config", str(config), "-m", mode, "--state-dir", str(tmp_path / "state")])
    assert "pymysql" in modules
    assert [name for name in (*_ALWAYS, "concurrent.futures") if name in modules] == []
