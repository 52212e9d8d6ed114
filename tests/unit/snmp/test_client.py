"""galera_snmp.snmp.client against a fake UDP agent that answers with crafted datagrams.

The fake agent reads requests and writes answers with pysnmp's codec, not ours, so that the
client's codec is checked against an independent one on every exchange.
"""

from __future__ import annotations

import queue
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from support import pysnmp_response

from galera_snmp.snmp.client import Client, Missing, SnmpError, SnmpTimeout, Target

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyasn1.codec.ber import decoder
    from pysnmp.proto import api, rfc1902, rfc1905
    from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
SYS = (1, 3, 6, 1, 2, 1, 1)
SYS_DESCR = (*SYS, 1, 0)
SYS_UPTIME = (*SYS, 3, 0)
SECRETS = {"community": "s3cret-community", "auth_password": "auth-s3cret", "priv_password": "priv-s3cret"}
V3 = {"version": "3", "user": "galeramon", "auth_password": "auth-s3cret", "priv_password": "priv-s3cret"}


@dataclass
class Request:
    raw: bytes
    request_id: int | None = None
    community: bytes | None = None
    kind: str | None = None  # GetRequestPDU, GetBulkRequestPDU...
    oids: list | None = None
    max_repetitions: int | None = None


def parse(data: bytes) -> Request:
    """An SNMPv2c request as pysnmp reads it; anything else (SNMPv3) stays raw."""
    try:
        message, _ = decoder.decode(data, asn1Spec=V2C.Message())
    except Exception:  # noqa: BLE001 - not v2c: keep the octets for the test to look at
        return Request(data)
    pdu = V2C.apiMessage.get_pdu(message)
    kind = type(pdu).__name__
    return Request(
        data,
        int(V2C.apiPDU.get_request_id(pdu)),
        bytes(V2C.apiMessage.get_community(message)),
        kind,
        [tuple(oid) for oid, _ in V2C.apiPDU.get_varbinds(pdu)],
        int(V2C.apiBulkPDU.get_max_repetitions(pdu)) if kind == "GetBulkRequestPDU" else None,
    )


def response(request_id: int | None, varbinds: list, error_status: int = 0, error_index: int = 0) -> bytes:
    return pysnmp_response(request_id, varbinds, error_status, error_index)


