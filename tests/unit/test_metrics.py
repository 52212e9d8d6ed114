"""metrics: the report as Prometheus metrics, derived from GALERA-MIB's table — names, types,
labels and values, unknown values left out — and served on /metrics by the HTTP endpoint."""

from __future__ import annotations

import base64
import http.client
import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import bcrypt
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text
from prometheus_support import CLUSTER, RAW, full_report, scrape
from support import free_tcp_port, http_get, synced_state, tls_files, wsrep_values

from galera_snmp import webconfig
from galera_snmp.config import ConfigError, HttpConfig, MetricsConfig, load_config
from galera_snmp.metrics import ReportCollector, exposition, families, snake
from galera_snmp.snmp.mib import (
    COUNTER_NAMES,
    GAUGE_NAMES,
    MEMBER_COLUMNS,
    RATIO_SPECS,
    SCALARS,
    UNKNOWN_TRUTH,
    Syntax,
    wsrep_object_names,
)
from galera_snmp.state import Health, MysqlFailure, NodeReport, ProcessState, Status
from galera_snmp.traffic.httpcheck import HealthServer, MetricsServer

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def samples(text: str, parse=parse_text) -> dict[str, list]:
    """Every family by name: (type, [(sample name, labels, value)])."""
    return {f.name: (f.type, [(s.name, s.labels, s.value) for s in f.samples]) for f in parse(text)}


def value(found: dict, family: str, **labels: str) -> float:
    _kind, rows = found[family]
    matching = [v for _, got, v in rows if all(got.get(k) == want for k, want in labels.items())]
    assert len(matching) == 1, (family, labels, rows)
    return matching[0]


def test_counters_are_counters_with_total_and_their_wsrep_value():
    found = samples(scrape(full_report()))
    for name in COUNTER_NAMES:
        base = "galera_" + (name.removesuffix("_ns") + "_seconds" if name.endswith("_ns") else name)
        kind, rows = found[base]
        assert kind == "counter", name
        assert rows[0][0] == base + "_total"
        expected = int(RAW[name]) / 1e9 if name.endswith("_ns") else int(RAW[name])
        assert rows[0][2] == pytest.approx(expected)
    assert value(found, "galera_wsrep_flow_control_paused_seconds") == pytest.approx(2.5)


def test_gauges_and_ratios_are_gauges_with_the_unscaled_value():
    found = samples(scrape(full_report()))
    exported = {}
    for kind, rows in found.values():
        for sample_name, _labels, sample_value in rows:
            exported[sample_name] = (kind, sample_value)
    for name in GAUGE_NAMES:
        metric = "galera_" + (name.removesuffix("_count") + "s" if name.endswith("_count") else name)
        assert exported[metric] == ("gauge", int(RAW[name])), name
    for name, _scale, tc in RATIO_SPECS:
        metric = "galera_" + name + ("_ratio" if tc == "GaleraPartsPerMillion" else "")
        assert exported[metric] == ("gauge", pytest.approx(float(RAW[name]))), name
    assert exported["galera_wsrep_local_cached_downto"] == ("gauge", 5)


def test_every_numeric_mib_object_of_a_full_snapshot_is_exported_under_a_valid_name():
    report = full_report()
    found = samples(scrape(report))
    names = {sample for _, rows in found.values() for sample, _, _ in rows}
    assert all(NAME.fullmatch(n) for n in names)
    wsrep_exported = {n for n in found if n.startswith("galera_wsrep_")}
    assert len(wsrep_exported) == len(COUNTER_NAMES) + len(GAUGE_NAMES) + len(RATIO_SPECS) + 1
    wsrep_objects = wsrep_object_names()
    for obj in SCALARS:
        served = obj.read(report) not in (None, UNKNOWN_TRUTH) or obj.mib_type not in ("GaleraTriState", "TruthValue")
        if obj.syntax is not Syntax.OCTET_STRING and obj.name not in wsrep_objects and served:
            assert any(f == f"galera_{snake(obj.name)}" or f.startswith(f"galera_{snake(obj.name)}_")
                       for f in found), obj.name


def test_enumerations_are_state_sets_with_exactly_one_state_set():
    found = samples(scrape(full_report()))
    for family, state in [
        ("galera_status", "running"),
        ("galera_local_state", "synced"),
        ("galera_cluster_status", "primary"),
        ("galera_seqno_source", "live"),
        ("galera_reject_queries", "none"),
    ]:
        _, rows = found[family]
        on = [labels[family] for _, labels, v in rows if v == 1]
        assert on == [state], family
        assert len(rows) >= 4 and all(v in (0, 1) for _, _, v in rows)
    openmetrics = samples(scrape(full_report(), "application/openmetrics-text"), parse_openmetrics)
    assert openmetrics["galera_status"][0] == "stateset"
    assert openmetrics["galera_node"][0] == "info"


