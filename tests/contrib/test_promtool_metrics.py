"""The /metrics text of a full snapshot passes ``promtool check metrics`` (Prometheus' own
naming and format lint), in both exposition formats' Prometheus form."""

from __future__ import annotations

import subprocess

from prometheus_support import full_report, scrape
from support import tool


def check_metrics(text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("promtool", "prometheus"), "check", "metrics"], check=False, input=text,
                          capture_output=True, text=True, timeout=60)


def test_a_full_snapshot_passes_promtool_check_metrics():
    text = scrape(full_report())
    assert "galera_wsrep_replicated_total" in text and "galera_member_info" in text
    result = check_metrics(text)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_promtool_check_metrics_does_lint():
    """The check above can fail: a gauge named like a summary's count is refused."""
    result = check_metrics("# HELP galera_thread_count x\n# TYPE galera_thread_count gauge\ngalera_thread_count 1\n")
    assert result.returncode != 0
    assert "_count" in result.stdout + result.stderr
