"""A real N-node MariaDB Galera cluster on this machine, for the quick start and the tests.

Node i listens on 127.0.0.(10+i) with the standard ports (3306, 4567, 4568) and SST port 4444+i, runs as
the ``mysql`` user, and keeps everything in ``DIR/node<i>/``: ``my.cnf``, ``data/``, ``log/``,
the option file with the monitoring credentials and our ``galera-snmp.conf``. The sandbox reads
its nodes through the same probe every other component uses.

With ``hosts=True`` every node is a host of its own instead: network namespace ``gshost<i>`` with
the address 10.214.0.<i> on the bridge ``gshost0`` (``netns.py``), its mariadbd, snmpd and agent
running inside it; this machine reads the hosts as a monitoring station would, from 10.214.0.254
on the bridge. ``faults.py`` breaks the links between them. ``down`` removes the namespaces.

Every node's snmpd speaks SNMPv3 authPriv only, to one USM user (``galeramon``, SHA-256 and
AES) whose pass phrases the sandbox makes once: ``DIR/snmp.cred`` holds them for our commands
(check_galera --credentials, [init] snmp_credentials), ``DIR/net-snmp/snmp.conf`` for net-snmp's
tools (``SNMPCONFPATH=DIR/net-snmp snmpget 127.0.0.11 ...``). With ``v2c=True`` (``sandbox up
--v2c``) they answer the community ``public`` instead, and galera-init is told to allow it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pymysql

from ..config import ConfigError, load_config, read_option_file, read_private_section
from ..node.probe import Probe
from ..node.process import find_mysqld, process_state
from ..record import record
from ..snmp import settings as snmpsettings
from ..snmp.client import Client, SnmpError, Target
from ..snmp.mib import BY_NAME
from ..state import NodeState, ProcessState
from .base import INSTALL_HINT, PROGRAMS_ENV, InDir, SandboxError, binary, program, wait_for
from .netns import NetnsError, Network

# What tests and benches may use; everything else here is the sandbox's own business.
__all__ = [
    "ADMIN_GROUP",
    "AGENT_CHECK_PORT",
    "COMMUNITY",
    "DEFAULT_DIR",
    "EVICT_KEY",
    "EVICT_PORT",
    "HOSTS_DIR",
    "HOSTS_PREFIX",
    "HOSTS_SUBNET",
    "HTTP_PORT",
    "INSTALL_HINT",
    "MAX_NODES",
    "METRICS_PORT",
    "MONITOR_USER",
    "PROGRAMS_ENV",
    "REQUIRED_PROGRAMS",
    "SNMP_USER",
    "TRAP_SINK",
    "Sandbox",
    "SandboxError",
    "SandboxNode",
    "hosts_network",
    "net_snmp_env",
    "program",
    "snmp_settings",
    "wait_for",
]

DEFAULT_DIR = Path("/var/tmp/galera-snmp-sandbox")
HOSTS_DIR = Path("/var/tmp/galera-snmp-hosts")  # the hosts topology's default folder
HOSTS_PREFIX = "gshost"  # namespaces gshost1.., bridge gshost0
HOSTS_SUBNET = "10.214.0"
HOSTS_STATION = 254  # this machine's address on the hosts' bridge: the monitoring station
TOPOLOGY_FILE = "topology"  # in the sandbox folder: "hosts" for the hosts topology
MAX_NODES = 9
MONITOR_USER = "galera_snmp"
ADMIN_USER = "sandbox_admin"
ADMIN_GROUP = "sandbox-admin"
MYSQL_USER = "mysql"
PROVIDER = "/usr/lib/galera/libgalera_smm.so"
REQUIRED_PROGRAMS = ("mariadbd", "mariadb", "mariadb-install-db", "rsync", "setsid", "snmpd")
NODE_PORTS = (3306, 4567, 4568)
# wsrep_sst_rsync checks whether "its" port is taken by port number alone, whatever the address: two
# joiners on one host with the same SST port fail each other's transfer ("rsync daemon port '4444'
# has been taken by another program", CI saw it). Hosts of their own would not need this.
SST_PORT_BASE = 4444
TRAP_SINK = "127.0.0.1:1162"  # every node's snmpd sends its notifications here (informs as SNMP_USER)
COMMUNITY = "public"  # with v2c=True only
SNMP_USER = "galeramon"
SNMP_CREDENTIALS = "snmp.cred"  # in the sandbox folder, the [snmp] section our commands read
EVICT_KEY = "evict.key"  # in the sandbox folder: the crash eviction key of every node ([cluster] evict_key)
EVICT_PORT = 9310  # the agents' crash notices, on each node's address
# How often Galera resends its join message while a new view forms (PT1S by default): after a crash
# eviction the view forms in one round or waits a whole period for the next; docs/DEPLOY.md sets it
JOIN_RETRANS = "PT0.2S"
NET_SNMP_DIR = "net-snmp"  # in the sandbox folder: snmp.conf for net-snmp's tools (SNMPCONFPATH)
SNMP_MODE_FILE = "snmp"  # in the sandbox folder: "v2c" when brought up with v2c=True
AGENT_CHECK_PORT = 9300  # HAProxy's agent-check, on each node's address
HTTP_PORT = 9200  # the agent's clustercheck-compatible health endpoint, on each node's address
METRICS_PORT = 9201  # the agent's /metrics, on each node's address
EXTEND_MIB = ".1.3.6.1.4.1.8072.1.3.2"  # NET-SNMP-EXTEND-MIB nsExtendObjects, for the seed's extend lines


# MariaDB's error number for a refused wsrep_desync (and other refused operations).
ER_CANNOT_USER = 1396


def _reachable_by_others(path: Path) -> bool:
    """Whether another user (mysqld's) can execute ``path``: every folder on the way needs o+x."""
    return all(os.stat(part).st_mode & 0o001 for part in [path, *path.parents])


def _notify_command(config: Path, hook_dir: Path) -> str:
    """wsrep_notify_cmd for a node. mysqld runs it as the mysql user, who may reach neither this
    venv's interpreter (a pyenv build under /root, say) nor this checkout (under /root, mode 0700
    on Debian): the script, the interpreter its first line names and the one that resolves to
    must all be reachable. Else — the hook needs only the standard library — the system python3
    runs a copy of our package in the sandbox's folder."""
    hook = Path(program("galera-snmp-notify"))
    interpreter = Path(sys.executable)
    if os.environ.get(PROGRAMS_ENV) or all(
        _reachable_by_others(path) for path in (hook, interpreter, interpreter.resolve())
    ):
        return f"{hook} -c {config}"
    python = shutil.which("python3", path="/usr/bin:/bin") or "python3"
    return f"env PYTHONPATH={_package_copy(hook_dir)} {python} -m galera_snmp.cli.notify -c {config}"


def _package_copy(hook_dir: Path) -> Path:
    """A folder holding a copy of our package, named by its content and never written again once
    there: the hooks of running nodes import from it while ``up()`` writes the configuration anew
    (copying over the files in place, one of them once ran half-written: exit 1)."""
    package = Path(__file__).resolve().parents[1]
    files = sorted(path for path in package.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.relative_to(package)}\0{path.stat().st_size}\0".encode() + path.read_bytes())
    target = hook_dir / digest.hexdigest()[:16]
    if not (target / package.name).is_dir():
        hook_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".copy-", dir=hook_dir))
        shutil.copytree(package, staging / package.name, ignore=shutil.ignore_patterns("__pycache__"))
        staging.chmod(0o755)  # mysqld's user reads it
        try:
            staging.rename(target)  # whole, or not at all
        except OSError:  # made meanwhile by another sandbox command
            shutil.rmtree(staging)
    return target


