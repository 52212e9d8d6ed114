"""A real HAProxy (Debian's) in front of the sandbox, running a shipped contrib/haproxy config
with only its site lines changed, and read through its runtime API."""

from __future__ import annotations

import csv
import io
import re
import socket
import subprocess
from pathlib import Path

from support import free_tcp_port, stop_process, tool
from vrrp import substitute

from galera_snmp.dev.sandbox import Sandbox, SandboxError, wait_for

SHIPPED = Path(__file__).resolve().parents[2] / "contrib" / "haproxy"  # the configs the tests run


class Haproxy:
    def __init__(self, workdir: Path, cluster: Sandbox, shipped: Path, extra: dict[str, str] | None = None) -> None:
        binary = tool("haproxy", "haproxy")
        self.stats = workdir / "haproxy.sock"
        text = substitute(shipped.read_text(), {
            r"^    log /dev/log local0\n": "",  # no syslog socket in a test
            r"^global\n": f"global\n    stats socket {self.stats} level admin\n",
            **(extra or {}),
        })
        self.ports: dict[int, int] = {}  # the shipped config's listening port → this test's

        def bind(match: re.Match[str]) -> str:
            self.ports[int(match[1])] = free_tcp_port()
            return f"bind 127.0.0.1:{self.ports[int(match[1])]}"

        text = re.sub(r"bind 0\.0\.0\.0:(\d+)", bind, text)
        assert self.ports, "no bind line in the shipped config"
        self.port = next(iter(self.ports.values()))
        for node in cluster.nodes:
            text, count = re.subn(rf"server {node.name} 192\.0\.2\.{10 + node.index}:3306",
                                  f"server {node.name} {node.address}:3306", text)
            assert count, f"no server line for {node.name} in the shipped config"
        config = workdir / "haproxy.cfg"
        config.write_text(text)
        check = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        self.log = workdir / "haproxy.log"
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=out, stderr=out)

    def command(self, line: str) -> str:
        """One runtime API command's answer."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(self.stats))
            sock.sendall(line.encode() + b"\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        return data.decode()

    def servers(self, proxy: str | None = None) -> dict[str, dict[str, str]]:
        """``show stat`` rows of the servers (of one listen section, else of the first), by name."""
        rows = list(csv.DictReader(io.StringIO(self.command("show stat").lstrip("# "))))
        proxy = proxy or rows[0]["pxname"]
        return {row["svname"]: row for row in rows
                if row["pxname"] == proxy and row["svname"] not in ("FRONTEND", "BACKEND")}

    def status(self, proxy: str | None = None) -> dict[str, str]:
        try:
            return {name: row["status"] for name, row in self.servers(proxy).items()}
        except OSError:
            return {}

    def wait_status(self, want: dict[str, str], timeout: float = 15, proxy: str | None = None) -> None:
        try:
            wait_for(lambda: all(self.status(proxy).get(k) == v for k, v in want.items()), timeout,
                     f"haproxy to see {want}", interval=0.1)
        except SandboxError as err:  # what haproxy sees at the deadline, not when the wait began
            raise SandboxError(f"{err} (now {self.status(proxy)}; log {self.log})") from None

    def connect_many(self, count: int, port: int | None = None, proxy: str | None = None) -> dict[str, int]:
        """Open ``count`` new client connections (each reads the server greeting); new sessions per node."""
        before = {name: int(row["stot"]) for name, row in self.servers(proxy).items()}
        for _ in range(count):
            with socket.create_connection(("127.0.0.1", port or self.port), timeout=5) as client:
                assert client.recv(1024), "no MySQL greeting through haproxy"
        after = {name: int(row["stot"]) for name, row in self.servers(proxy).items()}
        return {name: after[name] - before[name] for name in after}

    def stop(self) -> None:
        stop_process(self.process)
