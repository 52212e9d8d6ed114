"""A clustercheck-compatible HTTP health endpoint, answered from the agent's current report.

HAProxy's ``option httpchk`` (and anything that speaks clustercheck) gets 200 when the node
may take traffic and 503 otherwise, with a short reason as a one-line text body — or JSON for
``/json`` or ``Accept: application/json``. No MySQL login per check and no waiting on mysqld:
a hung mysqld is answered from the report in microseconds.

The endpoint faces the network unauthenticated, so abuse must cost it little: one thread serves
every connection from a selector (an idle client costs a file descriptor, not a thread); a
connection lives at most ``request_timeout`` from accept to close however slowly it trickles;
the request line and headers are bounded; and at ``max_connections`` the oldest connection is
closed to admit the new one, so a flood of idle clients cannot lock out the load balancer: its
check asks as soon as it connects, and an arrived request is answered before more connections
are accepted.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import re
import selectors
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from email.utils import formatdate
from http import HTTPStatus
from http.server import DEFAULT_ERROR_CONTENT_TYPE, DEFAULT_ERROR_MESSAGE
from urllib.parse import urlsplit

from ..config import HttpConfig
from ..record import record
from ..state import DONOR, NodeReport, ProcessState, history_reset

log = logging.getLogger(__name__)

HEAD_LIMIT = 8192  # bytes of request line and headers; HAProxy's check sends about 20
RECV_SIZE = 4096
ACCEPT_BATCH = 64  # connections accepted per loop turn: a connect flood cannot starve clients already connected
ACCEPT_PAUSE = 0.1  # seconds without accepting when accept() fails and there is no connection to give up
WARN_EVERY = 60.0  # seconds: a flood must not flood the log too
METHODS = ("GET", "HEAD", "OPTIONS")  # OPTIONS: HAProxy's default httpchk request

# The health rule's reasons (state.assess_health) by how they begin, and what is served for each
# unless [http] detailed_reasons: the rule's own words where they are fixed, a class where they
# quote what mysqld reported.
SHORT_REASONS: tuple[tuple[str, str], ...] = (
    ("wsrep status incomplete", "wsrep status incomplete"),
    ("wsrep_reject_queries is not reported", "wsrep status incomplete"),
    ("cluster status is ", "not Primary"),
    ("wsrep_ready is OFF", "wsrep_ready is OFF"),
    ("wsrep_desync is ON", "wsrep_desync is ON"),
    ("node is a donor", "donor, and donors do not serve"),
    ("local state ", "not Synced"),
    ("wsrep_reject_queries is ", "wsrep_reject_queries is set"),
    ("drained by the operator", "drained by the operator"),
)
UNCLASSIFIED = "not ready (galera-check health on the node tells why)"


def short_reason(report: NodeReport) -> str:
    """The verdict's reason in a fixed vocabulary. The rule's own text may quote mysqld's errors,
    which name users, hosts and paths: not for an unauthenticated endpoint by default."""
    verdict = report.verdict()
    state = report.state
    if verdict.healthy:
        return f"{'Donor/Desynced' if state.local_state == DONOR else 'Synced'}, Primary, ready"
    if not state.answered:
        return "mysqld not running" if state.process is ProcessState.ABSENT else "mysqld not answering"
    if report.valid is not True:
        return "no current data"
    return next((short for prefix, short in SHORT_REASONS if verdict.reason.startswith(prefix)), UNCLASSIFIED)


def describe(report: NodeReport | None, detailed: bool = False) -> tuple[int, str, dict[str, object]]:
    """The HTTP status, the text line and the JSON document for a report."""
    if report is None:
        return 503, "Galera node health is not known yet", {"healthy": False, "reason": "no report yet"}
    verdict = report.verdict()
    reason = verdict.reason if detailed else short_reason(report)
    state = report.state
    who = f"Galera node {state.node_name}" if state.node_name else "Galera node"
    line = f"{who} is {'healthy' if verdict.healthy else 'not healthy'}: {reason}"
    document = {
        "healthy": bool(verdict.healthy),
        "reason": reason,
        "status": state.status.value,
        "local_state": state.local_state,
        "local_state_comment": state.local_state_comment,
        "cluster_status": state.cluster_status,
        "cluster_size": state.cluster_size,
        "seqno": state.position.seqno,
        "drained": state.drained,
        "history_reset": history_reset(state) is not None,  # docs/INIT.md, "A history reset"
        "data_valid": report.valid,
        "data_age": report.age,
    }
    return (200 if verdict.healthy else 503), line, document


# --- the request -------------------------------------------------------------------------------

END_OF_HEAD = re.compile(rb"\r?\n\r?\n")
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
TARGET = re.compile(r"[\x21-\x7e]+")
VERSION = re.compile(r"HTTP/1\.[0-9]")
FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


class BadRequest(ValueError):
    """A request this endpoint will not answer; the message says why without echoing the client's bytes."""