@record
class Daemon:
    """A helper process (snmpd, the agent) known by its pid file and a marker in its argv."""

    name: str
    pid_file: Path
    marker: str

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().split()[0])
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read().decode(errors="replace")
        except (OSError, ValueError, IndexError):
            return None
        return pid if self.marker in argv and process_state(pid) is not ProcessState.ABSENT else None

    def start(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        if self.pid() is not None:
            return
        self.pid_file.unlink(missing_ok=True)
        with open(log, "ab") as out:
            subprocess.run(
                [binary("setsid"), "--fork", *argv],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env={**os.environ, **(env or {})},
                check=True,
            )
        wait_for(lambda: self.pid() is not None, 10, f"{self.name} to start (see {log})")

    def stop(self, timeout: float = 10) -> None:
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        try:
            wait_for(lambda: self.pid() is None, timeout, f"{self.name} to stop")
        except SandboxError:
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: self.pid() is None, 10, f"{self.name} to die")


def _write_private(path: Path, text: str) -> None:
    """Write a file that holds secrets: mode 0600 from its first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file of another mode keeps it through O_CREAT
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def snmp_settings(root: Path) -> dict[str, str | None]:
    """The sandbox's SNMP settings, as check_galera --credentials reads them from DIR/snmp.cred."""
    return snmpsettings.merge(read_private_section(root / SNMP_CREDENTIALS, snmpsettings.SECTION,
                                                   "the sandbox's SNMP credentials"))


def _user_keys(v3: dict[str, str | None]) -> str:
    """The protocols and pass phrases of a net-snmp ``createUser`` line (snmpd's, snmptrapd's)."""
    return f'{v3["authproto"]} "{v3["authpasswd"]}" {v3["privproto"]} "{v3["privpasswd"]}"'


