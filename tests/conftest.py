"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from galera_snmp.dev.base import SandboxError, program

REPO = Path(__file__).resolve().parent.parent
FETCHED_MIBS = Path(sys.prefix) / "share" / "standard-mibs"
MIB_MODULES = ("SNMPv2-SMI", "SNMPv2-TC", "SNMPv2-CONF")


def run_cli(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one of our installed console scripts the way an operator would."""
    try:
        executable = program(name)
    except SandboxError as err:
        pytest.fail(f"{err}: pip install -e '.[test]'", pytrace=False)
    return subprocess.run([executable, *args], capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cli


@pytest.fixture(scope="session")
def standard_mib_dirs() -> list[Path]:
    """The directories holding the SMIv2 base modules GALERA-MIB imports (SNMPv2-SMI, SNMPv2-TC,
    SNMPv2-CONF): $SMIPATH when set, else what scripts/dev install fetched into the venv."""
    hint = (
        "GALERA-MIB needs SNMPv2-SMI, SNMPv2-TC and SNMPv2-CONF: scripts/dev install fetches them into"
        f" {FETCHED_MIBS} (scripts/standard-mibs), or export SMIPATH=<dir holding them>"
    )
    smipath = os.environ.get("SMIPATH", "")
    dirs = [Path(part) for part in smipath.split(os.pathsep) if part] if smipath else [FETCHED_MIBS]
    files = {path.name for d in dirs if d.is_dir() for path in d.iterdir()}
    found = {name for name in MIB_MODULES if files & {name, f"{name}.txt", f"{name}.mib"}}
    if found != set(MIB_MODULES):
        missing = ", ".join(sorted(set(MIB_MODULES) - found))
        pytest.fail(f"no {missing} in {os.pathsep.join(map(str, dirs))}; {hint}", pytrace=False)
    return dirs