@record
class Request:
    method: str
    target: str
    headers: Mapping[str, str]  # names in lower case

    @property
    def wants_json(self) -> bool:
        path = urlsplit(self.target).path
        return path.rstrip("/") == "/json" or "application/json" in self.headers.get("accept", "")


def parse_request(head: bytes) -> Request:
    """The request line and headers (without the blank line that ends them), strictly: what a
    load balancer, curl or a browser sends and nothing else, so odd input is a 400, not a guess."""
    if len(head) > HEAD_LIMIT:
        raise BadRequest(f"request line and headers over {HEAD_LIMIT} bytes")
    request_line, *fields = [line.removesuffix("\r") for line in head.decode("latin-1").split("\n")]
    parts = request_line.split(" ")
    if len(parts) != 3 or not (
        TOKEN.fullmatch(parts[0]) and TARGET.fullmatch(parts[1]) and VERSION.fullmatch(parts[2])
    ):
        raise BadRequest("malformed request line")
    headers: dict[str, str] = {}
    for field in fields:
        name, colon, value = field.partition(":")
        if not (colon and TOKEN.fullmatch(name) and FIELD_VALUE.fullmatch(value)):
            raise BadRequest("malformed header line")
        headers[name.lower()] = value.strip(" \t")
    return Request(parts[0], parts[1], headers)


# --- the response ------------------------------------------------------------------------------


