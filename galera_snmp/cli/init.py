"""galera-init: at boot, bootstrap the cluster or join it — decided from the peers' GALERA-MIB."""

from __future__ import annotations

import signal
import sys

from .. import __version__
from ..config import DEFAULT_CONFIG, ConfigError, load_config
from ..console import ArgumentParser, fail
from ..init.guard import guard
from ..init.initiator import InitError, Initiator, parse_position
from ..node.probe import RecoveryError

PROG = "galera-init"


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Start this Galera node safely: recover its position, publish it through the agent "
        "(galeraStatus initiating), poll every configured node's GALERA-MIB, then join a Primary component, "
        "or — only with reports from all nodes, none running, one shared history — let the node with the "
        "highest seqno bootstrap, after announcing it. Waits until this node is Synced.",
        epilog="Exit 0: Synced in a Primary component. 1: could not get there (the reason is printed). "
        "3: bad usage or configuration. With incomplete information it never bootstraps: it says 'blocked', "
        "names whom it waits for, and keeps polling.",
    )
    parser.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="INI config (default: %(default)s)")
    parser.add_argument("--dry-run", action="store_true",
                        help="poll once, print the evidence table and the decision, change nothing")
    parser.add_argument("--force-bootstrap", metavar="UUID:SEQNO",
                        help="the operator's override: bootstrap this node if it is exactly at UUID:SEQNO, even "
                        "without every report; refused when any node reports a newer position")
    parser.add_argument("--guard", action="store_true",
                        help="for mariadb.service's ExecStartPre: exit 1 (saying why) when mysqld stopped uncleanly "
                        "and galera-init is not the one starting it; 0 otherwise")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        force = parse_position(args.force_bootstrap) if args.force_bootstrap else None
    except ValueError as err:
        fail(PROG, f"--force-bootstrap: {err}")
    try:
        config = load_config(args.config)
        if args.guard:
            refused = guard(config)
            if refused:
                print(f"{PROG}: {refused}", file=sys.stderr)
            return 1 if refused else 0
        initiator = Initiator(config, force=force, say=lambda line: print(line, flush=True))
    except ConfigError as err:
        fail(PROG, str(err))
    # SIGTERM (systemd stop) unwinds through the cleanup: the published phase is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        return initiator.dry_run() if args.dry_run else initiator.run()
    except (InitError, RecoveryError, OSError) as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 1
    except ConfigError as err:
        fail(PROG, str(err))


if __name__ == "__main__":
    sys.exit(main())
