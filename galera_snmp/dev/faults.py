"""Network faults between the hosts of a :class:`~galera_snmp.dev.netns.Network`: random packet
loss, cuts (both ways or one way), a host's link down; for one service or all traffic.

Every drop is an iptables rule in the *receiving* host's namespace, in a chain of our own
(``GSFAULT``, jumped to first from INPUT): ``-s SENDER [service match] [-m statistic --mode
random --probability P] -j DROP``. The kernels this runs on have no ``netem`` qdisc, so there
is no delay or jitter here, only loss; and :func:`port_capped` caps the rate of what is sent to
one port (an htb class and a u32 filter on the sender's device: a state transfer lasts long
enough to watch). Faults touch only traffic between hosts: the monitoring
station on the bridge keeps seeing every host. Clearing flushes the chains and raises every
link; removing the namespaces removes whatever was left.

A service match is ``-p PROTO -m multiport --ports PORT`` (the port on either end: a one-way cut
of SNMP from A to B drops A's requests to B and A's answers to B's requests), or, with
``requests_only``, ``--dport PORT`` (only requests to the receiver's service: A can no longer
read B, while B still reads A).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from .base import binary
from .netns import INSTALL_HINT, NetnsError, Network, ip

CHAIN = "GSFAULT"
SERVICES = {"gcomm": ("tcp", 4567), "snmp": ("udp", 161), "mysql": ("tcp", 3306)}


def _iptables() -> str:
    return binary("iptables", INSTALL_HINT, NetnsError)


def _tc() -> str:
    return binary("tc", INSTALL_HINT, NetnsError)


@contextmanager
def port_capped(port: int, megabits: float, senders: Iterable[tuple[list[str], str]]) -> Iterator[None]:
    """What ``senders`` (each: the command prefix entering its namespace, its device) send to TCP
    ``port`` goes at ``megabits`` per second for the block; all else as before (htb lets
    unclassified packets through unshaped)."""
    done: list[tuple[list[str], str]] = []
    try:
        for enter, device in senders:
            for args in (["qdisc", "replace", "dev", device, "root", "handle", "1:", "htb"],
                         ["class", "add", "dev", device, "parent", "1:", "classid", "1:20", "htb",
                          "rate", f"{megabits:.3f}mbit", "ceil", f"{megabits:.3f}mbit"],
                         ["filter", "add", "dev", device, "parent", "1:", "protocol", "ip", "prio", "1", "u32",
                          "match", "ip", "dport", str(port), "0xffff", "flowid", "1:20"]):
                result = subprocess.run([*enter, _tc(), *args], capture_output=True, text=True, check=False)
                if result.returncode != 0:
                    raise NetnsError(f"tc {' '.join(args)}: {result.stderr.strip()}")
                if args[0] == "qdisc":
                    done.append((enter, device))
        yield
    finally:
        for enter, device in done:
            subprocess.run([*enter, _tc(), "qdisc", "del", "dev", device, "root"], capture_output=True, check=False)


class Faults:
    """The faults of one network. Stateless: everything lives in the hosts' iptables chains, so a
    command line can add faults in one run and clear them in another."""

    def __init__(self, network: Network) -> None:
        self.network = network

    def _run(self, index: int, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([*self.network.enter(index), _iptables(), "-w", *args],
                                capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise NetnsError(f"iptables {' '.join(args)} in {self.network.namespace(index)}: {result.stderr.strip()}")
        return result

    def _chain(self, index: int) -> None:
        """Our chain in host ``index``, jumped to first from INPUT (made once)."""
        if self._run(index, "-n", "-L", CHAIN, check=False).returncode != 0:
            self._run(index, "-N", CHAIN)
        if self._run(index, "-C", "INPUT", "-j", CHAIN, check=False).returncode != 0:
            self._run(index, "-I", "INPUT", "1", "-j", CHAIN)

    def _hosts(self) -> range:
        return range(1, self.network.size + 1)

    def drop(self, sender: int, receiver: int, probability: float = 1.0, services: Iterable[str] = (), *,
             requests_only: bool = False, undo: bool = False) -> None:
        """Packets from ``sender`` to ``receiver`` are dropped with ``probability`` (1: all of
        them); only those of ``services`` when given (gcomm, snmp, mysql). ``undo``: the same
        fault removed again (the others stay)."""
        if not 0 < probability <= 1:
            raise NetnsError(f"a probability is in (0, 1], not {probability}")
        if sender == receiver or not {sender, receiver} <= set(self._hosts()):
            raise NetnsError(f"no link between host {sender} and host {receiver}")
        chance = [] if probability >= 1 else ["-m", "statistic", "--mode", "random", "--probability",
                                              f"{probability:.4f}"]
        self._chain(receiver)
        for match in self._matches(services, requests_only):
            self._run(receiver, "-D" if undo else "-A", CHAIN, "-s", self.network.address(sender), *match, *chance,
                      "-j", "DROP")

    @staticmethod
    def _matches(services: Iterable[str], requests_only: bool) -> list[list[str]]:
        names = list(services)
        unknown = [name for name in names if name not in SERVICES]
        if unknown:
            raise NetnsError(f"unknown service {', '.join(unknown)} (one of {', '.join(SERVICES)})")
        if not names:
            return [[]]
        return [["-p", SERVICES[name][0], *(["--dport", str(SERVICES[name][1])] if requests_only else
                                           ["-m", "multiport", "--ports", str(SERVICES[name][1])])]
                for name in names]

    def link(self, a: int, b: int, probability: float = 1.0, services: Iterable[str] = (), undo: bool = False) -> None:
        """Loss (or a cut, at 1) on the link between ``a`` and ``b``, both ways."""
        services = list(services)
        self.drop(a, b, probability, services, undo=undo)
        self.drop(b, a, probability, services, undo=undo)

    def host(self, index: int, probability: float = 1.0, services: Iterable[str] = (), undo: bool = False) -> None:
        """Loss (or a cut) on every link of host ``index``, both ways."""
        for other in self._hosts():
            if other != index:
                self.link(index, other, probability, services, undo)

    def everywhere(self, probability: float, services: Iterable[str] = (), undo: bool = False) -> None:
        """Loss on every link between hosts, both ways."""
        services = list(services)
        for receiver in self._hosts():
            for sender in self._hosts():
                if sender != receiver:
                    self.drop(sender, receiver, probability, services, undo=undo)

    def partition(self, *groups: Iterable[int], services: Iterable[str] = (), undo: bool = False) -> None:
        """Cut every link between hosts of different groups (hosts in no group form their own)."""
        member = {index: n for n, group in enumerate(groups) for index in group}
        services = list(services)
        for receiver in self._hosts():
            for sender in self._hosts():
                if sender != receiver and member.get(sender, -sender) != member.get(receiver, -receiver):
                    self.drop(sender, receiver, 1.0, services, undo=undo)

    def link_down(self, index: int) -> None:
        """Host ``index``'s cable out: nothing in or out, the station included."""
        ip("link", "set", self.network.link(index), "down")

    def link_up(self, index: int) -> None:
        ip("link", "set", self.network.link(index), "up")

    def rules(self) -> dict[int, list[str]]:
        """Each host's fault rules as iptables prints them (hosts without any left out)."""
        found = {}
        for index in self._hosts():
            result = self._run(index, "-S", CHAIN, check=False)
            lines = [line for line in result.stdout.splitlines() if line.startswith("-A ")]
            if lines:
                found[index] = lines
        return found

    def down_links(self) -> list[int]:
        """Hosts whose link is down."""
        down = []
        for index in self._hosts():
            out = ip("-o", "link", "show", self.network.link(index), check=False).stdout
            flags = out.split("<", 1)[1].split(">", 1)[0].split(",") if "<" in out else []
            if "UP" not in flags:
                down.append(index)
        return down

    def clear(self) -> None:
        """No fault left: every chain flushed and unhooked, every link up."""
        for index in self._hosts():
            if self._run(index, "-n", "-L", CHAIN, check=False).returncode == 0:
                while self._run(index, "-D", "INPUT", "-j", CHAIN, check=False).returncode == 0:
                    pass
                self._run(index, "-F", CHAIN)
                self._run(index, "-X", CHAIN)
            ip("link", "set", self.network.link(index), "up", check=False)

    @contextmanager
    def session(self) -> Iterator[Faults]:
        """Faults for a block: whatever it added is removed when it ends, however it ends."""
        try:
            yield self
        finally:
            self.clear()
