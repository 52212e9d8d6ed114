"""galera_snmp/doctor.py's judging, fed what the checks read: no server, no snmpd."""

from __future__ import annotations

from pathlib import Path

from galera_snmp.config import DEFAULT_CONFIG
from galera_snmp.doctor import Finding, _grants, _mysql, _names, _notify_hook, _units, summary
from galera_snmp.node.assemble import MysqlReading
from galera_snmp.state import MysqlFailure

ANSWER = MysqlReading(status={"wsrep_cluster_status": "Primary", "wsrep_local_state_comment": "Synced"},
                      variables={"wsrep_on": "ON", "wsrep_notify_cmd": "/usr/bin/galera-snmp-notify"})


def test_a_line_per_finding_with_the_fix_only_when_failed():
    assert Finding("mysql", True, "answers").line() == "✓ mysql: answers"
    assert Finding("grants", False, "cannot read", "GRANT it").line() == "✗ grants: cannot read — fix: GRANT it"
    assert Finding("keepalived", None, "skipped: none").line() == "- keepalived: skipped: none"


def test_exit_0_only_when_nothing_failed():
    assert summary([Finding("a", True, ""), Finding("b", None, "")]) == ("all checks passed", 0)
    assert summary([Finding("a", True, ""), Finding("b", False, "")]) == ("1 of 2 checks failed", 1)


def test_mysql_and_hook_judged_from_one_reading():
    assert _mysql(ANSWER).ok and _notify_hook(ANSWER).ok
    sandbox_hook = MysqlReading(status=ANSWER.status, variables={
        **ANSWER.variables, "wsrep_notify_cmd": "env PYTHONPATH=/x python3 -m galera_snmp.cli.notify -c y"})
    assert _notify_hook(sandbox_hook).ok
    unset = MysqlReading(status=ANSWER.status, variables={**ANSWER.variables, "wsrep_notify_cmd": ""})
    assert _notify_hook(unset).ok is False and "wsrep_notify_cmd = galera-snmp-notify" in _notify_hook(unset).fix
    off = MysqlReading(variables={"wsrep_on": "OFF"})
    assert _mysql(off).ok is False and "wsrep_on" in _mysql(off).detail
    refused = MysqlReading(failure=MysqlFailure.REFUSED, error="Can't connect (111)")
    assert _mysql(refused).ok is False
    assert _notify_hook(refused).ok is None and _grants(None, refused).ok is None  # skipped, not passed


def test_keepalived_includes_are_followed(tmp_path: Path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "galera.conf").write_text("vrrp_track_file galera {\n  file /run/galera-snmp/t\n}\n")
    main = tmp_path / "keepalived.conf"
    main.write_text("global_defs {\n}\ninclude conf.d/*.conf\n")
    assert _names(main, "/run/galera-snmp/t")
    assert not _names(main, "/run/other")
    main.write_text("include keepalived.conf\n")  # a loop ends
    assert not _names(main, "/run/galera-snmp/t")
    assert not _names(tmp_path / "missing.conf", "/run/galera-snmp/t")


def test_the_units_are_judged_only_for_the_configuration_they_run(tmp_path: Path):
    """On a host booted with systemd a sandbox node's doctor said ✗ galera-snmp-agent.service is
    not-found: the units run /etc/galera-snmp/galera-snmp.conf, not the sandbox's."""
    finding = _units(tmp_path / "galera-snmp.conf", systemd=True)
    assert (finding.ok, finding.detail) == (None, f"skipped: the units run {DEFAULT_CONFIG}, not this configuration")
    assert _units(DEFAULT_CONFIG, systemd=False).ok is None