def test_a_stopped_node_says_stopped_and_unknown_values_are_left_out():
    state = synced_state(
        status=Status.STOPPED, reason="mysqld is not running", process=ProcessState.ABSENT,
        mysql_failure=MysqlFailure.REFUSED, local_state=None, local_state_comment=None, cluster_status=None,
        cluster_size=None, cluster_conf_id=None, ready=None, connected=None, desync=None, reject_queries=None,
    )
    found = samples(scrape(NodeReport(state, Health(False, "mysqld is not running"), True, 0)))
    assert value(found, "galera_status", galera_status="stopped") == 1
    assert value(found, "galera_cluster_status", galera_cluster_status="unknown") == 1
    assert value(found, "galera_local_state", galera_local_state="unknown") == 1
    for gone in ("galera_ready", "galera_connected", "galera_desync", "galera_cluster_size", "galera_history_reset",
                 "galera_wsrep_replicated", "galera_local_state_comment_info"):
        assert gone not in found, gone
    assert value(found, "galera_healthy", reason="mysqld is not running") == 0
    assert found["galera_member_info"][1] == []


def test_the_verdict_carries_its_reason_and_is_false_on_stale_data():
    stale = NodeReport(full_report().state, Health(True, "Synced, Primary, ready"), False, 40, "refresh stuck")
    found = samples(scrape(stale))
    assert value(found, "galera_healthy", reason="no current data: refresh stuck") == 0
    assert value(found, "galera_data_valid") == 0
    assert value(found, "galera_data_age_seconds") == 40


def test_the_reason_label_is_the_short_class_unless_detailed():
    desynced = NodeReport(full_report(desync=True).state, Health(False, "wsrep_desync is ON"), True, 0)
    body, _ = exposition(ReportCollector(lambda: desynced, False, lambda r: "short class"))
    assert value(samples(body.decode()), "galera_healthy", reason="short class") == 0
    body, _ = exposition(ReportCollector(lambda: desynced, True, lambda r: "short class"))
    assert value(samples(body.decode()), "galera_healthy", reason="wsrep_desync is ON") == 0


def test_flags_history_reset_drain_and_identity():
    found = samples(scrape(full_report(drained=True, cluster_state_uuid="00000000-0000-0000-0000-000000000000")))
    assert value(found, "galera_drained") == 1
    assert value(found, "galera_history_reset") == 1
    info = found["galera_node_info"][1]
    assert len(info) == 1
    labels = info[0][1]
    assert labels["node_name"] == "node1" and labels["cluster_name"] == "galera"
    assert labels["state_uuid"] == CLUSTER
    assert "status_reason" not in labels and "health_reason" not in labels and "last_error" not in labels
    assert value(found, "galera_local_state_comment_info", local_state_comment="Synced") == 1


def test_the_member_table_is_one_labelled_series_per_member():
    _, rows = samples(scrape(full_report()))["galera_member_info"]
    assert [labels["name"] for _, labels, _ in rows] == ["node1", "node2", "node3"]
    assert {tuple(sorted(labels)) for _, labels, _ in rows} == {
        tuple(sorted(["index", *(attribute for _, _, _, attribute in MEMBER_COLUMNS)]))
    }
    assert rows[1][1]["address"] == "127.0.0.12:3306" and rows[1][1]["index"] == "2"


def test_odd_wsrep_values_are_left_out_not_garbled():
    odd = wsrep_values(wsrep_replicated="garbage", wsrep_local_recv_queue_avg="-1", wsrep_local_send_queue="3")
    report = NodeReport(synced_state(wsrep=MappingProxyType(dict(odd))), Health(True, "ok"), True, 0)
    found = samples(scrape(report))
    assert "galera_wsrep_replicated" not in found
    assert "galera_wsrep_local_recv_queue_avg" not in found  # Galera's overflow mark, as SNMP leaves it out
    assert value(found, "galera_wsrep_local_send_queue") == 3


def test_no_report_yet_is_no_metric():
    assert list(ReportCollector(lambda: None).collect()) == []
    assert list(families(full_report()))  # and a report is many


# --- served on a listener of its own ---------------------------------------------------------


@pytest.fixture
def endpoint() -> Iterator[tuple[dict, MetricsConfig]]:
    current: dict[str, NodeReport | None] = {"report": None}
    config = MetricsConfig(enabled=True, address="127.0.0.1", port=free_tcp_port())
    server = MetricsServer(config, lambda: current["report"])
    server.start()
    try:
        yield current, config
    finally:
        server.stop()


