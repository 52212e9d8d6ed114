"""``galera-snmp doctor``: this node's deployment checked end to end, one line per check.

Each check reads what the product itself reads — the same config loader, option-file reader,
MySQL probe, SNMP reader and node set — so a ✓ here means the agent, check_galera and
galera-init will get what they need, and a ✗ carries the fix. A check that does not apply here
(no keepalived configured, no systemd running) is skipped, never passed silently.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from .cluster.nodeset import difference, node_set
from .cluster.peers import Cluster, find_cluster, snmp_targets
from .config import DEFAULT_CONFIG, Config, ConfigError, load_config, read_option_file
from .node.assemble import MysqlReading
from .node.probe import MysqlReader
from .record import record
from .snmp.ber import Missing
from .snmp.client import Client, SnmpError, Target
from .snmp.mib import BY_NAME, GALERA_MIB
from .snmp.remote import read_all, read_report

KEEPALIVED_CONF = Path("/etc/keepalived/keepalived.conf")
KEEPALIVED_TRACK_FILE = (2, 0, 18)  # the first keepalived with track_file (docs/TRAFFIC.md)
NOTIFY_HOOK = re.compile(r"galera-snmp-notify|galera_snmp\.cli\.notify")
UNITS = {"galera-snmp-agent.service": "enabled", "galera-init.service": "enabled", "mariadb.service": "disabled"}


@record
class Finding:
    check: str  # what was checked, in a few words
    ok: bool | None  # None: does not apply here (skipped)
    detail: str  # what was seen
    fix: str = ""  # what to do, when not ok

    def line(self) -> str:
        mark = {True: "✓", False: "✗", None: "-"}[self.ok]
        text = f"{mark} {self.check}: {self.detail}"
        return f"{text} — fix: {self.fix}" if self.ok is False and self.fix else text


def run(config_path: Path, keepalived_conf: Path = KEEPALIVED_CONF) -> Iterator[Finding]:
    """Every check, in the order an operator sets things up; stops early only when the config
    itself cannot be read."""
    try:
        config = load_config(config_path)
    except ConfigError as err:
        yield Finding("config", False, str(err), "correct the file (docs/DEPLOY.md, 'Configuration')")
        return
    yield Finding("config", True, f"{config_path} read")
    yield _credentials(config)
    reading = _read_mysql(config)
    yield _mysql(reading)
    yield _grants(config, reading)
    yield _notify_hook(reading)
    cluster: Cluster | None = None
    try:
        cluster = find_cluster(config)
        targets: list[Target] | str = snmp_targets(config, cluster)
    except ConfigError as err:
        targets = str(err)
    yield _agent(cluster, targets)
    yield _node_sets(cluster, targets)
    yield _mib()
    yield _keepalived(config, keepalived_conf)
    yield _units(config_path)


def _credentials(config: Config) -> Finding:
    try:
        options = read_option_file(config.mysql.option_file, config.mysql.option_group)
    except ConfigError as err:
        return Finding("credentials", False, str(err), "chmod 0640 it, owned by root and the agent's group")
    if not options.socket or options.host not in (None, "localhost"):
        return Finding("credentials", False, f"{config.mysql.option_file} names no socket: the agent would use TCP",
                       f"add socket = /run/mysqld/mysqld.sock to its [{config.mysql.option_group}] group")
    return Finding("credentials", True, f"{config.mysql.option_file}: user {options.user}, socket {options.socket}")


def _read_mysql(config: Config) -> MysqlReading | str:
    """One read through the probe's reader, or why it could not even try."""
    try:
        reader = MysqlReader(config)
    except ConfigError as err:
        return str(err)
    try:
        return reader.read()
    finally:
        reader.close()


