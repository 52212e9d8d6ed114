"""Real monitoring servers for the tests of the shipped check definitions: Nagios 4 running
contrib/nagios/check_galera.cfg and Icinga 2 running contrib/icinga2/check_galera.conf, each
with its own folder, intervals of seconds, and its service states read back as the server
records them (Nagios: status.dat; Icinga 2: its REST API)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support import REPO, stop_process

from galera_snmp.dev.sandbox import wait_for

NAGIOS_COMMANDS = REPO / "contrib" / "nagios" / "check_galera.cfg"
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
