"""The INI configuration and the my.cnf-style option file that holds MySQL credentials.

Every mistake becomes a :class:`ConfigError` whose message names the file, the section and the
key, so a command can print one line and exit 3. Secrets live only in the option file, which
must not be readable by others.
"""

from __future__ import annotations

import configparser
import errno
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from . import inifile
from .address import normalise
from .inifile import ConfigError
from .mycnf import read_groups
from .record import field, record, replace
from .safeio import read_regular
from .state import HealthPolicy

DEFAULT_CONFIG = Path(inifile.DEFAULT_CONFIG)


@record
class MysqlConfig:
    option_file: Path
    option_group: str = "client"
    connect_timeout: float = 2.0
    read_timeout: float = 2.0
    # the option file's group with an administrator (make-primary's SET GLOBAL); unset: root by socket
    admin_group: str | None = None


@record
class ServerConfig:
    """The local mysqld: where its data is and how to run ``--wsrep-recover`` on it."""

    datadir: Path = Path("/var/lib/mysql")
    defaults_file: Path | None = None
    mysqld: str = "/usr/sbin/mariadbd"
    user: str = "mysql"
    recover: bool = True
    recover_timeout: float = 300.0


@record
class AgentConfig:
    """galera-snmp-agent: where the AgentX master listens, and how galera-snmp-notify wakes us."""

    socket: Path = Path("/var/agentx/master")
    refresh_interval: float = 2.0
    # A state transfer that moved nothing (no byte copied, no write-set applied, no state change)
    # for this many seconds is published as stalled (node/transfer.py).
    transfer_stalled_after: float = 60.0
    # Without the AgentX master (snmpd restarting, down) the agent keeps its other outputs current
    # and tries to register again, waiting longer each time up to this many seconds.
    reconnect_interval: float = 5.0
    wake_socket: Path = Path(inifile.DEFAULT_WAKE_SOCKET)
    event_file: Path = Path(inifile.DEFAULT_EVENT_FILE)
    # What the agent keeps across restarts (the recovered position for one-shot commands, ...):
    # the agent's own (root's, or its service user's), never a world-writable folder such as /var/tmp.
    state_dir: Path = Path("/var/lib/galera-snmp")


@record
class KeepalivedConfig:
    """The file keepalived's ``track_file ... weight 0 reverse`` reads: 1 serve, 0 fault."""

    track_file: Path | None = None


@record
class EndpointConfig:
    """The keys of a port the agent serves to the network ([http], [metrics], [agentcheck]: a
    tcpserver.BoundedServer each), declared once as they are read once (_ENDPOINT); the defaults
    are [http]'s. It faces the network, so its costs are bounded: a connection lives at most
    ``request_timeout`` seconds, at most ``max_connections`` are open (a new one closes the
    oldest), and the reason it gives is a short class unless ``detailed_reasons`` (mysqld's error
    text may name users, hosts and paths)."""

    enabled: bool = False
    address: str = "0.0.0.0"
    port: int = 9200
    request_timeout: float = 2.0
    max_connections: int = 64
    detailed_reasons: bool = False


@record
class HttpConfig(EndpointConfig):
    """The clustercheck-compatible health endpoint the agent serves (HAProxy ``option httpchk``),
    unauthenticated."""


@record
class MetricsConfig(EndpointConfig):
    """/metrics: the report as Prometheus / OpenMetrics metrics (docs/METRICS.md), on a listener
    of its own. It names the node, its cluster and its members' addresses, which SNMPv3 protects,
    so it binds only to the address the operator names (no default), and ``web_config``
    (exporter-toolkit's web configuration file) adds TLS and basic authentication."""

    address: str = ""
    port: int = 9201
    max_connections: int = 16
    web_config: Path | None = None


@record
class AgentCheckConfig(EndpointConfig):
    """HAProxy's agent-check, served by the agent (traffic/agentcheck.py): a port that answers
    ``up``/``drain``/``down`` with a weight that falls as the receive queue or flow control rises
    (100 % at rest, ``floor`` % at ``queue_full`` queued write-sets or ``paused_full`` of the time
    paused). Its reasons are the HTTP check's short classes unless ``detailed_reasons`` (HAProxy
    shows them)."""

    port: int = 9300
    queue_full: int = 16  # gcs.fc_limit's default: from here on the node sends flow control
    paused_full: float = 0.25
    floor: int = 10