class FakeAgent:
    """A UDP agent on 127.0.0.1:<free port>, in a thread: every request is queued on
    ``requests`` and handed to ``answer``, whose datagrams are sent back in order."""

    def __init__(self, answer: Callable[[Request], list[bytes]]) -> None:
        self.answer = answer
        self.requests: queue.Queue[Request] = queue.Queue()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            data, peer = self.sock.recvfrom(65535)
            if not data:  # close() wakes us with an empty datagram
                return
            request = parse(data)
            self.requests.put(request)
            for datagram in self.answer(request):
                self.sock.sendto(datagram, peer)

    def received(self, count: int) -> list[Request]:
        """The next ``count`` requests: those a client has already sent arrive within the second."""
        return [self.requests.get(timeout=5) for _ in range(count)]

    def close(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as waker:
            waker.sendto(b"", ("127.0.0.1", self.port))
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def agent_factory() -> Iterator[Callable[[Callable[[Request], list[bytes]]], FakeAgent]]:
    agents: list[FakeAgent] = []

    def start(answer: Callable[[Request], list[bytes]]) -> FakeAgent:
        agents.append(FakeAgent(answer))
        return agents[-1]

    yield start
    for agent in agents:
        agent.close()


def target(agent: FakeAgent, **options: object) -> Target:
    return Target("127.0.0.1", agent.port, **{"timeout": 0.3, "retries": 0, **options})


# --- GET ----------------------------------------------------------------------------------------

VALUES = [
    (rfc1902.Integer32(-7), -7),
    (rfc1902.OctetString(b"node1"), b"node1"),
    (rfc1902.ObjectIdentifier((1, 3, 6, 1, 4, 1, 32473)), (1, 3, 6, 1, 4, 1, 32473)),
    (rfc1902.IpAddress("192.0.2.1"), bytes([192, 0, 2, 1])),
    (rfc1902.Counter32(2**32 - 1), 2**32 - 1),
    (rfc1902.Gauge32(12), 12),
    (rfc1902.TimeTicks(4242), 4242),
    (rfc1902.Counter64(2**64 - 1), 2**64 - 1),
    (rfc1902.Opaque(b"\x01\x02"), b"\x01\x02"),
    (rfc1905.NoSuchObject(""), Missing("NoSuchObject")),
    (rfc1905.NoSuchInstance(""), Missing("NoSuchInstance")),
]


def test_get_sends_the_community_and_returns_every_value_type(agent_factory: Callable) -> None:
    oids = [(*SYS, 9, i, 0) for i in range(len(VALUES))]
    agent = agent_factory(
        lambda r: [
            pysnmp_response(
                r.request_id, [(oid, v) for oid, (v, _) in zip(r.oids, VALUES, strict=True)], community=r.community
            )
        ]
    )
    with Client(target(agent, community="s3cret-community")) as client:
        answer = client.get(oids)
    assert answer == {oid: expected for oid, (_, expected) in zip(oids, VALUES, strict=True)}
    (request,) = agent.received(1)
    assert (request.kind, request.community, request.oids) == ("GetRequestPDU", b"s3cret-community", oids)


def test_a_late_answer_to_an_earlier_request_is_ignored(agent_factory: Callable) -> None:
    seen: list[int] = []

    def answer(request: Request) -> list[bytes]:
        seen.append(request.request_id)
        if len(seen) == 1:
            return []  # the first request times out...
        late = response(seen[0], [(SYS_UPTIME, rfc1902.TimeTicks(111))])  # ...and its answer comes now
        return [late, response(request.request_id, [(SYS_UPTIME, rfc1902.TimeTicks(222))])]

    agent = agent_factory(answer)
    with Client(target(agent)) as client:
        with pytest.raises(SnmpTimeout):
            client.get([SYS_UPTIME])
        assert client.get([SYS_UPTIME]) == {SYS_UPTIME: 222}
    assert seen[0] != seen[1]


def test_a_retry_resends_the_same_request_and_its_answer_counts(agent_factory: Callable) -> None:
    count = iter(range(100))
    agent = agent_factory(
        lambda r: [] if next(count) == 0 else [response(r.request_id, [(SYS_UPTIME, rfc1902.TimeTicks(5))])]
    )
    with Client(target(agent, timeout=0.2, retries=1)) as client:
        assert client.get([SYS_UPTIME]) == {SYS_UPTIME: 5}
    first, second = agent.received(2)
    assert first.raw == second.raw


def test_forged_answers_with_another_request_id_or_community_are_ignored(agent_factory: Callable) -> None:
    def answer(request: Request) -> list[bytes]:
        forged = [(SYS_UPTIME, rfc1902.TimeTicks(666))]
        return [
            pysnmp_response(request.request_id, forged, community=b"not-ours"),
            pysnmp_response(request.request_id ^ 1, forged, community=b"s3cret-community"),
            pysnmp_response(request.request_id, [(SYS_UPTIME, rfc1902.TimeTicks(7))], community=b"s3cret-community"),
        ]

    agent = agent_factory(answer)
    with Client(target(agent, community="s3cret-community")) as client:
        assert client.get([SYS_UPTIME]) == {SYS_UPTIME: 7}


def test_an_answer_with_another_community_alone_is_a_timeout_that_says_so(agent_factory: Callable) -> None:
    agent = agent_factory(lambda r: [pysnmp_response(r.request_id, [(SYS_UPTIME, rfc1902.TimeTicks(1))])])
    with Client(target(agent, community="s3cret-community")) as client, pytest.raises(SnmpTimeout) as info:
        client.get([SYS_UPTIME])
    assert str(info.value).endswith("ignored 1 undecodable datagram(s), last: an answer with another community")


def test_garbage_datagrams_are_ignored(agent_factory: Callable) -> None:
    def answer(request: Request) -> list[bytes]:
        good = response(request.request_id, [(SYS_DESCR, rfc1902.OctetString(b"galera"))])
        snmpv1 = good.replace(b"\x02\x01\x01", b"\x02\x01\x00", 1)  # the version field comes first
        return [b"garbage", good[:-3], good + b"\x00", snmpv1, b"\x30\x80\x00\x00", good]

    agent = agent_factory(answer)
    with Client(target(agent)) as client:
        assert client.get([SYS_DESCR]) == {SYS_DESCR: b"galera"}


def test_error_status_is_an_snmp_error_naming_it(agent_factory: Callable) -> None:
    agent = agent_factory(lambda r: [response(r.request_id, [(SYS_UPTIME, rfc1902.Null(""))], 5, 1)])
    with Client(target(agent)) as client, pytest.raises(SnmpError, match=r"genErr \(5\) at varbind 1") as caught:
        client.get([SYS_UPTIME])
    assert not isinstance(caught.value, SnmpTimeout)


def test_an_answer_lacking_a_requested_oid_is_an_error(agent_factory: Callable) -> None:
    agent = agent_factory(lambda r: [response(r.request_id, [(SYS_DESCR, rfc1902.OctetString(b"x"))])])
    with Client(target(agent)) as client, pytest.raises(SnmpError, match=r"answer lacks 1\.3\.6\.1\.2\.1\.1\.3\.0"):
        client.get([SYS_DESCR, SYS_UPTIME])


def test_no_answer_is_a_timeout_after_every_retry(agent_factory: Callable) -> None:
    agent = agent_factory(lambda r: [])
    with Client(target(agent, timeout=0.2, retries=2)) as client, pytest.raises(SnmpTimeout, match=r"3 x 0.2 s"):
        client.get([SYS_UPTIME])
    tries = agent.received(3)  # the first request and its 2 retries, each the same datagram
    assert [(r.kind, r.oids) for r in tries] == [("GetRequestPDU", [SYS_UPTIME])] * 3
    assert len({r.raw for r in tries}) == 1
    assert agent.requests.empty()


def test_a_timeout_says_how_many_undecodable_datagrams_came(agent_factory: Callable) -> None:
    agent = agent_factory(lambda r: [b"\x30\x03\x02\x01"])
    expected = r"ignored 2 undecodable datagram\(s\), last: truncated"
    with Client(target(agent, timeout=0.2, retries=1)) as client, pytest.raises(SnmpTimeout, match=expected):
        client.get([SYS_UPTIME])


def test_a_client_is_its_own_context_and_closes_its_socket_on_leaving() -> None:
    with Client(Target("127.0.0.1", 161)) as client:
        assert isinstance(client, Client)
        assert client._sock.fileno() != -1
    assert client._sock.fileno() == -1


def test_icmp_port_unreachable_is_an_error_not_a_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Client(Target("127.0.0.1", port, timeout=5, retries=0)) as client, pytest.raises(SnmpError) as caught:
        client.get([SYS_UPTIME])
    assert "refused" in str(caught.value)
    assert not isinstance(caught.value, SnmpTimeout)


@pytest.mark.parametrize("version", ["2c", "3"])
def test_an_unresolvable_host_is_an_snmp_error(version: str) -> None:
    options = V3 if version == "3" else {}
    with pytest.raises(SnmpError, match=r"cannot resolve 'no-such-host\.invalid'"):
        Client(Target("no-such-host.invalid", **options))


# --- walk ---------------------------------------------------------------------------------------

TABLE = sorted(
    [((*SYS, 1, 0), rfc1902.OctetString(b"before"))]
    + [((*SYS, 9, 1, column, row), rfc1902.Gauge32(column * 10 + row)) for column in (2, 3) for row in (1, 2, 3)]
    + [((*SYS, 10, 0), rfc1902.OctetString(b"after"))]
)


def bulk_agent(request: Request) -> list[bytes]:
    """GETBULK over TABLE as net-snmp does it: endOfMibView for what lies past the end."""
    start = request.oids[0]
    rows = [(oid, value) for oid, value in TABLE if oid > start][: request.max_repetitions]
    rows += [(rows[-1][0] if rows else start, rfc1905.EndOfMibView(""))] * (request.max_repetitions - len(rows))
    return [response(request.request_id, rows)]


def test_walk_yields_the_subtree_in_order_over_several_getbulks(agent_factory: Callable) -> None:
    agent = agent_factory(bulk_agent)
    with Client(target(agent)) as client:
        rows = list(client.walk((*SYS, 9), repetitions=4))
    assert rows == [(oid, int(value)) for oid, value in TABLE if oid[:8] == (*SYS, 9)]
    requests = agent.received(2)
    assert [(r.kind, r.max_repetitions) for r in requests] == [("GetBulkRequestPDU", 4)] * 2
    assert [r.oids for r in requests] == [[(*SYS, 9)], [(*SYS, 9, 1, 3, 1)]]  # each from the last row seen


def test_walk_stops_at_the_end_of_the_mib_view(agent_factory: Callable) -> None:
    agent = agent_factory(bulk_agent)
    with Client(target(agent)) as client:
        rows = list(client.walk(SYS, repetitions=50))
    assert [oid for oid, _ in rows] == [oid for oid, _ in TABLE]
    assert rows[-1] == ((*SYS, 10, 0), b"after")


def test_walk_stops_on_a_missing_value(agent_factory: Callable) -> None:
    agent = agent_factory(
        lambda r: [
            response(r.request_id, [((*SYS, 9, 1), rfc1902.Gauge32(1)), ((*SYS, 9, 2), rfc1905.NoSuchObject(""))])
        ]
    )
    with Client(target(agent)) as client:
        assert list(client.walk((*SYS, 9))) == [((*SYS, 9, 1), 1)]


def test_walk_refuses_oids_that_do_not_increase(agent_factory: Callable) -> None:
    agent = agent_factory(lambda r: [response(r.request_id, [(r.oids[0], rfc1902.Gauge32(1))])])
    with Client(target(agent)) as client:
        walk = client.walk((*SYS, 9, 1))
        with pytest.raises(SnmpError, match=r"not increasing at 1\.3\.6\.1\.2\.1\.1\.9\.1"):
            next(walk)


def test_a_walk_that_never_ends_is_refused(agent_factory: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    """A (fake) agent whose subtree goes on for ever: the walk stops with an error at the bound."""
    monkeypatch.setattr("galera_snmp.snmp.client.MAX_WALK_ROWS", 500)

    def endless(request: Request) -> list[bytes]:
        last = request.oids[0][-1] if len(request.oids[0]) > 8 else 0
        rows = [((*SYS, 9, last + i), rfc1902.Gauge32(i)) for i in range(1, request.max_repetitions + 1)]
        return [response(request.request_id, rows)]

    agent = agent_factory(endless)
    with Client(target(agent)) as client, pytest.raises(SnmpError, match="goes on past 500 rows"):
        for _ in client.walk((*SYS, 9), repetitions=50):
            pass


# --- SNMPv3 against agents that do not answer as they should ------------------------------------------------------


def test_v3_against_a_silent_agent_is_a_timeout_without_secrets(agent_factory: Callable) -> None:
    agent = agent_factory(lambda r: [])
    with Client(target(agent, **V3, community=SECRETS["community"])) as client, pytest.raises(SnmpTimeout) as caught:
        client.get([SYS_UPTIME])
    message = str(caught.value)
    assert "\n" not in message
    assert not [name for name, secret in SECRETS.items() if secret in message]
    first = agent.received(1)[0]
    assert first.request_id is None  # not v2c...
    message, _ = decoder.decode(first.raw, asn1Spec=SNMPv3Message())  # ...but SNMPv3 (engine discovery)
    assert int(message["msgVersion"]) == 3


# --- the import-time budget -----------------------------------------------------------------------


def test_importing_the_client_loads_neither_pysnmp_nor_pyasn1() -> None:
    code = (
        "import galera_snmp.snmp.client, sys; "
        "assert not any(m.startswith(('pysnmp','pyasn1')) for m in sys.modules), "
        "sorted(m for m in sys.modules if m.startswith(('pysnmp', 'pyasn1')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


# --- Target -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"version": "1"}, "version must be '2c' or '3'"),
        ({"port": 0}, "port must be from 1 to 65535"),
        ({"port": 65536}, "port must be from 1 to 65535"),
        ({"timeout": 0}, "timeout must be positive"),
        ({"retries": -1}, "retries"),
        ({**V3, "user": None}, "needs a user"),
        ({**V3, "level": "authpriv"}, "level must be one of noAuthNoPriv, authNoPriv, authPriv"),
        ({**V3, "auth_protocol": "SHA1024"}, "unknown auth protocol 'SHA1024'"),
        ({**V3, "priv_protocol": "3DES"}, "unknown priv protocol '3DES': use one of AES, AES-192, AES-256"),
        ({**V3, "priv_protocol": "des"}, "DES privacy is not supported .56-bit keys are broken.: give the user AES"),
        ({**V3, "auth_password": None}, "authPriv needs auth_password"),
        ({**V3, "priv_password": ""}, "authPriv needs priv_password"),
        ({**V3, "level": "authNoPriv", "auth_password": None}, "authNoPriv needs auth_password"),
        ({**V3, "auth_password": "short-1"}, "auth_password .* at least 8 characters, it has 7"),
        ({**V3, "priv_password": "short-2"}, "priv_password .* at least 8 characters, it has 7"),
    ],
)
def test_bad_targets_are_refused_with_a_clear_message(options: dict, error: str) -> None:
    with pytest.raises(ValueError, match=error) as caught:
        Target("192.0.2.1", **options)
    assert not [secret for secret in ("short-1", "short-2", *SECRETS.values()) if secret in str(caught.value)]


def test_v3_fields_are_checked_only_as_the_level_needs() -> None:
    # what a level does not use stays as given, unchecked: "?" is no protocol at all
    assert Target("192.0.2.1", version="3", user="u", level="noAuthNoPriv", auth_protocol="?").auth_protocol == "?"
    no_priv = Target("192.0.2.1", version="3", user="u", level="authNoPriv", auth_protocol="sha",
                     auth_password="12345678", priv_protocol="?")
    assert (no_priv.auth_protocol, no_priv.priv_protocol) == ("SHA", "?")  # auth checked, priv not looked at
    # check_galera passes every option, v3 ones unset, for version 2c: they are not looked at
    v2c = Target("192.0.2.1", 161, "public", version="2c", user=None, auth_password=None, priv_protocol="?")
    assert v2c.priv_protocol == "?"  # version 3 would refuse it


def test_protocol_names_are_case_insensitive_and_aes128_is_aes() -> None:
    target = Target("192.0.2.1", **V3, auth_protocol="sha-256", priv_protocol="aes-128")
    assert (target.auth_protocol, target.priv_protocol) == ("SHA-256", "AES")
    assert Target("192.0.2.1", **V3, priv_protocol="aes256").priv_protocol == "AES-256"


def test_secrets_stay_out_of_repr() -> None:
    shown = repr(Target("192.0.2.1", 1161, SECRETS["community"], **V3))
    assert "192.0.2.1" in shown
    assert "galeramon" in shown
    assert not [name for name, secret in SECRETS.items() if secret in shown]
