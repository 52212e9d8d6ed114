"""contrib/icinga2/check_galera.conf through a real Icinga 2: `icinga2 daemon -C` must accept it
next to the ITL, with one Service per CheckCommand, and a short daemon run with a stand-in
check_galera shows the command lines Icinga builds from the galera_* custom variables.

Icinga runs in a temp directory: every path constant it writes to or reads state from points
there, and RunAsUser/RunAsGroup are the current user, so it never drops to the nagios user nor
touches /var/lib/icinga2, /var/cache/icinga2, /var/log/icinga2 or /run/icinga2.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nms_support import icinga2_binary, icinga2_defines, icinga_value, stop

from galera_snmp.cli.check_galera import build_parser, from_environment

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "contrib" / "icinga2" / "check_galera.conf"
COMMANDS = ("galera-node", "galera-cluster", "galera-flow-control", "galera-queues", "galera-conflicts", "galera-peers")

# One Service per case; galera_timeout (unique per case) tells the recorded command lines apart.
# "expect": what build_parser() must make of the command line Icinga builds (others: defaults).
CASES: dict[str, dict] = {
    "node-snmp": {
        "command": "galera-node",
        "vars": {"galera_source": "snmp", "galera_community": "not-public", "galera_donor_ok": True,
                 "galera_timeout": 11},
        "expect": {"mode": "node", "source": "snmp", "hostname": "192.0.2.11", "community": "not-public",
                   "donor_ok": True},
    },
    "node-mysql": {
        "command": "galera-node",
        "vars": {"galera_config": "/etc/galera-snmp/other.conf", "galera_timeout": 12},
        "expect": {"mode": "node", "source": None, "hostname": None, "config": "/etc/galera-snmp/other.conf"},
    },
    "cluster-v3": {
        "command": "galera-cluster",
        "vars": {
            "galera_source": "snmp", "galera_port": 1161, "galera_protocol": "3", "galera_seclevel": "authPriv",
            "galera_secname": "galeramon", "galera_authproto": "SHA-256", "galera_authpasswd": "auth pass phrase",
            "galera_privproto": "AES-256", "galera_privpasswd": "priv-pass-phrase", "galera_expected": 3,
            "galera_warning": "3:", "galera_critical": "2:", "galera_unreachable": "critical", "galera_timeout": 13,
        },
        "expect": {
            "mode": "cluster", "source": "snmp", "hostname": "192.0.2.11", "port": 1161, "protocol": "3",
            "seclevel": "authPriv", "secname": "galeramon", "authproto": "SHA-256", "authpasswd": "auth pass phrase",
            "privproto": "AES-256", "privpasswd": "priv-pass-phrase", "expected": 3, "warning": "3:",
            "critical": "2:", "unreachable": "critical",
        },
    },
    "flow-control-host": {
        "command": "galera-flow-control",
        "vars": {"galera_host": "db9.example.com", "galera_state_dir": "/var/tmp/galera-fc", "galera_timeout": 14},
        "expect": {"mode": "flow-control", "source": None, "hostname": "db9.example.com",
                   "state_dir": "/var/tmp/galera-fc"},
    },
    "queues-ipv6": {
        "host": "db6",
        "command": "galera-queues",
        "vars": {"galera_source": "snmp", "galera_send_warning": "16", "galera_send_critical": "100",
                 "galera_timeout": 15},
        "expect": {"mode": "queues", "source": "snmp", "hostname": "2001:db8::6", "send_warning": "16",
                   "send_critical": "100"},
    },
    "conflicts-mysql": {
        "command": "galera-conflicts",
        "vars": {"galera_source": "mysql", "galera_warning": "2", "galera_critical": "20", "galera_timeout": 16},
        "expect": {"mode": "conflicts", "source": "mysql", "hostname": None, "warning": "2", "critical": "20"},
    },
    "peers-array": {
        "command": "galera-peers",
        # -H, --source, --config, -w and -c mean nothing to peers: the command drops them
        "vars": {
            "galera_peers": ["db1.example.com", "db2.example.com:1161", "db3.example.com"], "galera_expected": 3,
            "galera_source": "snmp", "galera_config": "/etc/galera-snmp/other.conf", "galera_warning": "1",
            "galera_community": "not-public", "galera_unreachable": "warning", "galera_timeout": 17,
        },
        "expect": {"mode": "peers", "peers": "db1.example.com,db2.example.com:1161,db3.example.com", "expected": 3,
                   "source": None, "hostname": None, "warning": None, "community": "not-public",
                   "unreachable": "warning"},
    },
    "peers-string": {
        "command": "galera-peers",
        "vars": {"galera_peers": "db1.example.com,db2.example.com", "galera_timeout": 18},
        "expect": {"mode": "peers", "peers": "db1.example.com,db2.example.com", "expected": None},
    },
}  # fmt: skip


def main_config(plugin_dir: Path, include: Path, extra: str = "") -> str:
    lines = [
        f"const PluginDir = {icinga_value(str(plugin_dir))}",
        "include <itl>",
        f"include {icinga_value(str(include))}",
        'object Host "db1" { check_command = "dummy"; address = "192.0.2.11"; enable_active_checks = false }',
        'object Host "db6" { check_command = "dummy"; address6 = "2001:db8::6"; enable_active_checks = false }',
    ]
    for name, case in CASES.items():
        body = [f'host_name = "{case.get("host", "db1")}"', f'check_command = "{case["command"]}"',
                "check_interval = 1s", "retry_interval = 1s"]  # fmt: skip
        body += [f"vars.{key} = {icinga_value(value)}" for key, value in case["vars"].items()]
        lines.append(f'object Service "{name}" {{\n  ' + "\n  ".join(body) + "\n}")
    return "\n".join(lines) + "\n" + extra


def daemon_command(work: Path, config: Path, validate: bool = True) -> list[str]:
    return [icinga2_binary(), "daemon", *(["-C"] if validate else []), "-c", str(config), *icinga2_defines(work)]


def run(command: list[str], work: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, cwd=work)


def instantiated(output: str, kind: str) -> int:
    found = re.search(rf"Instantiated (\d+) {kind}s?\.", output)
    return int(found.group(1)) if found else 0


def warnings(output: str) -> set[str]:
    return {line.split("] ", 1)[-1] for line in output.splitlines() if "warning/" in line}


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_config_is_valid(tmp_path: Path) -> None:
    itl_only = f"const PluginDir = {icinga_value(str(tmp_path))}\ninclude <itl>\n"
    baseline = run(daemon_command(tmp_path, write(tmp_path / "itl-only.conf", itl_only)), tmp_path)
    assert baseline.returncode == 0, baseline.stdout + baseline.stderr
    itl_commands = instantiated(baseline.stdout, "CheckCommand")
    assert itl_commands > 0, baseline.stdout

    result = run(daemon_command(tmp_path, write(tmp_path / "icinga2.conf", main_config(tmp_path, CONF))), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Finished validating the configuration file(s)." in output
    assert "critical/" not in output, output
    assert warnings(output) <= warnings(baseline.stdout + baseline.stderr), output  # none of our own
    # six CheckCommands; galera-base is a template, not an object
    assert instantiated(output, "CheckCommand") == itl_commands + len(COMMANDS), output
    assert instantiated(output, "Service") == len(CASES), output

    # the objects file -C just wrote: each command is there, built on the template
    command = [icinga2_binary(), "object", "list", "--type", "CheckCommand", "--name", "galera-*"]
    listing = run([*command, *icinga2_defines(tmp_path)], tmp_path)
    assert listing.returncode == 0, listing.stdout + listing.stderr
    objects = re.split(r"^(?=Object ')", listing.stdout, flags=re.MULTILINE)
    found = {}
    for text in objects:
        name = re.match(r"Object '([^']+)' of type 'CheckCommand'", text)
        if name:
            found[name.group(1)] = text
    assert sorted(found) == sorted(COMMANDS), listing.stdout
    for text in found.values():
        assert re.search(r'templates = \[[^\]]*"galera-base"', text), text


@pytest.mark.parametrize(
    "breakage",
    [
        'object CheckCommand "galera-broken" {\n  command = [ PluginDir + "/check_galera" \n',  # syntax
        'object CheckCommand "galera-broken" {\n  import "galera-no-such-template"\n}\n',  # no such template
        'object CheckCommand "galera-node" {\n  import "galera-base"\n}\n',  # defined twice
    ],
    ids=["syntax", "unknown-template", "duplicate"],
)
def test_broken_copy_is_refused(tmp_path: Path, breakage: str) -> None:
    broken = write(tmp_path / "check_galera.conf", CONF.read_text() + "\n" + breakage)
    result = run(daemon_command(tmp_path, write(tmp_path / "icinga2.conf", main_config(tmp_path, broken))), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "critical/config" in output, output
    assert "Finished validating the configuration file(s)." not in output


FAKE_PLUGIN = """#!{python}
import hashlib, json, os, sys
env = {{k: v for k, v in os.environ.items() if k.startswith("CHECK_GALERA_")}}
args = json.dumps({{"argv": sys.argv[1:], "env": env}})
path = os.path.join({out!r}, hashlib.sha1(args.encode()).hexdigest() + ".json")
with open(path + ".tmp", "w") as handle:
    handle.write(args)
