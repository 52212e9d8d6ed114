"""Every command says the one version (galera_snmp.__version__, which pyproject.toml reads too)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from galera_snmp import __version__

SCRIPTS = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]["scripts"]


def test_pyproject_takes_the_version_from_the_package():
    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "galera_snmp.__version__"}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_version(cli, name: str) -> None:
    result = cli(name, "--version")
    code = 3 if name == "check_galera" else 0  # a plugin answers --version UNKNOWN, as monitoring-plugins do
    assert (result.returncode, result.stdout.strip()) == (code, f"{name} {__version__}"), result.stderr
