"""The cluster's nodes as galera-init, the agent and ``galera-snmp status`` know them: the data
nodes (the configured list, or the server's wsrep_cluster_address, normalised, arbitrators left
out: ``config.with_data_nodes``), which one is this node, their sites and writers' order, and how
to reach each node's snmpd ([init] snmp_port, snmp_credentials: check_snmp-style settings in a
private file).
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable, Mapping

from ..address import host_of, normalise
from ..config import Config, ConfigError, node_list, read_private_section, with_data_nodes
from ..derived import gmcast_segment
from ..mycnf import server_options
from ..record import record
from ..snmp import settings as snmpsettings
from ..snmp.client import Target
from .nodeset import node_set


@record
class Cluster:
    nodes: tuple[str, ...]  # the data nodes' normalised addresses, in configured order (which decides nothing)
    me: int
    sites: Mapping[str, str]  # [cluster] sites, every one a data node
    writers: tuple[str, ...]  # the writer rule's priority order: [cluster] writers, else the node set's order


def find_cluster(config: Config) -> Cluster:
    """The data nodes, which one is this node, their sites and writers' order; ConfigError when
    it cannot be told."""
    mycnf = _server_options(config)
    config = _known_nodes(config, mycnf)
    nodes = config.init.nodes
    me = config.init.address
    if not me and config.server.defaults_file is not None:
        me = mycnf().get("wsrep_node_address", "")
    me = normalise(me) if me else ""
    if not me:
        local = [node for node in nodes if is_local(node)]
        if len(local) != 1:
            raise ConfigError(f"cannot tell which of {', '.join(nodes)} is this node: set [init] address")
        me = local[0]
    if me in config.init.arbitrators:
        raise ConfigError(f"[init] address {me!r} is listed as an arbitrator: galera-init runs on data nodes")
    if me not in nodes:
        raise ConfigError(f"[init] address {me!r} is not one of the nodes {', '.join(nodes)}")
    return Cluster(nodes, nodes.index(me), config.cluster.sites, config.cluster.writers or node_set(nodes).nodes)


def data_nodes(config: Config) -> tuple[str, ...]:
    """The nodes that elect, normalised, without the [init] arbitrators (garbd has no agent: it
    is never waited for, never counted). galera-init elects with them and the agent publishes
    their digest (at each refresh: an edited wsrep_cluster_address shows without a restart): one
    function for both."""
    return _known_nodes(config, _server_options(config)).init.nodes


def own_segment(config: Config) -> int | None:
    """This node's Galera segment from its server's my.cnf (``gmcast.segment`` of
    wsrep_provider_options), for a node whose mysqld is down; None when that cannot be read."""
    if config.server.defaults_file is None:
        return None
    try:
        options = server_options(config.server.defaults_file)
    except (ConfigError, OSError):
        return None
    return gmcast_segment(options.get("wsrep_provider_options", ""))


def _known_nodes(config: Config, mycnf: Callable[[], dict[str, str]]) -> Config:
    """``config`` with its data nodes: [init] nodes as load_config checked them, else the hosts of
    the server's wsrep_cluster_address, read now and checked by the same rule."""
    if config.init.nodes:
        return config
    address = mycnf().get("wsrep_cluster_address")
    if not address:
        raise ConfigError(f"no [init] nodes and no wsrep_cluster_address in {config.server.defaults_file}")
    where = f"wsrep_cluster_address in {config.server.defaults_file}"
    return with_data_nodes(config, node_list(where, cluster_hosts(address)), where)


def _server_options(config: Config) -> Callable[[], dict[str, str]]:
    """The server's my.cnf options, read once and only when asked for."""

    @functools.cache
    def read() -> dict[str, str]:
        if config.server.defaults_file is None:
            raise ConfigError(f"{config.path}: [init] nodes is empty and [server] defaults_file is not set")
        return server_options(config.server.defaults_file)

    return read


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


def trusted_targets(config: Config, cluster: Cluster, acts: str) -> list[Target]:
    """The targets of a command that acts on its peers' answers (``acts`` says how, for the
    error): only authenticated SNMPv3 unless [init] allow_v2c = yes. A SNMPv2c answer, or a v3
    one without authentication, can be forged by anyone who can send this host a datagram: a
    forged "stopped at a newer seqno" elects the wrong node. One rule for every such command."""
    targets = snmp_targets(config, cluster)
    if not config.init.allow_v2c and any(t.version != "3" or t.level == "noAuthNoPriv" for t in targets):
        raise ConfigError(
            f"{acts} on its peers' answers and trusts only authenticated SNMPv3 (authNoPriv or authPriv): set "
            "protocol = 3 in [init] snmp_credentials, or allow_v2c = yes in [init] (insecure: an unauthenticated "
            "answer can be forged by anyone who can send this host a datagram)"
        )
    return targets


def cluster_hosts(address: str) -> tuple[str, ...]:
    """The hosts of a ``wsrep_cluster_address`` (``gcomm://a,b:4567,c?pc.wait_prim=no``)."""
    scheme, sep, rest = address.partition("://")
    if not sep or scheme != "gcomm":
        raise ConfigError(f"wsrep_cluster_address {address!r} is not a gcomm:// address")
    hosts = [host_of(item) for item in rest.split("?", 1)[0].split(",") if item.strip()]
    if not hosts:
        raise ConfigError(f"wsrep_cluster_address {address!r} names no node")
    return tuple(hosts)
