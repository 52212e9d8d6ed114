"""``galera-snmp sandbox``: the development cluster's own command line.

It lives beside the sandbox, not in ``cli/``: ``galera-snmp`` loads it only when the first
argument is ``sandbox``, so no production command imports the development code.
"""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

from ..console import ArgumentParser, fail
from ..tables import table
from .faults import SERVICES, Faults
from .machines import DEBIAN, Bed, MachineError
from .machines import DEFAULT_DIR as MACHINES_DIR
from .netns import NetnsError
from .sandbox import DEFAULT_DIR, HOSTS_DIR, MAX_NODES, Sandbox, SandboxError

PROG = "galera-snmp sandbox"


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Run a real MariaDB Galera cluster on this machine: node i on 127.0.0.(10+i), "
        "files in DIR/node<i>/ (my.cnf, data/, log/, galera-snmp.conf). snmpd speaks SNMPv3 authPriv as "
        "the user galeramon: DIR/snmp.cred for check_galera --credentials, SNMPCONFPATH=DIR/net-snmp for "
        "snmpget/snmpwalk. Needs root. 'galera-snmp sandbox fault ...' breaks the network of a --hosts sandbox.",
    )
    parser.add_argument("action", choices=("up", "down", "status"), help="up is idempotent; down stops every node")
    parser.add_argument("--nodes", type=int, default=3, help=f"with up: nodes, 1..{MAX_NODES} (default: %(default)s)")
    parser.add_argument("--dir", default=None,
                        help=f"sandbox directory (default: {DEFAULT_DIR}, with --hosts {HOSTS_DIR})")
    parser.add_argument("--purge", action="store_true", help="with down: also delete the directory")
    parser.add_argument("--hosts", action="store_true",
                        help="with up: every node a host of its own (network namespace gshost<i>, address "
                             "10.214.0.<i> on the bridge gshost0; this machine is 10.214.0.254 there); "
                             "'galera-snmp sandbox fault --help' breaks their links")
    parser.add_argument("--machines", type=int, metavar="N",
                        help="booted Debian machines instead of nodes on this one: N minimal Debian roots "
                             "(mmdebstrap, cached) booted by systemd-nspawn with systemd as PID 1, MariaDB Galera "
                             "and snmpd installed, node<i> at 10.215.0.<i> (default dir: "
                             f"{MACHINES_DIR}); with down and status: that bed")
    parser.add_argument("--debian", choices=tuple(DEBIAN), default="12", help="with --machines: the release")
    parser.add_argument("--v2c", action="store_true",
                        help="with up: snmpd answers SNMPv2c (community public) instead of SNMPv3, and "
                             "galera-init allows it (allow_v2c): the insecure variant, for comparisons")
    return parser


def build_fault_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=f"{PROG} fault",
        description="Network faults between the hosts of a hosts sandbox (iptables in each host's namespace; "
        "no delay: this kernel has no netem). Faults stay until cleared or 'sandbox down'.",
    )
    parser.add_argument("action", choices=("loss", "cut", "down", "up", "clear", "list"),
                        help="loss: drop with --probability; cut: drop all; down/up: a host's link (--host); "
                             "clear: every fault; list: the fault rules")
    parser.add_argument("--dir", default=str(HOSTS_DIR), help="the hosts sandbox (default: %(default)s)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--host", type=int, help="every link of this host, both ways")
    where.add_argument("--link", type=int, nargs=2, metavar=("A", "B"), help="the link between A and B, both ways")
    where.add_argument("--from", dest="sender", type=int, metavar="A",
                       help="one way: packets from A (to --to B) only")
    where.add_argument("--all", action="store_true", help="every link")
    parser.add_argument("--to", dest="receiver", type=int, metavar="B", help="with --from")
    parser.add_argument("--probability", type=float, default=None, help="with loss: 0 < P < 1")
    parser.add_argument("--service", action="append", choices=tuple(SERVICES), default=[],
                        help="only this service's packets (repeatable; default: all traffic)")
    parser.add_argument("--requests-only", action="store_true",
                        help="with --from: only requests to B's service (A cannot read B; B still reads A)")
    return parser


def fault_main(argv: list[str]) -> int:
    parser = build_fault_parser()
    args = parser.parse_args(argv)
    sandbox = Sandbox.existing(Path(args.dir))
    if sandbox.network is None or not sandbox.network.built():
        fail("galera-snmp", f"no hosts sandbox in {args.dir} ('galera-snmp sandbox up --hosts --dir DIR')")
    faults = Faults(sandbox.network)
    try:
        if args.action == "list":
            for index, rules in faults.rules().items():
                for rule in rules:
                    print(f"{sandbox.node(index).name}: {rule}")
            for index in faults.down_links():
                print(f"{sandbox.node(index).name}: link down")
        elif args.action == "clear":
            faults.clear()
        elif args.action in ("down", "up"):
            if args.host is None:
                parser.error(f"{args.action} needs --host")
            (faults.link_down if args.action == "down" else faults.link_up)(args.host)
        else:
            probability = 1.0
            if args.action == "loss":
                if args.probability is None or not 0 < args.probability < 1:
                    parser.error("loss needs --probability between 0 and 1")
                probability = args.probability
            if args.sender is not None:
                if args.receiver is None:
                    parser.error("--from needs --to")
                faults.drop(args.sender, args.receiver, probability, args.service, requests_only=args.requests_only)
            elif args.host is not None:
                faults.host(args.host, probability, args.service)
            elif args.link:
                faults.link(*args.link, probability, args.service)
            elif args.all:
                faults.everywhere(probability, args.service)
            else:
                parser.error(f"{args.action} needs --host, --link, --from/--to or --all")
    except NetnsError as err:
        fail("galera-snmp", str(err))
    return 0


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
    if argv[:1] == ["fault"]:
        return fault_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.machines is not None:
        return machines_main(args)
    root = Path(args.dir or (HOSTS_DIR if args.hosts else DEFAULT_DIR))
    try:
        if args.action == "up":
            sandbox = Sandbox(root, args.nodes, hosts=args.hosts, v2c=args.v2c)
        else:
            sandbox = Sandbox.existing(root)
        if args.action == "up":
            sandbox.up()
        elif args.action == "down":
            sandbox.down(purge=args.purge)
            return 0
        print_status(sandbox)
    except SandboxError as err:
        fail("galera-snmp", str(err))
    return 0


def machines_main(args: Namespace) -> int:
    root = Path(args.dir or MACHINES_DIR)
    try:
        bed = Bed(root, args.machines, args.debian) if args.action == "up" else Bed.existing(root)
        if args.action == "up":
            bed.up()
        elif args.action == "down":
            bed.down(purge=args.purge)
            return 0
        rows = [("MACHINE", "ADDRESS", "DEBIAN", "SYSTEMD")]
        rows += [(m.name, m.address, bed.debian, state) for m, state in bed.status()]
        print(table(rows))
    except MachineError as err:
        fail("galera-snmp", str(err))
    return 0
