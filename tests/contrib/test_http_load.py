"""Acceptance under abuse for the HTTP health endpoint: 500 clients trickling a request one byte
a second and 1000 idle connections at once. A normal check must still get the right answer,
fast, from the endpoint's one thread, and every file descriptor must come back. Real sockets on
127.0.0.1, a fake report provider: no Galera needed."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import statistics
import threading
import time
from collections.abc import Iterator

import pytest
from support import free_tcp_port, http_get, synced_state

from galera_snmp.config import HttpConfig
from galera_snmp.dev.base import wait_for
from galera_snmp.state import Health, HealthCode, NodeReport
from galera_snmp.traffic.httpcheck import HealthServer

IDLE = 1000
TRICKLING = 500
CHECKS = 20
MEDIAN_BOUND = 0.010  # seconds: the contrib acceptance bound for a normal check under the flood
TRICKLE_PERIOD = 1.0  # seconds between two bytes of one trickling client
TRICKLE = b"GET / HTTP/1.1\r\nX-Trickle: " + b"a" * 100  # longer than any client lives here: never finished
FD_DIR = "/proc/self/fd"
REPORT = NodeReport(synced_state(), Health(True, "Synced, Primary, ready", HealthCode.SYNCED), True, 0)
ANSWER = (200, "text/plain; charset=utf-8", "Galera node node1 is healthy: Synced, Primary, ready\r\n")

pytestmark = pytest.mark.skipif(not os.path.isdir(FD_DIR), reason="counts open files in /proc/self/fd (Linux)")


def open_fds() -> int:
    return len(os.listdir(FD_DIR))


@contextlib.contextmanager
def open_files_limit(needed: int) -> Iterator[None]:
    """Raise this process's soft RLIMIT_NOFILE to ``needed`` for the test, and restore it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


class Flood:
    """The abusive clients: idle ones that connect and say nothing, and trickling ones that send
    one byte of a never-finished request every TRICKLE_PERIOD (spread evenly over the period)."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        self.idle: list[socket.socket] = []
        self.trickling: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, name="trickle", daemon=True)

    @property
    def sockets(self) -> list[socket.socket]:
        return self.idle + self.trickling

    def open(self, idle: int, trickling: int) -> None:
        for group, count in ((self.idle, idle), (self.trickling, trickling)):
            for _ in range(count):
                sock = socket.create_connection(self.address, timeout=5)
                group.append(sock)
                sock.setblocking(False)  # nothing here may wait on one client
        self._thread.start()

    def _trickle(self) -> None:
        position = 0
        while not self._stop.is_set():
            for sock in self.trickling:
                if self._stop.wait(TRICKLE_PERIOD / len(self.trickling)):
                    return
                with contextlib.suppress(OSError):  # closed by the server: it gave way to a newer one
                    sock.send(TRICKLE[position : position + 1])
            position = (position + 1) % len(TRICKLE)

    def closed_by_server(self) -> int:
        """How many of the clients the server has closed (an idle client is never sent data)."""
        closed = 0
        for sock in self.sockets:
            try:
                closed += sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed += 1
        return closed

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for sock in self.sockets:
            sock.close()


def normal_checks(address: tuple[str, int]) -> list[float]:
    """CHECKS checks as HAProxy makes them, one after the other; each must get the healthy answer."""
    timings = []
    for _ in range(CHECKS):
        started = time.perf_counter()
        answer = http_get(*address)
        timings.append(time.perf_counter() - started)
        assert answer == ANSWER
    return timings


@pytest.mark.parametrize(
    ("max_connections", "request_timeout"),
    [(IDLE + TRICKLING + CHECKS, 5.0), (HttpConfig.max_connections, HttpConfig.request_timeout)],
    ids=["all-held-until-the-deadline", "over-the-default-cap"],
)
def test_a_flood_neither_starves_the_check_nor_costs_threads_or_descriptors(
    max_connections: int, request_timeout: float, record_property
) -> None:
    clients = IDLE + TRICKLING
    with contextlib.ExitStack() as cleanup:
        cleanup.enter_context(open_files_limit(2 * (clients + CHECKS) + 1024))
        threads = threading.active_count()
        config = HttpConfig(
            enabled=True,
            address="127.0.0.1",
            port=free_tcp_port(),
            max_connections=max_connections,
            request_timeout=request_timeout,
        )
        server = HealthServer(config, lambda: REPORT)
        cleanup.callback(server.stop)
        address = server.server_address[:2]
        server.start()
        baseline = open_fds()  # the server's listener, selector and waker are in; no client, no connection
        assert http_get(*address) == ANSWER

        flood = Flood(address)
        cleanup.callback(flood.close)  # every client socket, even when an assertion fails

        def held() -> int:
            """Connections the server holds: open descriptors past the baseline that are not our clients."""
            return open_fds() - baseline - len(flood.sockets)

        started = time.monotonic()
        flood.open(IDLE, TRICKLING)
        if max_connections >= clients:
            wait_for(lambda: held() == clients, 10, f"the server to hold all {clients} connections", interval=0.01)
        else:  # each connection over the cap made the oldest give way
            wait_for(
                lambda: flood.closed_by_server() >= clients - max_connections,
                10,
                f"the server to close all but {max_connections} of the clients",
                interval=0.01,
            )
        assert held() <= max_connections

        timings = normal_checks(address)
        median = statistics.median(timings)
        record_property("median_check_ms", round(median * 1000, 3))
        record_property("max_check_ms", round(max(timings) * 1000, 3))
        assert time.monotonic() - started < request_timeout, "the checks were not made while the flood was held"
        assert threading.active_count() <= threads + 2  # the server's one thread and the trickler
        assert median < MEDIAN_BOUND, f"median of {CHECKS} checks {median * 1000:.2f} ms"
        # the deadline ends idle and trickling clients alike
        wait_for(lambda: flood.closed_by_server() == clients, request_timeout + 5, "the deadline", interval=0.05)
        assert http_get(*address) == ANSWER  # the verdict is the report's, flood or not

        flood.close()
        wait_for(lambda: open_fds() == baseline, 5, "the descriptors to come back", interval=0.01)
