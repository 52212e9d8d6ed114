"""Crash eviction: writes back in well under a second after a mysqld crash.

When a member of a Primary component dies, Galera holds every commit until the others have
suspected it (evs.suspect_timeout, 5 s by default): silence is all they have. The agent on the
crashed node has more: its pidfd says the mysqld *exited*, a certainty, within milliseconds. It
tells the other nodes' agents at once — a datagram authenticated with the cluster's key, naming
the dead member's gcomm UUID — and each of them asks its own mysqld to evict that member
(``evs.evict``): a new view forms in tens of milliseconds and commits go on.

Only a certain death is acted on. A hung or suspended mysqld exits nothing, so it is never
evicted by us; a power loss or a network partition leaves no agent to tell (Galera's timeouts
stay). A notice counts only when every check holds (:func:`judge`): sealed with the key, fresh,
never seen before, sent from the address of the node it names, about a member of this node's
current view whose address is that node's, while this node is in a Primary component. A
restarted node has a new gcomm UUID, so a late notice never touches it.

The protocol and the rule are pure functions (seal, unseal, judge); :class:`Evictor` is the
agent's side of it: a socket, the notices it sends, the evictions it makes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import secrets
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from .address import normalise
from .cluster.peers import find_cluster
from .config import Config, ConfigError, read_private
from .node.provider import AdminError, set_provider_option
from .record import record
from .state import ZERO_UUID, Member, NodeReport, is_uuid

log = logging.getLogger(__name__)

MAGIC = b"GSEV1"
MAX_DATAGRAM = 512  # a notice is about 200 octets; anything longer is not one
FRESH = 5.0  # seconds a notice stays believable (clocks of the nodes agree to NTP's margin)
KEY_BYTES = 32
SEAL = hashlib.sha256


class NoticeError(ValueError):
    """A datagram that is not a genuine notice, with why."""


@record
class Notice:
    """Node ``sender``'s mysqld, gcomm UUID ``member``, exited at ``at`` (Unix time)."""

    sender: str
    member: str
    at: float
    nonce: str


def new_notice(sender: str, member: str, at: float) -> Notice:
    return Notice(normalise(sender), member.lower(), at, secrets.token_hex(16))


def seal(notice: Notice, key: bytes) -> bytes:
    payload = json.dumps({"sender": notice.sender, "member": notice.member, "at": notice.at, "nonce": notice.nonce},
                         sort_keys=True, separators=(",", ":")).encode()
    return MAGIC + payload + hmac.new(key, MAGIC + payload, SEAL).digest()


def unseal(data: bytes, key: bytes) -> Notice:
    """The notice in ``data``; NoticeError unless it is whole, sealed with ``key`` and well-formed."""
    size = SEAL().digest_size
    if len(data) > MAX_DATAGRAM or len(data) < len(MAGIC) + size or not data.startswith(MAGIC):
        raise NoticeError("not a crash notice")
    signed, mac = data[:-size], data[-size:]
    if not hmac.compare_digest(mac, hmac.new(key, signed, SEAL).digest()):
        raise NoticeError("not sealed with the cluster's key")
    try:
        doc = json.loads(signed[len(MAGIC):])
        notice = Notice(doc["sender"], doc["member"], doc["at"], doc["nonce"])
    except (ValueError, KeyError, TypeError) as err:
        raise NoticeError(f"a sealed notice that does not parse: {err}") from None
    if not (isinstance(notice.sender, str) and isinstance(notice.member, str) and is_uuid(notice.member)
            and type(notice.at) in (int, float) and math.isfinite(notice.at) and isinstance(notice.nonce, str)
            and 16 <= len(notice.nonce) <= 64):
        raise NoticeError("a sealed notice with fields of the wrong kind")
    return notice


class Seen:
    """The nonces of the notices acted on (or refused) lately: a replay within FRESH is refused."""

    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit
        self._nonces: OrderedDict[str, float] = OrderedDict()

    def add(self, nonce: str, now: float) -> bool:
        """True the first time ``nonce`` comes; old ones are forgotten."""
        while self._nonces and (len(self._nonces) >= self.limit or now - next(iter(self._nonces.values())) > 2 * FRESH):
            self._nonces.popitem(last=False)
        if nonce in self._nonces:
            return False
        self._nonces[nonce] = now
        return True


