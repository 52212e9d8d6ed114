"""galera-snmp: everything that is not a contract command of its own (sandbox, ...)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import __version__
from ..config import ConfigError
from ..sandbox import DEFAULT_DIR, MAX_NODES, Sandbox, SandboxError
from .common import ArgumentParser, fail

PROG = "galera-snmp"


def _sandbox(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    sandbox = Sandbox(root, args.nodes) if args.action == "up" else Sandbox.existing(root)
    if args.action == "up":
        sandbox.up()
        _print_status(sandbox)
    elif args.action == "down":
        sandbox.down(purge=args.purge)
    else:
        _print_status(sandbox)
    return 0


def _print_status(sandbox: Sandbox) -> None:
    rows = [("NODE", "ADDRESS", "STATUS", "SEQNO", "SOURCE", "LOCAL STATE", "AGENT", "CONFIG")]
    for node, state in sandbox.status():
        rows.append(
            (
                node.name,
                node.address,
                state.status.value,
                str(state.seqno),
                state.seqno_source.value,
                state.local_state_comment or "-",
                "up" if node.agent.pid() else "down",
                str(node.config_path),
            )
        )
    if len(rows) == 1:
        print(f"no sandbox in {sandbox.root}")
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog=PROG, description="galera-snmp tools.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    box = commands.add_parser(
        "sandbox",
        help="a local N-node MariaDB Galera cluster for trying things out and for tests",
        description="Run a real MariaDB Galera cluster on this machine: node i on 127.0.0.(10+i), "
        "files in DIR/node<i>/ (my.cnf, data/, log/, galera-snmp.conf). Needs root.",
    )
    box.add_argument("action", choices=("up", "down", "status"), help="up is idempotent; down stops every node")
    box.add_argument("--nodes", type=int, default=3, help=f"with up: nodes, 1..{MAX_NODES} (default: %(default)s)")
    box.add_argument("--dir", default=str(DEFAULT_DIR), help="sandbox directory (default: %(default)s)")
    box.add_argument("--purge", action="store_true", help="with down: also delete the directory")
    box.set_defaults(func=_sandbox)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (SandboxError, ConfigError) as err:
        fail(PROG, str(err))


if __name__ == "__main__":
    sys.exit(main())
