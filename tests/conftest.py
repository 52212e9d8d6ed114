"""Fixtures shared by every test folder."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def run_cli(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one of our installed console scripts the way an operator would."""
    executable = BIN / name
    if not executable.exists():
        pytest.fail(f"{name} is not installed next to {sys.executable}: pip install -e '.[test]'", pytrace=False)
    return subprocess.run([str(executable), *args], capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cli
