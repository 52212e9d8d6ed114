"""check_galera: the Nagios/Icinga plugin (Monitoring Plugins conventions).

First line ``GALERA <STATE> - text | perfdata``; exit 0/1/2/3; exit 3 for bad arguments,
internal errors, timeouts, --help and --version; a traceback only with -vvv.
"""

from __future__ import annotations

import argparse
import gc
import os
import pwd
import stat
import sys
import traceback
from collections.abc import Callable, Mapping

import nagiosplugin
from nagiosplugin.state import Critical, Unknown, Warn

from .. import __version__
from ..console import ArgumentParser
from ..inifile import DEFAULT_CONFIG
from ..snmp import settings as snmpsettings

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: check_galera starts faster
if TYPE_CHECKING:
    from typing import NoReturn

    from ..nagios.rates import CounterResource
    from ..nagios.sources import Source
    from ..snmp.client import Target

PROG = "check_galera"
ENV_PREFIX = "CHECK_GALERA_"  # CHECK_GALERA_AUTHPASSWD=...: secrets from Icinga's env, off the command line
# default -w / -c per mode (cluster derives its own from --expected)
DEFAULT_RANGES = {
    "flow-control": ("10", "25"),  # percent of time paused since the last run
    "queues": ("16", "100"),  # wsrep_local_recv_queue
    "conflicts": ("1", "10"),  # certification failures or BF aborts per second
}


class _Parser(ArgumentParser):
    """Exit 3 (UNKNOWN) on --help and --version too, as plugins must."""

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._print_message(message, sys.stderr)
        sys.exit(3 if status == 0 else status)


def build_parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description="Check a MariaDB/Percona Galera node or cluster: locally through MySQL, or any node "
        "through its GALERA-MIB over SNMP.",
        epilog="Ranges use the Nagios syntax (10, 10:, ~:10, 10:20, @10:20). Exit codes: 0 OK, 1 WARNING, "
        "2 CRITICAL, 3 UNKNOWN (also for bad arguments, timeouts, --help and --version).",
    )
    parser.add_argument("-m", "--mode", choices=MODES, default="node", help="what to check (default: %(default)s)")
    parser.add_argument(
        "--source", choices=("mysql", "snmp"), help="default: snmp with -H, else mysql (peers: always snmp)"
    )
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="mysql source: galera-snmp INI file (%(default)s)")
    parser.add_argument("-w", "--warning", metavar="RANGE", help="warning range of the mode's main value")
    parser.add_argument("-c", "--critical", metavar="RANGE", help="critical range of the mode's main value")
    parser.add_argument("-t", "--timeout", type=int, default=10, help="seconds for the whole check (default: 10)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more detail; -vvv adds tracebacks")
    parser.add_argument("-V", "--version", action="version", version=f"%(prog)s {__version__}")
    snmp = parser.add_argument_group("SNMP (the node's GALERA-MIB; letters as in check_snmp)")
    snmp.add_argument("-H", "--hostname", help="node to ask")
    snmp.add_argument("-p", "--port", type=int, default=161)
    snmp.add_argument("-P", "--protocol", choices=snmpsettings.PROTOCOLS, help="2c (default) or 3")
    snmp.add_argument("-C", "--community", help="SNMPv2c community (default: public)")
    snmp.add_argument(
        "-L", "--seclevel", choices=snmpsettings.SECURITY_LEVELS, help="SNMPv3 security level (default: authPriv)"
    )
    snmp.add_argument("-U", "--secname", help="SNMPv3 user")
    snmp.add_argument("-a", "--authproto", help="MD5, SHA (default), SHA-224, SHA-256, SHA-384, SHA-512")
    snmp.add_argument("-A", "--authpasswd", help="SNMPv3 authentication passphrase (prefer --credentials)")
    snmp.add_argument("-x", "--privproto", help="DES, AES (default), AES-192, AES-256")
    snmp.add_argument("-X", "--privpasswd", help="SNMPv3 privacy passphrase (prefer --credentials)")
    snmp.add_argument(
        "--credentials",
        metavar="FILE",
        help="an [snmp] section with any of: " + ", ".join(snmpsettings.KEYS) + "; keeps secrets out of the "
        "process list; refused when others can read it; command-line options win",
    )
    modes = parser.add_argument_group("mode options")
    modes.add_argument("--donor-ok", action="store_true", help="node: a Donor is OK (non-blocking SST)")
    modes.add_argument("--expected", type=int, help="cluster, peers: the number of members there should be")
    modes.add_argument("--peers", help="peers: comma-separated HOST[:PORT] list, read over SNMP")
    modes.add_argument(
        "--unreachable",
        choices=("unknown", "warning", "critical"),
        help="state when a node does not answer over SNMP (default: unknown; peers: warning)",
    )
    modes.add_argument(
        "--state-dir", help="flow-control, conflicts: where runs are kept (default: ~/.local/state/check_galera)"
    )
    modes.add_argument("--transfer-warning", type=float, metavar="SECONDS",
                       help="node: WARNING when a state transfer has not moved for this long "
                            "(default: when the agent says stalled)")
    modes.add_argument("--transfer-critical", type=float, metavar="SECONDS",
                       help="node: CRITICAL when a state transfer has not moved for this long")
    modes.add_argument("--send-warning", metavar="RANGE", help="queues: warning range of the send queue")
    modes.add_argument("--send-critical", metavar="RANGE", help="queues: critical range of the send queue")
    return parser


