"""What several test files share: a healthy node to change one thing of at a time and a
report of it, the net-snmp tools, a free port, SNMP responses encoded by pysnmp (the reference
codec), and a network partition between loopback addresses."""

from __future__ import annotations

import contextlib
import http.client
import os
import select
import shutil
import socket
import ssl
import struct
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import pytest

from galera_snmp.dev.base import wait_for
from galera_snmp.record import replace
from galera_snmp.state import (
    Health,
    HealthCode,
    HealthPolicy,
    MysqlFailure,
    NodeReport,
    NodeState,
    Position,
    ProcessState,
    SeqnoSource,
    Status,
    Transfer,
    TransferRole,
    TransferState,
    TransferUnit,
    assess_health,
)
from galera_snmp.wsrep import WsrepValue, classify

if TYPE_CHECKING:
    from galera_snmp.dev.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[1]
UUID = "cf45eb64-e601-11f1-9293-5ec05f0f5611"
# A donor's rsync SST a third of the way through: every galeraTransfer object has a value
DONATING = Transfer(TransferRole.DONOR, TransferState.RUNNING, "rsync", TransferUnit.BYTES, 1_765_000_000.0, 30, 1,
                    "10.0.0.13", 64 << 20, 192 << 20, 4_000_000.0, 33)


def wsrep_values(**raw: str) -> MappingProxyType[str, WsrepValue]:
    """Typed wsrep status values, as the probe makes them from SHOW STATUS strings."""
    return MappingProxyType({name: classify(name, value) for name, value in raw.items()})


def synced_state(**changes: object) -> NodeState:
    """A Synced node of a healthy 3-node Primary component; ``changes`` replace any field."""
    fields: dict[str, object] = {
        "taken_at": 1_700_000_000.0,
        "status": Status.RUNNING,
        "reason": "Primary, local state 4 (Synced)",
        "position": Position(UUID, 17, SeqnoSource.LIVE, False),
        "process": ProcessState.RUNNING,
        "pid": 4332,
        "local_state": 4,
        "local_state_comment": "Synced",
        "cluster_status": "Primary",
        "cluster_size": 3,
        "cluster_state_uuid": UUID,
        "cluster_conf_id": 3,
        "ready": True,
        "connected": True,
        "desync": False,
        "reject_queries": "NONE",
        "node_name": "node1",
        "cluster_name": "galera",
    }
    fields.update(changes)
    return NodeState(**fields)  # type: ignore[arg-type]


