"""The package layout: the layers import downwards only, and the development sandbox stays out of
every production command."""

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


def test_the_shared_test_modules_leave_the_sandbox_out():
    """A run of the fast tests (unit, cli, contrib, mib) loads the sandbox only through the tests
    that use it: the modules every test file shares do not import it."""
    shared = ["conftest", "support", "nms_support", "prometheus_support", "zabbix_support"]
    code = (f"import json, sys; sys.path[:0] = [{str(ROOT / 'tests')!r}]; import {', '.join(shared)}; "
            "print(json.dumps(sorted(sys.modules)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, cwd=ROOT).stdout)
    assert set(shared) <= set(loaded)
    assert [name for name in loaded if name.startswith(f"{DEV}.sandbox")] == []


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


# The layers, lowest first: a module imports from its own layer or a lower one, never a higher
# one, and two packages of one layer never import each other (so no two packages import each
# other). Top-level modules are named one by one.
LAYERS = (
    {"__init__", "record", "state", "wsrep", "derived", "config", "inifile", "mycnf", "safeio", "tables",
     "webconfig", "console", "address", "pace"},  # the snapshot, its values, files and what every command shares
    {"node", "snmp"},  # reading the local node; speaking SNMP and reading a node from outside
    {"metrics"},  # the report as Prometheus metrics, from GALERA-MIB's table
    {"cluster"},  # what is about several nodes
    {"traffic"},  # steering client traffic
    {"init"},  # galera-init and make-primary
    {"nagios"},  # check_galera's checks
    {"agent", "doctor", "eviction"},  # what the agent and galera-snmp doctor run
    {"cli"},  # console scripts
    {"dev"},  # development: the sandbox and its machines
)


def test_design_md_tells_the_layers_as_they_are() -> None:
    """docs/DESIGN.md's package table names each layer's parts, in this order."""
    text = (ROOT / "docs" / "DESIGN.md").read_text()
    section = text.split("## Packages", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[2] for line in section.splitlines() if line[:3].strip("| ").isdigit()]
    told = [{name.strip("`/") for name in row.split()} for row in rows]
    assert told == [set(layer) for layer in LAYERS]


def _part(module: str) -> str:
    """``galera_snmp.<part>...``: its sub-package, or the top-level module itself."""
    part = module.split(".")[1] if "." in module else "__init__"
    if not ((PACKAGE / part).is_dir() or (PACKAGE / f"{part}.py").is_file()):
        part = "__init__"  # a name the package itself holds (``from . import __version__``)
    return part


def _layer(module: str) -> int:
    part = _part(module)
    for index, names in enumerate(LAYERS):
        if part in names:
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def _forbidden(module: str, name: str) -> bool:
    """Whether ``module`` may not import ``name``: a higher layer, or a sibling package."""
    if _layer(name) != _layer(module):
        return _layer(name) > _layer(module)
    source, target = _part(module), _part(name)
    return source != target and (PACKAGE / source).is_dir() and (PACKAGE / target).is_dir()


def test_the_layer_rule_catches_what_it_must():
    assert _forbidden("galera_snmp.snmp.mib", "galera_snmp.node.derived")  # siblings
    assert _forbidden("galera_snmp.traffic.writer", "galera_snmp.init.nodeset")  # upwards
    assert _forbidden("galera_snmp.state", "galera_snmp.node.probe")
    assert not _forbidden("galera_snmp.init.initiator", "galera_snmp.cluster.peers")
    assert not _forbidden("galera_snmp.state", "galera_snmp.record")  # top-level modules of one layer


def test_every_module_imports_from_its_layer_or_below():
    """One exception: cli/main's import of dev/cli inside main(), for ``galera-snmp sandbox``
    alone (test_no_product_module_imports_the_sandbox)."""
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        for name, node in _imports(path):
            if name.startswith("galera_snmp.") and _forbidden(module, name) and not (
                    module == "galera_snmp.cli.main" and name.startswith(DEV)):
                wrong.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno} imports {name}")
    assert wrong == []
