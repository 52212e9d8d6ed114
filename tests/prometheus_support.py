"""A full snapshot and its /metrics text, and a real Prometheus server, for the tests of the
metrics and of the alert rules."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

from support import DONATING, free_tcp_port, stop_process, synced_state, tool, wsrep_values

from galera_snmp.metrics import ReportCollector, exposition
from galera_snmp.snmp.mib import COUNTER_NAMES, GAUGE_NAMES, RATIO_SPECS
from galera_snmp.state import Health, Member, NodeReport, Rejoin, RejoinMethod, WindowStats

CLUSTER = "cf45eb64-e601-11f1-9293-5ec05f0f5611"
MEMBERS = tuple(
    Member(f"11111111-0000-0000-0000-00000000000{i}", f"node{i}", f"127.0.0.1{i}:3306", CLUSTER) for i in (1, 2, 3)
)
# every wsrep value GALERA-MIB carries, each with its own number
RAW = {name: str(i) for i, name in enumerate((*COUNTER_NAMES, *GAUGE_NAMES), 1)}
RAW |= {name: f"0.{i:02d}5" for i, (name, _, _) in enumerate(RATIO_SPECS, 1)}
RAW |= {"wsrep_local_cached_downto": "5", "wsrep_flow_control_paused_ns": "2500000000", "wsrep_last_committed": "40",
        "wsrep_evs_repl_latency": "0.000178/0.000391/0.00061/0.0001/5", "wsrep_provider_name": "Galera",
        "wsrep_provider_version": "26.4.16(r7dce5149)"}
WINDOW = WindowStats(60.0, 0.5, 0.25, 12.5, 2.8)


def full_report(**changes: object) -> NodeReport:
    state = synced_state(wsrep=wsrep_values(**RAW), members=MEMBERS, gcache_size=128 << 20, **changes)
    return NodeReport(state, Health(True, "Synced, Primary, ready"), True, 3, window=WINDOW, evictions=1,
                      last_eviction="2026-12-06 09:00:00: 11111111-0000-0000-0000-000000000002 (node2) evicted",
                      rejoin=Rejoin(RejoinMethod.IST, "120 write-sets from node2", "node2", 4000, 1800),
                      transfer=DONATING)


def scrape(report: NodeReport, accept: str = "") -> str:
    body, _ = exposition(ReportCollector(lambda: report), accept)
    return body.decode()


# --- a real Prometheus server, started by the test ----------------------------------------------

RULES = Path(__file__).resolve().parents[1] / "contrib" / "prometheus" / "galera-rules.yml"


def quick_rules(folder: Path, grace: str = "2s") -> Path:
    """A copy of the shipped rules with every ``for:`` grace set to ``grace`` (the graces are
    parameters, docs/METRICS.md): a test sees an alert fire in seconds, not minutes."""
    copy = folder / RULES.name
    text, count = re.subn(r"^(\s+)for: \S+$", rf"\g<1>for: {grace}", RULES.read_text(), flags=re.MULTILINE)
    assert count > 0
    copy.write_text(text)
    return copy


class Prometheus:
    """``prometheus`` on 127.0.0.1 and a free port, its own data folder, scraping ``targets``
    (host:port) as the job "galera" every second and evaluating ``rules`` every second."""

    def __init__(self, folder: Path, targets: list[str], rules: Path | None = None, scrape: str = "") -> None:
        """``scrape``: more settings of the job, YAML lines indented by four (TLS, basic auth)."""
        self.port = free_tcp_port()
        config = folder / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
            + (f"rule_files:\n  - {rules}\n" if rules else "")
            + "scrape_configs:\n  - job_name: galera\n" + scrape + "    static_configs:\n"
            + f"      - targets: [{', '.join(repr(t) for t in targets)}]\n"
        )
        self.log = folder / "prometheus.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [tool("prometheus", "prometheus"), f"--config.file={config}",
                 f"--storage.tsdb.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT,
            )

    def api(self, path: str, **params: str) -> object:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as answer:
            document = json.load(answer)
        assert document["status"] == "success", document
        return document["data"]

    def query(self, promql: str) -> list[dict]:
        """An instant query's vector: [{"metric": {labels}, "value": [time, "text"]}]."""
        return self.api("query", query=promql)["result"]  # type: ignore[index]

    def targets_up(self) -> bool:
        try:
            active = self.api("targets")["activeTargets"]  # type: ignore[index]
        except OSError:
            return False  # not listening yet
        return bool(active) and all(t["health"] == "up" for t in active)

    def firing(self, alertname: str) -> list[dict]:
        return [a["labels"] for a in self.api("alerts")["alerts"]  # type: ignore[index]
                if a["labels"]["alertname"] == alertname and a["state"] == "firing"]

    def firing_for(self, alertname: str) -> set[str]:
        """The instances (host:port) an alert fires for."""
        return {labels["instance"] for labels in self.firing(alertname)}

    def wait_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.targets_up():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, f"targets not up after {timeout} s:\n{self.log.read_text()}"
            time.sleep(0.2)

    def stop(self) -> None:
        stop_process(self.process)
