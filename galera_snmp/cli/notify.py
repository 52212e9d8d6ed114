"""galera-snmp-notify: the ``wsrep_notify_cmd`` hook.

mysqld waits for this command on every state change, so it does almost nothing: it records
the event atomically, wakes the agent with one datagram, and always exits 0 — our side being
down must never disturb mysqld. It imports only the standard library, inifile.py and safeio.py (no
argparse, no dataclasses): interpreter start-up is most of its cost.
"""

from __future__ import annotations

import json
import re
import sys
import time

from .. import __version__
from ..inifile import DEFAULT_CONFIG, DEFAULT_EVENT_FILE, DEFAULT_WAKE_SOCKET, ConfigError, read_ini, resolve_path
from ..safeio import wake, write_atomically

USAGE = """usage: galera-snmp-notify [-c CONFIG] --status S [--uuid U] [--primary yes|no] [--members LIST] [--index N]
       galera-snmp-notify --version

The wsrep_notify_cmd hook: records the event in [agent] event_file and wakes galera-snmp-agent
through [agent] wake_socket. Always exits 0.
"""
_OPTIONS = {"-c": "config", "--config": "config", "--status": "status", "--uuid": "uuid", "--primary": "primary",
            "--members": "members", "--index": "index"}


def parse_event(argv: list[str]) -> dict[str, object]:
    """Galera's arguments, Galera-3 style (Synced) or MariaDB >= 10.4 (synced); unknown ones ignored."""
    raw: dict[str, str] = {}
    words = iter(argv)
    for word in words:
        name, eq, value = word.partition("=")
        key = _OPTIONS.get(name)
        if key is None:
            continue
        raw[key] = value if eq else next(words, "")
    index = raw.get("index", "")
    return {
        "time": time.time(),
        "config": raw.get("config") or DEFAULT_CONFIG,
        "status": raw["status"].lower() if raw.get("status") else None,
        "uuid": raw.get("uuid") or None,
        "primary": raw["primary"].lower() in ("yes", "1", "true") if "primary" in raw else None,
        "members": raw["members"].split(",") if raw.get("members") else [],
        "index": int(index) if re.fullmatch(r"-?[0-9]{1,9}", index) else None,
    }


def agent_paths(config: str) -> tuple[str, str]:
    """The event file and wake socket from the [agent] section, as config.py would resolve them."""
    parser = read_ini(config)
    section = parser["agent"] if parser.has_section("agent") else {}
    event = section.get("event_file")
    wake = section.get("wake_socket")
    return (
        resolve_path(event, config, f"{config}: [agent] event_file") if event else DEFAULT_EVENT_FILE,
        resolve_path(wake, config, f"{config}: [agent] wake_socket") if wake else DEFAULT_WAKE_SOCKET,
    )


def record(path: str, event: dict[str, object]) -> None:
    """Write the event where the agent and operators find it, never torn."""
    write_atomically(path, json.dumps(event))


def wake_agent(path: str, event: dict[str, object]) -> None:
    wake(path, json.dumps(event).encode())


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except Exception as err:  # noqa: BLE001 - mysqld must never see this hook fail
        print(f"galera-snmp-notify: {type(err).__name__}: {err}", file=sys.stderr)
        return 0


def _main(args: list[str]) -> int:
    if any(word in ("-h", "--help") for word in args):
        print(USAGE, end="")
        return 0
    if "--version" in args:
        print(f"galera-snmp-notify {__version__}")
        return 0
    event = parse_event(args)
    config = str(event.pop("config"))
    try:
        event_file, wake_socket = agent_paths(config)
    except ConfigError as err:
        print(f"galera-snmp-notify: {err}", file=sys.stderr)
        return 0
    for action, target in ((record, event_file), (wake_agent, wake_socket)):
        try:
            action(target, event)
        except (OSError, ValueError) as err:  # agent down, directory missing: not mysqld's problem
            print(f"galera-snmp-notify: {action.__name__} {target}: {err.strerror or err}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
