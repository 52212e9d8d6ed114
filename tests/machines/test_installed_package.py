"""The installed .deb on booted Debian 12 and 13, with Debian's own python3 and libcrypto:
installed before MariaDB's accounts exist, the agent's group can still read its configuration;
SNMPv3, every auth x priv protocol against the machine's snmpd, the errors an operator meets, a
restarted snmpd and a clock outside the time window (tests/machines/interop.py runs inside)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from galera_snmp.dev.machines import SHARED, Machine

pytestmark = pytest.mark.machines

HERE = Path(__file__).resolve().parent


def test_installed_before_mariadb_the_agents_group_reads_the_configuration(machine: Machine) -> None:
    """The agent runs as mysql; postinst gave the config to that group only if it existed, so a
    package installed before MariaDB left the agent unable to read it."""
    assert machine.run("stat -c '%U:%G %a' /etc/galera-snmp/galera-snmp.conf").stdout.split() == ["root:mysql", "640"]
    # as a process of the group (MariaDB's preinst later makes the mysql user in it)
    machine.run("setpriv --reuid nobody --regid mysql --clear-groups head -c1 /etc/galera-snmp/galera-snmp.conf")


@pytest.fixture(scope="module")
def report(machine: Machine) -> dict:
    shutil.copy(HERE / "interop.py", machine.bed / "shared" / "interop.py")
    script = f"/usr/bin/python3 -I -B {SHARED}/interop.py"
    create, access = json.loads(machine.run(f"{script} snmpd-lines").stdout)
    # the users as an operator creates them: createUser lines while snmpd is stopped
    machine.run("systemctl stop snmpd && cat >> /var/lib/snmp/snmpd.conf", input_=create)
    machine.run("cat > /etc/snmp/snmpd.conf.d/interop.conf && systemctl start snmpd", input_=access)
    return json.loads(machine.run(script, timeout=300).stdout)


def test_every_protocol_pair_and_level_answers(report: dict) -> None:
    assert set(report["users"].values()) == {"ok"}, report["users"]
    assert len(report["users"]) == 6 * 3 + 2


def test_the_errors_say_what_is_wrong(report: dict) -> None:
    assert report["wrong auth"].startswith("error: ") and "authentication failed" in report["wrong auth"]
    assert report["wrong priv"].startswith("timeout: ") and "wrong priv password" in report["wrong priv"]
    assert report["unknown user"].endswith("SNMPv3 user 'nobody': unknown user")
    assert "wrong-auth-pass" not in json.dumps(report) and "wrong-priv-pass" not in json.dumps(report)


def test_a_restart_and_a_clock_jump_are_followed(report: dict) -> None:
    assert report["time window"] == "ok"
    assert report["restarted snmpd"] == "ok"


def test_no_library_but_the_standard_one(report: dict, machine: Machine) -> None:
    assert report["modules"] == []
    release = (machine.bed / "debian").read_text().strip()
    assert report["python"].startswith({"12": "3.11.", "13": "3.13."}[release])  # Debian's own python3