os.replace(path + ".tmp", path)
print("GALERA OK - stand-in")
"""


def test_command_lines_built_by_icinga(tmp_path: Path) -> None:
    """A few seconds of a real daemon: each Service runs the stand-in check_galera, which keeps
    its argv and environment; check_galera must read them as the custom variables meant, with
    the secrets in the environment and never on the command line."""
    out = tmp_path / "argv"
    out.mkdir()
    plugin = tmp_path / "check_galera"
    plugin.write_text(FAKE_PLUGIN.format(python=sys.executable, out=str(out)))
    plugin.chmod(0o755)
    config = write(tmp_path / "icinga2.conf", main_config(tmp_path, CONF, 'object CheckerComponent "checker" { }\n'))
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        daemon_command(tmp_path, config, validate=False), cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while len(list(out.glob("*.json"))) < len(CASES) and time.monotonic() < deadline and daemon.poll() is None:
            time.sleep(0.1)
    finally:
        stop(daemon)
        log.close()
    recorded = [json.loads(path.read_text()) for path in out.glob("*.json")]
    by_timeout = {}
    parser = build_parser()
    for record in recorded:
        argv = record["argv"]
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:
            pytest.fail(f"check_galera refuses the command line Icinga built (exit {exit_.code}): {argv}")
        for key, value in from_environment(record["env"]).items():
            assert getattr(args, key) is None, (key, argv)  # a secret is never on the command line
            setattr(args, key, value)
        by_timeout[args.timeout] = (argv, args)
    daemon_log = (tmp_path / "daemon.log").read_text()
    assert len(recorded) == len(CASES), f"{recorded}\n{daemon_log}"
    defaults = vars(parser.parse_args([]))
    for name, case in CASES.items():
        argv, args = by_timeout[case["vars"]["galera_timeout"]]
        assert argv[:2] == ["--mode", case["expect"]["mode"]], (name, argv)
        for key, default in defaults.items():
            want = case["expect"].get(key, case["vars"]["galera_timeout"] if key == "timeout" else default)
            assert getattr(args, key) == want, (name, key, argv)
