"""The one reader of MySQL option files (my.cnf): the server's own, and our credentials file.

MySQL option files are not INI: ``!include`` and ``!includedir`` pull in other files, keys may
have no value, ``-`` and ``_`` are the same, a ``#`` outside quotes starts a comment, quotes
around a value are removed, and the last value read wins. This reads them the way the MySQL
client library does, so the server, the client tools and we agree on every value.
"""

from __future__ import annotations

from pathlib import Path

from .inifile import ConfigError

SERVER_GROUPS = ("mysqld", "server", "mariadb", "mariadbd", "galera", "mysqld_safe")
MAX_DEPTH = 10


def read_groups(
    path: Path | str, groups: tuple[str, ...], includes: bool = True, text: str | None = None
) -> tuple[dict[str, str | None], set[str]]:
    """Every ``key = value`` of ``groups`` (keys with ``_``; ``None`` for a bare key), and the
    names of all groups the file has. ``includes``: follow ``!include``/``!includedir``;
    ``text``: the file's content, already read by the caller."""
    reader = _Reader(groups, includes)
    reader.read(Path(path), 0, text)
    return reader.options, reader.seen


def server_options(path: Path | str) -> dict[str, str]:
    """The server's options from its my.cnf (includes followed); a bare key reads as ``""``."""
    options, _groups = read_groups(path, SERVER_GROUPS)
    return {key: "" if value is None else value for key, value in options.items()}


class _Reader:
    def __init__(self, groups: tuple[str, ...], includes: bool) -> None:
        self.groups = groups
        self.includes = includes
        self.options: dict[str, str | None] = {}
        self.seen: set[str] = set()

    def read(self, path: Path, depth: int, text: str | None = None) -> None:
        if depth > MAX_DEPTH:
            raise ConfigError(f"{path}: includes nested more than {MAX_DEPTH} deep")
        if text is None:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError as err:
                raise ConfigError(f"cannot read {path}: {err.strerror}") from None
        group = None
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("!"):
                self._include(line, depth)
                continue
            if line.startswith("["):
                if not line.endswith("]"):
                    raise ConfigError(f"{path} is not a valid my.cnf file: line {number} does not close its [group")
                group = line[1:-1].strip().lower()
                self.seen.add(group)
                continue
            if group is None:
                raise ConfigError(f"{path} is not a valid my.cnf file: line {number} has an option before any [group]")
            if group in self.groups:
                key, sep, value = line.partition("=")
                self.options[key.strip().replace("-", "_").lower()] = option_value(value) if sep else None

    def _include(self, line: str, depth: int) -> None:
        directive, _, target = line.partition(" ")
        where = Path(target.strip())
        if not self.includes:
            return
        if directive == "!includedir" and where.is_dir():
            try:
                items = sorted(where.iterdir())
            except OSError as err:
                raise ConfigError(f"cannot read {where}: {err.strerror}") from None
            for item in items:
                if item.suffix == ".cnf":
                    self.read(item, depth + 1)
        elif directive == "!include":
            self.read(where, depth + 1)


def option_value(raw: str) -> str:
    """A value as the MySQL client library reads it: a ``#`` outside quotes starts a comment,
    surrounding quotes are removed (quoting is how a value holds a ``#``)."""
    quote = ""
    escaped = False
    end = len(raw)
    for pos, char in enumerate(raw):
        if char in "'\"" and not escaped:
            if not quote:
                quote = char
            elif quote == char:
                quote = ""
        elif char == "#" and not quote:
            end = pos
            break
        escaped = bool(quote) and char == "\\" and not escaped
    value = raw[:end].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