def net_snmp_env(root: Path) -> dict[str, str]:
    """The environment that makes net-snmp's tools (snmpget, snmpwalk) speak as the sandbox's
    user: its snmp.conf holds the version, user and pass phrases, so none is on a command line."""
    return {"SNMPCONFPATH": str(root / NET_SNMP_DIR)}


def _listening(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((address, port)) == 0


def _start_position(node: SandboxNode, state: NodeState) -> str:
    """The option that bootstraps ``node`` in its own history. Without it mariadbd starts from
    grastate.dat, whose seqno is -1 after a crash: Galera then begins a new history (a reset every
    agent flags) instead of continuing at the recovered position."""
    if not state.position.is_known:
        raise SandboxError(f"{node.name}: its position is not known ({state.reason}); "
                           "recover it with galera-init, or start over with 'galera-snmp sandbox down --purge'")
    return f"--wsrep_start_position={state.position}"


def _address(index: int, hosts: bool = False) -> str:
    """Sandbox node ``index`` (from 1) listens on its own loopback address, or its host's."""
    return f"{HOSTS_SUBNET}.{index}" if hosts else f"127.0.0.{10 + index}"


def hosts_network(size: int) -> Network:
    """The hosts topology's network of ``size`` hosts."""
    return Network(HOSTS_PREFIX, HOSTS_SUBNET, size, station=HOSTS_STATION)


@record
class SandboxNode:
    root: Path
    index: int
    size: int
    segment: int = 0  # gmcast.segment: nodes of one segment are one site
    hosts: bool = False  # a host of its own (network namespace) rather than a loopback address
    v2c: bool = False  # its snmpd answers SNMPv2c (community public) instead of SNMPv3

    @property
    def name(self) -> str:
        return f"node{self.index}"

    @property
    def address(self) -> str:
        return _address(self.index, self.hosts)

    def enter(self) -> list[str]:
        """The command prefix that runs a program on this node's host ([] on loopback)."""
        return hosts_network(self.size).enter(self.index) if self.hosts else []

    @property
    def dir(self) -> Path:
        return self.root / self.name

    datadir = InDir("data")
    cnf = InDir("my.cnf")
    track_file = InDir("run/keepalived.track")
    config_path = InDir("galera-snmp.conf")
    option_file = InDir("client.cnf")
    socket = InDir("run/mysqld.sock")
    pid_file = InDir("run/mysqld.pid")
    error_log = InDir("log/error.log")
    snmpd_conf = InDir("snmpd.conf")
    snmpd_extra_conf = InDir("snmpd.extra.conf")  # optional extra snmpd lines (benchmarks add extend/pass_persist here)
    agentx_socket = InDir("run/agentx.sock")

    @property
    def snmpd(self) -> Daemon:
        return Daemon("snmpd", self.dir / "run" / "snmpd.pid", str(self.snmpd_conf))

    @property
    def agent(self) -> Daemon:
        return Daemon("galera-snmp-agent", self.dir / "run" / "agent.pid", str(self.config_path))

    def snmp_target(self, timeout: float = 1.0, retries: int = 1) -> Target:
        """How to read this node's snmpd: as the sandbox's SNMPv3 user (or community, with v2c)."""
        return snmpsettings.target(self.address, 161, snmp_settings(self.root), timeout, retries)

    @property
    def trap_engine_id(self) -> str:
        """The engine ID of this node's SNMPv3 traps (RFC 3411): net-snmp's enterprise number 8072,
        format 4 (text), then "gs" and the node's name."""
        return "0x80001f8804" + f"gs{self.name}".encode().hex()

    @property
    def snmp_credentials(self) -> Path:
        """The sandbox's SNMP credentials file (check_galera --credentials, [init] snmp_credentials)."""
        return self.root / SNMP_CREDENTIALS

    def check_galera_snmp(self) -> tuple[str, ...]:
        """check_galera's options that read this node over SNMP as the sandbox's user."""
        return ("-H", self.address, "--credentials", str(self.snmp_credentials))

    def cluster_address(self) -> str:
        peers = ",".join(_address(i, self.hosts) for i in range(1, self.size + 1))
        return f"gcomm://{peers}"

    def write_files(self, monitor_password: str, admin_password: str) -> None:
        account = pwd.getpwnam(MYSQL_USER)
        for sub in ("data", "run", "log"):
            path = self.dir / sub
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, account.pw_uid, account.pw_gid)
        (self.dir / "snmp").mkdir(exist_ok=True)
        self.cnf.write_text(self._my_cnf())
        self.config_path.write_text(
            "# galera-snmp configuration of sandbox node; paths are relative to this file.\n"
            "[mysql]\noption_file = client.cnf\nconnect_timeout = 2\nread_timeout = 2\n\n"
            "[server]\ndatadir = data\ndefaults_file = my.cnf\n\n"
            "[health]\ndrain_file = drained\n\n"
            "[agent]\nsocket = run/agentx.sock\nwake_socket = run/agent-wake.sock\nevent_file = run/last-event.json\n"
            "state_dir = state\n"
            "# wsrep_desync and FLUSH send no wsrep notification: they show within one refresh\n"
            "refresh_interval = 0.5\n"
            "# a stopped copier shows as a stalled transfer within seconds\n"
            "transfer_stalled_after = 5\n\n"
            "[keepalived]\ntrack_file = run/keepalived.track\n\n"
            f"[agentcheck]\nenabled = yes\naddress = {self.address}\nport = {AGENT_CHECK_PORT}\n\n"
            f"[http]\nenabled = yes\naddress = {self.address}\nport = {HTTP_PORT}\n\n"
            f"[metrics]\nenabled = yes\naddress = {self.address}\nport = {METRICS_PORT}\n\n"
            f"[init]\nnodes = {', '.join(_address(i, self.hosts) for i in range(1, self.size + 1))}\n"
            f"address = {self.address}\n"
            "phase_file = run/init-phase.json\npoll_period = 0.5\ndeadline = 15\nsynced_timeout = 300\n"
            + ("# the sandbox was brought up with --v2c\nallow_v2c = yes\n" if self.v2c
               else f"snmp_credentials = ../{SNMP_CREDENTIALS}\n")
            +
            "# a join asks for the Synced nodes that are not the writer as donors (docs/TRANSFERS.md)\n"
            "spare_writer = yes\n"
            f"join_command = {self._start_command()} --wsrep_start_position={{position}} --wsrep_sst_donor={{donors}}\n"
            f"bootstrap_command = {self._start_command()} --wsrep-new-cluster --wsrep_start_position={{position}}\n\n"
            "# sites are the nodes' Galera segments; a silent one is named within seconds, not a minute\n"
            "[cluster]\nsilent_after = 5\nwatch_interval = 2\n"
            f"evict_key = ../{EVICT_KEY}\nevict_port = {EVICT_PORT}\n"
        )
        _write_private(self.snmpd_conf, self._snmpd_conf())
        _write_private(
            self.option_file,
            f"[client]\nuser = {MONITOR_USER}\npassword = {monitor_password}\nsocket = {self.socket}\n\n"
            f"[{ADMIN_GROUP}]\nuser = {ADMIN_USER}\npassword = {admin_password}\nsocket = {self.socket}\n",
        )

    def _my_cnf(self) -> str:
        a = self.address
        return f"""# MariaDB Galera sandbox node {self.index} (written by galera-snmp sandbox)
[mysqld]
user = {MYSQL_USER}
datadir = {self.datadir}
socket = {self.socket}
pid-file = {self.pid_file}
log-error = {self.error_log}
bind-address = {a}
port = 3306
skip-name-resolve
performance_schema = OFF
innodb_buffer_pool_size = 32M
innodb_log_file_size = 32M
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
wsrep_on = ON
wsrep_provider = {PROVIDER}
wsrep_cluster_name = sandbox
wsrep_cluster_address = {self.cluster_address()}
wsrep_node_address = {a}
wsrep_node_name = {self.name}
wsrep_sst_method = rsync
wsrep_sst_receive_address = {a}:{self.sst_port}
wsrep_provider_options = "gmcast.listen_addr=tcp://{a}:4567;ist.recv_addr={a}:4568;gcache.size=64M;gmcast.segment={self.segment};evs.join_retrans_period={JOIN_RETRANS}"
wsrep_notify_cmd = "{_notify_command(self.config_path, self.dir.parent / "hook")}"
"""

    def _snmpd_conf(self) -> str:
        check = program("galera-check")
        extra = f"includeFile {self.snmpd_extra_conf}\n" if self.snmpd_extra_conf.exists() else ""
        # on hosts: readable by the other hosts and the station, notifications to the station
        sources = f"{HOSTS_SUBNET}.0/24" if self.hosts else "127.0.0.0/8"
        sink = f"{HOSTS_SUBNET}.{HOSTS_STATION}:1162" if self.hosts else TRAP_SINK
        if self.v2c:
            access = f"rocommunity {COMMUNITY} {sources} -V galeraView\ntrap2sink {sink} {COMMUNITY}"
        else:  # the lines net-snmp-create-v3-user writes, the view ours
            v3 = snmp_settings(self.root)
            # Notifications as SNMPv3 traps from a fixed engine ID, which the receiver knows the
            # user under. Not informs: snmpd discovers an inform receiver's engine synchronously,
            # and does not answer anyone meanwhile (seconds, when no receiver listens).
            access = (f"createUser {SNMP_USER} {_user_keys(v3)}\nrouser -s usm {SNMP_USER} authPriv -V galeraView\n"
                      f"trapsess -v 3 -e {self.trap_engine_id} -l authPriv -u {SNMP_USER} -a {v3['authproto']} "
                      f"-A {v3['authpasswd']} -x {v3['privproto']} -X {v3['privpasswd']} {sink}")
        return f"""# snmpd of sandbox node {self.index} (written by galera-snmp sandbox; secrets: mode 0600)
agentAddress udp:{self.address}:161
[snmp] clientaddr {self.address}
master agentx
agentXSocket {self.agentx_socket}
agentXPerms 0600 0700
view galeraView included .1.3.6.1.4.1.32473
view galeraView included .1.3.6.1.2.1.1
view galeraView included {EXTEND_MIB}
{access}
# the seed project's way, for nodes that still read it
extend galeraStatus {check} -c {self.config_path} status
extend galeraSeqno {check} -c {self.config_path} seqno
{extra}"""

    def start_services(self) -> None:
        """snmpd (AgentX master) on the node's address, then our agent; both detached."""
        _write_private(self.snmpd_conf, self._snmpd_conf())
        self.snmpd.start(
            [*self.enter(), binary("snmpd"), "-f", "-Lf", str(self.dir / "log" / "snmpd.log"), "-C",
             "-c", str(self.snmpd_conf), "-p", str(self.snmpd.pid_file)],
            self.dir / "log" / "snmpd.out",
            env={"SNMP_PERSISTENT_DIR": str(self.dir / "snmp"), "MIBS": ""},
        )
        self.agent.start(
            [*self.enter(), program("galera-snmp-agent"), "-c", str(self.config_path),
             "--pid-file", str(self.agent.pid_file)],
            self.dir / "log" / "agent.log",
        )

    def stop_services(self) -> None:
        self.agent.stop()
        self.snmpd.stop()

    def wait_snmp(self, timeout: float = 30) -> None:
        """Wait until the node's galeraStatus answers through snmpd and the agent."""
        status_oid = (*BY_NAME["galeraStatus"].oid, 0)

        def answers() -> bool:
            try:
                with Client(self.snmp_target(timeout=0.5, retries=0)) as client:
                    return isinstance(client.get([status_oid])[status_oid], int)
            except SnmpError:
                return False

        wait_for(answers, timeout, f"{self.name}'s galeraStatus over SNMP (see {self.dir / 'log'})", interval=0.2)

    def snapshot(self) -> NodeState:
        with Probe(load_config(self.config_path)) as probe:
            return probe.snapshot()

    def process(self) -> ProcessState:
        return find_mysqld(self.datadir).state

    def initialized(self) -> bool:
        return (self.datadir / "mysql").is_dir()

    def initialize(self) -> None:
        """Create the system tables (only the first node: the others get them by SST)."""
        result = subprocess.run(
            [binary("mariadb-install-db"), f"--defaults-file={self.cnf}", f"--user={MYSQL_USER}", "--skip-test-db"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
            raise SandboxError(f"mariadb-install-db failed for {self.name}: {' / '.join(tail)}")

    @property
    def sst_port(self) -> int:
        return SST_PORT_BASE + self.index

    def _start_command(self) -> str:
        """How galera-init starts this node's mariadbd (detached, like an init script would); on its
        host's network, whoever runs it."""
        return shlex.join([binary("setsid"), "--fork", *self.enter(), binary("mariadbd"),
                           f"--defaults-file={self.cnf}"])

    def start(self, *, bootstrap: bool = False, extra_args: tuple[str, ...] = ()) -> None:
        """Start mariadbd detached (its own session), as an init script would."""
        if self.process() is not ProcessState.ABSENT:
            raise SandboxError(f"{self.name}: mariadbd is already running")
        for port in (*NODE_PORTS, self.sst_port):
            if _listening(self.address, port):
                raise SandboxError(
                    f"{self.address}:{port} is already in use (another sandbox? 'galera-snmp sandbox down --dir DIR')"
                )
        argv = [*shlex.split(self._start_command()), *extra_args]
        if bootstrap:
            argv.append("--wsrep-new-cluster")
        with open(self.dir / "mariadbd.out", "ab") as out:
            subprocess.run(argv, cwd=self.datadir, stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=True)

    def signal(self, signum: int) -> int:
        info = find_mysqld(self.datadir)
        if info.pid is None:
            raise SandboxError(f"{self.name}: mariadbd is not running")
        os.kill(info.pid, signum)
        return info.pid

    def kill(self) -> None:
        """SIGKILL, as a crash or power loss would; returns once the process is gone."""
        pid = find_mysqld(self.datadir).pid
        if pid is not None:  # None: gone already, or going (killed a moment ago by crash_all)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_for(lambda: self.process() is ProcessState.ABSENT, 30, f"{self.name} to die")

    def stop(self, timeout: float = 90) -> None:
        """Clean shutdown (SIGTERM); SIGKILL only if it does not finish in ``timeout``."""
        info = find_mysqld(self.datadir)
        if info.pid is None:
            return
        if info.state is ProcessState.SUSPENDED:
            os.kill(info.pid, signal.SIGCONT)
        os.kill(info.pid, signal.SIGTERM)
        try:
            wait_for(lambda: self.process() is ProcessState.ABSENT, timeout, f"{self.name} to shut down")
        except SandboxError:
            self.kill()

    def wait_synced(self, timeout: float = 120) -> NodeState:
        """Wait until the node is Synced in a Primary component; fail early if mariadbd dies."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            state = self.snapshot()
            if state.synced:
                return state
            if state.process is ProcessState.ABSENT and time.monotonic() - started > 5:
                raise SandboxError(f"{self.name}: mariadbd exited; {self.error_tail()}")
            if time.monotonic() > deadline:
                raise SandboxError(f"{self.name} not Synced after {timeout:g} s ({state.status.value}: {state.reason})")
            time.sleep(0.2)

    def error_tail(self, lines: int = 3) -> str:
        try:
            text = self.error_log.read_text(errors="replace").splitlines()
        except OSError:
            return "no error log"
        errors = [line for line in text if "[ERROR]" in line] or text
        return " / ".join(errors[-lines:])

    def connect(self, group: str = ADMIN_GROUP) -> pymysql.connections.Connection:
        """A connection as the sandbox's admin user (or another group of the option file)."""
        opts = read_option_file(self.option_file, group)
        return pymysql.connect(
            unix_socket=opts.socket, user=opts.user, password=opts.password or "", autocommit=True, connect_timeout=5
        )

    def sql(self, statement: str) -> list[tuple]:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
                return list(cur.fetchall())
        finally:
            conn.close()

    def set_desync(self, on: bool, timeout: float = 30) -> None:
        """SET GLOBAL wsrep_desync, retried while Galera refuses it for a moment.

        Galera answers "Operation 'desync' failed" (1396) while the node's group is busy
        with a view change or a state transfer; that passes.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sql(f"SET GLOBAL wsrep_desync = {'ON' if on else 'OFF'}")
                return
            except pymysql.OperationalError as exc:
                if exc.args[0] != ER_CANNOT_USER or time.monotonic() > deadline:
                    raise
            time.sleep(0.2)


class Sandbox:
    def __init__(self, root: Path = DEFAULT_DIR, nodes: int = 3, segments: Sequence[int] = (),
                 hosts: bool = False, v2c: bool = False) -> None:
        """``segments``: each node's gmcast.segment (default all 0), e.g. (0, 0, 0, 1, 1) for two sites.
        ``hosts``: every node in a network namespace of its own (one hosts sandbox at a time).
        ``v2c``: snmpd answers SNMPv2c instead of SNMPv3 authPriv (galera-init then allows it)."""
        if not 1 <= nodes <= MAX_NODES:
            raise SandboxError(f"--nodes must be between 1 and {MAX_NODES}")
        if segments and len(segments) != nodes:
            raise SandboxError(f"{len(segments)} segments for {nodes} nodes")
        self.root = Path(root).absolute()
        self.hosts = hosts
        self.v2c = v2c
        self.nodes = [SandboxNode(self.root, i, nodes, segments[i - 1] if segments else 0, hosts, v2c)
                      for i in range(1, nodes + 1)]
        self.network = hosts_network(nodes) if hosts else None

    @classmethod
    def existing(cls, root: Path, default: int = 3) -> Sandbox:
        """The sandbox already in ``root``, with as many nodes as it has folders for."""
        count = sum(1 for i in range(1, MAX_NODES + 1) if (Path(root) / f"node{i}").is_dir())
        topology, mode = Path(root) / TOPOLOGY_FILE, Path(root) / SNMP_MODE_FILE
        hosts = topology.exists() and topology.read_text().strip() == "hosts"
        v2c = mode.exists() and mode.read_text().strip() == "v2c"
        return cls(root, count or default, hosts=hosts, v2c=v2c)

    def node(self, index: int) -> SandboxNode:
        return self.nodes[index - 1]

    def _passwords(self) -> tuple[str, str]:
        """Reuse the passwords of an existing sandbox, else make new ones."""
        first = self.nodes[0].option_file
        if first.exists():
            monitor = read_option_file(first, "client").password
            admin = read_option_file(first, ADMIN_GROUP).password
            if monitor and admin:
                return monitor, admin
        return secrets.token_urlsafe(18), secrets.token_urlsafe(18)

    def prepare(self) -> None:
        for name in REQUIRED_PROGRAMS:
            binary(name)
        if os.geteuid() != 0:
            raise SandboxError("the sandbox runs mariadbd as the mysql user and must be started as root")
        try:
            pwd.getpwnam(MYSQL_USER)
        except KeyError:
            raise SandboxError(f"no {MYSQL_USER} user ({INSTALL_HINT})") from None
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)  # the mysql user must reach its node directories
        if self.network is not None:
            (self.root / TOPOLOGY_FILE).write_text("hosts\n")
            if not self.network.built():
                if any(node.process() is not ProcessState.ABSENT for node in self.nodes):
                    raise SandboxError("nodes run without their hosts; run 'galera-snmp sandbox down' first")
                try:
                    self.network.build()
                except NetnsError as err:
                    raise SandboxError(str(err)) from None
        (self.root / SNMP_MODE_FILE).write_text("v2c\n" if self.v2c else "v3\n")
        self._write_snmp_credentials()
        if not (self.root / EVICT_KEY).exists():  # made once: the same key for every node
            _write_private(self.root / EVICT_KEY, secrets.token_hex(32) + "\n")
        monitor, admin = self._passwords()
        for node in self.nodes:
            node.write_files(monitor, admin)

    def _write_snmp_credentials(self) -> None:
        """DIR/snmp.cred and DIR/net-snmp/snmp.conf: the SNMPv3 user's pass phrases, made once."""
        path = self.root / SNMP_CREDENTIALS
        try:
            known = snmp_settings(self.root)
        except ConfigError:
            known = {}
        auth = known.get("authpasswd") or secrets.token_urlsafe(18)
        priv = known.get("privpasswd") or secrets.token_urlsafe(18)
        protocol = "2c" if self.v2c else "3"
        _write_private(path, f"[{snmpsettings.SECTION}]\nprotocol = {protocol}\ncommunity = {COMMUNITY}\n"
                             f"seclevel = authPriv\nsecname = {SNMP_USER}\nauthproto = SHA-256\n"
                             f"authpasswd = {auth}\nprivproto = AES\nprivpasswd = {priv}\n")
        (self.root / NET_SNMP_DIR).mkdir(mode=0o700, exist_ok=True)
        client = "mibs :\n"  # as Debian's own snmp.conf, which SNMPCONFPATH replaces: no MIB module unless asked
        client += (f"defVersion 2c\ndefCommunity {COMMUNITY}\n" if self.v2c else
                  f"defVersion 3\ndefSecurityLevel authPriv\ndefSecurityName {SNMP_USER}\ndefAuthType SHA-256\n"
                  f"defAuthPassphrase {auth}\ndefPrivType AES\ndefPrivPassphrase {priv}\n")
        _write_private(self.root / NET_SNMP_DIR / "snmp.conf", client)

    def snmptrapd_lines(self) -> str:
        """What a snmptrapd's configuration needs to take (and log) the nodes' notifications."""
        if self.v2c:
            return f"authCommunity log {COMMUNITY}\n"
        keys = _user_keys(snmp_settings(self.root))
        users = "".join(f"createUser -e {node.trap_engine_id} {SNMP_USER} {keys}\n" for node in self.nodes)
        return f"{users}authUser log {SNMP_USER} authPriv\n"

    def up(self, timeout: float = 120) -> None:
        """Bring every node to Synced. Idempotent: running nodes are left alone."""
        self.prepare()
        states = {node.index: node.snapshot() for node in self.nodes}
        primary = [n for n in self.nodes if states[n.index].says_primary]
        if not primary:
            busy = [n.name for n in self.nodes if states[n.index].process is not ProcessState.ABSENT]
            if busy:
                raise SandboxError(
                    f"{', '.join(busy)} running but not in a Primary component; run 'galera-snmp sandbox down' first"
                )
            seed = self._bootstrap_node(states)
            if seed is None:  # an unclean stop: what galera-init is for, as after a power cut
                self._recover(timeout)
            elif not seed.initialized():
                seed.initialize()
                seed.start(bootstrap=True)
                self._create_users(seed, timeout)
                seed.wait_synced(timeout)
            else:
                seed.start(bootstrap=True, extra_args=(_start_position(seed, states[seed.index]),))
                seed.wait_synced(timeout)
        for node in self.nodes:
            if node.process() is ProcessState.ABSENT:
                node.start()
            node.wait_synced(timeout)
        self.wait_settled(timeout)
        for node in self.nodes:
            node.start_services()
        for node in self.nodes:
            node.wait_snmp()

    def settled(self) -> bool:
        """Every node Synced in one Primary view holding all of them.

        A node's own Synced is not enough: a later joiner's state transfer makes an earlier
        node its donor for a moment, and a node resumed after SIGSTOP still reports the
        Synced it froze in until the others' eviction of it reaches it.
        """
        states = [node.snapshot() for node in self.nodes]
        views = {(s.cluster_state_uuid, s.cluster_conf_id) for s in states}
        return len(views) == 1 and all(
            s.synced and s.cluster_size == len(self.nodes)
            for s in states
        )

    def wait_settled(self, timeout: float = 120) -> None:
        """SandboxError at the deadline naming how each node is then: what a test that fails here
        is diagnosed from."""
        try:
            wait_for(self.settled, timeout, "every node Synced in one Primary view", interval=0.2)
        except SandboxError as err:
            now = "; ".join(f"{node.name} {s.status.value} ({s.reason}), view {s.cluster_conf_id} of {s.cluster_size}"
                            for node, s in ((node, node.snapshot()) for node in self.nodes))
            raise SandboxError(f"{err}: {now}") from None

    def _bootstrap_node(self, states: dict[int, NodeState]) -> SandboxNode | None:
        """The node to bootstrap: the first of a new sandbox, the one a clean stop marked
        safe_to_bootstrap; None after an unclean stop (no single one marked)."""
        if not any(node.initialized() for node in self.nodes):
            return self.nodes[0]
        safe = [n for n in self.nodes if states[n.index].position.safe_to_bootstrap]
        return safe[0] if len(safe) == 1 else None

    def _recover(self, timeout: float) -> None:
        """galera-init on every node at once, its agent running: the recovered positions elect
        one node to bootstrap and the others join it, nothing committed lost."""
        for node in self.nodes:
            node.start_services()
        for node in self.nodes:
            node.wait_snmp()
        runs = []
        for node in self.nodes:
            log = node.dir / "log" / "galera-init.log"
            argv = [*node.enter(), program("galera-init"), "-c", str(node.config_path)]
            with open(log, "w") as out:
                runs.append((node, log, subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)))
        failed = []
        for node, log, run in runs:
            try:
                run.wait(timeout=max(timeout, 300))
            except subprocess.TimeoutExpired:
                run.kill()
                run.wait()
            if run.returncode != 0:
                last = log.read_text().strip().splitlines()[-1:] or ["no output"]
                failed.append(f"{node.name}: {last[0]}")
        if failed:
            raise SandboxError(f"galera-init could not bring the sandbox back ({'; '.join(failed)}; its logs are in "
                               "each node's log folder); start over with 'galera-snmp sandbox down --purge'")

    def _create_users(self, node: SandboxNode, timeout: float) -> None:
        """Create the monitoring and admin users as root over the socket, once it accepts."""
        monitor, admin = self._passwords()
        # Sent on stdin, never on the command line: argv is world-readable in /proc.
        script = (
            f"CREATE USER IF NOT EXISTS '{MONITOR_USER}'@'localhost' IDENTIFIED BY '{monitor}';\n"
            f"GRANT SELECT ON mysql.wsrep_cluster_members TO '{MONITOR_USER}'@'localhost';\n"
            f"CREATE USER IF NOT EXISTS '{ADMIN_USER}'@'localhost' IDENTIFIED BY '{admin}';\n"
            f"GRANT ALL ON *.* TO '{ADMIN_USER}'@'localhost' WITH GRANT OPTION;\n"
        )
        errors: list[str] = []

        def created() -> bool:
            result = subprocess.run(
                [binary("mariadb"), f"--socket={node.socket}", "--user=root"],
                input=script,
                capture_output=True,
                text=True,
                check=False,
            )
            errors.append(result.stderr.strip())
            return result.returncode == 0

        try:
            wait_for(created, timeout, f"{node.name} to accept the sandbox users", interval=0.2)
        except SandboxError as err:
            raise SandboxError(f"{err}: {errors[-1] if errors else ''}") from None

    def down(self, purge: bool = False) -> None:
        """Stop every node cleanly, the first node last (so it is safe to bootstrap next)."""
        for node in reversed(self.nodes):
            node.stop()
        for node in self.nodes:
            node.stop_services()
        if self.network is not None:
            try:
                self.network.remove()  # whatever still runs on the hosts (a galera-init, keepalived) ends here
            except NetnsError as err:
                raise SandboxError(str(err)) from None
        if purge and self.root.exists():
            shutil.rmtree(self.root)

    def status(self) -> list[tuple[SandboxNode, NodeState]]:
        return [(node, node.snapshot()) for node in self.nodes if node.config_path.exists()]
