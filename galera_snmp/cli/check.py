"""galera-check: one node's status word, seqno or health, for scripts and snmpd ``extend``.

``status`` and ``seqno`` print exactly one word / one integer (a drop-in for the seed's
galera_check); ``health`` answers by exit code: 0 healthy, 1 not, 3 cannot tell.
"""

from __future__ import annotations

import json
import logging
import sys

from .. import __version__
from ..config import DEFAULT_CONFIG, ConfigError, load_config
from ..console import EXIT_UNKNOWN, ArgumentParser, fail
from ..node.refresh import local_report

PROG = "galera-check"


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Report the local Galera node's status, seqno or health.",
        epilog="Exit codes: 0 ok (health: healthy), 1 unhealthy, 3 cannot tell or bad usage/config.",
    )
    parser.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="INI config (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the whole snapshot and health as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the probe does to stderr")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "command",
        nargs="?",
        choices=("status", "seqno", "health"),
        help="status: one word; seqno: one integer (-1 unknown); health: exit code and a reason",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None and not args.json:
        parser.error("a command (status, seqno, health) or --json is required")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format=f"{PROG}: %(message)s")
    try:
        report = local_report(load_config(args.config))
    except ConfigError as err:
        fail(PROG, str(err))
    state, health = report.state, report.health
    code = 0
    if args.command == "health":
        code = {True: 0, False: 1, None: EXIT_UNKNOWN}[health.healthy]
    if args.json:
        data = state.to_dict()
        data["health"] = {"healthy": health.healthy, "reason": health.reason}
        json.dump(data, sys.stdout, indent=2, sort_keys=True)
        print()
    elif args.command == "status":
        print(state.status.value)
    elif args.command == "seqno":
        print(state.position.seqno)
    else:
        word = {True: "healthy", False: "unhealthy", None: "unknown"}[health.healthy]
        print(f"{word}: {health.reason}")
    return code


if __name__ == "__main__":
    sys.exit(main())
