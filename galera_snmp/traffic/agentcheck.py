"""HAProxy's agent-check, answered from the agent's current report (no MySQL round trip).

HAProxy connects to the agent port, may send a line (``agent-send``), and reads one line of
words. Only the agent can undo what it said, so every answer states both the operating state
(``up``, or ``down``, then a reason after `` #``) and the administrative state (``ready`` or
``drain``):

- healthy: ``up ready N%``, the weight falling from 100 % at rest to ``floor`` % as the receive
  queue nears ``queue_full`` write-sets or flow control pauses the node ``paused_full`` of the
  time over the agent's window (derived.py; whichever is worse) — a node that lags gets
  fewer new clients before it slows the cluster;
- drained (``galera-snmp drain``, ``pxc_maint_mode``) but otherwise healthy: ``up drain``:
  the sessions it has stay, no new ones come;
- anything else: ``ready down #<reason>``.

``agent-send "writer\n"`` asks the writer question instead (cluster/writer.py): ``up ready 100%``
on the writer, ``ready down #<reason>`` elsewhere. Without a line the health answer comes after
``LINE_WAIT`` seconds.
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import AgentCheckConfig
from ..state import DRAINING, NodeReport
from .httpcheck import served_reason
from .tcpserver import BoundedServer

LINE_WAIT = 0.1  # seconds for HAProxy's agent-send line, sent at once on connect when configured
LINE_LIMIT = 64
REASON_LIMIT = 200  # the stats page shows it; HAProxy reads one line


def weight(recv_queue: int | None, paused_share: float | None, config: AgentCheckConfig) -> int:
    """The weight in percent for a healthy node: 100 at rest, ``floor`` at full load."""
    load = max(min(1.0, (recv_queue or 0) / config.queue_full), min(1.0, (paused_share or 0.0) / config.paused_full))
    return round(100 - (100 - config.floor) * load)


def health_reply(report: NodeReport | None, config: AgentCheckConfig) -> str:
    """The answer to a plain agent-check (module docstring); "drain" when the verdict's step is
    one of the rule's last (DRAINING): every step before it passed."""
    if report is None:
        return _down("no report yet")
    verdict = report.verdict()
    if verdict.healthy:
        depth = report.state.wsrep_int("wsrep_local_recv_queue")
        share = report.window.paused_share if report.window is not None else None
        return f"up ready {weight(depth, share, config)}%\n"
    if verdict.code in DRAINING:
        return "up drain\n"
    return _down(served_reason(report, config.detailed_reasons))


def writer_reply(report: NodeReport | None, detailed: bool = False) -> str:
    """The answer to ``writer``: up on the one writer only. Why not, only when ``detailed``: the
    writer rule quotes this node's and its peers' failures."""
    if report is None or report.writer is None:
        return _down("the writer is not known" + (" (no peer watch: see the agent's log)" if detailed else ""))
    if report.writer.healthy:
        return "up ready 100%\n"
    return _down(report.writer.reason if detailed else "not the writer")


def _down(reason: str) -> str:
    words = " ".join(reason.replace("#", " ").split())[:REASON_LIMIT]
    return f"ready down #{words}\n"


class AgentCheckServer(BoundedServer):
    """The agent-check port on one thread, bounded like the HTTP endpoint (tcpserver.py)."""

    def __init__(self, config: AgentCheckConfig, current: Callable[[], NodeReport | None]) -> None:
        self.config = config
        self.current = current
        super().__init__("HAProxy agent-check", self.reply, address=config.address, port=config.port,
                         max_connections=config.max_connections, timeout=config.request_timeout, limit=LINE_LIMIT,
                         answer_after=LINE_WAIT)

    def reply(self, received: bytes, waited: bool) -> bytes | None:
        """The answer once a line arrived (or none came in time)."""
        if b"\n" not in received and not waited:
            return None
        question = received.split(b"\n", 1)[0].strip().lower()
        report = self.current()
        if question == b"writer":
            return writer_reply(report, self.config.detailed_reasons).encode()
        return health_reply(report, self.config).encode()
