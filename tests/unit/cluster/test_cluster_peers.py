"""cluster/peers.py (named apart from nagios/test_peers.py: test basenames must be unique): where the
data nodes come from, their normal form, the arbitrators left out, and which one is this node."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import stopped_node_config

from galera_snmp.cluster.nodeset import node_set
from galera_snmp.cluster.peers import cluster_hosts, data_nodes, find_cluster, is_local, own_segment
from galera_snmp.cluster.peerwatch import PeerWatch
from galera_snmp.config import Config, ConfigError, load_config
from galera_snmp.init.initiator import Initiator
from galera_snmp.init.make_primary import MakePrimary


@pytest.mark.parametrize(
    ("address", "hosts"),
    [
        ("gcomm://a,b,c", ("a", "b", "c")),
        ("gcomm://10.0.0.1:4567,10.0.0.2?pc.wait_prim=no", ("10.0.0.1", "10.0.0.2")),
        ("gcomm://[fd00::1]:4567,[fd00::2]", ("fd00::1", "fd00::2")),
    ],
)
def test_cluster_hosts(address, hosts):
    assert cluster_hosts(address) == hosts


@pytest.mark.parametrize("address", ["gcomm://", "mysql://a,b", "a,b,c"])
def test_cluster_hosts_refuses_what_is_not_a_cluster(address):
    with pytest.raises(ConfigError):
        cluster_hosts(address)


# --- which node am I ---------------------------------------------------------------------------


def config_with(tmp_path: Path, defaults_file: Path | None = None, cluster: str = "",
                **init: str | tuple[str, ...]) -> Config:
    """The configuration load_config reads with these [init] keys (a tuple: a list) and [cluster] lines."""
    lines = "".join(f"{key} = {value if isinstance(value, str) else ', '.join(value)}\n" for key, value in init.items())
    server = f"[server]\ndatadir = {tmp_path}\n" + (f"defaults_file = {defaults_file}\n" if defaults_file else "")
    conf = tmp_path / "galera-snmp.conf"
    conf.write_text(f"[mysql]\noption_file = client.cnf\n{server}[init]\n{lines}[cluster]\n{cluster}")
    return load_config(conf)


def test_nodes_and_address_from_the_config(tmp_path):
    cluster = find_cluster(config_with(tmp_path, nodes=("10.9.9.1", "10.9.9.2", "10.9.9.3"), address="10.9.9.2"))
    assert (cluster.nodes, cluster.me) == (("10.9.9.1", "10.9.9.2", "10.9.9.3"), 1)


def test_nodes_and_address_from_my_cnf(tmp_path):
    mycnf = tmp_path / "my.cnf"
    mycnf.write_text("[galera]\nwsrep_cluster_address = gcomm://10.9.9.1,10.9.9.2\nwsrep_node_address = 10.9.9.2\n")
    cluster = find_cluster(config_with(tmp_path, defaults_file=mycnf))
    assert (cluster.nodes, cluster.me) == (("10.9.9.1", "10.9.9.2"), 1)


def test_this_nodes_segment_from_its_servers_my_cnf(tmp_path):
    mycnf = tmp_path / "my.cnf"
    mycnf.write_text("[galera]\nwsrep_provider_options = gcache.size=1G; gmcast.segment=3\n")
    assert own_segment(config_with(tmp_path, defaults_file=mycnf, nodes="10.9.9.1, 10.9.9.2", address="10.9.9.1")) == 3
    mycnf.write_text("[galera]\nwsrep_on = ON\n")
    assert own_segment(config_with(tmp_path, defaults_file=mycnf, nodes="10.9.9.1, 10.9.9.2", address="10.9.9.1")) == 0
    assert own_segment(config_with(tmp_path, nodes="10.9.9.1, 10.9.9.2", address="10.9.9.1")) is None  # no my.cnf
    missing = tmp_path / "absent.cnf"
    assert own_segment(config_with(tmp_path, defaults_file=missing, nodes="10.9.9.1, 10.9.9.2",
                                   address="10.9.9.1")) is None


def test_this_node_found_by_its_local_address(tmp_path):
    cluster = find_cluster(config_with(tmp_path, nodes=("203.0.113.1", "127.0.0.1", "203.0.113.3")))
    assert cluster.me == 1


@pytest.mark.parametrize(
    ("init", "words"),
    [
        ({"nodes": ("203.0.113.1", "203.0.113.2")}, "cannot tell which"),
        ({"nodes": ("203.0.113.1", "203.0.113.2"), "address": "203.0.113.9"}, "not one of the nodes"),
        ({}, "defaults_file"),
    ],
)
def test_unclear_cluster_is_a_config_error(tmp_path, init, words):
    with pytest.raises(ConfigError, match=words):
        find_cluster(config_with(tmp_path, **init))


def test_is_local():
    assert is_local("127.0.0.1") and is_local("localhost")
    assert not is_local("203.0.113.77") and not is_local("no-such-host.invalid")


# --- normal form, arbitrators -----------------------------------------------------------------------


def my_cnf(tmp_path: Path, cluster_address: str, node_address: str = "") -> Path:
    path = tmp_path / "my.cnf"
    path.write_text(
        f"[galera]\nwsrep_cluster_address = {cluster_address}\n"
        + (f"wsrep_node_address = {node_address}\n" if node_address else "")
    )
    return path


def test_every_node_listing_itself_first_elects_with_one_set(tmp_path):
    """The field report: each node's wsrep_cluster_address starts with the node itself."""
    hosts = ["10.0.0.11", "10.0.0.12", "10.0.0.13"]
    found = []
    for i, host in enumerate(hosts):
        folder = tmp_path / f"node{i}"
        folder.mkdir()
        order = [host] + [h for h in hosts if h != host]
        mycnf = my_cnf(folder, "gcomm://" + ",".join(f"{h}:4567" for h in order), host)
        cluster = find_cluster(config_with(folder, defaults_file=mycnf))
        assert (cluster.nodes[cluster.me], cluster.me) == (host, 0)
        found.append(node_set(cluster.nodes))
    assert found == [node_set(hosts)] * 3


