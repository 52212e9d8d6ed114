"""The HTTP health endpoint facing a hostile network: the strict request parser, the short
reasons it gives by default, the whole-request deadline, the connection cap, one thread for
every client, and a stop that waits for nobody."""

from __future__ import annotations

import errno
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import DONATING, check_servers, free_tcp_port, http_get, synced_state

from galera_snmp.config import ConfigError, HttpConfig, load_config
from galera_snmp.record import replace
from galera_snmp.state import (
    Health,
    HealthCode,
    HealthPolicy,
    MysqlFailure,
    NodeReport,
    NodeState,
    ProcessState,
    TransferState,
    assess_health,
)
from galera_snmp.traffic.httpcheck import (
    HEAD_LIMIT,
    SHORT_REASONS,
    UNCLASSIFIED,
    BadRequest,
    HealthServer,
    describe,
    parse_request,
    short_reason,
)

ACCESS_DENIED = "(1045, \"Access denied for user 'monitor'@'localhost' (using password: YES)\")"
DEFAULT_POLICY = HealthPolicy()
SECRETS = ("monitor", "localhost", "1045", "/run/mysqld", "/var/lib/mysql")


def judged(state: NodeState, valid: bool | None = None, policy: HealthPolicy = DEFAULT_POLICY) -> NodeReport:
    """A report as the agent's Reporter makes it: valid when mysqld answered or surely is not running."""
    if valid is None:
        valid = state.answered or state.process is ProcessState.ABSENT
    return NodeReport(state, assess_health(state, policy), valid, 0, "" if valid else state.reason)


# --- the request parser ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "method", "target", "headers", "wants_json"),
    [
        (b"OPTIONS / HTTP/1.0", "OPTIONS", "/", {}, False),  # HAProxy's option httpchk
        (
            b"GET /json HTTP/1.1\r\nHost: db1:9200\r\nAccept: */*",
            "GET",
            "/json",
            {"host": "db1:9200", "accept": "*/*"},
            True,
        ),
        (b"GET / HTTP/1.1\nACCEPT:application/json", "GET", "/", {"accept": "application/json"}, True),  # bare LF
        (
            b"HEAD /json/?x=1 HTTP/1.1\r\nUser-Agent: curl/8.5.0",
            "HEAD",
            "/json/?x=1",
            {"user-agent": "curl/8.5.0"},
            True,
        ),
        (b"GET /jsonx HTTP/1.1\r\nX-Note: caf\xe9", "GET", "/jsonx", {"x-note": "caf\xe9"}, False),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * (HEAD_LIMIT - 19), "GET", "/", {"x": "a" * (HEAD_LIMIT - 19)}, False),
    ],
    ids=["haproxy", "json-path", "bare-lf", "head-query", "latin-1", "at-the-limit"],
)
def test_parser_takes_what_checkers_send(head, method, target, headers, wants_json):
    request = parse_request(head)
    assert (request.method, request.target, dict(request.headers), request.wants_json) == (
        method,
        target,
        headers,
        wants_json,
    )


