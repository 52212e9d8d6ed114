"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent


def run_cli(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one of our installed console scripts the way an operator would."""
    executable = BIN / name
    if not executable.exists():
        pytest.fail(f"{name} is not installed next to {sys.executable}: pip install -e '.[test]'", pytrace=False)
    return subprocess.run([str(executable), *args], capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cli


@pytest.fixture(scope="session")
def standard_mib_dirs() -> list[Path]:
    """The directories holding SNMPv2-SMI & co.: $SMIPATH, else <repo>/../shared/mibs."""
    hint = (
        "the standard IETF MIB modules (SNMPv2-SMI, SNMPv2-TC, SNMPv2-CONF, HCNUM-TC, SNMP-FRAMEWORK-MIB) are needed:"
        " export SMIPATH=<dir holding them> (CI: the absolute path of ../shared/mibs) or put them in"
        f" {REPO.parent / 'shared' / 'mibs'}; on Debian/Ubuntu they come from snmp-mibs-downloader, on RHEL from"
        " net-snmp-libs (/usr/share/snmp/mibs)"
    )
    smipath = os.environ.get("SMIPATH", "")
    if smipath:
        dirs = [Path(part) for part in smipath.split(os.pathsep) if part and Path(part).is_dir()]
        if not dirs:
            pytest.fail(f"SMIPATH={smipath!r} names no existing directory; {hint}", pytrace=False)
    else:
        fallback = REPO.parent / "shared" / "mibs"
        if not fallback.is_dir():
            pytest.fail(f"SMIPATH is not set and {fallback} does not exist; {hint}", pytrace=False)
        dirs = [fallback]
    if not any((d / name).exists() for d in dirs for name in ("SNMPv2-SMI", "SNMPv2-SMI.txt", "SNMPv2-SMI.mib")):
        pytest.fail(f"no SNMPv2-SMI in {', '.join(map(str, dirs))}; {hint}", pytrace=False)
    return dirs
