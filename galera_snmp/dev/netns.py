"""Hosts of their own on this machine: network namespaces on a bridge, one veth each.

Namespace i is ``<prefix><i>`` with the address ``<subnet>.<i>/24`` on its ``eth0``; the bridge
is ``<prefix>0``. Node addresses exist only inside the namespaces. With ``station`` set, the
bridge also holds ``<subnet>.<station>`` in this machine's own namespace: the monitoring station
(tests, benches, an NMS) reads the hosts from there, over the same network they use. Removing
the bridge and the namespaces removes every address, route and firewall rule they held; any
process still inside a namespace is ended first (the namespace is ours, so are its processes),
or the namespace would live on unseen.

The sandbox's hosts topology and the keepalived tests' VRRP lab both build their hosts here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

INSTALL_HINT = "apt-get install iproute2 iptables util-linux"
MAX_HOSTS = 9


class NetnsError(Exception):
    """A namespace, link or rule could not be made or removed; the message says which."""


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise NetnsError(f"ip is not installed ({INSTALL_HINT})") from None
    if check and result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


class Network:
    """``size`` hosts on one bridge; a context manager that builds on entry and removes on exit."""

    def __init__(self, prefix: str, subnet: str, size: int, station: int | None = None) -> None:
        if not 1 <= size <= MAX_HOSTS:
            raise NetnsError(f"1..{MAX_HOSTS} hosts, not {size}")
        self.prefix = prefix
        self.subnet = subnet
        self.size = size
        self.station = station

    @property
    def bridge(self) -> str:
        return f"{self.prefix}0"

    def namespace(self, index: int) -> str:
        return f"{self.prefix}{index}"

    def address(self, index: int) -> str:
        return f"{self.subnet}.{index}"

    def station_address(self) -> str | None:
        return None if self.station is None else f"{self.subnet}.{self.station}"

    def link(self, index: int) -> str:
        """The host's cable: the veth end on the bridge, in this machine's namespace."""
        return f"{self.prefix}{index}h"

    def enter(self, index: int) -> list[str]:
        """A command prefix that runs a program in host ``index``'s namespace (network only:
        files, users and processes stay this machine's)."""
        return ["nsenter", f"--net=/run/netns/{self.namespace(index)}"]

    def built(self) -> bool:
        return all(os.path.exists(f"/run/netns/{self.namespace(i)}") for i in range(1, self.size + 1)) and (
            ip("link", "show", self.bridge, check=False).returncode == 0
        )

    def __enter__(self) -> Network:
        self.remove()
        self.build()
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def build(self) -> None:
        """Make the bridge and every host from scratch; nothing half-built is left on failure."""
        try:
            self._build()
        except BaseException:
            self.remove()
            raise

    def _build(self) -> None:
        ip("link", "add", self.bridge, "type", "bridge")
        # multicast snooping would hold back VRRP adverts until a querier shows up
        ip("link", "set", self.bridge, "type", "bridge", "mcast_snooping", "0")
        if self.station is not None:
            ip("addr", "add", f"{self.station_address()}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for i in range(1, self.size + 1):
            ns = self.namespace(i)
            ip("netns", "add", ns)
            ip("link", "add", self.link(i), "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("link", "set", self.link(i), "master", self.bridge, "up")
            ip("-n", ns, "addr", "add", f"{self.address(i)}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")

    def pids(self, index: int) -> list[int]:
        """The processes in host ``index``'s namespace."""
        out = ip("netns", "pids", self.namespace(index), check=False).stdout
        return [int(word) for word in out.split()]

    def remove(self) -> None:
        """Every namespace of this prefix (up to MAX_HOSTS, whatever ``size`` says), its processes,
        the host links and the bridge; leftovers of an interrupted run included."""
        for i in range(1, MAX_HOSTS + 1):
            if os.path.exists(f"/run/netns/{self.namespace(i)}"):
                self._end_processes(i)
            ip("link", "del", self.link(i), check=False)  # not left to the namespace's lazy cleanup
            ip("netns", "del", self.namespace(i), check=False)
        ip("link", "del", self.bridge, check=False)
        deadline = time.monotonic() + 10
        while self.leftovers():
            if time.monotonic() > deadline:
                raise NetnsError(f"still there after removal: {', '.join(self.leftovers())}")
            time.sleep(0.1)

    def _end_processes(self, index: int) -> None:
        pids = self.pids(index)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.pids(index) and time.monotonic() < deadline:
            time.sleep(0.05)

    def leftovers(self) -> list[str]:
        """Namespaces and links of this prefix that exist now (empty once removed)."""
        names = [f"netns {ns}" for ns in ip("netns", "list", check=False).stdout.split()
                 if ns.startswith(self.prefix) and ns[len(self.prefix):].isdigit()]
        for line in ip("-o", "link", check=False).stdout.splitlines():
            name = line.split(":")[1].strip().split("@")[0] if line.count(":") >= 2 else ""
            if name.startswith(self.prefix):
                names.append(f"link {name}")
        return names
