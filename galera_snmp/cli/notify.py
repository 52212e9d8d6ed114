"""galera-snmp-notify: the ``wsrep_notify_cmd`` hook.

mysqld waits for this command on every state change, so it does almost nothing: it records
the event atomically, wakes the agent with one datagram, and always exits 0 — our side being
down must never disturb mysqld. It imports only the standard library and our config reader.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import tempfile
import time

from ..config import DEFAULT_CONFIG, ConfigError, load_config


def parse_event(argv: list[str]) -> dict[str, object]:
    """Galera's arguments, Galera-3 style (Synced) or MariaDB >= 10.4 (synced); unknown ones ignored."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-c", "--config", default=str(DEFAULT_CONFIG))
    for option in ("--status", "--uuid", "--primary", "--members", "--index"):
        parser.add_argument(option)
    args, _unknown = parser.parse_known_args(argv)
    return {
        "time": time.time(),
        "config": args.config,
        "status": args.status.lower() if args.status else None,
        "uuid": args.uuid,
        "primary": None if args.primary is None else args.primary.lower() in ("yes", "1", "true"),
        "members": args.members.split(",") if args.members else [],
        "index": int(args.index) if args.index and args.index.lstrip("-").isdigit() else None,
    }


def record(path: str, event: dict[str, object]) -> None:
    """Write the event where the agent and operators find it: temp file + rename, never torn."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".event-", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(event, handle)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def wake(path: str, event: dict[str, object]) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.sendto(json.dumps(event).encode()[:4096], path)


def main(argv: list[str] | None = None) -> int:
    event = parse_event(sys.argv[1:] if argv is None else argv)
    try:
        config = load_config(str(event.pop("config")))
    except ConfigError as err:
        print(f"galera-snmp-notify: {err}", file=sys.stderr)
        return 0
    for action, target in ((record, config.agent.event_file), (wake, config.agent.wake_socket)):
        try:
            action(str(target), event)
        except OSError as err:  # the agent is down or the directory is missing: not mysqld's problem
            print(f"galera-snmp-notify: {action.__name__} {target}: {err.strerror or err}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
