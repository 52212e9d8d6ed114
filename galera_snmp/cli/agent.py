"""galera-snmp-agent: the AgentX subagent serving GALERA-MIB (see galera_snmp.agent)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from .. import __version__
from ..agent.service import run
from ..config import DEFAULT_CONFIG, ConfigError, load_config
from ..console import ArgumentParser, fail

PROG = "galera-snmp-agent"


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(
        prog=PROG,
        description="Serve this node's Galera state as GALERA-MIB through net-snmp's AgentX master.",
        epilog="Without the AgentX master (snmpd down, restarting or refusing the registration) it keeps "
        "the track file, the HTTP check and galera-init's phase current and registers again, waiting up "
        "to [agent] reconnect_interval seconds between attempts.",
    )
    parser.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="INI config (default: %(default)s)")
    parser.add_argument("--pid-file", type=Path, help="write the process id here")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format=f"{PROG}[%(process)d]: %(levelname)s %(message)s",
    )
    try:
        config = load_config(args.config)
    except ConfigError as err:
        fail(PROG, str(err))
    try:
        if args.pid_file:
            args.pid_file.write_text(f"{os.getpid()}\n")
        return run(config)
    except (ConfigError, OSError) as err:
        fail(PROG, str(err))
    finally:
        if args.pid_file:
            args.pid_file.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