def _mysql(reading: MysqlReading | str) -> Finding:
    if isinstance(reading, str):
        return Finding("mysql", False, reading, "see the credentials check")
    if reading.failure is not None:
        return Finding("mysql", False, f"{reading.failure.value}: {reading.error}",
                       "is mariadbd running, and do the option file's user and password match the grant?")
    if reading.variables.get("wsrep_on", "").upper() != "ON":
        return Finding("mysql", False, "wsrep_on is not ON: not a Galera node",
                       "wsrep_on = ON and wsrep_provider in the server's [galera] section")
    return Finding("mysql", True, f"answers: {reading.status.get('wsrep_cluster_status', '?')}, "
                   f"{reading.status.get('wsrep_local_state_comment', '?')}")


def _grants(config: Config, reading: MysqlReading | str) -> Finding:
    if isinstance(reading, str) or reading.failure is not None:
        return Finding("grants", None, "skipped: mysql does not answer")
    if reading.members_error:
        user = read_option_file(config.mysql.option_file, config.mysql.option_group).user
        return Finding("grants", False, f"cannot read the cluster members: {reading.members_error}",
                       f"GRANT SELECT ON mysql.wsrep_cluster_members TO '{user}'@'localhost'")
    return Finding("grants", True, "SHOW STATUS, SHOW VARIABLES and mysql.wsrep_cluster_members readable")


def _notify_hook(reading: MysqlReading | str) -> Finding:
    if isinstance(reading, str) or reading.failure is not None:
        return Finding("notify hook", None, "skipped: mysql does not answer")
    command = reading.variables.get("wsrep_notify_cmd", "")
    if not NOTIFY_HOOK.search(command):
        return Finding("notify hook", False, f"wsrep_notify_cmd is {command!r}",
                       "wsrep_notify_cmd = galera-snmp-notify in the server's [galera] section, then restart it "
                       "(the agent refreshes at once on every wsrep event)")
    return Finding("notify hook", True, f"wsrep_notify_cmd = {command}")


def _agent(cluster: Cluster | None, targets: list[Target] | str) -> Finding:
    if cluster is None or isinstance(targets, str):
        return Finding("agent via snmpd", False, str(targets), "set [init] nodes and address, and snmp_credentials")
    target = targets[cluster.me]
    where = f"{target.host}:{target.port}"
    status = (*BY_NAME["galeraStatus"].oid, 0)
    try:
        with Client(target) as client:
            served = client.get([status]).get(status)
        report = read_report(target)
    except SnmpError as err:
        return Finding("agent via snmpd", False, f"no answer from snmpd at {where}: {err}",
                       "systemctl start snmpd; check its agentAddress, and this node's SNMP user and password")
    if served is None or isinstance(served, Missing):
        return Finding("agent via snmpd", False, f"snmpd at {where} serves nothing under GALERA-MIB",
                       "start galera-snmp-agent (it registers with snmpd's 'master agentx'), and let this SNMP "
                       f"user's view include .{'.'.join(map(str, GALERA_MIB))} (read-only: the agent refuses sets)")
    age = f", data {report.age} s old" if report.age is not None else ""
    return Finding("agent via snmpd", True, f"galeraStatus read back through {where}: {report.state.status.value}{age}")


def _node_sets(cluster: Cluster | None, targets: list[Target] | str) -> Finding:
    if cluster is None or isinstance(targets, str):
        return Finding("node lists", False, str(targets), "set [init] nodes (the same data nodes on every node)")
    mine = node_set(cluster.nodes)
    problems = []
    for host, report in zip(cluster.nodes, read_all(targets), strict=True):
        if isinstance(report, str):
            problems.append(f"{host}: no answer ({report})")
        elif report.node_set is None:
            problems.append(f"{host}: publishes no node set")
        elif report.node_set.digest != mine.digest:
            problems.append(f"{host}: {difference(mine, report.node_set)}")
    if problems:
        return Finding("node lists", False, "; ".join(problems),
                       "every node's [init] nodes (and arbitrators) must name the same data nodes")
    return Finding("node lists", True, f"{len(cluster.nodes)} nodes, one node set ({mine.digest})")