@pytest.mark.parametrize(
    ("head", "why"),
    [
        (b"\x00\xff garbage", "request line"),
        (b"", "request line"),
        (b"GET /", "request line"),  # HTTP/0.9
        (b"GET / HTTP/2.0", "request line"),
        (b"GET  / HTTP/1.1", "request line"),
        (b"G(T / HTTP/1.1", "request line"),
        (b"GET /a b HTTP/1.1", "request line"),
        (b"GET /\x7f HTTP/1.1", "request line"),
        (b"GET //[ HTTP/1.0", "request target"),  # urlsplit's ValueError: an IPv6 host never closed
        (b"GET / HTTP/1.1\r\nNo colon", "header"),
        (b"GET / HTTP/1.1\r\n folded: x", "header"),
        (b"GET / HTTP/1.1\r\nName : v", "header"),
        (b"GET / HTTP/1.1\r\nX: a\x00b", "header"),
        (b"GET / HTTP/1.1\r\nX: a\rb", "header"),
        (b"GET / HTTP/1.1\r\n\r\nX: after the end", "header"),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * (HEAD_LIMIT - 18), f"over {HEAD_LIMIT} bytes"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_parser_refuses_anything_else_without_echoing_it(head, why):
    with pytest.raises(BadRequest, match=why) as caught:
        parse_request(head)
    assert "garbage" not in str(caught.value) and "colon" not in str(caught.value)


# --- the short reasons -------------------------------------------------------------------------

DONOR = {"local_state": 2, "local_state_comment": "Donor/Desynced"}
JOINING = {"local_state": 1, "local_state_comment": "Joining: receiving State Transfer"}
STOPPED = {"mysql_failure": MysqlFailure.REFUSED, "process": ProcessState.ABSENT, "reason": "mysqld is not running"}
HUNG = {
    "mysql_failure": MysqlFailure.TIMEOUT,
    "process": ProcessState.SUSPENDED,
    "reason": "mysqld (pid 4332) is suspended (stopped by a signal): timed out on /run/mysqld/mysqld.sock",
}
DENIED = {
    "mysql_failure": MysqlFailure.ACCESS_DENIED,
    "reason": f"mysqld (pid 4332) runs but cannot be read: {ACCESS_DENIED}",
}
REASONS = {
    "synced": ({}, "Synced, Primary, ready"),
    "non-primary": ({"cluster_status": "non-Primary"}, "not Primary"),
    "not-ready": ({"ready": False}, "wsrep_ready is OFF"),
    "desync": ({"desync": True}, "wsrep_desync is ON"),
    "donor": (DONOR, "donor, and donors do not serve"),
    "joining": (JOINING, "not Synced"),
    "reject-queries": ({"reject_queries": "ALL_KILL"}, "wsrep_reject_queries is set"),
    "reject-unreported": ({"reject_queries": None}, "wsrep status incomplete"),
    "incomplete": ({"ready": None}, "wsrep status incomplete"),
    "drained": ({"drained": True}, "drained by the operator"),
    "maintenance": ({"maint_mode": "MAINTENANCE"}, "pxc_maint_mode is set"),
    "donor-rejects": ({**DONOR, "donor_rejects_queries": True}, "donor, and donors do not serve"),
    "stopped": (STOPPED, "mysqld not running"),
    "hung": (HUNG, "mysqld not answering"),
    "access-denied": (DENIED, "mysqld not answering"),
}


def assert_short(report: NodeReport, reason: str) -> None:
    assert short_reason(report) == reason
    code, line, document = describe(report)
    assert code == (200 if report.verdict().healthy else 503)
    assert line.endswith(f": {reason}") and document["reason"] == reason
    assert describe(report, detailed=True)[2]["reason"] == report.verdict().reason


@pytest.mark.parametrize(("changes", "reason"), REASONS.values(), ids=REASONS.keys())
def test_every_reason_of_the_health_rule_has_a_short_form(changes, reason):
    assert_short(judged(synced_state(**changes)), reason)


def test_short_forms_that_depend_on_the_policy_or_the_age_of_the_data():
    assert_short(
        judged(synced_state(**DONOR), policy=HealthPolicy(donor_serves=True)), "Donor/Desynced, Primary, ready"
    )
    assert_short(judged(synced_state(), valid=False), "no current data")  # a failed snapshot keeps the last state


def test_read_only_serves_unless_the_policy_says_no_and_shows_in_the_json():
    state = synced_state(read_only=True)
    assert judged(state).verdict().healthy
    assert describe(judged(state))[2]["read_only"] is True
    assert_short(judged(state, policy=HealthPolicy(read_only_serves=False)), "read_only is ON")


def test_a_donor_that_rejects_queries_never_serves_whatever_the_policy():
    state = synced_state(**DONOR, donor_rejects_queries=True)
    assert judged(state, policy=HealthPolicy(donor_serves=True)).verdict() == Health(
        False, "node is a donor with wsrep_sst_donor_rejects_queries ON", HealthCode.DONOR_REJECTS_QUERIES)


def test_a_node_in_a_transfer_says_how_far_it_got_without_its_peer_unless_detailed():
    report = replace(judged(synced_state(**DONOR)), transfer=DONATING)
    code, line, document = describe(report)
    assert code == 503 and line.endswith("; in transfer: rsync donor, running, 33 %, ETA 33 s"), line
    assert DONATING.peer not in line
    assert document["transfer"] == {"role": "donor", "state": "running", "method": "rsync", "percent": 33,
                                    "seconds_left": 33, "still": 1}
    assert "to 10.0.0.13: 33 %" in describe(report, detailed=True)[1]
    ended = replace(report, transfer=replace(DONATING, state=TransferState.COMPLETE))
    assert "transfer" not in describe(ended)[1] and describe(ended)[2]["transfer"] is None


def test_writer_path_answers_the_writer_verdict(serve):
    server, current = serve()
    assert ask(server, "/writer")[0] == 503  # no peer watch: not known
    current["report"] = NodeReport(synced_state(), Health(True, "ok"), True, 0, writer=Health(True, "the writer"))
    code, _, body = ask(server, "/writer")
    assert code == 200 and body.strip() == "Galera node node1 is the writer"
    leaky = Health(False, "cannot tell whether 10.0.0.11 is the writer: Access denied for user 'x'@'localhost'")
    current["report"] = NodeReport(synced_state(), Health(True, "ok"), True, 0, writer=leaky)
    code, _, body = ask(server, "/writer")
    assert (code, body.strip()) == (503, "Galera node node1 is not the writer: another node is, or none may be")
    assert ask(server, "/")[0] == 200  # the health answer is unchanged
    detailed, current = serve(detailed_reasons=True)
    current["report"] = NodeReport(synced_state(), Health(True, "ok"), True, 0, writer=leaky)
    code, _, body = ask(detailed, "/writer")
    assert code == 503 and leaky.reason in body  # the writer rule's words only when asked for


def test_the_short_form_never_carries_mysqld_text():
    state = synced_state(mysql_failure=MysqlFailure.ACCESS_DENIED, reason=f"mysqld (pid 4332): {ACCESS_DENIED}")
    stale = NodeReport(
        synced_state(),
        Health(True, "Synced, Primary, ready"),
        False,
        9,
        "snapshot failed: OSError('/var/lib/mysql/grastate.dat')",
    )
    odd = NodeReport(synced_state(), Health(False, "a future rule quoting /run/mysqld/mysqld.sock"), True, 0)
    for report in (judged(state), stale, odd):
        _, line, document = describe(report)
        text = line + json.dumps(document)
        assert not [secret for secret in SECRETS if secret in text], text
    assert short_reason(odd) == UNCLASSIFIED


def test_every_code_has_a_short_reason_and_none_quotes_mysqld():
    assert set(SHORT_REASONS) == set(HealthCode)
    assert not [text for text in SHORT_REASONS.values() for secret in SECRETS if secret in text]


def test_docs_traffic_lists_every_short_reason_of_the_health_verdict():
    traffic = (Path(__file__).resolve().parents[3] / "docs" / "TRAFFIC.md").read_text()
    writer = {HealthCode.WRITER, HealthCode.NOT_WRITER}  # the writer's answers have a section of their own
    assert not [text for code, text in SHORT_REASONS.items() if code not in writer and f"`{text}`" not in traffic]


# --- the server --------------------------------------------------------------------------------

HEALTHY = judged(synced_state())


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[HealthServer, dict[str, NodeReport | None]]]]:
    """Start endpoints on free ports with a fake report provider; stop them all afterwards."""

    def make(current, port, **settings):
        return HealthServer(HttpConfig(enabled=True, address="127.0.0.1", port=port, **settings), current)

    yield from check_servers(make, HEALTHY)


