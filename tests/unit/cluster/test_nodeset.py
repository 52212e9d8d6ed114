"""The node set: one order, one digest — whatever the list order (the normal form: test_address.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from galera_snmp.cluster.nodeset import address_key, difference, node_set
from galera_snmp.state import NodeSet


def test_order_ipv4_by_number_then_ipv6_then_hostnames() -> None:
    names = ["db1.example", "fd00::1", "10.0.0.10", "10.0.0.9", "::1", "a.example"]
    assert sorted(names, key=address_key) == ["10.0.0.9", "10.0.0.10", "::1", "fd00::1", "a.example", "db1.example"]


def test_the_digest_is_sha256_of_the_ordered_list() -> None:
    assert node_set(["db1.example", "fd00::1", "10.0.0.10", "10.0.0.9"]) == NodeSet(
        "3398edb70b2a70ba", ("10.0.0.9", "10.0.0.10", "fd00::1", "db1.example"))


@given(st.permutations(["10.0.0.11", "10.0.0.12", "10.0.0.13"]))
def test_every_list_order_gives_one_digest(order: list[str]) -> None:
    assert node_set(order) == NodeSet("c77f8cedecd9b486", ("10.0.0.11", "10.0.0.12", "10.0.0.13"))


def test_difference_names_missing_and_extra_nodes() -> None:
    mine = node_set(["10.0.0.11", "10.0.0.12", "10.0.0.13"])
    assert difference(mine, node_set(["10.0.0.11", "10.0.0.12"])) == "lacks 10.0.0.13"
    assert difference(mine, node_set(["10.0.0.11", "10.0.0.12", "10.0.0.13", "garbd"])) == "also has garbd"
    assert difference(mine, node_set(["10.0.0.11", "10.0.0.12", "db3.example"])) == (
        "lacks 10.0.0.13, also has db3.example")


def test_difference_of_a_list_cut_short_says_only_that_it_differs() -> None:
    mine = node_set(["10.0.0.11", "10.0.0.12"])
    cut = NodeSet(node_set(["10.0.0.11", "10.0.0.12", "10.0.0.13"]).digest, ("10.0.0.11", "10.0.0.12", "10.0.0"))
    assert difference(mine, cut) == "differs (digest c77f8cedecd9b486; its list is cut short or garbled)"
