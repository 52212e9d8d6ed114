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

import html
import json
import re
from collections.abc import Callable, Mapping
from email.utils import formatdate
from http import HTTPStatus
from http.server import DEFAULT_ERROR_CONTENT_TYPE, DEFAULT_ERROR_MESSAGE
from types import MappingProxyType
from urllib.parse import urlsplit

from ..config import HttpConfig, MetricsConfig
from ..node.transfer import describe as describe_transfer
from ..record import record
from ..state import HealthCode, NodeReport, Transfer, TransferState, history_reset
from .tcpserver import BoundedServer

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from ..metrics import ReportCollector
    from ..webconfig import Authenticator


HEAD_LIMIT = 8192  # bytes of request line and headers; HAProxy's check sends about 20
METHODS = ("GET", "HEAD", "OPTIONS")  # OPTIONS: HAProxy's default httpchk request

UNCLASSIFIED = "not ready (galera-check health on the node tells why)"

# What is served for each step of the health rule (state.HealthCode) unless [http]
# detailed_reasons: the rule's own words where they are fixed, a class where they quote what
# mysqld reported.
SHORT_REASONS: Mapping[HealthCode, str] = MappingProxyType({
    HealthCode.MYSQLD_ABSENT: "mysqld not running",
    HealthCode.MYSQLD_NOT_ANSWERING: "mysqld not answering",
    HealthCode.MYSQLD_UNREADABLE: "mysqld not answering",
    HealthCode.WSREP_INCOMPLETE: "wsrep status incomplete",
    HealthCode.NOT_PRIMARY: "not Primary",
    HealthCode.NOT_READY: "wsrep_ready is OFF",
    HealthCode.DESYNCED: "wsrep_desync is ON",
    HealthCode.DONOR_REJECTS_QUERIES: "donor, and donors do not serve",
    HealthCode.DONOR_NOT_SERVING: "donor, and donors do not serve",
    HealthCode.NOT_SYNCED: "not Synced",
    HealthCode.REJECT_QUERIES_UNKNOWN: "wsrep status incomplete",
    HealthCode.REJECTING_QUERIES: "wsrep_reject_queries is set",
    HealthCode.READ_ONLY: "read_only is ON",
    HealthCode.DRAINED: "drained by the operator",
    HealthCode.PXC_MAINT_MODE: "pxc_maint_mode is set",
    HealthCode.SYNCED: "Synced, Primary, ready",
    HealthCode.DONOR_SERVING: "Donor/Desynced, Primary, ready",
    HealthCode.NO_CURRENT_DATA: "no current data",
    HealthCode.UNCLASSIFIED: UNCLASSIFIED,
    HealthCode.WRITER: "the writer",
    HealthCode.NOT_WRITER: "not the writer",
})


def short_reason(report: NodeReport) -> str:
    """The verdict's reason in a fixed vocabulary, by its code. The rule's own text may quote
    mysqld's errors, which name users, hosts and paths: not for an unauthenticated endpoint by default."""
    return SHORT_REASONS[report.verdict().code]


def served_reason(report: NodeReport, detailed: bool) -> str:
    """The verdict's reason as an unauthenticated port gives it: the rule's own words only when
    ``detailed`` (HTTP, agent-check), else its short class."""
    return report.verdict().reason if detailed else short_reason(report)


def describe(report: NodeReport | None, detailed: bool = False) -> tuple[int, str, dict[str, object]]:
    """The HTTP status, the text line and the JSON document for a report."""
    if report is None:
        return 503, "Galera node health is not known yet", {"healthy": False, "reason": "no report yet"}
    verdict = report.verdict()
    reason = served_reason(report, detailed)
    state = report.state
    who = f"Galera node {state.node_name}" if state.node_name else "Galera node"
    line = f"{who} is {'healthy' if verdict.healthy else 'not healthy'}: {reason}"
    transfer = report.transfer if report.transfer and report.transfer.live else None
    if transfer is not None:  # a joiner's or donor's 503 with how far it got (no peer address unless detailed)
        line += f"; in transfer: {describe_transfer(transfer) if detailed else transfer_words(transfer)}"
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
        "read_only": state.read_only,
        "maint_mode": state.maint_mode,
        "donor_rejects_queries": state.donor_rejects_queries,
        "writer": None if report.writer is None else report.writer.healthy,
        "history_reset": history_reset(state) is not None,  # docs/INIT.md, "A history reset"
        "data_valid": report.valid,
        "data_age": report.age,
        "transfer": None if transfer is None else {
            "role": transfer.role.value, "state": transfer.state.value, "method": transfer.method,
            "percent": transfer.percent, "seconds_left": transfer.seconds_left, "still": transfer.still},
    }
    return (200 if verdict.healthy else 503), line, document


def transfer_words(transfer: Transfer) -> str:
    """A transfer under way in fixed words and numbers: side, method, state, percent, time left."""
    words = [f"{transfer.method} {transfer.role.value}, {transfer.state.value}"]
    if transfer.percent is not None:
        words.append(f"{transfer.percent} %")
    if transfer.seconds_left is not None and transfer.state is TransferState.RUNNING:
        words.append(f"ETA {transfer.seconds_left} s")
    return ", ".join(words)


WRITER_PATH = "/writer"


