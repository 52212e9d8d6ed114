"""A clustercheck-compatible HTTP health endpoint, answered from the agent's current report.

HAProxy's ``option httpchk`` (and anything that speaks clustercheck) gets 200 when the node
may take traffic and 503 otherwise, with the reason as a one-line text body — or JSON for
``/json`` or ``Accept: application/json``. No MySQL login per check and no waiting on mysqld:
a hung mysqld is answered from the report in microseconds.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..config import HttpConfig
from ..state import NodeReport

READ_TIMEOUT = 2.0  # seconds a client may take to send its request line and headers


def describe(report: NodeReport | None) -> tuple[int, str, dict[str, object]]:
    """The HTTP status, the text line and the JSON document for a report."""
    if report is None:
        return 503, "Galera node health is not known yet", {"healthy": False, "reason": "no report yet"}
    verdict = report.verdict()
    state = report.state
    who = f"Galera node {state.node_name}" if state.node_name else "Galera node"
    line = f"{who} is {'healthy' if verdict.healthy else 'not healthy'}: {verdict.reason}"
    document = {
        "healthy": bool(verdict.healthy),
        "reason": verdict.reason,
        "status": state.status.value,
        "local_state": state.local_state,
        "local_state_comment": state.local_state_comment,
        "cluster_status": state.cluster_status,
        "cluster_size": state.cluster_size,
        "seqno": state.position.seqno,
        "drained": state.drained,
        "data_valid": report.valid,
        "data_age": report.age,
    }
    return (200 if verdict.healthy else 503), line, document


class _Handler(BaseHTTPRequestHandler):
    server: HealthServer
    protocol_version = "HTTP/1.1"
    timeout = READ_TIMEOUT
    server_version = "galera-snmp"
    sys_version = ""

    def _answer(self, with_body: bool) -> None:
        code, line, document = describe(self.server.current())
        wants_json = self.path.split("?")[0].rstrip("/") == "/json" or "application/json" in self.headers.get(
            "Accept", ""
        )
        if wants_json:
            body, kind = (json.dumps(document) + "\n").encode(), "application/json"
        else:
            body, kind = (line + "\r\n").encode(), "text/plain; charset=utf-8"
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        if with_body:
            self.wfile.write(body)
        self.close_connection = True

    def do_GET(self) -> None:
        self._answer(True)

    def do_OPTIONS(self) -> None:  # HAProxy's default httpchk method
        self._answer(True)

    def do_HEAD(self) -> None:
        self._answer(False)

    def log_message(self, format: str, *args: object) -> None:
        """No per-request logging: a load balancer checks every node every second or two."""


class HealthServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, config: HttpConfig, current: Callable[[], NodeReport | None]) -> None:
        self.address_family = socket.AF_INET6 if ":" in config.address else socket.AF_INET
        self.current = current
        super().__init__((config.address, config.port), _Handler)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, args=(0.2,), name="http", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