def test_metrics_are_served_on_their_path_negotiated_by_accept(endpoint):
    current, config = endpoint
    assert http_get("127.0.0.1", config.port, "/metrics")[0] == 503  # before the first report
    current["report"] = full_report()
    code, kind, body = http_get("127.0.0.1", config.port, "/metrics")
    assert code == 200 and kind.startswith("text/plain")
    assert value(samples(body), "galera_cluster_size") == 3
    code, kind, body = http_get("127.0.0.1", config.port, "/metrics",
                                headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert code == 200 and kind.startswith("application/openmetrics-text") and body.endswith("# EOF\n")
    code, _, body = http_get("127.0.0.1", config.port, "/metrics", method="HEAD")
    assert code == 200 and body == ""
    assert http_get("127.0.0.1", config.port, "/")[0] == 404  # no health check here


def test_the_health_endpoint_serves_no_metrics():
    """/metrics names the node, its cluster and its members: not on the load balancer's endpoint."""
    config = HttpConfig(enabled=True, address="127.0.0.1", port=free_tcp_port())
    server = HealthServer(config, full_report)
    server.start()
    try:
        code, _, body = http_get("127.0.0.1", config.port, "/metrics")
    finally:
        server.stop()
    assert code == 200 and "galera_" not in body and "healthy" in body


def test_metrics_listen_only_where_the_operator_says(tmp_path):
    option = tmp_path / "client.cnf"
    option.write_text("[client]\nuser = u\n")
    option.chmod(0o600)
    conf = tmp_path / "galera-snmp.conf"
    conf.write_text(f"[mysql]\noption_file = {option}\n")
    assert load_config(conf).metrics == MetricsConfig()  # off, and no address of its own
    conf.write_text(f"[mysql]\noption_file = {option}\n[metrics]\nenabled = yes\n")
    with pytest.raises(ConfigError, match=r"\[metrics\] enabled = yes needs address"):
        load_config(conf)
    conf.write_text(f"[mysql]\noption_file = {option}\n[metrics]\nenabled = yes\naddress = 192.0.2.7\n")
    assert (load_config(conf).metrics.address, load_config(conf).metrics.port) == ("192.0.2.7", 9201)
    conf.write_text(f"[mysql]\noption_file = {option}\n[http]\nenabled = yes\nmetrics = yes\n")
    with pytest.raises(ConfigError, match=r"\[http\] metrics moved to a section of its own"):
        load_config(conf)


# --- TLS and basic authentication (webconfig.py) ---------------------------------------------------


def web_config(folder: Path, text: str, mode: int = 0o600) -> Path:
    path = folder / "web-config.yml"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def secured(tmp_path) -> Iterator[tuple[MetricsConfig, ssl.SSLContext, list[int]]]:
    ca, cert, key = tls_files(tmp_path)
    hashed = bcrypt.hashpw(b"right", bcrypt.gensalt(rounds=4)).decode()
    web = web_config(tmp_path, f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
                               f"basic_auth_users:\n  prom: '{hashed}'\n")
    config = MetricsConfig(enabled=True, address="127.0.0.1", port=free_tcp_port(), web_config=web)
    server = MetricsServer(config, full_report)
    calls: list[int] = []
    real = bcrypt.checkpw
    server.auth._check = lambda password, hashed: calls.append(1) or real(password, hashed)  # type: ignore[union-attr]
    server.start()
    try:
        yield config, ssl.create_default_context(cafile=ca), calls
    finally:
        server.stop()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_with_a_web_config_only_tls_and_the_right_user_get_metrics(secured):
    config, tls, calls = secured
    assert http_get("127.0.0.1", config.port, "/metrics", tls=tls)[0] == 401
    assert http_get("127.0.0.1", config.port, "/metrics", headers=basic("prom", "wrong"), tls=tls)[0] == 401
    assert http_get("127.0.0.1", config.port, "/metrics", headers=basic("other", "right"), tls=tls)[0] == 401
    code, _, body = http_get("127.0.0.1", config.port, "/metrics", headers=basic("prom", "right"), tls=tls)
    assert code == 200 and "galera_cluster_size 3.0" in body
    before = len(calls)
    for _ in range(3):  # a scrape every few seconds: bcrypt's work once, not at every scrape
        assert http_get("127.0.0.1", config.port, "/metrics", headers=basic("prom", "right"), tls=tls)[0] == 200
    assert len(calls) == before
    with pytest.raises((http.client.HTTPException, ConnectionError)):  # plain HTTP gets no answer
        http_get("127.0.0.1", config.port, "/metrics", headers=basic("prom", "right"))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("http_server_config:\n  http2: false\n", "not supported here: http_server_config"),
        ("tls_server_config:\n  cert_file: /x\n", "needs cert_file and key_file"),
        ("tls_server_config:\n  cert_file: /x\n  key_file: /y\n  cipher_suites: [X]\n", "not supported here: cipher"),
        ("basic_auth_users:\n  prom: plaintext\n", "needs a bcrypt hash"),
        ("basic_auth_users: [prom]\n", "must map user names to bcrypt hashes"),
        ("- not\n- a mapping\n", "a mapping of settings expected"),
        ("a: [\n", "is not YAML"),
    ],
)
def test_a_web_config_that_cannot_be_honoured_is_refused_by_name(tmp_path, text, error):
    with pytest.raises(ConfigError, match=re.escape(error)):
        webconfig.load(web_config(tmp_path, text))


def test_a_web_config_or_key_others_can_read_is_refused(tmp_path):
    _, cert, key = tls_files(tmp_path)
    with pytest.raises(ConfigError, match="others"):
        webconfig.load(web_config(tmp_path, "basic_auth_users:\n  p: '$2y$04$x'\n", mode=0o644))
    key.chmod(0o644)
    with pytest.raises(ConfigError, match="TLS key file"):
        webconfig.load(web_config(tmp_path, f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"))
