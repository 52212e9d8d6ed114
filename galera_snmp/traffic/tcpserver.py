"""A small TCP server for the agent's check endpoints (HTTP, HAProxy's agent-check), bounded
because they face the network unauthenticated.

One thread serves every connection from a selector (an idle client costs a file descriptor, not
a thread); a connection lives at most ``timeout`` from accept to close however slowly it
trickles; what a client sends is bounded; and at ``max_connections`` the oldest connection is
closed to admit the new one, so a flood of idle clients cannot lock out the load balancer: its
check asks as soon as it connects, and an arrived request is answered before more connections
are accepted. The protocol is one function: what has been received (and whether waiting for
more is over) → the whole answer, or None for "not yet". With a TLS context every connection is
TLS, its handshake done on the same loop within the same deadline.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

log = logging.getLogger(__name__)

RECV_SIZE = 4096
ACCEPT_BATCH = 64  # connections accepted per loop turn: a connect flood cannot starve clients already connected
ACCEPT_PAUSE = 0.1  # seconds without accepting when accept() fails and there is no connection to give up
WARN_EVERY = 60.0  # seconds: a flood must not flood the log too

# received so far, and whether the wait for more is over → the answer, or None to wait for more
Reply = Callable[[bytes, bool], "bytes | None"]


class _Connection:
    """One client: what it sent so far, the answer still to send, and its times."""

    __slots__ = ("answer_at", "deadline", "handshaking", "inbox", "outbox", "sock")

    def __init__(self, sock: socket.socket, deadline: float, answer_at: float | None) -> None:
        self.sock = sock
        self.handshaking = isinstance(sock, ssl.SSLSocket)
        self.deadline = deadline
        self.answer_at = answer_at  # when to answer whatever has arrived (None: only when complete)
        self.inbox = bytearray()
        self.outbox: bytes | None = None  # None: still reading; b"": answered, waiting for the client to close


class BoundedServer:
    """Binds at construction (a taken port fails the agent's start), serves from start() until stop().

    ``limit``: bytes a client may send before its request counts as complete (``reply`` is then
    called with ``waited``). ``answer_after``: seconds after which ``reply`` is called with
    ``waited`` whatever arrived (a protocol where the client may say nothing)."""

    def __init__(self, name: str, reply: Reply, *, address: str, port: int, max_connections: int, timeout: float,
                 limit: int, answer_after: float | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.name = name
        self._tls = tls
        self.max_connections = max_connections
        self.timeout = timeout
        self._reply = reply
        self._limit = limit
        self._answer_after = answer_after
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((address, port))
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
        self._thread = threading.Thread(target=self.serve, name=self.name, daemon=True)
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
                for key, mask in self._selector.select(self._wait()):
                    if key.fileobj is self._listener:
                        accept = True
                    elif key.data is not None:
                        try:
                            self._serve_client(key.data, mask)
                        except Exception as err:  # noqa: BLE001 - a bug of ours: one client lost, not the server
                            # one line, at most once a minute: a client that can trigger it must not fill the log
                            self._warn(f"failed to serve a client: {type(err).__name__}: {err}")
                            self._close(key.data)
                if accept:
                    self._accept()
                self._on_time(time.monotonic())
        finally:
            self._close_all()

    def _wait(self) -> float | None:
        """Until the next deadline, answer time or end of an accept pause; None: nothing is due."""
        due = [next(iter(self._connections.values())).deadline] if self._connections else []
        due += [c.answer_at for c in self._connections.values() if c.answer_at is not None and c.outbox is None]
        if self._accept_paused_until is not None:
            due.append(self._accept_paused_until)
        return max(0.0, min(due) - time.monotonic()) if due else None

    def _accept(self) -> None:
        for _ in range(min(ACCEPT_BATCH, self.max_connections)):  # never evict what this turn took
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
            if len(self._connections) >= self.max_connections:
                self._warn(f"max_connections ({self.max_connections}) reached: closing the oldest connections")
                self._close(next(iter(self._connections.values())))
            sock.setblocking(False)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            now = time.monotonic()
            answer_at = None if self._answer_after is None else now + self._answer_after
            conn = _Connection(sock, now + self.timeout, answer_at)
            self._connections[sock] = conn
            self._selector.register(sock, selectors.EVENT_READ, conn)

    def _serve_client(self, conn: _Connection, mask: int) -> None:
        if conn.handshaking:
            if not self._handshake(conn):
                return
        elif mask & selectors.EVENT_WRITE:
            self._send(conn)
            return
        try:
            data = conn.sock.recv(RECV_SIZE)
            while isinstance(conn.sock, ssl.SSLSocket) and conn.sock.pending() and len(data) <= self._limit:
                data += conn.sock.recv(RECV_SIZE)  # decrypted already: no selector event will say so
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except OSError:  # reset by the client, or not TLS: it is gone
            data = b""
        if not data:
            self._close(conn)
        elif conn.outbox is None:
            conn.inbox += data
            self._answer(conn, waited=len(conn.inbox) > self._limit)
        # else answered: what the client still sends is dropped until it closes or its deadline

    def _handshake(self, conn: _Connection) -> bool:
        """One step of the TLS handshake; True once it is done."""
        try:
            conn.sock.do_handshake()  # type: ignore[attr-defined]
        except ssl.SSLWantReadError:
            self._selector.modify(conn.sock, selectors.EVENT_READ, conn)
            return False
        except ssl.SSLWantWriteError:
            self._selector.modify(conn.sock, selectors.EVENT_WRITE, conn)
            return False
        except OSError:  # not TLS, a certificate refused, a reset: one client gone, nothing logged
            self._close(conn)
            return False
        conn.handshaking = False
        self._selector.modify(conn.sock, selectors.EVENT_READ, conn)
        return True

    def _answer(self, conn: _Connection, waited: bool) -> None:
        reply = self._reply(bytes(conn.inbox), waited)
        if reply is not None:
            conn.outbox = reply
            self._send(conn)
        elif waited:
            self._close(conn)

    def _send(self, conn: _Connection) -> None:
        assert conn.outbox is not None
        try:
            sent = conn.sock.send(conn.outbox)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
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
        """Answer what is due, close the connections past their deadline, accept again after a pause."""
        for conn in list(self._connections.values()):
            if conn.outbox is None and conn.answer_at is not None and conn.answer_at <= now:
                self._answer(conn, waited=True)
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
            log.warning("%s: %s (said at most once a minute)", self.name, what)
