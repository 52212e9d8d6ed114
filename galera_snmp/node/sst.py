"""A state transfer's processes as /proc shows them: mysqld runs Galera's SST script
(``wsrep_sst_<method> --role donor|joiner --address ...``) and the script its copiers (rsync,
mariabackup, socat, mbstream, pv). Their I/O counters are the one measure of bytes moved that
there is, on both sides, and each method needs its own:

- rsync: what the joiner's copiers store (``write_bytes``; their ``wchar`` would count the
  stream again, rsync's receiving side passes it from one process to another through a pipe), and
  what the donor's send (``wchar``);
- a streaming method (mariabackup, xtrabackup): what the program at the network end of the pipe
  reads (socat or nc, on the joiner) or writes (on the donor) — the stream once, as it flows. The
  program that stores it on the joiner (mbstream) holds a whole chunk (10 MiB) before it writes
  any, so its count moves in bursts seconds apart; the donor's other programs write the stream
  once each;
- any other method: what the joiner's copiers store; the donor's side is not counted.

A process's counters hold those of the children it reaped: the sum over the processes alive now
is the transfer's count so far (the SST script reaps its copiers). rsync rewrites files in place,
so the datadir's size alone says nothing on a rejoin.

Read as mysqld's user (the agent's unit runs as it): /proc/PID/io is readable by the owner.
"""

from __future__ import annotations

import os

from ..record import record
from .process import _read, _stat_fields

SCRIPT_PREFIX = "wsrep_sst_"
MAX_PROCESSES = 4096  # a /proc scan stops here: no more copiers than that in any transfer


@record
class SstProcesses:
    """The SST script under mysqld and its copiers, at one moment. ``written``: per process id,
    the bytes it and the children it reaped have moved so far (by the side's counter, of the
    processes it is read from: :func:`counter_of`); empty when the side's count is not taken."""

    role: str  # "donor" or "joiner", as the script was told
    method: str  # the script's suffix: rsync, mariabackup, mysqldump, ...
    address: str | None  # --address: the joiner's SST address (on either side)
    written: dict[int, int]


def script_arguments(argv: list[str]) -> tuple[str, str, str | None] | None:
    """(role, method, address) of an SST script's command line, else None (not an SST script).
    The method is the script's ("rsync", "mariabackup", ...), "ist" for a donor's in bypass mode."""
    for at, word in enumerate(argv[:3]):  # the script itself, or its interpreter's first arguments
        name = os.path.basename(word)
        if name.startswith(SCRIPT_PREFIX) and len(name) > len(SCRIPT_PREFIX):
            options = argv[at + 1:]
            role = _option(options, "--role")
            if role not in ("donor", "joiner"):
                return None
            # --bypass: the donor's script only hands over, Galera sends an IST itself
            method = "ist" if "--bypass" in options else name.removeprefix(SCRIPT_PREFIX)
            return role, method, _option(options, "--address")
    return None


def _option(options: list[str], name: str) -> str | None:
    for at, word in enumerate(options):
        if word == name and at + 1 < len(options):
            return options[at + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


STREAMING = ("mariabackup", "xtrabackup", "xtrabackup-v2")  # scripts that pipe one stream to the network
NETWORK_ENDS = ("socat", "nc", "ncat", "netcat")  # what they pipe it through (the scripts' transferfmt)


def counter_of(role: str, method: str) -> tuple[str, tuple[str, ...] | None] | None:
    """The /proc/PID/io counter that measures a side's bytes, and the programs it is read from
    (None: every process of the transfer); None when nothing measures that side."""
    if method in STREAMING:
        return ("rchar" if role == "joiner" else "wchar"), NETWORK_ENDS
    if role == "joiner":
        return "write_bytes", None
    return ("wchar", None) if method == "rsync" else None


def io_counter(io_text: str, name: str) -> int | None:
    """Counter ``name`` of a /proc/PID/io text (rchar, wchar: bytes passed to read(2), write(2)
    and their kin, sockets and pipes included; write_bytes: bytes sent towards the storage,
    counted when the pages are dirtied)."""
    for line in io_text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name and value.strip().isdigit():
            return int(value.strip())
    return None


def moved_bytes(written: dict[int, int]) -> int:
    """The bytes a transfer moved so far: the sum over its processes alive now."""
    return sum(written.values())


def _children() -> dict[int, list[int]]:
    """Every process's children, from one scan of /proc."""
    found: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names[:MAX_PROCESSES * 16]:
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        if fields is None or len(fields) < 2 or not fields[1].isdigit():
            continue
        found.setdefault(int(fields[1]), []).append(int(name))
    return found


def _program(pid: int) -> str:
    """The process's program name (/proc/PID/comm: the executable's, at most 15 characters)."""
    return (_read(f"/proc/{pid}/comm") or b"").decode(errors="replace").strip()


def _argv(pid: int) -> list[str]:
    raw = _read(f"/proc/{pid}/cmdline") or b""
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def sst_processes(server_pid: int) -> SstProcesses | None:
    """The SST script mysqld ``server_pid`` runs and its copiers, or None when it runs none."""
    children = _children()
    script: tuple[str, str, str | None] | None = None
    below: list[int] = []
    pending = list(children.get(server_pid, ()))
    while pending and len(below) < MAX_PROCESSES:
        pid = pending.pop()
        below.append(pid)
        pending.extend(children.get(pid, ()))
        if script is None:
            script = script_arguments(_argv(pid))
    if script is None:
        return None
    role, method, address = script
    counter = counter_of(role, method)
    written: dict[int, int] = {}
    if counter is not None:
        name, programs = counter
        for pid in below:
            if programs is not None and _program(pid) not in programs:
                continue
            raw = _read(f"/proc/{pid}/io")
            count = io_counter(raw.decode(errors="replace"), name) if raw is not None else None
            if count is not None:
                written[pid] = count
    return SstProcesses(role, method, address, written)