def test_nodes_are_normalised(tmp_path):
    cluster = find_cluster(
        config_with(tmp_path, nodes=("DB1.Example.", "[FD00::0001]:4567", "10.0.0.3:4567"), address="fd00::1")
    )
    assert (cluster.nodes, cluster.me) == (("db1.example", "fd00::1", "10.0.0.3"), 1)


def test_arbitrators_are_left_out_of_wsrep_cluster_address(tmp_path):
    mycnf = my_cnf(tmp_path, "gcomm://10.0.0.11,GARBD.example:4567,10.0.0.12", "10.0.0.12:4567")
    config = config_with(tmp_path, defaults_file=mycnf, arbitrators=("garbd.example",))
    cluster = find_cluster(config)
    assert (cluster.nodes, cluster.me) == (("10.0.0.11", "10.0.0.12"), 1)
    assert data_nodes(config) == ("10.0.0.11", "10.0.0.12")


def test_arbitrators_are_left_out_of_init_nodes_too(tmp_path):
    config = config_with(
        tmp_path, nodes=("10.0.0.11", "10.0.0.99", "10.0.0.12"), address="10.0.0.11", arbitrators=("10.0.0.99:4567",)
    )
    assert find_cluster(config).nodes == ("10.0.0.11", "10.0.0.12")


def test_an_arbitrator_not_among_the_nodes_changes_nothing(tmp_path):
    config = config_with(tmp_path, nodes=("10.0.0.11", "10.0.0.12"), address="10.0.0.11", arbitrators=("garbd",))
    assert find_cluster(config).nodes == ("10.0.0.11", "10.0.0.12")


def test_this_node_listed_as_an_arbitrator_is_a_config_error(tmp_path):
    """A node list that is unusable in itself is refused at load (tests/unit/test_config.py)."""
    config = config_with(tmp_path, nodes=("10.0.0.11", "10.0.0.12"), address="10.0.0.12:4567", arbitrators="10.0.0.12")
    with pytest.raises(ConfigError) as caught:
        find_cluster(config)
    assert str(caught.value) == "[init] address '10.0.0.12' is listed as an arbitrator: galera-init runs on data nodes"


