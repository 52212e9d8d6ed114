"""galera_snmp/address.py: the one host[:port] reader and the one normal form of a node's address."""

from __future__ import annotations

import pytest

from galera_snmp.address import host_of, normalise, split_address


@pytest.mark.parametrize(
    ("address", "normal"),
    [
        ("10.0.0.1", "10.0.0.1"),
        (" 10.0.0.1:4567 ", "10.0.0.1"),
        ("[FD00:0:0::0001]:4567", "fd00::1"),
        ("FD00::1", "fd00::1"),
        ("DB1.Example.", "db1.example"),
        ("db1.example:4567", "db1.example"),
        ("010.0.0.1", "010.0.0.1"),  # not an address Python accepts: a name, compared as written
    ],
)
def test_normalise(address: str, normal: str) -> None:
    assert normalise(address) == normal


@pytest.mark.parametrize(
    ("address", "host"),
    [("a", "a"), ("a:4567", "a"), ("[fd00::1]:4567", "fd00::1"), ("fd00::1", "fd00::1"), ("[fd00::2]", "fd00::2")],
)
def test_host_of(address: str, host: str) -> None:
    assert host_of(address) == host


@pytest.mark.parametrize(
    ("address", "parts"),
    [("a", ("a", "")), (" a:161 ", ("a", "161")), ("[fd00::1]:1161", ("fd00::1", "1161")), ("fd00::1", ("fd00::1", "")),
     ("[fd00::2]", ("fd00::2", "")), ("a:x", ("a", "x"))],
)
def test_split_address_is_the_one_host_port_reader(address: str, parts: tuple[str, str]) -> None:
    assert split_address(address) == parts
