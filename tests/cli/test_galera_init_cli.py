"""galera-init's command line: bad usage and configuration exit 3 with one line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support import stopped_node_config

from galera_snmp.dev.base import program


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--force-bootstrap", "nope"], "UUID:SEQNO"),
        (["--force-bootstrap", "00000000-0000-0000-0000-000000000000:-1"], "usable position"),
        (["--no-such-option"], "unrecognized"),
    ],
)
def test_bad_usage_exits_3(cli, tmp_path: Path, args: list[str], words: str) -> None:
    result = cli("galera-init", "-c", str(stopped_node_config(tmp_path)), *args)
    assert result.returncode == 3, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("init", "words"),
    [
        ("", "defaults_file"),  # no nodes configured and no my.cnf to read them from
        ("[init]\nnodes = 203.0.113.1, 203.0.113.2\n", "cannot tell which"),
        ("[init]\nnodes = 203.0.113.1\naddress = 203.0.113.9\n", "not one of the nodes"),
        ("[init]\nnodes = 203.0.113.1, 127.0.0.1\nsnmp_credentials = creds\n", "creds"),
        ("[init]\npoll_period = soon\n", "poll_period"),
    ],
)
def test_unclear_configuration_exits_3(cli, tmp_path: Path, init: str, words: str) -> None:
    result = cli("galera-init", "-c", str(stopped_node_config(tmp_path, init)), "--dry-run")
    assert result.returncode == 3, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], result.stderr


def test_world_readable_snmp_credentials_are_refused(cli, tmp_path: Path) -> None:
    creds = tmp_path / "snmp.conf"
    creds.write_text("[snmp]\ncommunity = s3cret-community\n")
    creds.chmod(0o644)
    config = stopped_node_config(tmp_path, f"[init]\nnodes = 203.0.113.1, 127.0.0.1\nsnmp_credentials = {creds}\n")
    result = cli("galera-init", "-c", str(config), "--dry-run")
    assert result.returncode == 3 and "others" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("grastate", "environment", "code"),
    [
        ("seqno:   -1\n", {}, 1),  # crashed, and no galera-init starts it: refused
        ("seqno:   42\n", {}, 0),  # a clean shutdown
        (None, {}, 0),  # never started: nothing to lose
        ("seqno:   -1\n", {"_WSREP_NEW_CLUSTER": "--wsrep-new-cluster"}, 0),  # galera_new_cluster, by hand
    ],
)
def test_guard_as_mariadb_service_runs_it(tmp_path: Path, grastate: str | None, environment: dict, code: int) -> None:
    """``galera-init --guard`` needs no peers and no SNMP: only the datadir and the phase folder."""
    config = stopped_node_config(tmp_path, f"[init]\nphase_file = {tmp_path / 'run' / 'init-phase.json'}\n")
    if grastate is not None:
        (tmp_path / "grastate.dat").write_text(
            "# GALERA saved state\nversion: 2.1\nuuid:    6b1e2c3d-0000-11ef-8000-0123456789ab\n"
            f"{grastate}safe_to_bootstrap: 0\n")
    result = subprocess.run([program("galera-init"), "-c", str(config), "--guard"], capture_output=True, text=True,
                            env={**os.environ, **environment}, timeout=60, check=False)
    assert result.returncode == code, result.stderr
    if code:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and "systemctl restart galera-init" in lines[0], result.stderr