def _range(parser: _Parser, value: str | None, option: str) -> str | None:
    if value is None:
        return None
    try:
        nagiosplugin.Range(value)
    except ValueError as err:
        parser.error(f"{option} {value!r} is not a Nagios range: {err}")
    return value


def default_state_dir() -> str:
    """Our own folder ($XDG_STATE_HOME or ~/.local/state): never a shared one such as /var/tmp,
    where another user could create the folder first or plant a symlink in it."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(pwd.getpwuid(os.geteuid()).pw_dir, ".local", "state")
    return os.path.join(base, "check_galera")


def from_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """SNMP settings from CHECK_GALERA_<KEY> variables (Icinga 2's ``env`` of a CheckCommand)."""
    names = {key: ENV_PREFIX + key.upper() for key in snmpsettings.KEYS}
    return {key: environ[name] for key, name in names.items() if environ.get(name)}


def snmp_settings(args: argparse.Namespace) -> dict[str, str | None]:
    """SNMP settings: the command line, else CHECK_GALERA_* variables, else the --credentials
    file, else the defaults."""
    from_file: dict[str, str] = {}
    if args.credentials:
        from ..config import ConfigError, read_private_section

        try:
            from_file = read_private_section(args.credentials, snmpsettings.SECTION, "credentials file")
        except ConfigError as err:
            raise _UsageError(str(err)) from None
    try:
        from_file_checked = snmpsettings.merge(from_file)
    except ValueError as err:
        raise _UsageError(f"credentials file {args.credentials}: {err}") from None
    command_line = {key: getattr(args, key) for key in snmpsettings.KEYS}
    try:
        return snmpsettings.merge(command_line, from_environment(os.environ), from_file_checked)
    except ValueError as err:
        raise _UsageError(str(err)) from None


def _target(args: argparse.Namespace, host: str, port: int) -> Target:
    timeout = max(0.5, min(2.0, args.timeout / 4))
    try:
        return snmpsettings.target(host, port, snmp_settings(args), timeout, 1)
    except ValueError as err:
        raise _UsageError(str(err)) from None


class _UsageError(Exception):
    pass


def _peer_list(text: str) -> list[tuple[str, int]]:
    from ..address import split_address  # peers mode only: the other modes never pay for it

    peers = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        host, port = split_address(item)
        if port and not port.isdigit():
            raise _UsageError(f"--peers: bad port in {item!r}")
        peers.append((host, int(port) if port else 161))
    if not peers:
        raise _UsageError("--peers names no host")
    return peers


def _state_file(args: argparse.Namespace, source_name: str) -> str:
    import hashlib

    folder = args.state_dir or default_state_dir()
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError as err:
        raise _UsageError(f"--state-dir {folder}: {err.strerror}") from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        # someone else's directory could hold a symlink where our state file goes
        raise _UsageError(f"--state-dir {folder} must be our own directory, not writable by others")
    key = hashlib.sha1(f"{args.mode}|{source_name}|{args.config}".encode()).hexdigest()[:16]
    return os.path.join(folder, f"{args.mode}-{key}.json")


def _one_node(args: argparse.Namespace) -> Source:
    """The node a single-node mode reads: over SNMP with -H (or --source snmp), else the local mysqld."""
    from ..nagios.sources import MysqlSource, SnmpSource

    use_snmp = args.source == "snmp" or (args.source is None and args.hostname)
    if use_snmp:
        if not args.hostname:
            raise _UsageError("the snmp source needs -H HOST")
        source: Source = SnmpSource(_target(args, args.hostname, args.port))
    else:
        source = MysqlSource(args.config)
    if args.unreachable == "warning":
        raise _UsageError("--unreachable warning is for the peers mode; use unknown or critical")
    return source


def _node(args: argparse.Namespace, parser: _Parser, source: Source) -> nagiosplugin.Check:
    from ..nagios import checks

    return nagiosplugin.Check(
        checks.NodeResource(source, args.unreachable == "critical"),
        checks.NodeContext(source, args.donor_ok),
        checks.TransferContext(args.transfer_warning, args.transfer_critical),
        checks.PerfdataContext(),
        checks.UnreachableContext(),
    )


def _cluster(args: argparse.Namespace, parser: _Parser, source: Source) -> nagiosplugin.Check:
    from ..nagios import checks

    warning, critical, expected = args.warning, args.critical, args.expected
    if warning is None and expected:
        warning = f"{expected}:"
    if critical is None and expected:
        critical = f"{expected // 2 + 1}:"
    return nagiosplugin.Check(
        checks.ClusterResource(source, args.unreachable == "critical"),
        checks.PrimaryContext(source),
        nagiosplugin.ScalarContext("cluster_size", warning, critical, fmt_metric="size {value}"),
        checks.PerfdataContext(),
        checks.UnreachableContext(),
    )


def _thresholds(args: argparse.Namespace) -> tuple[str, str]:
    """-w and -c, or the mode's defaults."""
    default_warning, default_critical = DEFAULT_RANGES[args.mode]
    return args.warning or default_warning, args.critical or default_critical


def _queues(args: argparse.Namespace, parser: _Parser, source: Source) -> nagiosplugin.Check:
    from ..nagios import checks

    warning, critical = _thresholds(args)
    return nagiosplugin.Check(
        checks.QueueResource(source, args.unreachable == "critical"),
        checks.UnreachableContext(),
        nagiosplugin.ScalarContext("recv_queue", warning, critical, fmt_metric="recv queue {value}"),
        nagiosplugin.ScalarContext(
            "send_queue",
            _range(parser, args.send_warning, "--send-warning"),
            _range(parser, args.send_critical, "--send-critical"),
            fmt_metric="send queue {value}",
        ),
    )


def _rate_check(args: argparse.Namespace, resource: CounterResource, fmt_metric: str) -> nagiosplugin.Check:
    """A rate mode's check: its resource, its main value against -w/-c, the notes in the summary."""
    from ..nagios import checks, rates

    warning, critical = _thresholds(args)
    context = nagiosplugin.ScalarContext(resource.CONTEXT, warning, critical, fmt_metric=fmt_metric)
    return nagiosplugin.Check(
        resource, context, checks.PerfdataContext(), checks.UnreachableContext(), rates.RateSummary(resource)
    )


def _flow_control(args: argparse.Namespace, parser: _Parser, source: Source) -> nagiosplugin.Check:
    from ..nagios import rates

    resource = rates.FlowControlResource(source, _state_file(args, source.name), args.unreachable == "critical")
    return _rate_check(args, resource, "paused {value:.2f}% of the time")


def _conflicts(args: argparse.Namespace, parser: _Parser, source: Source) -> nagiosplugin.Check:
    from ..nagios import rates

    resource = rates.ConflictResource(source, _state_file(args, source.name), args.unreachable == "critical")
    return _rate_check(args, resource, "{name} {value}")


def _peers(args: argparse.Namespace, parser: _Parser, source: None) -> nagiosplugin.Check:
    from ..nagios import checks, peers
    from ..nagios.sources import SnmpSource

    if not args.peers:
        raise _UsageError("peers mode needs --peers HOST[,HOST...]")
    sources = [SnmpSource(_target(args, host, port)) for host, port in _peer_list(args.peers)]
    unreachable = {"critical": Critical, "unknown": Unknown}.get(args.unreachable, Warn)
    return nagiosplugin.Check(
        peers.PeersResource(sources), peers.PeersContext(unreachable, args.expected), checks.PerfdataContext()
    )


# mode -> factory(args, parser, source) -> Check; source is the node a single-node mode reads,
# None for peers, which reads every node of --peers
FACTORIES: dict[str, Callable[..., nagiosplugin.Check]] = {
    "node": _node,
    "cluster": _cluster,
    "flow-control": _flow_control,
    "queues": _queues,
    "conflicts": _conflicts,
    "peers": _peers,
}
MODES = tuple(FACTORIES)


def build_check(args: argparse.Namespace, parser: _Parser) -> nagiosplugin.Check:
    """The chosen mode's check, built after argument parsing so --help stays fast; each
    factory imports only the check modules its mode needs."""
    _range(parser, args.warning, "-w")
    _range(parser, args.critical, "-c")
    source = None if args.mode == "peers" else _one_node(args)
    return FACTORIES[args.mode](args, parser, source)


def main(argv: list[str] | None = None) -> int:
    """One check: the console script."""
    # A check is one short process. The cyclic garbage collector's passes during the run (while
    # the mode's modules load) and its pass over every object at interpreter exit cost it
    # milliseconds and would free next to nothing: none run, and the exit pass skips frozen
    # objects (finalizers and atexit handlers still run). An in-process caller gets the collector
    # back as it was; what was alive when the check ended stays frozen, never collected.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _check(argv)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _check(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check = build_check(args, parser)
        check.name = "GALERA"
        check.main(verbose=args.verbose, timeout=args.timeout)
    except _UsageError as err:
        parser.error(str(err))
    except nagiosplugin.Timeout:
        print(f"GALERA UNKNOWN - no result within {args.timeout} s (-t)")
    except SystemExit:
        raise
    except Exception as err:  # noqa: BLE001 - the contract: UNKNOWN with one line, traceback only at -vvv
        print(f"GALERA UNKNOWN - internal error: {type(err).__name__}: {err}")
        if args.verbose >= 3:
            traceback.print_exc(file=sys.stdout)
    return 3


if __name__ == "__main__":
    sys.exit(main())