def judge(notice: Notice, source: str, now: float, *, me: str, nodes: Sequence[str],
          members: Sequence[Member] | None, primary: bool, evicted: set[str]) -> str | None:
    """Why this node must not evict ``notice.member`` (None: evict it). ``source``: the address the
    datagram came from; ``members``: this node's current view; ``evicted``: members it already
    evicted. The nonce check (Seen) comes before: a replay never gets this far."""
    sender = normalise(notice.sender)
    if sender not in nodes or sender == me:
        return f"{notice.sender} is not another node of this cluster"
    if normalise(source) != sender:
        return f"the notice about {sender} came from {source}"
    if abs(now - notice.at) > FRESH:
        return f"a stale notice ({now - notice.at:+.1f} s old)"
    if notice.member in evicted:
        return f"{notice.member} is evicted already"
    if not primary:
        return "this node is not in a Primary component"
    if members is None:
        return "this node's view is not known"
    member = next((m for m in members if m.uuid.lower() == notice.member), None)
    if member is None:
        return f"{notice.member} is not in this node's view (gone already, or restarted under a new identity)"
    if normalise(member.address) != sender:
        return f"{notice.member} is {member.address} in this node's view, not {sender}"
    return None


def forgettable(report: NodeReport | None, evicted: set[str]) -> frozenset[str]:
    """The members on this node's evict list (wsrep_evs_evict_list) when all of them are in
    ``evicted`` (evicted by this agent after their crash) and its Primary view holds none of
    them: those evictions are done and the list can be cleared. Empty otherwise."""
    if report is None or not report.valid or not report.state.in_primary or report.state.members is None:
        return frozenset()
    value = report.state.wsrep.get("wsrep_evs_evict_list")
    listed = frozenset(e.strip().lower() for e in (value.raw if value is not None else "").split(",") if e.strip())
    if not listed <= evicted or any(m.uuid.lower() in listed for m in report.state.members):
        return frozenset()
    return listed


# --- the agent's side ---------------------------------------------------------------------------

SEND_COPIES = 2  # each notice goes out twice (a lost datagram costs Galera's 5 s); receivers keep one
SEND_GAP = 0.02
WARN_EVERY = 60.0


IP_FREEBIND, IPV6_FREEBIND = 15, 78  # linux/in.h, linux/in6.h (Python 3.11 names neither)


def notice_socket(host: str, port: int) -> socket.socket:
    """A UDP socket bound to ``host``:``port``, also while ``host`` is not on an interface yet: at
    boot the agent can start before the network has configured it (a new IPv6 address stays
    tentative for a second or two), and a refused bind would leave crash eviction off for the
    agent's whole life. The notices sent from it come from ``host``, as judge() requires."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def load_key(path: Path) -> bytes:
    """The cluster's key: a private file holding KEY_BYTES random octets in hex (openssl rand -hex 32)."""
    text = read_private(path, "crash eviction key").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ConfigError(f"crash eviction key {path}: not hexadecimal (make it with: openssl rand -hex 32)") from None
    if len(key) < KEY_BYTES:
        raise ConfigError(f"crash eviction key {path}: {len(key)} octets, at least {KEY_BYTES} needed")
    return key


def own_member(report: NodeReport | None) -> str | None:
    """This node's gcomm UUID, as its last report has it (wsrep_gcomm_uuid)."""
    value = report.state.wsrep.get("wsrep_gcomm_uuid") if report is not None else None
    raw = value.raw.strip().lower() if value is not None else ""
    return raw if is_uuid(raw) and raw != ZERO_UUID else None


