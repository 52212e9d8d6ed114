"""A node's address: the one host[:port] reader and the one normal form (pure).

Operators write a node as a hostname on one node and its address on another, with or without a
port, in brackets or not. Whatever compares nodes (the node set, the configuration's checks at
load, sites, writers, evictions) compares their normal form: the host without port or brackets,
lower-cased, without a trailing dot, an IP address in its canonical form (IPv6 compressed). No
DNS: a hostname and its address stay different. It sits at the bottom of the package so that
the configuration can check its node lists when it is loaded.
"""

from __future__ import annotations

import ipaddress


def split_address(address: str) -> tuple[str, str]:
    """``(host, port)`` of ``host``, ``host:port``, ``[IPv6]:port``, ``[IPv6]`` or a bare IPv6;
    the port is "" when none is given (the one host:port reader)."""
    address = address.strip()
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else ""
    if address.count(":") == 1:
        host, _, port = address.partition(":")
        return host, port
    return address, ""


def host_of(address: str) -> str:
    """The host of a Galera node address (split_address)."""
    return split_address(address)[0]


def normalise(address: str) -> str:
    """A node's address in its one normal form (see the module docstring)."""
    host = host_of(address).lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host
