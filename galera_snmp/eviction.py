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

This module is the protocol and the rule, without I/O; the agent wires the socket and mysqld
(agent.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
from collections import OrderedDict
from collections.abc import Sequence

from .init.nodeset import normalise
from .record import record
from .state import Member, is_uuid

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