def describe_writer(report: NodeReport | None, detailed: bool = False) -> tuple[int, str, dict[str, object]]:
    """/writer: 200 on the one writer (cluster/writer.py), 503 elsewhere and when not known. Why
    not, only when ``detailed``: the writer rule quotes this node's and its peers' failures."""
    if report is None or report.writer is None:
        reason = "no report yet" if report is None else "the writer is not known (no peer watch)"
        return 503, f"not the writer: {reason}", {"writer": False, "reason": reason}
    verdict = report.writer
    who = f"Galera node {report.state.node_name}" if report.state.node_name else "Galera node"
    reason = verdict.reason if detailed or verdict.healthy else "another node is, or none may be"
    line = f"{who} is the writer" if verdict.healthy else f"{who} is not the writer: {reason}"
    return (200 if verdict.healthy else 503), line, {"writer": bool(verdict.healthy), "reason": reason}


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
    path: str  # the target's path, parsed once
    headers: Mapping[str, str]  # names in lower case

    @property
    def wants_json(self) -> bool:
        return self.path.rstrip("/") == "/json" or "application/json" in self.headers.get("accept", "")


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
    try:
        path = urlsplit(parts[1]).path
    except ValueError:  # "//[": an IPv6 authority that never closes
        raise BadRequest("malformed request target") from None
    headers: dict[str, str] = {}
    for field in fields:
        name, colon, value = field.partition(":")
        if not (colon and TOKEN.fullmatch(name) and FIELD_VALUE.fullmatch(value)):
            raise BadRequest("malformed header line")
        headers[name.lower()] = value.strip(" \t")
    return Request(parts[0], parts[1], path, headers)


# --- the response ------------------------------------------------------------------------------


def response(code: int, kind: str, body: bytes, with_body: bool = True, extra: str = "") -> bytes:
    """A whole response (``extra``: more header lines, each ending in CRLF). Every one closes the
    connection, as clustercheck's did: a check is one request."""
    head = (
        f"HTTP/1.1 {code} {HTTPStatus(code).phrase}\r\n"
        f"Server: galera-snmp\r\nDate: {formatdate(usegmt=True)}\r\n"
        f"Content-Type: {kind}\r\nContent-Length: {len(body)}\r\n{extra}"
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
    if request.path.rstrip("/") == WRITER_PATH:
        code, line, document = describe_writer(report, detailed)
    else:
        code, line, document = describe(report, detailed)
    if request.wants_json:
        body, kind = (json.dumps(document) + "\n").encode(), "application/json"
    else:
        body, kind = (line + "\r\n").encode(), "text/plain; charset=utf-8"
    return response(code, kind, body, with_body=request.method != "HEAD")


METRICS_PATH = "/metrics"


def metrics_answer(request: Request, collector: ReportCollector, auth: Authenticator | None = None) -> bytes:
    """/metrics ([metrics]): the current report as Prometheus text or OpenMetrics, as the
    scraper's Accept header asks; 503 before the first report; 401 without the credentials the
    web config asks for. Formats the report the agent holds: a scrape never reaches mysqld."""
    if auth is not None and not auth.allows(request.headers.get("authorization")):
        return response(401, "text/plain; charset=utf-8", b"Unauthorized\r\n",
                        extra='WWW-Authenticate: Basic realm="galera-snmp", charset="UTF-8"\r\n')
    if request.path != METRICS_PATH:
        return error_response(404, f"this endpoint serves {METRICS_PATH}")
    if request.method not in METHODS:
        return error_response(501, f"this endpoint answers {', '.join(METHODS)}")
    if collector.current() is None:
        return response(503, "text/plain; charset=utf-8", b"Galera node metrics are not known yet\r\n",
                        with_body=request.method != "HEAD")
    from ..metrics import exposition

    body, kind = exposition(collector, request.headers.get("accept", ""))
    return response(200, kind, body, with_body=request.method != "HEAD")


# --- the server --------------------------------------------------------------------------------


class HealthServer(BoundedServer):
    """The endpoint on one thread (tcpserver.BoundedServer): binds at construction (a taken port
    fails the agent's start), serves from start() until stop()."""

    def __init__(self, config: HttpConfig, current: Callable[[], NodeReport | None]) -> None:
        self.config = config
        self.current = current
        super().__init__("HTTP health endpoint", self.reply, address=config.address, port=config.port,
                         max_connections=config.max_connections, timeout=config.request_timeout, limit=HEAD_LIMIT)

    def reply(self, received: bytes, waited: bool) -> bytes | None:
        """The response once the head is complete (or too long); None while more may come."""
        request = complete_request(received)
        if isinstance(request, bytes | None):
            return request
        return answer(request, self.current(), self.config.detailed_reasons)


def complete_request(received: bytes) -> Request | bytes | None:
    """The request once its head is complete; a 400 response for a bad one; None while more may come."""
    end = END_OF_HEAD.search(received)
    if end is None and len(received) <= HEAD_LIMIT:
        return None
    try:
        return parse_request(received if end is None else received[: end.start()])
    except BadRequest as err:
        return error_response(400, str(err))


class MetricsServer(BoundedServer):
    """/metrics on a listener of its own ([metrics]): the address the operator named, TLS and
    basic authentication as the web config says (webconfig.py)."""

    def __init__(self, config: MetricsConfig, current: Callable[[], NodeReport | None]) -> None:
        from .. import webconfig
        from ..metrics import ReportCollector  # only here: an agent without /metrics never loads the library

        web = webconfig.load(config.web_config) if config.web_config else webconfig.WebConfig()
        self.auth = webconfig.Authenticator(web.users) if web.users else None
        self.collector = ReportCollector(current, config.detailed_reasons, short_reason)
        super().__init__("metrics endpoint", self.reply, address=config.address, port=config.port,
                         max_connections=config.max_connections, timeout=config.request_timeout, limit=HEAD_LIMIT,
                         tls=web.tls)

    def reply(self, received: bytes, waited: bool) -> bytes | None:
        request = complete_request(received)
        if isinstance(request, bytes | None):
            return request
        return metrics_answer(request, self.collector, self.auth)