@record
class InitConfig:
    """galera-init: who the nodes are, how to ask them, and how to start mysqld.

    ``nodes`` are the data nodes (with_data_nodes): normalised, each once, the ``arbitrators``
    (garbd hosts, which have no agent: never waited for, never counted) left out. Empty
    ``nodes``/``address`` are filled from the server's my.cnf (wsrep_cluster_address,
    wsrep_node_address) when they are needed, and those nodes are checked by the same rule then.
    Commands are split like a shell would (no shell runs them); ``{position}`` becomes the
    recovered ``UUID:SEQNO`` (an argument naming it is left out when the position is unknown), and
    ``{donors}`` the spared donors (left out likewise when there are none, or spare_writer is off). An
    empty ``stop_command`` means SIGTERM to the mysqld of the datadir.
    """

    nodes: tuple[str, ...] = ()
    address: str = ""
    arbitrators: tuple[str, ...] = ()
    snmp_port: int = 161
    snmp_credentials: Path | None = None
    snmp_timeout: float = 1.0
    snmp_retries: int = 1
    poll_period: float = 2.0
    deadline: float = 60.0
    synced_timeout: float = 900.0  # seconds a started mysqld may show no progress (init/transfer.py)
    phase_file: Path = Path("/run/galera-snmp/init-phase.json")
    join_command: str = "systemctl start mariadb"
    bootstrap_command: str = "galera_new_cluster"
    stop_command: str = ""
    # galera-init bootstraps on what the peers answer: only authenticated (SNMPv3) answers by
    # default; SNMPv2c answers can be forged by anyone who can send a datagram.
    allow_v2c: bool = False
    # A join asks Galera for the other Synced nodes as donors, the writer and drained nodes left
    # out (cluster/rejoin.spared_donors): {donors} in join_command, and donor_file, a my.cnf
    # drop-in galera-init rewrites before each join (wsrep_sst_donor), carry the list.
    spare_writer: bool = False
    donor_file: Path | None = None


@record
class ClusterConfig:
    """Sites (data centres) for ``galera-snmp status`` and the agent's silent-site watch.

    ``sites`` maps data nodes' normalised addresses to site names; a node not named there is
    placed by its Galera segment (gmcast.segment). ``sites`` and ``writers`` name data nodes only
    (with_data_nodes checks them). The agent reads every node's agent every ``watch_interval``
    seconds and, when a whole site has been silent for ``silent_after`` seconds while this side
    waits non-Primary, says so (galeraSiteAdvice, galeraSiteSilent).
    """

    sites: Mapping[str, str] = MappingProxyType({})
    writers: tuple[str, ...] = ()  # the writer's priority order (cluster/writer.py); empty: the node set's order
    silent_after: float = 60.0
    watch_interval: float = 5.0
    watch: bool = True
    # crash eviction (eviction.py): the agents tell one another of a mysqld exit, authenticated
    # with the key in ``evict_key`` (a private file of KEY_BYTES random octets, the same on every
    # node), on UDP ``evict_port`` of each node's address; no key, no eviction
    evict_on_crash: bool = True
    evict_key: Path | None = None
    evict_port: int = 9310


@record
class Config:
    path: Path
    mysql: MysqlConfig
    server: ServerConfig = ServerConfig()
    agent: AgentConfig = AgentConfig()
    health: HealthPolicy = HealthPolicy()
    drain_file: Path = Path("/var/lib/galera-snmp/drained")
    keepalived: KeepalivedConfig = KeepalivedConfig()
    http: HttpConfig = HttpConfig()
    init: InitConfig = InitConfig()
    cluster: ClusterConfig = ClusterConfig()
    agentcheck: AgentCheckConfig = AgentCheckConfig()
    metrics: MetricsConfig = MetricsConfig()


@record
class ClientOptions:
    """Connection settings read from the option file. ``password`` never appears in repr()."""

    user: str | None = None
    password: str | None = field(default=None, repr=False)
    host: str | None = None
    port: int = 3306
    socket: str | None = None
    ssl_ca: str | None = None  # over TCP: TLS, the server's certificate verified against this CA
    server_public_key_path: str | None = None  # over TCP without TLS: the server's RSA key, pinned


# the keys of a port the agent serves to the network ([http], [metrics], [agentcheck]): EndpointConfig
_ENDPOINT = {"enabled": "bool", "address": "str", "port": "port", "request_timeout": "seconds",
             "max_connections": "connections", "detailed_reasons": "bool"}