@pytest.mark.parametrize(
    ("cluster_address", "arbitrators", "cluster", "message"),
    [
        ("gcomm://10.0.0.11,10.0.0.11:4567", "", "", "wsrep_cluster_address in {mycnf}: 10.0.0.11 is named twice "
         "(10.0.0.11, 10.0.0.11)"),
        ("gcomm://garbd:4567", "garbd", "", "wsrep_cluster_address in {mycnf}: no data node among garbd once the "
         "[init] arbitrators are left out"),
        ("gcomm://10.0.0.11,10.0.0.12,garbd", "garbd", "sites = 10.0.0.11=east, garbd=west\n",
         "{conf}: [cluster] sites: garbd not among the data nodes (10.0.0.11, 10.0.0.12)"),
        ("gcomm://10.0.0.11,10.0.0.12", "", "writers = 10.0.0.12, 10.0.0.13, db1\n",
         "{conf}: [cluster] writers: 10.0.0.13, db1 not among the data nodes (10.0.0.11, 10.0.0.12)"),
    ],
)
def test_nodes_read_from_wsrep_cluster_address_are_checked_as_at_load(tmp_path, cluster_address, arbitrators, cluster,
                                                                      message):
    """Known only once my.cnf is read (at each of the agent's refreshes), so refused then, by
    the rule load_config applies to [init] nodes: by galera-init, the agent's node set and its
    peer watch alike."""
    mycnf = my_cnf(tmp_path, cluster_address, "10.0.0.11")
    init = {"arbitrators": arbitrators} if arbitrators else {}
    config = config_with(tmp_path, defaults_file=mycnf, cluster=cluster, **init)
    expected = message.format(mycnf=mycnf, conf=config.path)
    for use in (data_nodes, find_cluster, lambda config: PeerWatch(config, read=lambda targets: [])):
        with pytest.raises(ConfigError) as caught:
            use(config)
        assert str(caught.value) == expected


def test_data_nodes_need_no_address(tmp_path):
    """The agent publishes the set without knowing which node it runs on (no DNS, no binding)."""
    config = config_with(tmp_path, nodes=("203.0.113.2", "203.0.113.1"))
    assert data_nodes(config) == ("203.0.113.2", "203.0.113.1")


ACTING = {  # every command that acts on its peers' answers, and how it is made
    "galera-init decides": lambda config: Initiator(config, say=lambda line: None),
    "make-primary promotes": lambda config: MakePrimary(config, say=lambda line: None),
    "the writer rule chooses": lambda config: PeerWatch(config, read=lambda targets: []),
}


@pytest.mark.parametrize("acts", ACTING)
@pytest.mark.parametrize(
    ("credentials", "refused"),
    [
        ("", True),  # the default: SNMPv2c
        ("protocol = 3\nseclevel = noAuthNoPriv\nsecname = galeramon\n", True),
        ("protocol = 3\nseclevel = authNoPriv\nsecname = galeramon\nauthpasswd = auth-pass-123\n", False),
        ("protocol = 3\nsecname = galeramon\nauthpasswd = auth-pass-123\nprivpasswd = priv-pass-123\n", False),
    ],
)
def test_what_acts_on_peers_answers_trusts_only_authenticated_ones_unless_told_otherwise(
    tmp_path, acts, credentials, refused
):
    """A forged SNMPv2c datagram ("stopped, newer seqno, same history") must decide nothing: not
    which node bootstraps, not which one make-primary promotes, not which one takes the writes."""
    (tmp_path / "snmp.cnf").write_text(f"[snmp]\n{credentials}")
    (tmp_path / "snmp.cnf").chmod(0o600)
    init = f"[init]\nnodes = 127.0.0.1, 203.0.113.2\naddress = 127.0.0.1\nsnmp_credentials = {tmp_path / 'snmp.cnf'}\n"
    make = ACTING[acts]
    if refused:
        with pytest.raises(ConfigError, match=f"^{acts} on its peers' answers and trusts only authenticated SNMPv3"):
            make(load_config(stopped_node_config(tmp_path, init)))
    else:
        assert len(make(load_config(stopped_node_config(tmp_path, init))).targets) == 2
    opted_in = load_config(stopped_node_config(tmp_path, init + "allow_v2c = yes\n"))
    assert len(make(opted_in).targets) == 2
