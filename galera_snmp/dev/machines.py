"""Booted Debian machines on this one, for testing what an operator runs: the package, its units
and docs/DEPLOY.md on real systemd hosts.

Each machine is a minimal Debian root (``mmdebstrap`` from Debian's archive, cached under
/var/cache/galera-snmp/roots and keyed by release and package list) booted by
``systemd-nspawn -b`` with systemd as PID 1. Machines share the cached root read-only through an
overlay each (their own changes in ``DIR/<name>/upper``), and each has a network namespace of
its own on a bridge (``netns.py``): machine i is ``node<i>`` at 10.215.0.<i>, this machine
10.215.0.254. Commands run inside through the machine's own systemd (``systemd-run --wait
--pipe`` in its namespaces), never around it. A power cut kills the machine's PID 1: every
process of it dies at once, as on power loss (what the page cache held is kept, unlike a real
one: docs/HOSTS.md says so).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from ..record import record
from .base import InDir, binary
from .netns import NetnsError, Network

__all__ = ["DEBIAN", "Bed", "Machine", "MachineError", "root_image"]

DEBIAN = {"12": "bookworm", "13": "trixie"}  # the releases we support, by number
PACKAGES = (  # what every machine has before our package: the system, MariaDB Galera, net-snmp
    "systemd", "systemd-sysv", "dbus", "iproute2", "procps", "less", "ca-certificates",
    "mariadb-server", "mariadb-client", "galera-4", "rsync", "snmpd", "snmp", "python3",
)  # fmt: skip
CACHE = Path("/var/cache/galera-snmp/roots")
DEFAULT_DIR = Path("/var/tmp/galera-snmp-machines")
PREFIX, SUBNET, STATION = "gsm", "10.215.0", 254
INSTALL_HINT = "apt-get install mmdebstrap systemd-container"
SHARED = "/mnt/galera-snmp"  # where each machine sees DIR/shared (read-only): the .deb, for one
CGROUP = Path("/sys/fs/cgroup")
CGROUP_FOLDER = "galera-snmp-machines"  # in each hierarchy: a folder per bed, a cgroup per boot


class MachineError(Exception):
    """A machine could not be built, booted, reached or stopped; the message says which."""


def _tool(name: str) -> str:
    return binary(name, INSTALL_HINT, MachineError)


def root_image(debian: str, cache: Path = CACHE) -> Path:
    """The root of Debian ``debian`` (12, 13) with PACKAGES: built once by mmdebstrap, then reused
    while the package list stays the same."""
    if debian not in DEBIAN:
        raise MachineError(f"Debian {debian} is not supported: {', '.join(DEBIAN)}")
    key = hashlib.sha256("\n".join(PACKAGES).encode()).hexdigest()[:12]
    root = cache / f"{DEBIAN[debian]}-{key}"
    if (root / ".complete").exists():
        return root
    building = root.with_name(root.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    hooks = [  # a machine's services that would only get in the way of booting many in a row
        'chroot "$1" systemctl mask systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer '
        "e2scrub_reap.service man-db.timer || true",
        'rm -f "$1/etc/machine-id" "$1/var/lib/dbus/machine-id"; touch "$1/etc/machine-id"',
    ]
    argv = [_tool("mmdebstrap"), "--variant=apt", "--include=" + ",".join(PACKAGES),
            *[f"--customize-hook={hook}" for hook in hooks], DEBIAN[debian], str(building)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        raise MachineError(f"mmdebstrap {DEBIAN[debian]} failed: {result.stderr.strip()[-2000:]}")
    (building / ".complete").touch()
    building.rename(root)
    return root


@record
class Machine:
    """One booted machine of a bed: ``node<index>``."""

    bed: Path
    index: int
    network: Network

    @property
    def name(self) -> str:
        return f"node{self.index}"

    @property
    def address(self) -> str:
        return self.network.address(self.index)

    @property
    def dir(self) -> Path:
        return self.bed / self.name

    tree = InDir("root")  # the machine's file system as it sees it (the overlay), from this machine
    log = InDir("console.log")
    _pid_file = InDir("nspawn.pid")

    def mount(self, image: Path) -> None:
        """Its root: the image, read-only, under its own changes (kept across boots)."""
        if os.path.ismount(self.tree):
            return
        for sub in ("upper", "work", "root"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        options = f"lowerdir={image},upperdir={self.dir / 'upper'},workdir={self.dir / 'work'}"
        _run(["mount", "-t", "overlay", "overlay", "-o", options, str(self.tree)], "mount the overlay")
        (self.tree / "etc" / "hostname").write_text(f"{self.name}\n")
        hosts = "".join(f"{self.network.address(i)} node{i}\n" for i in range(1, self.network.size + 1))
        (self.tree / "etc" / "hosts").write_text(f"127.0.0.1 localhost\n{hosts}")

    def unmount(self) -> None:
        if os.path.ismount(self.tree):
            _run(["umount", str(self.tree)], "unmount the overlay")

    def nspawn_pid(self) -> int | None:
        """The systemd-nspawn process of this machine, if it runs."""
        try:
            pid = int(self._pid_file.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if b"systemd-nspawn" in cmdline and f"--machine={self.name}-".encode() in cmdline else None

    def leader(self) -> int | None:
        """The machine's PID 1 (systemd), as this machine numbers it."""
        pid = self.nspawn_pid()
        if pid is None:
            return None
        for child in _children(pid):
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{child}/status").read_text()
                nspid = next((line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")), [])
                if nspid[-1:] == ["1"]:
                    return child
        return None

    def boot(self, image: Path, shared: Path) -> None:
        """Start it (no wait); it runs until powered off or cut."""
        if self.nspawn_pid() is not None:
            return
        self.mount(image)
        argv = [
            _tool("systemd-nspawn"), "--quiet", "--boot", f"--directory={self.tree}",
            # the name is unique per bed, so that a stale process of another bed is never taken for ours
            f"--machine={self.name}-{self.bed_key}",
            "--register=no", "--keep-unit", "--console=read-only",
            f"--network-namespace-path=/run/netns/{self.network.namespace(self.index)}",
            f"--bind-ro={shared}:{SHARED}", "--hostname", self.name,
        ]
        # into its own cgroups first, then exec: the shell's pid becomes systemd-nspawn's
        join = "".join(f'echo $$ > "{group}/cgroup.procs" && ' for group in self._cgroups())
        with open(self.log, "ab") as out:
            process = subprocess.Popen(["/bin/sh", "-c", f'{join}exec "$@"', "sh", *argv], stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=out, start_new_session=True,
                                       env={**os.environ, "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"})
        self._pid_file.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + 10
        while self.nspawn_pid() is None:  # between fork and exec its /proc/PID/cmdline is still ours
            if process.poll() is not None or time.monotonic() > deadline:
                raise MachineError(f"{self.name}: systemd-nspawn did not start (see {self.log})")
            time.sleep(0.01)

    def _cgroups(self) -> list[Path]:
        """A cgroup of its own in each hierarchy systemd uses. systemd-nspawn without a host
        systemd (--keep-unit) gives the machine's systemd the cgroup it was started in: machines
        sharing one would remove one another's units' cgroups (a unit then fails to start with
        "Failed to attach to cgroup ... No such file or directory")."""
        groups = []
        boot = time.time_ns()  # a new one each boot: the last boot's may not be gone yet
        for hierarchy in _hierarchies():
            group = hierarchy / CGROUP_FOLDER / self.bed_key / f"{self.name}-{boot}"
            group.mkdir(parents=True, exist_ok=True)
            groups.append(group)
        return groups

    @property
    def bed_key(self) -> str:
        return hashlib.sha256(str(self.bed).encode()).hexdigest()[:8]

    def wait_booted(self, timeout: float = 120) -> str:
        """Wait until its systemd has finished starting up: 'running' or 'degraded' (a failed unit)."""
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            if self.nspawn_pid() is None:
                raise MachineError(f"{self.name} stopped while booting: {self._console_tail()}")
            if self.leader() is not None:
                state = self.system_state()
                if state in ("running", "degraded"):
                    return state
            time.sleep(0.3)
        raise MachineError(f"{self.name} not booted after {timeout:g} s (state {state or 'unknown'}): "
                           f"{self._console_tail()}")

    def system_state(self) -> str:
        """Its systemd's word for itself (``systemctl is-system-running``); "" when it does not
        answer (stopped, or too busy going down to say)."""
        try:
            return self.enter(["systemctl", "is-system-running"], timeout=10).stdout.strip()
        except (subprocess.TimeoutExpired, MachineError):
            return ""

    def _console_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError as err:
            return f"no console log ({err})"

    def enter(self, argv: Sequence[str], *, timeout: float = 60, input_: str | None = None
              ) -> subprocess.CompletedProcess[str]:
        """``argv`` in the machine's namespaces, as a child of nothing of it: for asking its systemd."""
        leader = self.leader()
        if leader is None:
            raise MachineError(f"{self.name} is not running")
        return subprocess.run([_tool("nsenter"), f"--target={leader}", "--all", *argv], input=input_,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def spawn(self, argv: Sequence[str]) -> subprocess.Popen[str]:
        """``argv`` running on in the machine's namespaces (a client of its services, say): it
        dies with the machine, and what it prints comes here, line by line."""
        leader = self.leader()
        if leader is None:
            raise MachineError(f"{self.name} is not running")
        return subprocess.Popen([_tool("nsenter"), f"--target={leader}", "--all", *argv], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def run(self, script: str, *, timeout: float = 300, check: bool = True,
            input_: str | None = None) -> subprocess.CompletedProcess[str]:
        """``script`` (sh) run by the machine's systemd as a transient service, as root: the way a
        unit or a login shell would run it there. Its output is returned; secrets go in ``input_``."""
        argv = ["systemd-run", "--wait", "--pipe", "--quiet", "--collect", "--service-type=exec",
                "--setenv=LANG=C.UTF-8", "--", "/bin/sh", "-ec", script]
        result = self.enter(argv, timeout=timeout, input_=input_ if input_ is not None else "")
        if check and result.returncode != 0:
            raise MachineError(f"{self.name}: exit {result.returncode}: {script.strip()[:300]}\n"
                               f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
        return result

    def power_cut(self) -> None:
        """Every process of the machine killed at once: its PID 1 first, then what is left."""
        self.cut()
        self.wait_stopped(30, cutting=True)

    def cut(self) -> None:
        """The power cut itself, without waiting for the machine's processes to be gone: its PID 1
        and systemd-nspawn, then every process left in its cgroups (systemd-nspawn killed alone
        leaves the machine running; a PID 1 not found would have left it up)."""
        leader, pid = self.leader(), self.nspawn_pid()
        for target in (leader, pid, *self.processes()):
            if target is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(target, signal.SIGKILL)

    def processes(self) -> list[int]:
        """Every process in this machine's cgroups, whichever boot started it."""
        found: set[int] = set()
        for hierarchy in _hierarchies():
            for group in (hierarchy / CGROUP_FOLDER / self.bed_key).glob(f"{self.name}-*"):
                for procs in group.rglob("cgroup.procs"):
                    with contextlib.suppress(OSError, ValueError):
                        found.update(int(word) for word in procs.read_text().split())
        return sorted(found)

    def poweroff(self, timeout: float = 120) -> None:
        if self.nspawn_pid() is None:
            return
        self.enter(["systemctl", "poweroff", "--no-block"], timeout=30)
        try:
            self.wait_stopped(timeout)
        except MachineError:
            self.power_cut()

    def wait_stopped(self, timeout: float, cutting: bool = False) -> None:
        """Until no process of the machine is left; ``cutting``: killing what is (a power cut)."""
        deadline = time.monotonic() + timeout
        while self.nspawn_pid() is not None or self.processes():
            if time.monotonic() > deadline:
                raise MachineError(f"{self.name} still running after {timeout:g} s: {self.processes()}")
            if cutting:
                self.cut()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(-1, os.WNOHANG)  # reap our own nspawn children
            time.sleep(0.1)


def _hierarchies() -> list[Path]:
    """The cgroup hierarchies systemd uses here: cgroup2 (alone, or beside v1's name=systemd)."""
    found = [path for path in (CGROUP / "unified", CGROUP / "systemd") if (path / "cgroup.procs").exists()]
    return found or ([CGROUP] if (CGROUP / "cgroup.procs").exists() else [])


def _remove_cgroups(key: str) -> None:
    """A bed's empty cgroups, deepest first (one still in use stays); never another bed's."""
    for hierarchy in _hierarchies():
        top = hierarchy / CGROUP_FOLDER / key
        if top.is_dir():
            for folder in sorted(top.rglob("*"), key=lambda path: len(path.parts), reverse=True):
                if folder.is_dir():
                    with contextlib.suppress(OSError):
                        folder.rmdir()
            with contextlib.suppress(OSError):
                top.rmdir()


def _children(pid: int) -> list[int]:
    try:
        return [int(word) for word in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise MachineError(f"cannot {what}: {result.stderr.strip()}")


class Bed:
    """``size`` machines of Debian ``debian`` in ``root``: built, booted, torn down together."""

    def __init__(self, root: Path = DEFAULT_DIR, size: int = 3, debian: str = "12") -> None:
        if debian not in DEBIAN:
            raise MachineError(f"Debian {debian} is not supported: {', '.join(DEBIAN)}")
        self.root = Path(root).absolute()
        self.debian = debian
        self.network = Network(PREFIX, SUBNET, size, station=STATION)
        self.machines = [Machine(self.root, i, self.network) for i in range(1, size + 1)]

    @property
    def shared(self) -> Path:
        """Seen read-only by every machine at SHARED."""
        return self.root / "shared"

    def machine(self, index: int) -> Machine:
        return self.machines[index - 1]

    @classmethod
    def existing(cls, root: Path) -> Bed:
        """The bed in ``root``, with as many machines as it has folders for."""
        root = Path(root)
        count = sum(1 for i in range(1, 10) if (root / f"node{i}").is_dir())
        release = root / "debian"
        return cls(root, count or 3, release.read_text().strip() if release.exists() else "12")

    def status(self) -> list[tuple[Machine, str]]:
        """Each machine and its systemd's state (stopped when it is not running)."""
        rows = []
        for machine in self.machines:
            rows.append((machine, (machine.system_state() or "not answering") if machine.leader() else "stopped"))
        return rows

    def up(self, timeout: float = 180) -> None:
        """Every machine booted (those already running are left alone)."""
        for tool in ("mmdebstrap", "systemd-nspawn", "nsenter"):
            _tool(tool)
        image = root_image(self.debian)
        self.shared.mkdir(parents=True, exist_ok=True)
        (self.root / "debian").write_text(f"{self.debian}\n")
        try:
            if not any(machine.nspawn_pid() for machine in self.machines):
                self.network.remove()  # an interrupted run's namespaces, and what still runs in them
            if not self.network.built():
                self.network.build()
        except NetnsError as err:
            raise MachineError(str(err)) from None
        for machine in self.machines:
            machine.boot(image, self.shared)
        for machine in self.machines:
            machine.wait_booted(timeout)

    def boot(self, machine: Machine, timeout: float = 180) -> None:
        machine.boot(root_image(self.debian), self.shared)
        machine.wait_booted(timeout)

    def power_cut(self) -> None:
        """Every machine of the bed loses power at the same moment."""
        for machine in self.machines:
            machine.cut()
        for machine in self.machines:
            machine.wait_stopped(30, cutting=True)

    def down(self, purge: bool = False) -> None:
        """Power every machine off (cut it if it does not stop), remove the network; with
        ``purge``, the machines' files too (the cached root stays)."""
        for machine in self.machines:
            machine.poweroff()
        try:
            self.network.remove()
        except NetnsError as err:
            raise MachineError(str(err)) from None
        for machine in self.machines:
            machine.unmount()
        _remove_cgroups(self.machines[0].bed_key)
        if purge and self.root.exists():
            shutil.rmtree(self.root)