_SCHEMA: dict[str, dict[str, str]] = {
    "mysql": {
        "option_file": "path",
        "option_group": "str",
        "admin_group": "str",
        "connect_timeout": "seconds",
        "read_timeout": "seconds",
    },
    "server": {
        "datadir": "path",
        "defaults_file": "path",
        "mysqld": "str",
        "user": "str",
        "recover": "bool",
        "recover_timeout": "seconds",
    },
    "health": {"donor_serves": "bool", "desync_serves": "bool", "read_only_serves": "bool", "drain_file": "path"},
    "agent": {
        "socket": "path",
        "refresh_interval": "seconds",
        "transfer_stalled_after": "seconds",
        "reconnect_interval": "seconds",
        "wake_socket": "path",
        "event_file": "path",
        "state_dir": "path",
    },
    "keepalived": {"track_file": "path"},
    "http": _ENDPOINT,
    "metrics": {**_ENDPOINT, "web_config": "path"},
    "init": {
        "nodes": "nodes",
        "address": "str",
        "arbitrators": "nodes",
        "snmp_port": "port",
        "snmp_credentials": "path",
        "snmp_timeout": "seconds",
        "snmp_retries": "count",
        "poll_period": "seconds",
        "deadline": "seconds",
        "synced_timeout": "long-seconds",
        "phase_file": "path",
        "join_command": "str",
        "bootstrap_command": "str",
        "stop_command": "command",
        "allow_v2c": "bool",
        "spare_writer": "bool",
        "donor_file": "path",
    },
    "cluster": {"sites": "sites", "writers": "nodes", "silent_after": "seconds", "watch_interval": "seconds",
                "watch": "bool", "evict_on_crash": "bool", "evict_key": "path", "evict_port": "port"},
    "agentcheck": {**_ENDPOINT, "queue_full": "connections", "paused_full": "fraction", "floor": "percent"},
}


# the longest value each kind of duration accepts (waiting for a node to be Synced may take hours)
SECONDS_LIMITS = {"seconds": 3600, "long-seconds": 86400}
# the most connections [http] max_connections allows (each costs a file descriptor of the agent)
MAX_CONNECTIONS = 10000


def _convert(where: str, kind: str, raw: str, config_path: Path) -> object:
    raw = raw.strip()
    if kind == "path":
        return Path(inifile.resolve_path(raw, config_path, where))
    if kind in SECONDS_LIMITS:
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{where}: {raw!r} is not a number of seconds") from None
        limit = SECONDS_LIMITS[kind]
        if not 0 < value <= limit:
            raise ConfigError(f"{where}: {raw} is outside 0 < seconds <= {limit}")
        return value
    if kind == "nodes":
        items = tuple(item.strip() for item in raw.split(","))
        if not raw or not all(items):
            raise ConfigError(f"{where}: {raw!r} is not a comma-separated list")
        return node_list(where, items)
    if kind == "fraction":
        try:
            fraction = float(raw)
        except ValueError:
            raise ConfigError(f"{where}: {raw!r} is not a number") from None
        if not 0 < fraction <= 1:
            raise ConfigError(f"{where}: {raw} is outside 0 < fraction <= 1")
        return fraction
    if kind == "percent":
        if not (raw.isascii() and raw.isdigit()) or int(raw) > 100:
            raise ConfigError(f"{where}: {raw!r} is not a percentage from 0 to 100")
        return int(raw)
    if kind == "sites":
        return _sites(where, raw)
    if kind == "count":
        if not (raw.isascii() and raw.isdigit()) or int(raw) > 10:
            raise ConfigError(f"{where}: {raw!r} is not a number from 0 to 10")
        return int(raw)
    if kind == "connections":
        if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_CONNECTIONS:
            raise ConfigError(f"{where}: {raw!r} is not a number from 1 to {MAX_CONNECTIONS}")
        return int(raw)
    if kind == "command":
        return raw
    if kind == "port":
        if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 65536:
            raise ConfigError(f"{where}: {raw!r} is not a TCP port (1-65535)")
        return int(raw)
    if kind == "bool":
        lowered = raw.lower()
        if lowered in ("yes", "true", "on", "1"):
            return True
        if lowered in ("no", "false", "off", "0"):
            return False
        raise ConfigError(f"{where}: {raw!r} is not yes/no")
    if not raw:
        raise ConfigError(f"{where}: empty value")
    return raw


