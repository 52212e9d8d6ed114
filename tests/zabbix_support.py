"""A real Zabbix 6.0 server for tests, everything in one folder and torn down afterwards: its own
MariaDB (own datadir, unix socket only, --skip-networking) with Zabbix's schema, zabbix_server in
the foreground with short intervals, and the frontend under PHP's built-in web server so that its
JSON-RPC API (api_jsonrpc.php) answers. The Admin password is generated per run and set before
the frontend starts: it is never in argv or a log.

Debian 12's packages: zabbix-server-mysql, zabbix-frontend-php, php-cli, php-mysql (scripts/dev).
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support import free_tcp_port, stop_process, tool

from galera_snmp.dev.base import wait_for

PACKAGES = "zabbix-server-mysql zabbix-frontend-php php-cli php-mysql"
PROGRAMS = ("zabbix_server", "php", "mariadbd", "mariadb", "mariadb-install-db")
SCHEMA_DIR = Path("/usr/share/zabbix-server-mysql")
SCHEMA_FILES = ("schema.sql.gz", "images.sql.gz", "data.sql.gz")  # in this order (the package's README)
FRONTEND = Path("/usr/share/zabbix")
# Where the Debian frontend looks for its configuration (a constant of CConfigFile, patched by Debian):
# a copy of the frontend in the test's folder reads the test's file instead.
CONFIG_CLASS = Path("include/classes/core/CConfigFile.php")
CONFIG_CONSTANT = re.compile(r"(const CONFIG_FILE_PATH = )'[^']*';")
DB_NAME, DB_USER, API_USER = "zabbix", "zabbix", "Admin"
TEMPLATE_FILE = Path(__file__).resolve().parents[1] / "contrib" / "zabbix" / "galera_by_snmp.yaml"
TRAPPER_FILE = "snmptraps.log"  # in the server's folder: its SNMPTrapperFile
_RULES = {"createMissing": True, "updateExisting": True}
IMPORT_RULES = {"groups": {"createMissing": True}, "templates": _RULES, "items": _RULES, "triggers": _RULES,
                "discoveryRules": _RULES, "valueMaps": _RULES, "templateLinkage": {"createMissing": True}}


class ZabbixError(RuntimeError):
    """The harness could not start or the API said no."""


@dataclass
class Zabbix:
    """A running Zabbix: its API (logged in as Admin), its server log, and how long starting took."""

    folder: Path
    url_port: int
    server_log: Path
    server_port: int
    timings: dict[str, float] = field(default_factory=dict)
    token: str | None = None
    _ids: int = 0

    @property
    def trapper_file(self) -> Path:
        """The file the server reads SNMP traps from (SNMPTrapperFile)."""
        return self.folder / TRAPPER_FILE

    def call(self, method: str, params: object = None) -> object:
        """One JSON-RPC call; an API error raises ZabbixError with Zabbix's message."""
        self._ids += 1
        request: dict[str, object] = {"jsonrpc": "2.0", "method": method, "params": params or {}, "id": self._ids}
        if self.token is not None and method not in ("apiinfo.version", "user.login"):
            request["auth"] = self.token
        conn = http.client.HTTPConnection("127.0.0.1", self.url_port, timeout=120)
        try:
            conn.request("POST", "/api_jsonrpc.php", json.dumps(request),
                         {"Content-Type": "application/json-rpc"})
            response = conn.getresponse()
            body = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        try:
            answer = json.loads(body)
        except ValueError:
            raise ZabbixError(f"{method}: HTTP {response.status}, not JSON: {body[:500]}") from None
        if "error" in answer:
            error = answer["error"]
            raise ZabbixError(f"{method}: {error.get('message')} {error.get('data')}")
        return answer["result"]

    def import_template(self) -> str:
        """Import contrib/zabbix/galera_by_snmp.yaml as an operator would; the template's id."""
        from galera_snmp.snmp.zabbix import TEMPLATE

        done = self.call("configuration.import", {"format": "yaml", "rules": IMPORT_RULES,
                                                  "source": TEMPLATE_FILE.read_text(encoding="utf-8")})
        if done is not True:
            raise ZabbixError(f"configuration.import answered {done!r}")
        (found,) = self.call("template.get", {"filter": {"host": TEMPLATE}, "output": ["templateid"]})
        return found["templateid"]

    def log_tail(self, lines: int = 30) -> str:
        text = self.server_log.read_text(errors="replace") if self.server_log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _binary(name: str) -> str:
    """A program of the harness (daemons live in sbin); missing fails the test with the install hint."""
    return tool(name, f"--no-install-recommends {PACKAGES}")


def _run(args: list[str], what: str, stdin: bytes | None = None, timeout: float = 300) -> None:
    result = subprocess.run(args, input=stdin, capture_output=True, timeout=timeout, check=False)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).decode(errors="replace").strip().splitlines()[-10:]
        raise ZabbixError(f"{what} failed ({result.returncode}): {' / '.join(tail)}")


