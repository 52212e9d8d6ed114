"""What every command shares: one line and exit 3 on a usage or configuration error."""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: check_galera starts faster
if TYPE_CHECKING:
    from typing import NoReturn

EXIT_UNKNOWN = 3


class ArgumentParser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage; monitoring tools read 2 as CRITICAL, so we exit 3."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_UNKNOWN, f"{self.prog}: error: {message}\n")


def fail(prog: str, message: str) -> NoReturn:
    """One line on stderr, exit 3: the contract for anything we cannot do."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_UNKNOWN)