def _sites(where: str, raw: str) -> Mapping[str, str]:
    """``node=site, node=site``, by the nodes' normal form, each node named once."""
    pairs = []
    for item in raw.split(","):
        node, sep, site = (part.strip() for part in item.partition("="))
        if not sep or not node or not site:
            raise ConfigError(f"{where}: {item.strip()!r} is not node=site (e.g. db1=east, db2=east, db3=west)")
        pairs.append((node, site))
    nodes = node_list(where, [node for node, _ in pairs])
    return MappingProxyType(dict(zip(nodes, (site for _, site in pairs), strict=True)))


def node_list(where: str, listed: Iterable[str]) -> tuple[str, ...]:
    """Node addresses in their normal form (galera_snmp/address.py), in their order, each named
    once: two spellings of one node would count it twice (or give it two sites)."""
    listed = tuple(listed)
    nodes = tuple(normalise(node) for node in listed)
    for node in nodes:
        if nodes.count(node) > 1:
            spellings = ", ".join(given for given, normal in zip(listed, nodes, strict=True) if normal == node)
            raise ConfigError(f"{where}: {node} is named twice ({spellings})")
    return nodes


def with_data_nodes(config: Config, nodes: tuple[str, ...], where: str) -> Config:
    """``config`` whose [init] nodes are the data nodes among ``nodes`` (a node_list from
    ``where``): the [init] arbitrators left out, at least one left, and every node [cluster] sites
    and writers name among them (a typo would hide a site, or a writer nobody could be). One rule
    for both sources: load_config's [init] nodes, and wsrep_cluster_address when they are empty
    (cluster/peers reads it when needed, so that an edited address counts without a restart)."""
    kept = tuple(node for node in nodes if node not in config.init.arbitrators)
    if not kept:
        raise ConfigError(f"{where}: no data node among {', '.join(nodes)} once the [init] arbitrators are left out")
    for key, named in (("sites", config.cluster.sites), ("writers", config.cluster.writers)):
        strangers = [node for node in named if node not in kept]
        if strangers:
            raise ConfigError(f"{config.path}: [cluster] {key}: {', '.join(strangers)} not among the data nodes "
                              f"({', '.join(kept)})")
    return replace(config, init=replace(config.init, nodes=kept))


def load_config(path: Path | str = DEFAULT_CONFIG) -> Config:
    """Read and validate the INI file. Relative paths inside it are relative to its folder."""
    path = Path(path)
    parser = inifile.read_ini(path, text=_read_checked(path, "config", _trusted_by_root))
    _folders_trusted_by_root(path)
    values: dict[str, dict[str, object]] = {}
    for section in parser.sections():
        if section not in _SCHEMA:
            raise ConfigError(f"{path}: unknown section [{section}] (known: {', '.join(_SCHEMA)})")
        for key, raw in parser.items(section):
            if (section, key) == ("http", "metrics"):
                raise ConfigError(f"{path}: [http] metrics moved to a section of its own: [metrics] enabled = yes "
                                  "and address = (where /metrics listens; docs/METRICS.md)")
            if key not in _SCHEMA[section]:
                known = ", ".join(_SCHEMA[section])
                raise ConfigError(f"{path}: [{section}] unknown key {key!r} (known: {known})")
            where = f"{path}: [{section}] {key}"
            values.setdefault(section, {})[key] = _convert(where, _SCHEMA[section][key], raw, path)
    mysql = values.get("mysql", {})
    if "option_file" not in mysql:
        raise ConfigError(f"{path}: [mysql] option_file is required (a my.cnf-style file with the credentials)")
    health = dict(values.get("health", {}))
    drain_file = health.pop("drain_file", Config.drain_file)
    metrics = values.get("metrics", {})
    if metrics.get("enabled") and not metrics.get("address"):
        raise ConfigError(f"{path}: [metrics] enabled = yes needs address: /metrics names the node, its cluster and "
                          "its members, so it listens only where you say (an address of a monitoring network)")
    config = Config(
        path=path,
        mysql=MysqlConfig(**mysql),  # type: ignore[arg-type]
        server=ServerConfig(**values.get("server", {})),  # type: ignore[arg-type]
        agent=AgentConfig(**values.get("agent", {})),  # type: ignore[arg-type]
        health=HealthPolicy(**health),  # type: ignore[arg-type]
        drain_file=drain_file,  # type: ignore[arg-type]
        keepalived=KeepalivedConfig(**values.get("keepalived", {})),  # type: ignore[arg-type]
        http=HttpConfig(**values.get("http", {})),  # type: ignore[arg-type]
        init=InitConfig(**values.get("init", {})),  # type: ignore[arg-type]
        cluster=ClusterConfig(**values.get("cluster", {})),  # type: ignore[arg-type]
        agentcheck=AgentCheckConfig(**values.get("agentcheck", {})),  # type: ignore[arg-type]
        metrics=MetricsConfig(**metrics),  # type: ignore[arg-type]
    )
    return with_data_nodes(config, config.init.nodes, f"{path}: [init] nodes") if config.init.nodes else config


