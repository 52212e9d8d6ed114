"""contrib/systemd: the units and the mariadb.service drop-in pass ``systemd-analyze verify``,
with their /usr/local/bin commands pointed at this installation."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parents[2] / "contrib" / "systemd"
BIN = Path(sys.executable).parent
MARIADB_UNIT = Path("/lib/systemd/system/mariadb.service")


def verify(unit_dir: Path, unit: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze is not installed: apt-get install systemd", pytrace=False)
    # a trailing ':' keeps the default unit paths after ours (mariadb.service comes from there)
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{unit_dir}:"}
    return subprocess.run([tool, "verify", unit], capture_output=True, text=True, env=env, timeout=60, check=False)


def installed(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source.read_text().replace("/usr/local/bin/", f"{BIN}/"))


def ours(result: subprocess.CompletedProcess[str], unit: str) -> list[str]:
    """Findings about the unit under test (other units on the host may have their own)."""
    return [line for line in result.stderr.splitlines() if line.startswith(unit) or "galera" in line]


@pytest.mark.parametrize("unit", sorted(p.name for p in SYSTEMD.glob("*.service")))
def test_units_verify(tmp_path: Path, unit: str) -> None:
    installed(SYSTEMD / unit, tmp_path / unit)
    result = verify(tmp_path, str(tmp_path / unit))
    assert result.returncode == 0 and not ours(result, unit), result.stderr


def test_the_mariadb_drop_in_adds_only_the_guard(tmp_path: Path) -> None:
    if not MARIADB_UNIT.exists():
        pytest.fail(f"{MARIADB_UNIT} is missing: apt-get install mariadb-server", pytrace=False)
    drop_in = SYSTEMD / "mariadb.service.d" / "galera-snmp.conf"
    lines = [line for line in drop_in.read_text().splitlines() if line and not line.startswith("#")]
    guard = "ExecStartPre=/usr/local/bin/galera-init -c /etc/galera-snmp/galera-snmp.conf --guard"
    assert lines == ["[Service]", guard]
    installed(drop_in, tmp_path / "mariadb.service.d" / "galera-snmp.conf")
    result = verify(tmp_path, "mariadb.service")
    assert result.returncode == 0 and not ours(result, "mariadb.service"), result.stderr
    # the check can fail: a drop-in naming a program that is not there is reported
    broken = "[Service]\nExecStartPre=/nonexistent/galera-init\n"
    (tmp_path / "mariadb.service.d" / "galera-snmp.conf").write_text(broken)
    assert verify(tmp_path, "mariadb.service").returncode != 0
