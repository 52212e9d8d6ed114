"""Real monitoring servers for the tests of the shipped check definitions: Nagios 4 running
contrib/nagios/check_galera.cfg and Icinga 2 running contrib/icinga2/check_galera.conf, each
with its own folder, intervals of seconds, and its service states read back as the server
records them (Nagios: status.dat; Icinga 2: its REST API)."""

from __future__ import annotations

import base64
import contextlib
import grp
import http.client
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from support import REPO, free_tcp_port, stop_process

from galera_snmp.dev.base import wait_for

NAGIOS_COMMANDS = REPO / "contrib" / "nagios" / "check_galera.cfg"
ICINGA_COMMANDS = REPO / "contrib" / "icinga2" / "check_galera.conf"
# Icinga constants naming the directories it writes to or reads state from
PATH_CONSTANTS = ("CacheDir", "DataDir", "LogDir", "SpoolDir", "InitRunDir", "ConfigDir", "ZonesDir")
ICINGA_NODE = "gs-icinga"  # the Icinga node's name: its API certificate's CN
STATES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


class Nagios:
    """nagios4 in the foreground as root, on ``objects`` (host and service definitions using the
    shipped commands), its plugin folder ``plugins`` as $USER1$ and ``credentials`` (the file the
    shipped commands name by $USER3$). Checks every ``interval`` seconds; performance data of
    every service check is appended to ``perfdata``."""

    def __init__(self, folder: Path, objects: str, plugins: Path, credentials: Path, interval: int = 2) -> None:
        binary = shutil.which("nagios4", path="/usr/sbin:/usr/bin")
        if binary is None:
            pytest.fail("nagios4 is not installed: apt-get install --no-install-recommends nagios4-core", pytrace=False)
        self.folder = folder
        self.status = folder / "status.dat"
        self.perfdata = folder / "perfdata.log"
        (folder / "checkresults").mkdir()
        (folder / "resource.cfg").write_text(f"$USER1$={plugins}\n$USER3$={credentials}\n")
        (folder / "objects.cfg").write_text(_NAGIOS_BASE.format(interval=interval) + objects)
        config = folder / "nagios.cfg"
        config.write_text(_NAGIOS_CFG.format(folder=folder, commands=NAGIOS_COMMANDS))
        checked = subprocess.run([binary, "-v", str(config)], capture_output=True, text=True, timeout=60, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        self.log = folder / "nagios.log"
        self.process = subprocess.Popen([binary, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        stop_process(self.process)

    def services(self) -> dict[tuple[str, str], dict[str, str]]:
        """(host, service description) -> the servicestatus block of status.dat."""
        if not self.status.exists():
            return {}
        blocks = re.findall(r"^servicestatus \{\n(.*?)\n\s*\}", self.status.read_text(), re.MULTILINE | re.DOTALL)
        services = {}
        for block in blocks:
            fields = dict(line.strip().split("=", 1) for line in block.splitlines() if "=" in line)
            services[(fields["host_name"], fields["service_description"])] = fields
        return services

    def state(self, host: str, service: str) -> str | None:
        """The service's current state as Nagios records it; None before its first check."""
        fields = self.services().get((host, service))
        if fields is None or fields["has_been_checked"] != "1":
            return None
        return STATES[int(fields["current_state"])]

    def wait_state(self, host: str, service: str, expected: str, timeout: float) -> None:
        wait_for(lambda: self.state(host, service) == expected, timeout,
                 f"Nagios to record {host}/{service} {expected} (it has {self.state(host, service)}: "
                 f"{self.services().get((host, service), {}).get('plugin_output')})")


_NAGIOS_CFG = """\
log_file={folder}/nagios.log
cfg_file={commands}
cfg_file={folder}/objects.cfg
resource_file={folder}/resource.cfg
status_file={folder}/status.dat
status_update_interval=1
object_cache_file={folder}/objects.cache
precached_object_file={folder}/objects.precache
temp_file={folder}/nagios.tmp
temp_path={folder}
lock_file={folder}/nagios.lock
check_result_path={folder}/checkresults
command_file={folder}/nagios.cmd
check_external_commands=0
state_retention_file={folder}/retention.dat
retain_state_information=0
nagios_user=root
nagios_group=root
interval_length=1
check_result_reaper_frequency=1
max_check_result_reaper_time=1
service_inter_check_delay_method=n
host_inter_check_delay_method=n
service_check_timeout=30
enable_notifications=0
enable_flap_detection=0
enable_environment_macros=0
process_performance_data=1
service_perfdata_file={folder}/perfdata.log
service_perfdata_file_template=$HOSTNAME$\\t$SERVICEDESC$\\t$SERVICESTATE$\\t$SERVICEPERFDATA$
service_perfdata_file_mode=a
service_perfdata_file_processing_interval=0
"""

_NAGIOS_BASE = """\
define timeperiod {{
    timeperiod_name 24x7
    alias           always
    sunday          00:00-24:00
    monday          00:00-24:00
    tuesday         00:00-24:00
    wednesday       00:00-24:00
    thursday        00:00-24:00
    friday          00:00-24:00
    saturday        00:00-24:00
}}
define command {{
    command_name    nothing
    command_line    /bin/true
}}
define contact {{
    contact_name                  nobody
    host_notifications_enabled    0
    service_notifications_enabled 0
    host_notification_period      24x7
    service_notification_period   24x7
    host_notification_options     n
    service_notification_options  n
    host_notification_commands    nothing
    service_notification_commands nothing
}}
define host {{
    name                  galera-host
    check_period          24x7
    max_check_attempts    1
    contacts              nobody
    register              0
}}
define service {{
    name                  galera-service
    check_period          24x7
    max_check_attempts    1
    check_interval        {interval}
    retry_interval        {interval}
    contacts              nobody
    register              0
}}
"""


# --- Icinga 2 ----------------------------------------------------------------------------------

def icinga2_binary() -> str:
    found = shutil.which("icinga2") or shutil.which("icinga2", path="/usr/sbin:/sbin")
    if found is None:
        pytest.fail("icinga2 is not installed: apt-get install -y icinga2-bin icinga2-common", pytrace=False)
    return found


def icinga_value(value: object) -> str:
    """A Python value as an Icinga 2 DSL literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[ " + ", ".join(icinga_value(item) for item in value) + " ]"
    return json.dumps(value)  # a double-quoted string with the same escapes as Icinga's


def icinga2_defines(work: Path) -> list[str]:
    """-D options keeping Icinga in ``work``: its directories, and no switch to the nagios user."""
    defines = [f"-DRunAsUser={pwd.getpwuid(os.getuid()).pw_name}", f"-DRunAsGroup={grp.getgrgid(os.getgid()).gr_name}"]
    for constant in PATH_CONSTANTS:
        directory = work / "icinga-state" / constant
        directory.mkdir(parents=True, exist_ok=True)
        defines.append(f"-D{constant}={directory}")
    return defines


def stop(daemon: subprocess.Popen) -> None:
    """SIGTERM to the daemon's process group (umbrella, worker, spawn helper), SIGKILL if need be."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(daemon.pid, signal.SIGTERM)
    try:
        daemon.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait(timeout=10)
    deadline = time.monotonic() + 10
    while group_alive(daemon.pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(daemon.pid, signal.SIGKILL)
            break
        time.sleep(0.1)


def group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (zombies waiting for init to reap them do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


class Icinga2:
    """An Icinga 2 daemon in ``folder`` running the shipped CheckCommands on ``objects`` (Icinga 2
    DSL: hosts and services), its checker on, and its REST API on 127.0.0.1 (TLS with a
    certificate made here, an API user with a fresh password) to read the states back."""

    def __init__(self, folder: Path, objects: str, plugins: Path) -> None:
        self.port = free_tcp_port()
        self.password = secrets.token_urlsafe(18)
        defines = icinga2_defines(folder)
        certs = folder / "icinga-state" / "DataDir" / "certs"
        certs.mkdir(parents=True)
        self.ca = certs / "ca.crt"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={ICINGA_NODE}",
                        "-days", "2", "-keyout", str(certs / f"{ICINGA_NODE}.key"),
                        "-out", str(certs / f"{ICINGA_NODE}.crt")], capture_output=True, check=True, timeout=60)
        shutil.copy(certs / f"{ICINGA_NODE}.crt", self.ca)  # its own CA: one node, no cluster
        config = folder / "icinga2.conf"
        config.write_text(
            f"const PluginDir = {icinga_value(str(plugins))}\ninclude <itl>\n"
            f"include {icinga_value(str(ICINGA_COMMANDS))}\n"
            'object CheckerComponent "checker" { }\n'
            f'object ApiListener "api" {{ bind_host = "127.0.0.1"; bind_port = {self.port} }}\n'
            f'object ApiUser "reader" {{ password = {icinga_value(self.password)}; '
            'permissions = [ "objects/query/Service" ] }\n'
            "object Endpoint NodeName { }\nobject Zone ZoneName { endpoints = [ NodeName ] }\n" + objects
        )
        config.chmod(0o600)  # it holds the SNMP secrets
        command = [icinga2_binary(), "daemon", "-c", str(config), *defines,
                   f"-DNodeName={ICINGA_NODE}", f"-DZoneName={ICINGA_NODE}"]
        checked = subprocess.run([*command, "-C"], capture_output=True, text=True, timeout=60, check=False, cwd=folder)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        self.log = folder / "icinga2.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def stop(self) -> None:
        stop(self.process)

    def services(self) -> dict[tuple[str, str], dict]:
        """(host, service) -> the service's attributes: state, last_check_result, ... ({} while
        the API does not answer yet)."""
        context = ssl.create_default_context(cafile=str(self.ca))
        context.check_hostname = False  # 127.0.0.1 is not the certificate's name; the CA still vouches
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=context, timeout=5)
        token = base64.b64encode(f"reader:{self.password}".encode()).decode()
        try:
            connection.request("GET", "/v1/objects/services?attrs=host_name&attrs=name&attrs=state"
                               "&attrs=last_check_result", headers={"Authorization": f"Basic {token}",
                                                                    "Accept": "application/json"})
            response = connection.getresponse()
            body = response.read(1 << 22)
        except OSError:
            return {}
        finally:
            connection.close()
        if response.status != 200:
            return {}
        results = json.loads(body)["results"]
        return {(r["attrs"]["host_name"], r["attrs"]["name"]): r["attrs"] for r in results}

    def state(self, host: str, service: str) -> str | None:
        """The service's current state as Icinga records it; None before its first check."""
        attrs = self.services().get((host, service))
        if attrs is None or attrs["last_check_result"] is None:
            return None
        return STATES[int(attrs["state"])]

    def wait_state(self, host: str, service: str, expected: str, timeout: float) -> None:
        def output() -> str:
            result = (self.services().get((host, service)) or {}).get("last_check_result") or {}
            return result.get("output", "")

        wait_for(lambda: self.state(host, service) == expected, timeout,
                 f"Icinga 2 to record {host}/{service} {expected} (it has {self.state(host, service)}: {output()})")