def _read_checked(path: Path | str, what: str, check: Callable[[os.stat_result], str | None]) -> str:
    """The text of ``path`` after ``check`` accepted the very file it came from: the checks look
    at the open file (fstat), so nobody can swap the file between the check and the read."""
    try:
        data, info = read_regular(path, inifile.MAX_SIZE, follow=True)
    except OSError as err:
        if err.errno == errno.EINVAL:
            raise ConfigError(f"{what} {path} is not a regular file") from None
        if err.errno == errno.EFBIG:
            raise ConfigError(f"{what} {path} is larger than {inifile.MAX_SIZE} bytes") from None
        raise ConfigError(f"cannot read {what} {path}: {err.strerror}") from None
    problem = check(info)
    if problem:
        raise ConfigError(f"{what} {path} {problem}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path} is not a valid INI file: not UTF-8 text") from None


def _private(info: os.stat_result) -> str | None:
    """A file that holds secrets must not be accessible by others."""
    if info.st_mode & (stat.S_IROTH | stat.S_IWOTH):
        mode = stat.S_IMODE(info.st_mode)
        return f"is accessible by others (mode {mode:04o}); it holds secrets: chmod o-rw it"
    return None


def _trusted_by_root(info: os.stat_result) -> str | None:
    """The main config names commands galera-init runs: as root, only root may have written it."""
    if os.geteuid() != 0:
        return None
    if info.st_uid != 0:
        return f"is owned by uid {info.st_uid}, not root; it names commands run as root: chown root it"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        mode = stat.S_IMODE(info.st_mode)
        return f"is writable by others (mode {mode:04o}); it names commands run as root: chmod go-w it"
    return None


def _folders_trusted_by_root(path: Path) -> None:
    """As root, the config's folders too: whoever may write one of them can put another file in
    the config's place (rename, or a link) and name the commands root runs. Every folder up to
    / — of the path as given and of where it leads — must be root's and writable by root only,
    unless sticky (/tmp: others cannot replace root's file there)."""
    if os.geteuid() != 0:
        return
    given = Path(os.path.abspath(path))
    for folder in {*given.parents, *Path(os.path.realpath(path)).parents}:
        try:
            info = os.stat(folder)
        except OSError as err:
            raise ConfigError(f"cannot check folder {folder} of config {path}: {err.strerror}") from None
        if info.st_mode & stat.S_ISVTX:
            continue
        if info.st_uid != 0 or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            mode = stat.S_IMODE(info.st_mode)
            raise ConfigError(f"config {path}: its folder {folder} (uid {info.st_uid}, mode {mode:04o}) may be written "
                              "by others, who could put another file in its place; it names commands run as root: "
                              f"chown root and chmod go-w {folder}")


def read_private(path: Path | str, what: str) -> str:
    """The text of a secrets file, refused when others may read or write it."""
    return _read_checked(path, what, _private)


def read_private_section(path: Path | str, section: str, what: str) -> dict[str, str]:
    """One section of a secrets file (SNMP credentials, say)."""
    text = read_private(path, what)
    parser = inifile.read_ini(path, configparser.RawConfigParser(strict=False), what, text=text)
    if not parser.has_section(section):
        raise ConfigError(f"{what} {path} has no [{section}] section")
    return {key: value.strip() for key, value in parser.items(section)}


def read_option_file(path: Path, group: str = "client") -> ClientOptions:
    """Read credentials from a my.cnf-style file, refusing one that others can read."""
    text = read_private(path, "option file")
    options, groups = read_groups(path, (group.lower(),), includes=False, text=text)
    if group.lower() not in groups:
        raise ConfigError(f"option file {path} has no [{group}] group")
    port_raw = options.get("port") or "3306"
    try:
        port = int(port_raw)
    except ValueError:
        raise ConfigError(f"option file {path}: [{group}] port {port_raw!r} is not a number") from None
    return ClientOptions(
        user=options.get("user"),
        password=options.get("password"),
        host=options.get("host"),
        port=port,
        socket=options.get("socket"),
        ssl_ca=options.get("ssl_ca"),
        server_public_key_path=options.get("server_public_key_path"),
    )
