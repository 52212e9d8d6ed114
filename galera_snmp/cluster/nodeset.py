"""The node set: which data nodes elect, written the same way on every node (pure).

Operators write wsrep_cluster_address with the local node first, a hostname on one node and its
address on another, a garbd host among the nodes. Nodes that elect from different sets can elect
different winners (split brain) or wait for each other (livelock), so:

- every address has one normal form (``galera_snmp/address.py``): the host without port or
  brackets, lower-cased, without a trailing dot, an IP address in its canonical form (IPv6
  compressed). No DNS: a hostname on one node and its address on another stay different, and the
  sets differ;
- the set has one order, which no node's list order changes: IPv4 addresses by numeric value,
  then IPv6 addresses by numeric value, then hostnames as strings. It is the election's last
  tie-breaker (the lowest address wins a tie);
- its digest, published by every agent as galeraNodeSetDigest, is the first 16 hex digits of
  SHA-256 over the ordered addresses joined by ","; galeraNodeSet is that joined text.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable

from ..state import NODE_SET_DIGEST_DIGITS, NodeSet


def address_key(address: str) -> tuple[int, int, int, str]:
    """The order of normalised addresses: IPv4, then IPv6, by numeric value; then hostnames."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return (1, 0, 0, address)
    return (0, ip.version, int(ip), "")


def node_set(addresses: Iterable[str]) -> NodeSet:
    """The set of these normalised addresses, ordered, with its digest."""
    nodes = tuple(sorted(set(addresses), key=address_key))
    digest = hashlib.sha256(",".join(nodes).encode()).hexdigest()[:NODE_SET_DIGEST_DIGITS]
    return NodeSet(digest, nodes)


def difference(mine: NodeSet, theirs: NodeSet) -> str:
    """How ``theirs`` differs from ``mine`` (their digests differ), for a reason an operator reads:
    the nodes it lacks and those it has too when its list is whole (its digest matches it), else
    only that it differs."""
    if node_set(theirs.nodes) != theirs:
        return f"differs (digest {theirs.digest}; its list is cut short or garbled)"
    missing = [node for node in mine.nodes if node not in theirs.nodes]
    extra = [node for node in theirs.nodes if node not in mine.nodes]
    parts = [f"lacks {', '.join(missing)}"] if missing else []
    return ", ".join(parts + ([f"also has {', '.join(extra)}"] if extra else []))
