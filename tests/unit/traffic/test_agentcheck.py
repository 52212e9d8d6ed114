"""galera_snmp/traffic/agentcheck.py: HAProxy's agent-check answers, and the port that serves them."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from types import MappingProxyType

import pytest
from support import check_servers, node_report, synced_state

from galera_snmp.config import AgentCheckConfig
from galera_snmp.record import replace
from galera_snmp.state import Health, NodeReport, WindowStats
from galera_snmp.traffic.agentcheck import AgentCheckServer, health_reply, weight, writer_reply
from galera_snmp.wsrep import Kind, WsrepValue

CURVE = AgentCheckConfig()  # 100 % at rest, 10 % from 16 queued write-sets or 25 % of the time paused
DETAILED = AgentCheckConfig(detailed_reasons=True)


def wsrep(**values: int) -> MappingProxyType:
    return MappingProxyType({name: WsrepValue(Kind.GAUGE, str(v), v) for name, v in values.items()})


def judged(valid: bool = True, **changes) -> NodeReport:
    return node_report(read_only=False, valid=valid, last_error="", **changes)


def test_the_weight_falls_with_the_receive_queue_or_flow_control_whichever_is_worse():
    assert weight(0, 0.0, CURVE) == 100 and weight(None, None, CURVE) == 100
    assert weight(8, 0.0, CURVE) == 55 and weight(0, 0.125, CURVE) == 55
    assert weight(16, 0.0, CURVE) == 10 and weight(500, 1.0, CURVE) == 10  # never below the floor
    assert weight(4, 0.125, CURVE) == 55
    steep = AgentCheckConfig(queue_full=4, floor=0)
    assert weight(2, None, steep) == 50 and weight(4, None, steep) == 0


def test_healthy_up_with_its_weight_drained_up_drain_else_down_with_the_reason():
    assert health_reply(judged(wsrep=wsrep(wsrep_local_recv_queue=8)), CURVE) == "up ready 55%\n"
    paused = replace(judged(), window=WindowStats(60.0, 0.0, 0.0, 10.0, None, paused_share=0.25))
    assert health_reply(paused, CURVE) == "up ready 10%\n"
    assert health_reply(judged(drained=True), CURVE) == "up drain\n"
    assert health_reply(judged(maint_mode="MAINTENANCE"), CURVE) == "up drain\n"
    # drained and desynced: down, and ready so that a drain said before does not outlive the node's return
    assert health_reply(judged(drained=True, desync=True), DETAILED) == "ready down #wsrep_desync is ON\n"
    assert health_reply(judged(drained=True, valid=False), CURVE).startswith("ready down #no current data")
    assert health_reply(None, CURVE) == "ready down #no report yet\n"


def test_a_reason_stays_one_line_without_a_second_description():
    report = NodeReport(synced_state(), Health(False, "broken #1\r\nline two"), True, 0)
    assert health_reply(report, DETAILED) == "ready down #broken 1 line two\n"


def test_the_reasons_are_the_http_checks_short_classes_unless_detailed():
    """Port 9300 faces the network unauthenticated: mysqld's error text (user, host, paths) stays home."""
    leaky = "no current data: Access denied for user 'galera_snmp'@'localhost' /var/lib/mysql/secret-path (1045)"
    report = NodeReport(synced_state(), Health(False, leaky), False, 0)
    assert health_reply(report, CURVE) == "ready down #no current data\n"
    assert "secret-path" in health_reply(report, DETAILED)
    desynced = judged(desync=True)
    assert health_reply(desynced, CURVE) == "ready down #wsrep_desync is ON\n"  # a fixed text stays


def test_writer_answers_up_on_the_writer_only():
    assert writer_reply(judged()) == "ready down #the writer is not known\n"
    assert writer_reply(judged(), detailed=True).startswith("ready down #the writer is not known (no peer watch")
    writer = NodeReport(synced_state(), Health(True, "ok"), True, 0, writer=Health(True, "the writer"))
    assert writer_reply(writer) == "up ready 100%\n"
    leaky = Health(False, "cannot tell whether 10.0.0.11 is the writer: Access denied for user 'x'")
    other = NodeReport(synced_state(), Health(True, "ok"), True, 0, writer=leaky)
    assert writer_reply(other) == "ready down #not the writer\n"
    assert writer_reply(other, detailed=True) == f"ready down #{leaky.reason}\n"


@pytest.fixture
def port() -> Iterator[Callable[..., tuple[AgentCheckServer, dict]]]:
    def make(current, port, **settings):
        config = AgentCheckConfig(enabled=True, address="127.0.0.1", port=port, **settings)
        return AgentCheckServer(config, current)

    yield from check_servers(make)


def talk(server: AgentCheckServer, send: bytes = b"") -> bytes:
    with socket.create_connection(server.server_address[:2], timeout=5) as sock:
        if send:
            sock.sendall(send)
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


def test_the_port_answers_haproxys_plain_check_and_agent_send_writer(port):
    writer = NodeReport(synced_state(), Health(True, "ok"), True, 0, writer=Health(False, "10.0.0.11 is the writer"))
    server, current = port(writer)
    assert talk(server) == b"up ready 100%\n"  # nothing sent: the health answer after a short wait
    assert talk(server, b"writer\n") == b"ready down #not the writer\n"
    assert talk(server, b"anything else\n") == b"up ready 100%\n"
    current["report"] = judged(drained=True)
    assert talk(server) == b"up drain\n"


def test_an_endless_line_is_answered_not_kept(port):
    server, _ = port(judged())
    assert talk(server, b"x" * 10_000) == b"up ready 100%\n"


def test_the_weight_follows_flow_control_over_the_agents_window(port):
    server, current = port(None)
    current["report"] = replace(judged(), window=WindowStats(2.0, 0.0, 0.0, 1.0, None, paused_share=0.0))
    assert talk(server) == b"up ready 100%\n"
    current["report"] = replace(judged(), window=WindowStats(2.0, 0.0, 0.0, 1.0, None, paused_share=0.5))
    assert talk(server) == b"up ready 10%\n"
