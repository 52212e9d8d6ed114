"""The cluster's nodes as galera-init and ``galera-snmp status`` know them: the configured list
(or the server's wsrep_cluster_address), which one is this node, and how to reach each node's
snmpd ([init] snmp_port, snmp_credentials: check_snmp-style settings in a private file).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from ..config import Config, ConfigError, read_private_section
from ..mycnf import server_options
from ..snmp import settings as snmpsettings
from ..snmp.client import Target


@dataclass(frozen=True)
class Cluster:
    nodes: tuple[str, ...]  # hosts, in configured order: the index is the last tie-breaker
    me: int


def find_cluster(config: Config) -> Cluster:
    """The configured nodes and which one is this node; ConfigError when it cannot be told."""
    init = config.init
    options: dict[str, str] | None = None

    def mycnf() -> dict[str, str]:
        nonlocal options
        if options is None:
            if config.server.defaults_file is None:
                raise ConfigError(f"{config.path}: [init] nodes is empty and [server] defaults_file is not set")
            options = server_options(config.server.defaults_file)
        return options

    nodes = init.nodes
    if not nodes:
        address = mycnf().get("wsrep_cluster_address")
        if not address:
            raise ConfigError(f"no [init] nodes and no wsrep_cluster_address in {config.server.defaults_file}")
        nodes = cluster_hosts(address)
    me = init.address
    if not me and config.server.defaults_file is not None:
        me = host_of(mycnf().get("wsrep_node_address", ""))
    if not me:
        local = [node for node in nodes if is_local(node)]
        if len(local) != 1:
            raise ConfigError(f"cannot tell which of {', '.join(nodes)} is this node: set [init] address")
        me = local[0]
    if me not in nodes:
        raise ConfigError(f"[init] address {me!r} is not one of the nodes {', '.join(nodes)}")
    if len(set(nodes)) != len(nodes):
        raise ConfigError(f"[init] nodes lists a node twice: {', '.join(nodes)}")
    return Cluster(tuple(nodes), nodes.index(me))


def is_local(host: str) -> bool:
    """Whether ``host`` is an address of this machine: binding to it succeeds only then."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except OSError:
        return False
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            try:
                probe.bind((address[0], 0))
            except OSError:
                continue
            return True
    return False


def snmp_targets(config: Config, cluster: Cluster) -> list[Target]:
    """One target per node, in the configured order; ConfigError for unusable SNMP settings."""
    init = config.init
    from_file: dict[str, str] = {}
    if init.snmp_credentials is not None:
        from_file = read_private_section(init.snmp_credentials, snmpsettings.SECTION, "SNMP credentials file")
    try:
        settings = snmpsettings.merge(from_file)
        return [snmpsettings.target(host, init.snmp_port, settings, init.snmp_timeout, init.snmp_retries)
                for host in cluster.nodes]
    except ValueError as err:
        raise ConfigError(f"{init.snmp_credentials or 'SNMP settings'}: {err}") from None


def cluster_hosts(address: str) -> tuple[str, ...]:
    """The hosts of a ``wsrep_cluster_address`` (``gcomm://a,b:4567,c?pc.wait_prim=no``)."""
    scheme, sep, rest = address.partition("://")
    if not sep or scheme != "gcomm":
        raise ConfigError(f"wsrep_cluster_address {address!r} is not a gcomm:// address")
    hosts = [host_of(item) for item in rest.split("?", 1)[0].split(",") if item.strip()]
    if not hosts:
        raise ConfigError(f"wsrep_cluster_address {address!r} names no node")
    return tuple(hosts)


def host_of(address: str) -> str:
    """The host of a Galera node address: ``host``, ``host:port``, ``[IPv6]:port`` or a bare IPv6."""
    address = address.strip()
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address
