"""A VRRP lab for the keepalived tests: network namespaces on a bridge (the dev sandbox's
``netns.Network``), keepalived in each.

Addresses exist only inside the namespaces; everything is removed on exit, and leftovers of
an interrupted run are removed on entry.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from support import stop_process, tool

from galera_snmp.dev.netns import Network, ip
from galera_snmp.dev.sandbox import SandboxError, SandboxNode, wait_for

CONTRIB = Path(__file__).resolve().parents[1] / "contrib" / "keepalived"
NOTIFY_SCRIPT = CONTRIB / "galera-keepalived-notify"
SUBNET = "10.213.0"
VIP = f"{SUBNET}.100"


def keepalived_binary() -> str:
    return tool("keepalived", "keepalived")


def check_config(conf: Path) -> subprocess.CompletedProcess:
    """``keepalived -t``: whether keepalived accepts the config file."""
    return subprocess.run([keepalived_binary(), "-t", "-f", str(conf)], capture_output=True, text=True, check=False)


def substitute(text: str, replacements: dict[str, str]) -> str:
    """Replace each pattern exactly once, so a changed shipped file breaks the test loudly."""
    for pattern, replacement in replacements.items():
        text, count = re.subn(pattern, lambda _m, r=replacement: r, text, flags=re.MULTILINE)
        assert count == 1, f"{pattern!r} matched {count} times in the shipped config"
    return text


def lab_config(shipped: Path, index: int, priority: int, notify_log: Path, extra: dict[str, str], *,
               vip: str = VIP) -> str:
    """A shipped config as node ``index`` of the lab runs it: only site/node values changed."""
    return substitute(
        shipped.read_text(),
        {
            r"router_id galera1\b": f"router_id galera{index}",
            r"priority 100\b": f"priority {priority}",
            r"192\.0\.2\.100/24": f"{vip}/24",
            r'notify "/etc/keepalived/galera-keepalived-notify --log [^"]+"':
                f'notify "{NOTIFY_SCRIPT} --log {notify_log}"',
            **extra,
        },
    )


PRIORITIES = {1: 103, 2: 102, 3: 101}  # sandbox node -> keepalived priority: node1 holds the VIP
GALERA_CHECK = Path(sys.executable).parent / "galera-check"


VRRP2_1S = {r"^\s*vrrp_version 3 .*$": "    vrrp_version 2", r"advert_int 0\.2\b": "advert_int 1"}


def sandbox_config(variant: str, node: SandboxNode, notify_log: Path, vip: str = VIP) -> str:
    """The shipped config of ``variant`` for a sandbox node: "track_file" (fed by the node's agent
    through its track file), "track_file_v2_1s" (the same with VRRPv2 and 1 s adverts, the
    timing it shipped with before), or "vrrp_script" (running this installation's galera-check)."""
    if variant in ("track_file", "track_file_v2_1s"):
        timing = VRRP2_1S if variant == "track_file_v2_1s" else {}
        return lab_config(CONTRIB / "keepalived.conf", node.index, PRIORITIES[node.index], notify_log,
                          {r'file "/run/galera-snmp/keepalived\.track"': f'file "{node.track_file}"', **timing},
                          vip=vip)
    return lab_config(
        CONTRIB / "keepalived-vrrp-script.conf", node.index, PRIORITIES[node.index], notify_log,
        {r'script "/usr/local/bin/galera-check -c /etc/galera-snmp/galera-snmp\.conf health"':
         f'script "{GALERA_CHECK} -c {node.config_path} health"'},
        vip=vip,
    )


class VrrpLab:
    """keepalived on ``size`` hosts: the lab's own network, or the hosts of a sandbox (``network``,
    which the lab then neither builds nor removes) with a VIP on their subnet."""

    def __init__(self, workdir: Path, size: int, network: Network | None = None, vip: str = VIP) -> None:
        self.workdir = workdir
        self.size = size
        self.owned = network is None
        self.network = Network("gsvrrp", SUBNET, size) if network is None else network
        self.vip = vip
        self.processes: dict[int, subprocess.Popen] = {}

    def namespace(self, index: int) -> str:
        return self.network.namespace(index)

    def __enter__(self) -> VrrpLab:
        if self.owned:
            self.network.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for index in list(self.processes):
                self.stop(index)
        finally:
            if self.owned:
                self.network.remove()

    def start(self, index: int, config: str) -> None:
        conf = self.workdir / f"keepalived{index}.conf"
        conf.write_text(config)
        check = check_config(conf)
        assert check.returncode == 0, check.stdout + check.stderr
        run = self.workdir / f"ka{index}"
        run.mkdir(exist_ok=True)
        log = open(self.workdir / f"keepalived{index}.log", "ab")  # noqa: SIM115 - kept by the process
        self.processes[index] = subprocess.Popen(
            [*self.network.enter(index), keepalived_binary(), "-n", "-l", "-D", "-P",
             "-f", str(conf), "-p", str(run / "keepalived.pid"), "-r", str(run / "vrrp.pid"),
             "-c", str(run / "checkers.pid")],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()

    def stop(self, index: int) -> None:
        stop_process(self.processes.pop(index))

    def has_vip(self, index: int) -> bool:
        out = ip("-n", self.namespace(index), "-o", "addr", "show", "dev", "eth0").stdout
        return f" {self.vip}/" in out

    def holders(self) -> set[int]:
        return {i for i in range(1, self.size + 1) if self.has_vip(i)}

    def wait_holder(self, index: int | None, timeout: float = 15) -> None:
        """Until exactly ``index`` holds the VIP (None: nobody)."""
        want = set() if index is None else {index}
        what = "nobody to hold the VIP" if index is None else f"node{index} to hold the VIP"
        try:
            wait_for(lambda: self.holders() == want, timeout, what, interval=0.02)
        except SandboxError as err:  # who holds it at the deadline, not when the wait began
            raise SandboxError(f"{err} (holders: {self.holders()}; see {self.workdir})") from None

    def time_move(self, action: Callable[[], object], to: int | None, timeout: float = 15) -> float:
        """Seconds from ``action`` to the VIP being held by exactly ``to`` (polled every 20 ms)."""
        started = time.monotonic()
        action()
        self.wait_holder(to, timeout)
        return time.monotonic() - started