def _mib() -> Finding:
    tool = shutil.which("snmptranslate")
    if tool is None:
        return Finding("MIB by name", False, "snmptranslate is not installed", "apt-get install snmp")
    result = subprocess.run([tool, "-On", "-m", "GALERA-MIB", "GALERA-MIB::galeraStatus"], capture_output=True,
                            text=True, timeout=30, check=False)
    wanted = "." + ".".join(map(str, BY_NAME["galeraStatus"].oid))
    if result.returncode != 0 or result.stdout.strip() != wanted:
        problems = [line for line in result.stderr.splitlines() if line.strip()][:2]
        return Finding("MIB by name", False, "; ".join(problems) or f"galeraStatus is {result.stdout.strip()!r}",
                       "reinstall the package (it puts a GALERA-MIB that needs no other module in "
                       "/usr/share/snmp/mibs); from a checkout: README, 'Standard MIB modules'")
    return Finding("MIB by name", True, f"GALERA-MIB::galeraStatus is {wanted}")


def _keepalived(config: Config, conf: Path) -> Finding:
    track = config.keepalived.track_file
    if track is None:
        return Finding("keepalived", None, "skipped: no [keepalived] track_file configured")
    tool = shutil.which("keepalived") or shutil.which("keepalived", path="/usr/sbin:/sbin")
    if tool is None:
        return Finding("keepalived", False, "keepalived is not installed", "apt-get install keepalived")
    version = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30, check=False)
    match = re.search(r"Keepalived v(\d+)\.(\d+)\.(\d+)", version.stdout + version.stderr)
    if match is None or tuple(map(int, match.groups())) < KEEPALIVED_TRACK_FILE:
        seen = match.group(0) if match else "an unknown version"
        return Finding("keepalived", False, f"{seen} has no track_file",
                       "keepalived >= 2.0.18, or the vrrp_script way (docs/TRAFFIC.md)")
    if not _names(conf, str(track)):
        return Finding("keepalived", False, f"{conf} (and what it includes) does not name {track}",
                       f"track_file galera {{ file {track} }} and track_file {{ galera weight 0 reverse }} "
                       "in the vrrp_instance (contrib/keepalived/keepalived.conf)")
    return Finding("keepalived", True, f"{match.group(0)}; {conf} tracks {track}")


def _names(conf: Path, text: str, depth: int = 0) -> bool:
    """Whether keepalived's config, or a file it includes, mentions ``text``."""
    try:
        content = conf.read_text(errors="replace")
    except OSError:
        return False
    if text in content:
        return True
    for pattern in re.findall(r"^\s*include\s+(\S+)", content, re.MULTILINE) if depth < 4 else []:
        base = Path(pattern) if pattern.startswith("/") else conf.parent / pattern
        if any(_names(path, text, depth + 1) for path in sorted(base.parent.glob(base.name))):
            return True
    return False


def _units(config_path: Path, systemd: bool | None = None) -> Finding:
    """The units enabled as docs/DEPLOY.md says — only for the configuration they run (a sandbox
    node's, say, is no unit's business) and only where systemd runs."""
    if systemd is None:
        systemd = Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None
    if not systemd:
        return Finding("systemd units", None, "skipped: systemd is not running here")
    if Path(os.path.abspath(config_path)) != DEFAULT_CONFIG:
        return Finding("systemd units", None, f"skipped: the units run {DEFAULT_CONFIG}, not this configuration")
    wrong = []
    for unit, wanted in UNITS.items():
        state = subprocess.run(["systemctl", "is-enabled", unit], capture_output=True, text=True, timeout=30,
                               check=False).stdout.strip() or "not found"
        if state != wanted:
            wrong.append(f"{unit} is {state}, not {wanted}")
    if wrong:
        return Finding("systemd units", False, "; ".join(wrong),
                       "systemctl enable galera-snmp-agent galera-init; systemctl disable mariadb (docs/DEPLOY.md)")
    return Finding("systemd units", True, ", ".join(f"{unit} {wanted}" for unit, wanted in UNITS.items()))


def summary(findings: list[Finding]) -> tuple[str, int]:
    """The last line to print and the exit code: 0 only when no check failed."""
    failed = sum(1 for f in findings if f.ok is False)
    return (f"{failed} of {len(findings)} checks failed" if failed else "all checks passed"), 1 if failed else 0
