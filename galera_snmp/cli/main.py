"""galera-snmp: everything that is not a contract command of its own (status, drain, ...)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from .. import __version__
from ..cluster.consistency import disagreements
from ..cluster.peers import find_cluster, snmp_targets
from ..config import DEFAULT_CONFIG, Config, ConfigError, load_config
from ..console import ArgumentParser, fail
from ..node import history
from ..node.refresh import local_report
from ..snmp.remote import read_all
from ..tables import table
from ..traffic.drain import drain, undrain
from ..traffic.keepalived import TrackFile, follow

PROG = "galera-snmp"
SANDBOX_HELP = "a local N-node MariaDB Galera cluster for trying things out and for tests (development)"


def _drain(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        drain(config, args.reason)
    except OSError as err:
        raise ConfigError(f"cannot write the drain file {config.drain_file}: {err.strerror}") from None
    print(f"drained ({config.drain_file}): health checks fail from now on; Galera is untouched")
    return 0


def _undrain(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        removed = undrain(config)
    except OSError as err:
        raise ConfigError(f"cannot remove the drain file {config.drain_file}: {err.strerror}") from None
    print("undrained: the node serves again when it is healthy" if removed else "was not drained")
    return 0


def _make_primary(args: argparse.Namespace) -> int:
    from ..init.make_primary import MakePrimary, MakePrimaryError

    lost = [name for name in (args.confirm_lost or "").split(",") if name.strip()]
    try:
        return MakePrimary(load_config(args.config), lost, say=lambda line: print(line, flush=True)).run(args.dry_run)
    except MakePrimaryError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 1


def _accept_history(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    state = local_report(config).state
    try:
        said = history.accept(config.agent.state_dir, state)
    except OSError as err:
        raise ConfigError(f"cannot record the history in {config.agent.state_dir}: {err.strerror or err}") from None
    print(f"{said}: no longer flagged as a history reset once the agent refreshes")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from .. import doctor

    findings = []
    for finding in doctor.run(Path(args.config), Path(args.keepalived_conf)):
        print(finding.line(), flush=True)
        findings.append(finding)
    last, code = doctor.summary(findings)
    print(last)
    return code


def _mib(args: argparse.Namespace) -> int:
    from ..snmp.mib import MIB_FILE

    if args.path:
        print(MIB_FILE)
    elif args.net_snmp:
        from ..snmp.mibfile import standalone

        sys.stdout.write(standalone(MIB_FILE.read_text(encoding="utf-8")))
    else:
        sys.stdout.write(MIB_FILE.read_text(encoding="utf-8"))
    return 0


def _zabbix_template(args: argparse.Namespace) -> int:
    from ..snmp.zabbix import render

    sys.stdout.write(render())
    return 0


def _zabbix_trap(args: argparse.Namespace) -> int:
    """snmptrapd's trap handler for Zabbix: one trap from stdin, appended as one record (one write,
    O_APPEND: records of handlers running at once never interleave) to Zabbix's trapper file,
    never through a symbolic link."""
    import errno
    import os

    from ..snmp.zabbix import MAX_TRAP, trap_record

    text = sys.stdin.buffer.read(MAX_TRAP + 1)
    if len(text) > MAX_TRAP:
        fail(PROG, f"a trap of more than {MAX_TRAP} bytes on stdin: not a trap from snmptrapd; nothing written")
    record = trap_record(text.decode("utf-8", "replace"))
    if record is None:
        fail(PROG, "no sender address in the trap handler's input (snmptrapd's second line): nothing written")
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        descriptor = os.open(args.file, flags, 0o640)
        try:
            os.write(descriptor, record.encode())
        finally:
            os.close(descriptor)
    except OSError as err:
        fail(PROG, f"{args.file}: {err.strerror}{' (a symbolic link?)' if err.errno == errno.ELOOP else ''}")
    return 0


def _track_file(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    path = args.file or config.keepalived.track_file
    if path is None:
        raise ConfigError(f"{config.path}: no [keepalived] track_file, and no --file given")
    track = TrackFile(Path(path))
    if args.fault:
        track.fault("galera-snmp-agent is not running")
        if track.written is None:
            raise ConfigError(f"cannot write {track.path}")
        print(f"{track.written} (galera-snmp-agent is not running)")
        return 0
    if not args.follow:
        return _write_once(config, track)
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    follow(config, track, stop)
    return 0


def _write_once(config: Config, track: TrackFile) -> int:
    verdict = local_report(config).verdict()
    track.update(verdict)
    if track.written is None:
        raise ConfigError(f"cannot write {track.path}")
    print(f"{track.written} ({verdict.reason})")
    return 0 if verdict.healthy else 1


def _cluster_status(args: argparse.Namespace) -> int:
    from ..cluster.rejoin import describe as describe_rejoin
    from ..cluster.sites import segment_of, site_of
    from ..node.transfer import describe as describe_transfer

    config = load_config(args.config)
    cluster = find_cluster(config)
    reports = read_all(snmp_targets(config, cluster), members=True)  # the peers mode's inputs: one cluster rule
    sites = {host: site_of(host, cluster.sites, None if isinstance(report, str) else segment_of(report.state))
             for host, report in zip(cluster.nodes, reports, strict=True)}
    order = sorted(range(len(cluster.nodes)), key=lambda i: (sites[cluster.nodes[i]] is None,
                                                            sites[cluster.nodes[i]] or "", i))  # grouped by site
    rows = [("SITE", "NODE", "STATUS", "SEQNO", "SOURCE", "UUID", "LOCAL STATE", "PRIMARY", "SIZE", "HEALTH")]
    for host, report in ((cluster.nodes[i], reports[i]) for i in order):
        site = sites[host] or "-"
        if isinstance(report, str):
            rows.append((site, host, "no answer", "-", "-", "-", "-", "-", "-", report))
            continue
        state = report.state
        rows.append((
            site,
            host,
            state.status.value,
            str(state.seqno),
            state.position.source.value,
            (state.position.uuid or "-")[:8],
            state.local_state_comment or "-",
            "-" if state.cluster_status is None else "yes" if state.says_primary else "no",
            "-" if state.cluster_size is None else str(state.cluster_size),
            report.verdict().reason if report.verdict().healthy else f"not healthy: {report.verdict().reason}",
        ))
    print(table(rows))
    problems = disagreements(cluster.nodes, reports)
    for problem in problems:
        print(f"! {problem}")
    advice = {report.site_advice for report in reports if not isinstance(report, str) and report.site_advice}
    for line in sorted(advice):  # the agents' silent-site watch (cluster/sites.py): they remember who went silent when
        print(f"! {line}")
    for host, report in zip(cluster.nodes, reports, strict=True):
        if not isinstance(report, str) and report.state.promotion:
            print(f"· {host}: {report.state.promotion}")  # deliberate, so not a problem: for the record
        if not isinstance(report, str) and report.last_eviction:  # a crash its agent acted on (eviction.py)
            print(f"· {host}: {report.evictions} crash eviction(s), the last {report.last_eviction}")
        if not isinstance(report, str) and report.rejoin and not report.state.in_primary:
            print(f"· {host}: {describe_rejoin(report.rejoin)}")  # its agent's forecast (cluster/rejoin.py)
        if not isinstance(report, str) and report.transfer:  # under way, or ended in the last minutes
            print(f"· {host}: {describe_transfer(report.transfer, bar=20)}")
    return 1 if problems or advice else 0


def _donors(args: argparse.Namespace) -> int:
    from ..cluster.peers import own_segment
    from ..cluster.rejoin import spared_donors

    config = load_config(args.config)
    cluster = find_cluster(config)
    reports = read_all(snmp_targets(config, cluster))
    me = cluster.nodes[cluster.me]
    print(spared_donors(dict(zip(cluster.nodes, reports, strict=True)), me, own_segment(config)) or "")
    return 0


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog=PROG, description="galera-snmp tools.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    # Listed for --help only: main() hands "sandbox ..." to the development code before parsing.
    commands.add_parser("sandbox", help=SANDBOX_HELP, add_help=False)

    def command(group: argparse._SubParsersAction, name: str, func: Callable[[argparse.Namespace], int],
                summary: str, *, description: str | None = None, config: bool = True) -> argparse.ArgumentParser:
        """One subcommand: its help, its -c CONFIG (most read the INI file), what runs it."""
        sub = group.add_parser(name, help=summary, description=description)
        if config:
            sub.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="INI config (default: %(default)s)")
        sub.set_defaults(func=func)
        return sub

    out = command(
        commands, "drain", _drain,
        "take this node out of client traffic (keepalived, HTTP check) without touching Galera",
        description="Create the [health] drain_file: the health rule then fails with 'drained by the operator', so the "
        "keepalived track file, the HTTP check and galeraHealthy say no, while galeraStatus and Galera itself"
        " are unchanged. Survives restarts until 'undrain'.",
    )
    out.add_argument("--reason", default="drained by galera-snmp drain", help="a note kept in the drain file")
    command(commands, "undrain", _undrain, "undo drain: serve again when healthy")
    command(
        commands, "status", _cluster_status,
        "every configured node's state, read from its GALERA-MIB; flags disagreement",
        description="One row per node of [init] nodes (default: wsrep_cluster_address), grouped by site ([cluster] "
        "sites, else the Galera segment): status, seqno and its source, state UUID, local state, Primary, size, "
        "health — as each node's agent publishes it over SNMP. Disagreements (more than one history or component, "
        "sizes that differ, nodes that do not answer or are not healthy) are listed after the table, and so is a "
        "whole site silent while the rest waits non-Primary, with the make-primary command the agents advise; "
        "exit 1 then, else 0.",
    )
    command(
        commands, "donors", _donors,
        "the wsrep_sst_donor value that spares the writer: the other Synced nodes, for a join by hand",
        description="Reads every configured node through its agent and prints the other Synced nodes that are neither "
        "the writer nor drained, by wsrep_node_name, with the trailing comma that lets Galera fall back to any "
        "node (nothing when there is none: Galera then chooses). What galera-init asks for with [init] "
        "spare_writer; for a start by hand: mariadbd --wsrep-sst-donor=\"$(galera-snmp donors)\". "
        "docs/TRANSFERS.md.",
    )
    primary = command(
        commands, "make-primary", _make_primary,
        "bring this running, non-Primary component back to Primary — only when that cannot split the brain",
        description="Reads every configured node through its agent and this component's members from the local "
        "server. Refuses while any node reports a Primary component, while a node outside this component runs, "
        "holds newer commits or another history, or gives no position (it may be cut off, not lost) unless "
        "--confirm-lost names every such node. Else sets pc.bootstrap=YES on the member with the highest seqno "
        "(here, or says where to run it), waits until the component is Primary and Synced, and records it "
        "(galeraLastPromotion). docs/QUORUM.md.",
    )
    primary.add_argument("--dry-run", action="store_true", help="print the evidence and the decision, change nothing")
    primary.add_argument("--confirm-lost", metavar="NODE[,NODE...]",
                         help="the nodes that give no position and are really gone (powered off, destroyed)")
    command(
        commands, "accept-history", _accept_history,
        "after a history reset: accept this node's current (or next) history as the right one",
        description="The agent keeps the history (cluster state UUID) this node was last in, and flags a Primary under "
        "another one as a history reset unless galera-init recorded the change. After comparing the nodes' "
        "data (docs/INIT.md, 'A history reset'), accept the history this node is in now; with mysqld down, "
        "the next one it will have.",
    )
    doctor = command(
        commands, "doctor", _doctor,
        "check this node's deployment end to end: one line per check, with the fix; exit 0 only if all pass",
        description="Config and credentials files, MySQL over its socket with the grants the agent needs, the notify "
        "hook, the agent read back through snmpd, every node's node set, the MIB by name, keepalived's "
        "track_file, the systemd units. A check that does not apply here is skipped (-).",
    )
    doctor.add_argument("--keepalived-conf", default="/etc/keepalived/keepalived.conf",
                        help="keepalived's configuration (default: %(default)s)")
    mib = command(
        commands, "mib", _mib,
        "print GALERA-MIB as SMIv2 (for an NMS's import and smilint), or with --net-snmp as net-snmp "
        "loads it by name (> /usr/share/snmp/mibs/GALERA-MIB.txt), or with --path where it is installed",
        config=False,
    )
    form = mib.add_mutually_exclusive_group()
    form.add_argument("--path", action="store_true", help="print the file's path instead of its text")
    form.add_argument("--net-snmp", action="store_true",
                      help="the copy for net-snmp tools (snmptrapd, snmpwalk -m +GALERA-MIB) on a host without "
                           "Debian's non-free base modules: the IMPORTS replaced by local definitions")
    command(
        commands, "zabbix-template", _zabbix_template,
        "print the 'Galera by SNMP' template for Zabbix 6.0 (YAML, for Configuration > Templates > Import)",
        description="Generated from GALERA-MIB: an item per object (value maps for the enumerations, change per "
        "second for the counters), discovery of the member table, and triggers after the health rule and the "
        "alert rules of docs/METRICS.md. contrib/zabbix/galera_by_snmp.yaml is this output.",
        config=False,
    )
    trap = command(
        commands, "zabbix-trap", _zabbix_trap,
        "snmptrapd's trap handler for Zabbix: append the trap on stdin to Zabbix's SNMP trapper file",
        description="For snmptrapd.conf: traphandle default galera-snmp zabbix-trap FILE, FILE being Zabbix's "
        "SNMPTrapperFile. Each trap becomes one record (time, ZBXTRAP, the sender's address), with a line "
        "'notification <name>' for GALERA-MIB's, which the template's trap items match. docs/NMS.md.",
        config=False,
    )
    trap.add_argument("file", help="Zabbix's SNMPTrapperFile (appended to; created mode 0640)")

    keepalived = commands.add_parser("keepalived", help="keepalived integration without the agent")
    actions = keepalived.add_subparsers(dest="action", required=True, parser_class=ArgumentParser)
    track = command(
        actions, "track-file", _track_file,
        "write the track file (1 serve, 0 fault) once, or keep it current with --follow",
        description="Write the keepalived track file from this node's health: 1 when it may serve, 0 when "
        "not (track it with 'weight 0 reverse'). Without --follow: once, exit 0 healthy, 1 not. With --follow: "
        "keep it current like the agent does (for hosts without snmpd); on exit the file says 0.",
    )
    track.add_argument("--file", help="the track file (default: [keepalived] track_file)")
    mode = track.add_mutually_exclusive_group()
    mode.add_argument("--follow", action="store_true", help="keep running and rewrite the file on every change")
    mode.add_argument(
        "--fault",
        action="store_true",
        help="write 0 and exit: for the agent unit's ExecStopPost, so that a killed agent never leaves a 1 behind",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sandbox"]:
        try:
            from ..dev import cli as sandbox_cli  # development code, loaded only for this command
        except ImportError:
            fail(PROG, "the sandbox is development code, not part of this installation: run it from a checkout "
                 "(scripts/dev sandbox)")
        return sandbox_cli.main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as err:
        fail(PROG, str(err))


if __name__ == "__main__":
    sys.exit(main())