def _server_port() -> int:
    """A free TCP port of 127.0.0.1 that zabbix_server takes (ListenPort: 1024..32767)."""
    import random
    import socket

    for port in random.sample(range(20000, 32768), 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise ZabbixError("no free port for zabbix_server in 20000..32767")


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _php_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _password_hash(password: str) -> str:
    """The bcrypt hash Zabbix 6.0 keeps in users.passwd ($2y$, PHP's name for the same algorithm)."""
    import bcrypt

    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode().replace("$2b$", "$2y$", 1)


def _start_database(folder: Path, timings: dict[str, float]) -> tuple[subprocess.Popen, Path, str]:
    """MariaDB in ``folder``/db on a socket only, Zabbix's schema loaded; (process, socket, password)."""
    datadir, socket = folder / "db", folder / "mysqld.sock"
    as_root = ["--user=root"] if os.geteuid() == 0 else []
    started = time.monotonic()
    _run([_binary("mariadb-install-db"), "--no-defaults", f"--datadir={datadir}",
          "--auth-root-authentication-method=normal", "--skip-test-db", *as_root], "mariadb-install-db")
    log = folder / "mysqld.err"
    process = subprocess.Popen(
        [_binary("mariadbd"), "--no-defaults", f"--datadir={datadir}", f"--socket={socket}",
         "--skip-networking", f"--pid-file={folder / 'mysqld.pid'}", f"--log-error={log}", *as_root,
         "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", "--skip-log-bin",
         "--innodb-buffer-pool-size=256M", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )

    def answers() -> bool:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").splitlines()[-5:] if log.exists() else []
            raise ZabbixError(f"mariadbd exited ({process.returncode}): {' / '.join(tail)}")
        return socket.exists() and subprocess.run(
            [_binary("mariadb"), "--no-defaults", f"--socket={socket}", "-uroot", "-e", "SELECT 1"],
            capture_output=True, check=False, timeout=10).returncode == 0

    try:
        wait_for(answers, 60, "the test MariaDB to answer on its socket", interval=0.2)
        timings["database"] = time.monotonic() - started
        password = secrets.token_urlsafe(18)
        client = [_binary("mariadb"), "--no-defaults", f"--socket={socket}", "-uroot"]
        _run(client, "creating the zabbix database", stdin=(
            f"CREATE DATABASE {DB_NAME} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;\n"
            f"CREATE USER {DB_USER}@localhost IDENTIFIED BY {_sql_string(password)};\n"
            f"GRANT ALL ON {DB_NAME}.* TO {DB_USER}@localhost;\n").encode())
        started = time.monotonic()
        schema = b"".join(gzip.decompress((SCHEMA_DIR / name).read_bytes()) for name in SCHEMA_FILES)
        _run([*client, DB_NAME], "loading Zabbix's schema", stdin=schema, timeout=600)
        timings["schema"] = time.monotonic() - started
        return process, socket, password
    except BaseException:
        stop_process(process, 30)
        raise


def _server_config(folder: Path, socket: Path, password: str, port: int) -> Path:
    """zabbix_server.conf: this folder's database, log and sockets; short intervals for tests."""
    lines = {
        "LogFile": folder / "zabbix_server.log", "LogFileSize": 0, "PidFile": folder / "zabbix_server.pid",
        "SocketDir": folder, "TmpDir": folder, "ListenIP": "127.0.0.1", "ListenPort": port,
        "DBHost": "localhost", "DBSocket": socket, "DBName": DB_NAME, "DBUser": DB_USER, "DBPassword": password,
        "CacheUpdateFrequency": 1, "ProblemHousekeepingFrequency": 60, "HousekeepingFrequency": 0,
        "StartPollers": 2, "StartPollersUnreachable": 1, "StartPingers": 0, "StartDiscoverers": 0,
        "StartHTTPPollers": 0, "StartTrappers": 2, "StartLLDProcessors": 1, "StartPreprocessors": 2,
        "StartEscalators": 1, "StartAlerters": 1, "StartTimers": 1, "UnreachablePeriod": 45,
        "UnavailableDelay": 15, "UnreachableDelay": 5, "Timeout": 4, "LogSlowQueries": 3000,
        "StatsAllowedIP": "127.0.0.1",
        "AllowUnsupportedDBVersions": 1,  # Zabbix 6.0.14 knows MariaDB up to 10.10; Debian 12 pairs it with 10.11
        "StartSNMPTrapper": 1, "SNMPTrapperFile": folder / TRAPPER_FILE,  # traps, as galera-snmp zabbix-trap writes
    }
    if os.geteuid() == 0:
        lines.update(AllowRoot=1, User="root")
    conf = folder / "zabbix_server.conf"
    conf.touch(mode=0o600)
    conf.write_text("".join(f"{key}={value}\n" for key, value in lines.items()))
    return conf


def _frontend(folder: Path, socket: Path, password: str, server_port: int) -> Path:
    """A copy of the frontend whose configuration file is ``folder``/zabbix.conf.php."""
    root = folder / "frontend"
    shutil.copytree(FRONTEND, root, symlinks=True)
    conf = folder / "zabbix.conf.php"
    conf.touch(mode=0o600)
    conf.write_text(
        "<?php\n"
        "$DB['TYPE'] = 'MYSQL';\n$DB['SERVER'] = 'localhost';\n$DB['PORT'] = '0';\n"
        f"$DB['DATABASE'] = {_php_string(DB_NAME)};\n$DB['USER'] = {_php_string(DB_USER)};\n"
        f"$DB['PASSWORD'] = {_php_string(password)};\n$DB['SCHEMA'] = '';\n$DB['ENCRYPTION'] = false;\n"
        "$DB['KEY_FILE'] = '';\n$DB['CERT_FILE'] = '';\n$DB['CA_FILE'] = '';\n$DB['VERIFY_HOST'] = false;\n"
        "$DB['CIPHER_LIST'] = '';\n$DB['VAULT_URL'] = '';\n$DB['VAULT_DB_PATH'] = '';\n$DB['VAULT_TOKEN'] = '';\n"
        "$DB['DOUBLE_IEEE754'] = true;\n"
        f"$ZBX_SERVER = '127.0.0.1';\n$ZBX_SERVER_PORT = '{server_port}';\n$ZBX_SERVER_NAME = 'galera-snmp tests';\n"
        "$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;\n"
    )
    source = (root / CONFIG_CLASS).read_text()
    patched, count = CONFIG_CONSTANT.subn(lambda m: m[1] + _php_string(str(conf)) + ";", source)
    if count != 1:
        raise ZabbixError(f"{FRONTEND / CONFIG_CLASS}: no CONFIG_FILE_PATH to point at the test's configuration")
    (root / CONFIG_CLASS).write_text(patched)
    return root


@contextlib.contextmanager
def zabbix(folder: Path) -> Iterator[Zabbix]:
    """Start MariaDB, zabbix_server and the frontend in ``folder``; log in to the API; stop all after."""
    for program in PROGRAMS:  # a missing one fails with the install hint; root is not needed
        _binary(program)
    missing = [name for name in SCHEMA_FILES if not (SCHEMA_DIR / name).exists()]
    if missing or not (FRONTEND / "api_jsonrpc.php").exists():
        pytest.fail(f"Zabbix's schema or frontend is missing: apt-get install --no-install-recommends {PACKAGES}",
                    pytrace=False)
    began = time.monotonic()
    timings: dict[str, float] = {}
    processes: list[subprocess.Popen] = []
    try:
        database, socket, password = _start_database(folder, timings)
        processes.append(database)
        api_password = secrets.token_urlsafe(18)
        _run([_binary("mariadb"), "--no-defaults", f"--socket={socket}", "-uroot", DB_NAME],
             "setting the API password",
             stdin=f"UPDATE users SET passwd={_sql_string(_password_hash(api_password))} "
                   f"WHERE username={_sql_string(API_USER)};\n".encode())
        started = time.monotonic()
        server_port, web_port = _server_port(), free_tcp_port()
        conf = _server_config(folder, socket, password, server_port)
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(folder / "snmp"), "MIBS": ""}
        with open(folder / "zabbix_server.out", "ab") as out:
            processes.append(subprocess.Popen([_binary("zabbix_server"), "-f", "-c", str(conf)],
                                              stdout=out, stderr=subprocess.STDOUT, env=env))
        root = _frontend(folder, socket, password, server_port)
        with open(folder / "php.out", "ab") as out:
            processes.append(subprocess.Popen(
                [_binary("php"), "-d", f"mysqli.default_socket={socket}", "-d", "memory_limit=512M",
                 "-d", "post_max_size=32M", "-d", "max_execution_time=300", "-d", "date.timezone=UTC",
                 "-S", f"127.0.0.1:{web_port}", "-t", str(root)],
                stdout=out, stderr=subprocess.STDOUT, env=env))  # one process: workers would outlive a stop
        found = Zabbix(folder, web_port, folder / "zabbix_server.log", server_port, timings)

        def running() -> bool:
            for process in processes:
                if process.poll() is not None:
                    said = [(folder / name).read_text(errors="replace")[-2000:]
                            for name in ("zabbix_server.out", "php.out")]
                    raise ZabbixError(f"{process.args[0]} exited ({process.returncode}):\n{found.log_tail()}\n"
                                      + "\n".join(said))
            return True

        def api_answers() -> bool:
            running()
            try:
                found.call("apiinfo.version")
            except (OSError, ZabbixError):
                return False
            return True

        wait_for(api_answers, 60, "the Zabbix API to answer", interval=0.2)
        found.token = str(found.call("user.login", {"username": API_USER, "password": api_password}))

        def server_started() -> bool:
            running()
            return found.server_log.exists() and "server #0 started" in found.server_log.read_text(errors="replace")

        wait_for(server_started, 60, "zabbix_server to start", interval=0.2)
        timings["server and frontend"] = time.monotonic() - started
        timings["total"] = time.monotonic() - began
        yield found
    finally:
        for process in reversed(processes):
            stop_process(process, 30)
        for bulky in ("db", "frontend"):  # the logs and configuration stay for a look after a failure
            shutil.rmtree(folder / bulky, ignore_errors=True)
