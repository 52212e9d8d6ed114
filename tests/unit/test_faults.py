"""The fault rules and host names of the hosts topology, without building a network (the
integration suite, tests/integration/test_hosts.py, builds one and breaks it)."""

from __future__ import annotations

import pytest

from galera_snmp.dev.faults import Faults
from galera_snmp.dev.netns import NetnsError, Network
from galera_snmp.dev.sandbox import Sandbox, hosts_network


def test_a_service_fault_matches_its_port_on_either_end_or_only_requests():
    assert Faults._matches([], False) == [[]]
    assert Faults._matches(["snmp"], False) == [["-p", "udp", "-m", "multiport", "--ports", "161"]]
    assert Faults._matches(["gcomm", "mysql"], True) == [["-p", "tcp", "--dport", "4567"],
                                                       ["-p", "tcp", "--dport", "3306"]]
    with pytest.raises(NetnsError, match="unknown service ist"):
        Faults._matches(["ist"], False)


@pytest.mark.parametrize(("sender", "receiver", "probability"), [(1, 1, 1.0), (1, 4, 1.0), (0, 2, 1.0), (1, 2, 0.0),
                                                                  (1, 2, 1.5)])
def test_a_fault_on_no_link_or_with_no_probability_is_refused_before_anything_changes(sender, receiver, probability):
    with pytest.raises(NetnsError):
        Faults(Network("gstest", "10.250.0", 3)).drop(sender, receiver, probability)


def test_hosts_are_named_and_addressed_by_index():
    network = hosts_network(5)
    assert (network.bridge, network.namespace(3), network.link(3)) == ("gshost0", "gshost3", "gshost3h")
    assert (network.address(3), network.station_address()) == ("10.214.0.3", "10.214.0.254")
    assert network.enter(2) == ["nsenter", "--net=/run/netns/gshost2"]


def test_hosts_nodes_list_their_hosts_everywhere(tmp_path):
    box = Sandbox(tmp_path, 3, hosts=True)
    node = box.node(2)
    assert node.address == "10.214.0.2"
    assert node.cluster_address() == "gcomm://10.214.0.1,10.214.0.2,10.214.0.3"
    assert node.enter() == ["nsenter", "--net=/run/netns/gshost2"]
    assert "nsenter --net=/run/netns/gshost2" in node._start_command()
    assert Sandbox(tmp_path, 3).node(2).enter() == []