class Evictor:
    """Sends a notice when this node's mysqld exits; evicts the members other nodes report dead.
    ``current()``: this node's report now; ``record(text)``: an eviction made, for the MIB."""

    def __init__(self, config: Config, current: Callable[[], NodeReport | None],
                 record: Callable[[str], None]) -> None:
        """ConfigError when the key, the nodes or the address cannot be had."""
        assert config.cluster.evict_key is not None
        self.config = config
        self.key = load_key(config.cluster.evict_key)
        cluster = find_cluster(config)
        self.me, self.nodes = cluster.nodes[cluster.me], cluster.nodes
        self.port = config.cluster.evict_port
        self.current, self.record = current, record
        self.seen = Seen()
        self.evicted: set[str] = set()
        self._warned_at: float | None = None
        self._cleared: frozenset[str] = frozenset()  # the list last cleared (the report shows it a while)
        try:
            self.sock = notice_socket(self.me, self.port)
        except OSError as err:
            where = f"{self.me} port {self.port}"
            raise ConfigError(f"cannot listen for crash notices on {where}: {err.strerror}") from None

    def announce(self, report: NodeReport | None) -> None:
        """This node's mysqld exited: tell every other node's agent, now."""
        member = own_member(report)
        if member is None:
            log.warning("mysqld exited, but its gcomm UUID is not known: no crash notice sent")
            return
        data = seal(new_notice(self.me, member, time.time()), self.key)
        for copy in range(SEND_COPIES):
            if copy:
                time.sleep(SEND_GAP)
            for node in self.nodes:
                if node != self.me:
                    try:
                        self.sock.sendto(data, (node, self.port))
                    except OSError as err:
                        self._warn(f"cannot send a crash notice to {node}: {err.strerror}")
        log.info("mysqld exited: crash notice about %s sent to %d nodes", member, len(self.nodes) - 1)

    def serve(self, stop: threading.Event) -> None:
        """Take notices until ``stop``; between them, keep the evict list tidy. Nothing ends it
        but ``stop``: an error it did not foresee is logged with its traceback and the next
        notice is taken (a dead thread would leave this node without crash eviction, silently)."""
        self.sock.settimeout(0.2)
        while not stop.is_set():
            try:
                self._serve_once(stop)
            except Exception as err:  # noqa: BLE001 - logged whole; the thread must go on
                self._warn(f"crash eviction: unexpected {type(err).__name__}: {err}", trace=True)
                stop.wait(0.2)  # an error that repeats must not spin

    def _serve_once(self, stop: threading.Event) -> None:
        self.tidy()
        try:
            data, address = self.sock.recvfrom(MAX_DATAGRAM + 1)
        except TimeoutError:
            return
        except OSError as err:
            self._warn(f"crash notices: {err.strerror}")
            stop.wait(0.2)
            return
        self.take(data, address[0])

    def take(self, data: bytes, source: str) -> str | None:
        """Act on one datagram; the eviction made (as recorded), or None."""
        now = time.time()
        try:
            notice = unseal(data, self.key)
        except NoticeError as err:
            self._warn(f"a datagram from {source} refused: {err}")
            return None
        if not self.seen.add(notice.nonce, now):
            return None  # a copy, or a replay: never twice
        report = self.current()
        why = judge(notice, source, now, me=self.me, nodes=self.nodes,
                    members=report.state.members if report is not None and report.valid else None,
                    primary=report is not None and report.valid is True and report.state.in_primary,
                    evicted=self.evicted)
        if why is not None:
            log.info("crash notice from %s about %s not acted on: %s", source, notice.member, why)
            return None
        try:
            statement = set_provider_option(self.config, "evs.evict", notice.member)
        except AdminError as err:
            log.warning("%s's mysqld exited, but evicting %s failed: %s", notice.sender, notice.member, err)
            return None
        self.evicted.add(notice.member)
        took = time.time() - notice.at
        text = (f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(now))}: {notice.member} ({notice.sender}) "
                f"evicted, {took * 1000:.0f} ms after its mysqld exited")
        log.warning("%s (%s)", text, statement)
        self.record(text)
        return text

    def tidy(self) -> None:
        """Clear Galera's evict list once this node's Primary view has left every member on it
        behind. An evicted member stays in the group's memory while it is listed, and the next
        view change waits for it (suspect timeout, 5 s, measured); clearing while a view still
        forms un-evicts it. Only a list of members this agent evicted after their crash is
        cleared: an operator's evs.evict, or Galera's own (evs.auto_evict), is never undone."""
        listed = forgettable(self.current(), self.evicted)
        if not listed or listed == self._cleared:
            return
        try:
            set_provider_option(self.config, "evs.evict", "")
        except AdminError as err:
            self._warn(f"cannot clear the evict list of {', '.join(sorted(listed))}: {err}")
            return
        self._cleared = listed
        log.info("evict list cleared of %s: no longer in the view", ", ".join(sorted(listed)))

    def close(self) -> None:
        self.sock.close()

    def _warn(self, what: str, *, trace: bool = False) -> None:
        """One line a minute at most: datagrams from the network must not fill the log."""
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            log.warning("%s (said at most once a minute)", what, exc_info=trace)