def ask(server: HealthServer, path: str = "/", method: str = "GET") -> tuple[int, str | None, str]:
    return http_get(*server.server_address[:2], path, method)


def exchange(server: HealthServer, data: bytes) -> bytes:
    """Send ``data`` and read the answer to the end of the connection."""
    with socket.create_connection(server.server_address[:2], timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def idle_client(server: HealthServer) -> socket.socket:
    return socket.create_connection(server.server_address[:2], timeout=5)


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed this client's connection (without waiting): it never sends an idle client data."""
    if not select.select([sock], [], [], 0)[0]:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except ConnectionResetError:
        return True


def closed_at_once(sock: socket.socket) -> bool:
    """Whether the server closes this connection now: on loopback its close reaches us at once, so
    half a second is ample, and far below both its deadline and the old per-read timeout (2 s)."""
    select.select([sock], [], [], 0.5)
    return closed_by_server(sock)


def test_garbage_gets_400_and_the_connection_closes(serve):
    server, _ = serve()
    answer = exchange(server, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n")  # a TLS hello, say
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"Connection: close\r\n" in answer
    assert b"malformed request line" in answer
    assert ask(server)[0] == 200


def test_an_endless_head_gets_400_intact_not_a_reset(serve):
    """The server stops collecting at HEAD_LIMIT, answers, and reads the rest away until the client
    closes, so the 400 arrives even while the client is still sending."""
    server, _ = serve()
    answer = exchange(server, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 100_000)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert f"over {HEAD_LIMIT} bytes".encode() in answer


def test_other_methods_get_501(serve):
    server, _ = serve()
    assert exchange(server, b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").startswith(b"HTTP/1.1 501 ")


def test_a_request_in_pieces_is_answered(serve):
    server, _ = serve()
    with idle_client(server) as sock:
        for piece in (b"OPTIONS / HT", b"TP/1.0\r", b"\n\r", b"\n"):
            sock.sendall(piece)
        with sock.makefile("rb") as answer:
            assert answer.readline() == b"HTTP/1.1 200 OK\r\n"


def test_reasons_are_short_unless_configured(serve):
    state = synced_state(mysql_failure=MysqlFailure.ACCESS_DENIED, reason=f"mysqld (pid 4332): {ACCESS_DENIED}")
    short, _ = serve(judged(state))
    detailed, _ = serve(judged(state), detailed_reasons=True)
    assert ask(short)[0] == 503
    assert ask(short)[2] == "Galera node node1 is not healthy: mysqld not answering\r\n"
    assert json.loads(ask(short, "/json")[2])["reason"] == "mysqld not answering"
    assert ACCESS_DENIED in ask(detailed)[2] and ACCESS_DENIED in json.loads(ask(detailed, "/json")[2])["reason"]


def test_a_trickling_client_is_cut_off_at_the_deadline(serve):
    """One byte every 20 ms never trips a per-read timeout; the whole-request deadline still ends it."""
    timeout = 0.5
    server, _ = serve(request_timeout=timeout)
    started = time.monotonic()
    sent, closed = 0, False
    with idle_client(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nX-Slow: ")
        while not closed and time.monotonic() - started < 10:
            try:
                sock.sendall(b"a")
            except OSError:  # reset: the server closed it with our last byte unread
                closed = True
                break
            sent += 1
            readable, _, _ = select.select([sock], [], [], 0.02)  # paces the trickle; wakes when the server closes
            closed = bool(readable) and closed_by_server(sock)
        elapsed = time.monotonic() - started
    assert closed, "the server did not close the trickling client"
    assert timeout <= elapsed < 10
    assert sent >= 10  # it really trickled, well past a per-read timeout of 20 ms
    assert ask(server)[0] == 200


def test_at_the_cap_the_oldest_connection_gives_way_and_the_check_is_answered(serve):
    server, _ = serve(max_connections=3, request_timeout=60)
    clients = [idle_client(server) for _ in range(3)]
    try:
        assert ask(server) == (
            200,
            "text/plain; charset=utf-8",
            "Galera node node1 is healthy: Synced, Primary, ready\r\n",
        )
        assert closed_at_once(clients[0])  # by the check's arrival, long before its 60 s deadline
        assert not closed_by_server(clients[1]) and not closed_by_server(clients[2])
    finally:
        for client in clients:
            client.close()


def test_idle_clients_cost_no_thread(serve):
    server, _ = serve(request_timeout=60)
    threads = threading.active_count()
    clients = [idle_client(server) for _ in range(50)]
    try:
        assert ask(server)[0] == 200  # accepted in order: the 50 are in before the check is answered
        assert threading.active_count() == threads
    finally:
        for client in clients:
            client.close()


def test_stop_closes_clients_at_once_and_frees_the_port(serve):
    server, _ = serve(request_timeout=60)
    with idle_client(server) as client:
        assert ask(server)[0] == 200  # the idle client is accepted
        server.stop()
        assert closed_at_once(client)  # its deadline is 60 s away: stop() closed it
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(server.server_address[:2])


def test_stop_before_start_frees_the_port():
    server = HealthServer(HttpConfig(enabled=True, address="127.0.0.1", port=free_tcp_port()), lambda: None)
    server.stop()
    with socket.socket() as again:
        again.bind(server.server_address[:2])


def test_a_malformed_target_is_a_400_and_logs_nothing(serve, caplog):
    """It used to escape the parser: a traceback at ERROR per request and no answer."""
    server, _ = serve()
    for _ in range(50):
        answer = exchange(server, b"GET //[ HTTP/1.0\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:80]
    assert "Traceback" not in caplog.text and "ERROR" not in caplog.text
    assert ask(server)[0] == 200


def test_a_failure_serving_a_client_is_one_line_at_most_once_a_minute(serve, monkeypatch, caplog):
    """Whatever a bug of ours raises for a client: that client is closed, the log gets one line
    (no traceback) however many clients trigger it, and the others are served."""
    server, _ = serve()
    monkeypatch.setattr(server, "_reply", lambda received, waited: 1 / 0)  # a bug of ours, simulated
    for _ in range(20):
        assert exchange(server, b"GET / HTTP/1.0\r\n\r\n") == b""
    lines = [r for r in caplog.records if "failed to serve a client" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert "ZeroDivisionError" in lines[0].getMessage()


@pytest.mark.parametrize("holding", [True, False], ids=["gives-up-the-oldest", "pauses"])
def test_an_accept_failure_neither_spins_nor_stops_the_endpoint(serve, monkeypatch, caplog, holding):
    """Out of file descriptors: free one by closing the oldest connection, or pause accepting."""
    server, _ = serve(request_timeout=60)
    clients = [idle_client(server)] if holding else []
    try:
        if holding:
            assert ask(server)[0] == 200  # the idle client is accepted
        failures = [OSError(errno.EMFILE, "Too many open files")]
        real_accept = socket.socket.accept

        def accept(sock: socket.socket):
            if failures:
                raise failures.pop()
            return real_accept(sock)

        monkeypatch.setattr(socket.socket, "accept", accept)
        assert ask(server)[0] == 200
        assert not failures and "cannot accept a connection: Too many open files" in caplog.text
        if holding:
            assert closed_at_once(clients[0])
    finally:
        for client in clients:
            client.close()


# --- the configuration -------------------------------------------------------------------------


def test_http_limits_are_configurable(tmp_path):
    conf = tmp_path / "galera-snmp.conf"
    conf.write_text(
        "[mysql]\noption_file = c.cnf\n"
        "[http]\nenabled = yes\nrequest_timeout = 0.5\nmax_connections = 500\ndetailed_reasons = yes\n"
    )
    assert load_config(conf).http == HttpConfig(
        enabled=True, request_timeout=0.5, max_connections=500, detailed_reasons=True
    )
    assert HttpConfig() == HttpConfig(request_timeout=2.0, max_connections=64, detailed_reasons=False)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("max_connections = 0", "'0' is not a number from 1 to 10000"),
        ("max_connections = many", "'many' is not a number"),
        ("max_connections = 10001", "from 1 to 10000"),
        ("request_timeout = 0", "outside 0 < seconds"),
        ("detailed_reasons = sometimes", "not yes/no"),
    ],
)
def test_bad_http_limits_are_refused(tmp_path, line, message):
    conf = tmp_path / "galera-snmp.conf"
    conf.write_text(f"[mysql]\noption_file = c.cnf\n[http]\n{line}\n")
    with pytest.raises(ConfigError, match=f"\\[http\\] {line.split()[0]}.*{message}"):
        load_config(conf)


def test_a_cap_below_the_accept_batch_never_evicts_a_check_taken_in_the_same_turn():
    """Connections waiting in the backlog when the loop turns: a small cap must not let later ones
    of the same batch push out the check before its request is read."""
    config = HttpConfig(enabled=True, address="127.0.0.1", port=free_tcp_port(), max_connections=4,
                        request_timeout=60)  # fmt: skip
    server = HealthServer(config, lambda: HEALTHY)
    before = [idle_client(server) for _ in range(10)]
    check = socket.create_connection(server.server_address[:2], timeout=5)
    check.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    after = [idle_client(server) for _ in range(10)]
    server.start()  # everything above waits in the backlog: the first turn takes a batch of it
    try:
        answer = check.recv(4096)
        assert answer.startswith(b"HTTP/1.0 200") or answer.startswith(b"HTTP/1.1 200"), answer
    finally:
        for sock in (*before, check, *after):
            sock.close()
        server.stop()
