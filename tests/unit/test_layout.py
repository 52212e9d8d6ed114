"""The package layout keeps the development sandbox out of every production command."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from galera_snmp.dev import sandbox

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "galera_snmp"
DEV = "galera_snmp.dev"
CONSOLE_MODULES = [
    "galera_snmp.cli.agent",
    "galera_snmp.cli.check",
    "galera_snmp.cli.check_galera",
    "galera_snmp.cli.init",
    "galera_snmp.cli.main",
    "galera_snmp.cli.notify",
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, ast.AST]]:
    """Every module an import statement in ``path`` names, resolved to its absolute name."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found += [(f"{base}.{alias.name}", node) for alias in node.names] + [(base, node)]
    return found


def test_every_console_script_is_in_the_checked_list():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert sorted(scripts.values()) == sorted(f"{module}:main" for module in CONSOLE_MODULES)


@pytest.mark.parametrize("module", CONSOLE_MODULES)
def test_importing_a_console_script_leaves_the_sandbox_out(module):
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout)
    assert module in loaded
    assert [name for name in loaded if name == DEV or name.startswith(DEV + ".")] == []


def test_no_product_module_imports_the_sandbox():
    """Only ``galera-snmp sandbox`` reaches dev/, through one import inside main() that runs for
    that command alone."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if _module_name(path).startswith(DEV):
            continue
        for name, node in _imports(path):
            if name == DEV or name.startswith(DEV + "."):
                offenders.append((path.relative_to(ROOT).as_posix(), node.lineno))
    main = (PACKAGE / "cli" / "main.py").read_text().splitlines()
    assert len(set(offenders)) == 1, offenders
    where, line = offenders[0]
    assert where == "galera_snmp/cli/main.py"
    text = main[line - 1]
    assert text.strip().startswith("from ..dev import cli") and text.startswith("        ")  # in main(), not at import


def test_tests_and_benches_use_only_the_sandbox_api():
    used = set()
    for path in [*ROOT.joinpath("tests").rglob("*.py"), *ROOT.joinpath("bench").iterdir()]:
        if path.is_file() and path.suffix in ("", ".py") and not path.name.startswith("."):
            for name, _node in _imports(path):
                if name.startswith("galera_snmp.dev.sandbox."):
                    used.add(name.rpartition(".")[2])
    assert used
    assert used <= set(sandbox.__all__), used - set(sandbox.__all__)


def test_galera_snmp_sandbox_runs_the_development_cli(capsys):
    from galera_snmp.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main.main(["sandbox", "--help"])
    assert exit_info.value.code == 0
    assert "usage: galera-snmp sandbox" in capsys.readouterr().out


def test_test_modules_have_unique_names():
    """pytest imports test modules by their base name (no packages under tests/): two of one name
    in different folders break collection in a fresh checkout."""
    names = [path.name for path in (ROOT / "tests").rglob("test_*.py")]
    assert sorted(name for name in set(names) if names.count(name) > 1) == []