def response(code: int, kind: str, body: bytes, with_body: bool = True) -> bytes:
    """A whole response. Every one closes the connection, as clustercheck's did: a check is one request."""
    head = (
        f"HTTP/1.1 {code} {HTTPStatus(code).phrase}\r\n"
        f"Server: galera-snmp\r\nDate: {formatdate(usegmt=True)}\r\n"
        f"Content-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + (body if with_body else b"")


def error_response(code: int, explain: str) -> bytes:
    """The standard library's error page, the one this endpoint sent when http.server ran it."""
    page = DEFAULT_ERROR_MESSAGE % {"code": code, "message": HTTPStatus(code).phrase, "explain": html.escape(explain)}
    return response(code, DEFAULT_ERROR_CONTENT_TYPE, page.encode())


def answer(request: Request, report: NodeReport | None, detailed: bool) -> bytes:
    """The response to a well-formed request, from the report at hand."""
    if request.method not in METHODS:
        return error_response(501, f"this endpoint answers {', '.join(METHODS)}")
    code, line, document = describe(report, detailed)
    if request.wants_json:
        body, kind = (json.dumps(document) + "\n").encode(), "application/json"
    else:
        body, kind = (line + "\r\n").encode(), "text/plain; charset=utf-8"
    return response(code, kind, body, with_body=request.method != "HEAD")


# --- the server --------------------------------------------------------------------------------


class _Connection:
    """One client: what it sent so far, the answer still to send, and when it must be gone."""

    __slots__ = ("deadline", "inbox", "outbox", "sock")

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.inbox = bytearray()
        self.outbox: bytes | None = None  # None: still reading; b"": answered, waiting for the client to close


class HealthServer:
    """The endpoint on one thread. Binds at construction (a taken port fails the agent's start),
    serves from start() until stop()."""

    def __init__(self, config: HttpConfig, current: Callable[[], NodeReport | None]) -> None:
        self.config = config
        self.current = current
        family = socket.AF_INET6 if ":" in config.address else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((config.address, config.port))
            self._listener.listen(socket.SOMAXCONN)
        except OSError:
            self._listener.close()
            raise
        self._listener.setblocking(False)
        self.server_address = self._listener.getsockname()
        self._waker, self._wakee = socket.socketpair()  # stop() wakes the loop through it
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._selector.register(self._wakee, selectors.EVENT_READ)
        # in accept order, which is deadline order: the oldest is first to expire and first to give way
        self._connections: OrderedDict[socket.socket, _Connection] = OrderedDict()
        self._accept_paused_until: float | None = None
        self._warned_at: float | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.serve, name="http", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Stop serving, close every client connection at once (never waits for a client) and free the port."""
        self._stopping.set()
        if self._thread is None:
            self._close_all()
            return
        with contextlib.suppress(OSError):  # already stopped: the waker is closed
            self._waker.send(b"\0")
        self._thread.join()

    def serve(self) -> None:
        """The loop. Clients already connected are served before new ones are accepted, so a check
        whose request has arrived is answered before a connect flood can make it give way."""
        try:
            while not self._stopping.is_set():
                accept = False
                for key, mask in self._selector.select(self._timeout()):
                    if key.fileobj is self._listener:
                        accept = True
                    elif key.data is not None:
                        try:
                            self._serve_client(key.data, mask)
                        except Exception:
                            log.exception("HTTP health endpoint: failed to serve a client")
                            self._close(key.data)
                if accept:
                    self._accept()
                self._on_time(time.monotonic())
        finally:
            self._close_all()

    def _timeout(self) -> float | None:
        """Until the oldest connection's deadline or until accepting resumes; None: nothing is due."""
        due = [next(iter(self._connections.values())).deadline] if self._connections else []
        if self._accept_paused_until is not None:
            due.append(self._accept_paused_until)
        return max(0.0, min(due) - time.monotonic()) if due else None

    def _accept(self) -> None:
        for _ in range(min(ACCEPT_BATCH, self.config.max_connections)):  # never evict what this turn took
            try:
                sock, _ = self._listener.accept()
            except BlockingIOError:
                return
            except ConnectionError:  # the client gave up while queued
                continue
            except OSError as err:
                # out of file descriptors or memory: the connection stays queued. Give up the oldest
                # connection to free a descriptor, or stop accepting for a moment, rather than spin.
                self._warn(f"cannot accept a connection: {err.strerror}")
                if self._connections:
                    self._close(next(iter(self._connections.values())))
                else:
                    self._selector.unregister(self._listener)
                    self._accept_paused_until = time.monotonic() + ACCEPT_PAUSE
                return
            if len(self._connections) >= self.config.max_connections:
                self._warn(f"max_connections ({self.config.max_connections}) reached: closing the oldest connections")
                self._close(next(iter(self._connections.values())))
            sock.setblocking(False)
            conn = _Connection(sock, time.monotonic() + self.config.request_timeout)
            self._connections[sock] = conn
            self._selector.register(sock, selectors.EVENT_READ, conn)

    def _serve_client(self, conn: _Connection, mask: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self._send(conn)
            return
        try:
            data = conn.sock.recv(RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:  # reset by the client: it is gone
            data = b""
        if not data:
            self._close(conn)
        elif conn.outbox is None:
            self._receive(conn, data)
        # else answered: what the client still sends is dropped until it closes or its deadline

    def _receive(self, conn: _Connection, data: bytes) -> None:
        searched = max(0, len(conn.inbox) - 3)  # the blank line may straddle two reads
        conn.inbox += data
        end = END_OF_HEAD.search(conn.inbox, searched)
        if end is None and len(conn.inbox) <= HEAD_LIMIT:
            return
        try:
            request = parse_request(bytes(conn.inbox if end is None else conn.inbox[: end.start()]))
        except BadRequest as err:
            conn.outbox = error_response(400, str(err))
        else:
            conn.outbox = answer(request, self.current(), self.config.detailed_reasons)
        self._send(conn)

    def _send(self, conn: _Connection) -> None:
        assert conn.outbox is not None
        try:
            sent = conn.sock.send(conn.outbox)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._close(conn)
            return
        conn.outbox = conn.outbox[sent:]
        if conn.outbox:
            self._selector.modify(conn.sock, selectors.EVENT_WRITE, conn)
            return
        # Half-close and wait for the client's close: closing with its unread bytes pending would
        # send a reset, which can destroy the answer before the client has read it.
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        self._selector.modify(conn.sock, selectors.EVENT_READ, conn)

    def _on_time(self, now: float) -> None:
        """Close the connections past their deadline, and accept again after a pause."""
        while self._connections:
            oldest = next(iter(self._connections.values()))
            if oldest.deadline > now:
                break
            self._close(oldest)
        if self._accept_paused_until is not None and now >= self._accept_paused_until:
            self._selector.register(self._listener, selectors.EVENT_READ)
            self._accept_paused_until = None

    def _close(self, conn: _Connection) -> None:
        if self._connections.pop(conn.sock, None) is not None:
            self._selector.unregister(conn.sock)
            conn.sock.close()

    def _close_all(self) -> None:
        for conn in list(self._connections.values()):
            self._close(conn)
        self._selector.close()
        for sock in (self._listener, self._waker, self._wakee):
            sock.close()

    def _warn(self, what: str) -> None:
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            log.warning("HTTP health endpoint: %s (said at most once a minute)", what)
