"""contrib/prometheus: the alert rules pass ``promtool check rules`` and their unit tests
(``promtool test rules``), every rule has one, and they only use metrics the agent exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from prometheus_support import full_report, scrape
from support import tool

CONTRIB = Path(__file__).resolve().parents[2] / "contrib" / "prometheus"
RULES = CONTRIB / "galera-rules.yml"
UNIT_TESTS = CONTRIB / "tests" / "galera-rules.test.yml"


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("promtool", "prometheus"), *args], check=False, capture_output=True,
                          text=True, cwd=cwd, timeout=60)


def alert_names(text: str) -> list[str]:
    return re.findall(r"^\s*- alert: (\w+)$", text, re.MULTILINE)


def test_the_rules_pass_promtool_check_rules():
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_names(RULES.read_text()))} rules found" in result.stdout


def test_the_rules_pass_their_unit_tests():
    result = promtool("test", "rules", str(UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_rule_has_a_unit_test():
    rules = set(alert_names(RULES.read_text()))
    tested = set(re.findall(r"alertname: (\w+)", UNIT_TESTS.read_text()))
    assert len(rules) >= 12
    assert rules - tested == set()


def test_a_changed_rule_fails_its_unit_test(tmp_path: Path):
    """The unit tests pin the rules: a grace or threshold edited without them fails."""
    (tmp_path / "tests").mkdir()
    shutil.copy(UNIT_TESTS, tmp_path / "tests")
    text = RULES.read_text()
    changed = text.replace("expr: galera_history_reset == 1", "expr: galera_history_reset == 2")
    assert changed != text
    (tmp_path / RULES.name).write_text(changed)
    result = promtool("test", "rules", str(tmp_path / "tests" / UNIT_TESTS.name))
    assert result.returncode != 0
    assert "GaleraHistoryReset" in result.stdout + result.stderr


def test_the_rules_use_only_exported_metrics():
    exported = {line.split("{")[0].split(" ")[0] for line in scrape(full_report()).splitlines()
                if line and not line.startswith("#")}
    used = set(re.findall(r"\bgalera_[a-z0-9_]+", RULES.read_text()))
    assert used, "no metric found in the rules"
    assert used - exported == set()