def galera_would_ist(seqno: int, caches: Sequence[tuple[int, int]]) -> bool:
    """Galera's own condition for IST, spelt out as its group code checks it, over the Synced
    nodes' (wsrep_local_cached_downto, wsrep_last_committed): a joiner below the lowest cache plus
    1/128 of the cached range (at most 2^20) gets SST; else a Synced node caching seqno + 1 serves
    it. The tests' oracle for cluster/rejoin.py."""
    lowest = min(cached for cached, _ in caches)
    last = max(committed for _, committed in caches)
    gap = min((last - lowest) // 128, 2**20)
    return seqno >= lowest + gap and any(cached <= seqno + 1 for cached, _ in caches)


STALE_ERROR = "mysqld hangs"  # node_report's last error of data that is not current


def node_report(state: NodeState | None = None, *, valid: bool | None = True, health: Health | None = None,
                age: int | None = 0, last_error: str | None = None, **state_changes: object) -> NodeReport:
    """A report of ``state`` (by default :func:`synced_state`) with ``state_changes`` replacing its
    fields: judged by the health rule under the default policy unless ``health`` is given, current
    unless ``valid`` says otherwise, ``age`` seconds old, its last error none while current and
    :data:`STALE_ERROR` else unless ``last_error`` is given. Its other fields (node set, writer...):
    ``record.replace`` on the result."""
    if state is None:
        state = synced_state(**state_changes)
    elif state_changes:
        state = replace(state, **state_changes)
    if health is None:
        health = assess_health(state, HealthPolicy())
    if last_error is None:
        last_error = "" if valid else STALE_ERROR
    return NodeReport(state, health, valid, age, last_error)


DONOR = {"local_state": 2, "local_state_comment": "Donor/Desynced"}
SILENT = {"local_state": None, "local_state_comment": None, "cluster_status": None, "ready": None,
          "desync": None, "reject_queries": None}  # what a snapshot knows of a mysqld that does not answer


def health_cases() -> dict[HealthCode, tuple[NodeState, HealthPolicy]]:
    """One node per step of the health rule (state.assess_health), in the rule's order, each with
    the policy under which that step decides: the table every consumer of the verdict is checked
    against."""
    default = HealthPolicy()
    cases: dict[HealthCode, tuple[dict[str, object], HealthPolicy]] = {
        HealthCode.MYSQLD_ABSENT: ({**SILENT, "status": Status.STOPPED, "reason": "mysqld is not running",
                                    "process": ProcessState.ABSENT, "pid": None,
                                    "mysql_failure": MysqlFailure.REFUSED}, default),
        HealthCode.MYSQLD_NOT_ANSWERING: ({**SILENT, "status": Status.UNKNOWN, "process": ProcessState.SUSPENDED,
                                           "mysql_failure": MysqlFailure.TIMEOUT,
                                           "reason": "mysqld (pid 4332) does not answer: timed out on "
                                                     "/run/mysqld/mysqld.sock"}, default),
        HealthCode.MYSQLD_UNREADABLE: ({**SILENT, "status": Status.UNKNOWN, "mysql_failure": MysqlFailure.ACCESS_DENIED,
                                        "reason": "mysqld (pid 4332) runs but cannot be read: (1045, \"Access "
                                                  "denied for user 'monitor'@'localhost'\")"}, default),
        HealthCode.WSREP_INCOMPLETE: ({"ready": None}, default),
        HealthCode.NOT_PRIMARY: ({"status": Status.NONPRIMARY, "cluster_status": "non-Primary"}, default),
        HealthCode.NOT_READY: ({"ready": False}, default),
        HealthCode.DESYNCED: ({"desync": True}, default),
        HealthCode.DONOR_REJECTS_QUERIES: ({**DONOR, "donor_rejects_queries": True}, HealthPolicy(donor_serves=True)),
        HealthCode.DONOR_NOT_SERVING: (DONOR, default),
        HealthCode.NOT_SYNCED: ({"local_state": 3, "local_state_comment": "Joined"}, default),
        HealthCode.REJECT_QUERIES_UNKNOWN: ({"reject_queries": None}, default),
        HealthCode.REJECTING_QUERIES: ({"reject_queries": "ALL_KILL"}, default),
        HealthCode.READ_ONLY: ({"read_only": True}, HealthPolicy(read_only_serves=False)),
        HealthCode.DRAINED: ({"drained": True}, default),
        HealthCode.PXC_MAINT_MODE: ({"maint_mode": "MAINTENANCE"}, default),
        HealthCode.SYNCED: ({}, default),
        HealthCode.DONOR_SERVING: (DONOR, HealthPolicy(donor_serves=True)),
    }
    return {code: (synced_state(**changes), policy) for code, (changes, policy) in cases.items()}


def tool(name: str, packages: str = "snmpd snmp") -> str:
    """A program the tests run (net-snmp's by default); missing is a failure with the install
    hint, never a skip. Daemons live in sbin, which a non-root PATH may lack."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        pytest.fail(f"{name} is not installed: apt-get install {packages}", pytrace=False)
    return found


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(host: str, port: int, path: str = "/", method: str = "GET", *, headers: dict[str, str] | None = None,
             tls: ssl.SSLContext | None = None) -> tuple[int, str | None, str]:
    """One request to a health endpoint (over TLS with ``tls``): status, Content-Type and body."""
    conn = (http.client.HTTPSConnection(host, port, timeout=5, context=tls) if tls
            else http.client.HTTPConnection(host, port, timeout=5))
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), response.read().decode()
    finally:
        conn.close()


def stopped_node_config(folder: Path, extra: str = "", option_mode: int = 0o600) -> Path:
    """A galera-snmp.conf (plus ``extra`` sections) for a node whose mysqld is not running: no
    socket, no process on the datadir, no recovery."""
    option_file = folder / "client.cnf"
    option_file.write_text("[client]\nuser = monitor\npassword = s3cret\nsocket = /nonexistent/mysqld.sock\n")
    option_file.chmod(option_mode)
    config = folder / "galera-snmp.conf"
    config.write_text(f"[mysql]\noption_file = {option_file}\n[server]\ndatadir = {folder}\nrecover = no\n{extra}")
    return config


def pysnmp_response(
    request_id: int | None, varbinds: list, error_status: int = 0, error_index: int = 0, community: bytes = b"public"
) -> bytes:
    """An SNMPv2c Response message encoded by pysnmp, to check our codec and client against."""
    from pyasn1.codec.ber import encoder
    from pysnmp.proto import api

    v2c = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    v2c.apiPDU.set_error_status(pdu, error_status)
    v2c.apiPDU.set_error_index(pdu, error_index)
    v2c.apiPDU.set_varbinds(pdu, varbinds)
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, community)
    v2c.apiMessage.set_pdu(message, pdu)
    return encoder.encode(message)


@contextlib.contextmanager
def cut_off(address: str, others: Sequence[str]) -> Iterator[None]:
    """Drop every packet between ``address`` and each of ``others`` (both ways), for the block.

    Galera binds its connections to the node's address, so this partitions gcomm; clients that
    do not bind (SNMP requests from 127.0.0.1) still get through.
    """
    iptables = tool("iptables", "iptables")
    rules = [("-s", a, "-d", b) for other in others for a, b in ((address, other), (other, address))]
    added = []
    try:
        for rule in rules:
            subprocess.run([iptables, "-A", "INPUT", *rule, "-j", "DROP"], check=True)
            added.append(rule)
        yield
    finally:
        for rule in added:
            subprocess.run([iptables, "-D", "INPUT", *rule, "-j", "DROP"], check=False)


class FileWatch:
    """inotify on a folder (the way keepalived watches a track file): when a file in it is
    written or renamed into place. For timing a change from outside, without polling it."""

    IN_CLOSE_WRITE, IN_MOVED_TO = 0x8, 0x80

    def __init__(self, folder: Path) -> None:
        import ctypes

        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if self._libc.inotify_add_watch(self.fd, bytes(folder), self.IN_CLOSE_WRITE | self.IN_MOVED_TO) < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {folder}")
        self.folder = folder

    def when(self, name: str, content: str, timeout: float) -> float:
        """time.monotonic() of the first event on ``name`` after which it holds ``content``."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([self.fd], [], [], left)[0]:
                break
            seen = time.monotonic()
            data = os.read(self.fd, 65536)
            names, offset = [], 0
            while offset < len(data):
                length = struct.unpack_from("iIII", data, offset)[3]
                names.append(data[offset + 16 : offset + 16 + length].rstrip(b"\0").decode())
                offset += 16 + length
            path = self.folder / name
            if name in names and path.exists() and path.read_text().strip() == content:
                return seen
        raise AssertionError(f"{self.folder / name} did not come to say {content!r} within {timeout} s")

    def close(self) -> None:
        os.close(self.fd)


def check_servers(make: Callable[..., object], default: object = None) -> Iterator[Callable[..., tuple]]:
    """For a fixture: ``start(report=default, **settings)`` builds a check server with ``make(current,
    port, **settings)`` on a free port of 127.0.0.1, answering from a report the test swaps in
    ``current["report"]``, and starts it; every server is stopped afterwards."""
    servers: list = []

    def start(report: object = default, **settings: object) -> tuple:
        current = {"report": report}
        server = make(lambda: current["report"], free_tcp_port(), **settings)
        servers.append(server)
        server.start()
        return server, current

    yield start
    for server in servers:
        server.stop()


@contextlib.contextmanager
def snmptrapd(box: Sandbox, folder: Path) -> Iterator[Path]:
    """A real snmptrapd on the sandbox's trap sink address, taking ``box``'s notifications (SNMPv3
    traps as its user), logging OIDs numerically; yields its log file."""
    from galera_snmp.dev.sandbox import TRAP_SINK  # here: a test run without the sandbox never loads it

    with trap_receiver(box.snmptrapd_lines(), folder, TRAP_SINK, numeric=True) as log:
        yield log


SNMPTRAPD_EXAMPLE = REPO / "contrib" / "snmptrapd" / "galera-snmptrapd.conf"
SNMPTRAPD_DROP_IN = REPO / "contrib" / "snmptrapd" / "snmptrapd.service.d" / "galera-mib.conf"


def example_snmptrapd_conf(users: str, user: str = "galeratrap") -> str:
    """The shipped snmptrapd example with its ``createUser`` lines replaced by ``users`` (engine
    IDs and pass phrases of the nodes at hand) and its user renamed to ``user``."""
    lines = [line for line in SNMPTRAPD_EXAMPLE.read_text().splitlines(keepends=True)
             if not line.startswith("createUser ")]
    assert len(lines) < len(SNMPTRAPD_EXAMPLE.read_text().splitlines()), "the example lost its createUser lines"
    return users + "".join(lines).replace(" galeratrap ", f" {user} ")


@contextlib.contextmanager
def trap_receiver(conf_text: str, folder: Path, address: str, *, numeric: bool = False) -> Iterator[Path]:
    """A real snmptrapd with this configuration on ``address``, beside Debian's snmp.conf (which
    loads no MIB). Unless ``numeric``, GALERA-MIB is loaded as the shipped systemd drop-in says,
    from ``folder`` as the Debian package installs it (galera-snmp mib --net-snmp). Yields its log."""
    from galera_snmp.snmp.mib import MIB_FILE
    from galera_snmp.snmp.mibfile import standalone

    tool = shutil.which("snmptrapd") or shutil.which("snmptrapd", path="/usr/sbin")
    if tool is None:
        pytest.fail("snmptrapd is not installed: apt-get install snmptrapd", pytrace=False)
    mibs, persistent = folder / "mibs", folder / "persistent"
    mibs.mkdir(exist_ok=True)
    persistent.mkdir(exist_ok=True)
    (mibs / "GALERA-MIB.txt").write_text(standalone(MIB_FILE.read_text()))
    (folder / "snmp.conf").write_text("mibs :\n")  # Debian's /etc/snmp/snmp.conf
    conf = folder / "snmptrapd.conf"
    conf.write_text(conf_text)
    conf.chmod(0o600)
    log = folder / "traps.log"
    env = {**os.environ, "MIBDIRS": f"+{mibs}", "SNMP_PERSISTENT_DIR": str(persistent), "SNMPCONFPATH": str(folder)}
    env["MIBS"] = "" if numeric else unit_environment(SNMPTRAPD_DROP_IN)["MIBS"]
    process = subprocess.Popen(
        [tool, "-f", *(["-On"] if numeric else []), "-Lf", str(log), f"udp:{address}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: log.exists() and "NET-SNMP version" in log.read_text(), 10, "snmptrapd to start")
        yield log
    finally:
        process.terminate()
        process.wait(10)


def unit_environment(unit: Path) -> dict[str, str]:
    """The Environment= assignments of a systemd unit or drop-in (unquoted ones, as ours are)."""
    pairs = (line.removeprefix("Environment=").split("=", 1) for line in unit.read_text().splitlines()
             if line.startswith("Environment="))
    return dict(pairs)


def require(programs: Sequence[str], who: str, hint: str, *, root_because: str) -> None:
    """Fail (never skip) naming what is missing and how to get it; then, unless root, say why root."""
    missing = [p for p in programs if not (shutil.which(p) or shutil.which(p, path="/usr/sbin:/sbin"))]
    if missing:
        pytest.fail(f"{who} need {', '.join(missing)}: {hint}", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail(f"{who} {root_because}: run them as root", pytrace=False)


def tls_files(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signed for ``host`` (an IP address) with its key (0600):
    (ca.pem, server.pem, server.key) in ``folder``."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    now = datetime.datetime.now(datetime.UTC)

    def issue(subject: str, key, issuer: x509.Name, signer, ca: bool) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, subject)])
        valid = (now - datetime.timedelta(minutes=1), now + datetime.timedelta(days=1))
        builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(valid[0]).not_valid_after(valid[1])
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))  # fmt: skip
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
                                            critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "galera-snmp test CA")])
    ca = issue("galera-snmp test CA", ca_key, ca_name, ca_key, ca=True)
    server = issue(host, server_key, ca_name, ca_key, ca=False)
    paths = (folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].touch(mode=0o600)
    paths[2].write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return paths
