"""``galera-snmp sandbox``: the development cluster's own command line.

It lives beside the sandbox, not in ``cli/``: ``galera-snmp`` loads it only when the first
argument is ``sandbox``, so no production command imports the development code.
"""

from __future__ import annotations

from pathlib import Path

from ..cli.common import ArgumentParser, fail
from ..tables import table
from .sandbox import DEFAULT_DIR, MAX_NODES, Sandbox, SandboxError

PROG = "galera-snmp sandbox"



def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Run a real MariaDB Galera cluster on this machine: node i on 127.0.0.(10+i), "
        "files in DIR/node<i>/ (my.cnf, data/, log/, galera-snmp.conf). Needs root.",
    )
    parser.add_argument("action", choices=("up", "down", "status"), help="up is idempotent; down stops every node")
    parser.add_argument("--nodes", type=int, default=3, help=f"with up: nodes, 1..{MAX_NODES} (default: %(default)s)")
    parser.add_argument("--dir", default=str(DEFAULT_DIR), help="sandbox directory (default: %(default)s)")
    parser.add_argument("--purge", action="store_true", help="with down: also delete the directory")
    return parser


def print_status(sandbox: Sandbox) -> None:
    rows = [("NODE", "ADDRESS", "STATUS", "SEQNO", "SOURCE", "LOCAL STATE", "AGENT", "CONFIG")]
    for node, state in sandbox.status():
        rows.append(
            (
                node.name,
                node.address,
                state.status.value,
                str(state.seqno),
                state.position.source.value,
                state.local_state_comment or "-",
                "up" if node.agent.pid() else "down",
                str(node.config_path),
            )
        )
    if len(rows) == 1:
        print(f"no sandbox in {sandbox.root}")
        return
    print(table(rows))


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    root = Path(args.dir)
    try:
        sandbox = Sandbox(root, args.nodes) if args.action == "up" else Sandbox.existing(root)
        if args.action == "up":
            sandbox.up()
        elif args.action == "down":
            sandbox.down(purge=args.purge)
            return 0
        print_status(sandbox)
    except SandboxError as err:
        fail("galera-snmp", str(err))
    return 0
