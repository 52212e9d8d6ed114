"""The INI file at its lowest level: reading it and resolving paths in it.

Shared by config.py and by the wsrep notify hook, which mysqld waits for on every state
change and which therefore imports nothing heavier than configparser, and that only when it
reads a file: check_galera's SNMP modes import this module for DEFAULT_CONFIG alone.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: check_galera starts faster
if TYPE_CHECKING:
    import configparser

MAX_SIZE = 1 << 20  # a configuration file is a few KiB; more is not one of ours
DEFAULT_CONFIG = "/etc/galera-snmp/galera-snmp.conf"
DEFAULT_WAKE_SOCKET = "/run/galera-snmp/agent.sock"
DEFAULT_EVENT_FILE = "/run/galera-snmp/last-event.json"


class ConfigError(Exception):
    """A configuration that cannot be used; the message is meant for the operator."""


def read_ini(
    path: str | os.PathLike[str],
    parser: configparser.RawConfigParser | None = None,
    what: str = "config",
    kind: str = "INI file",
    text: str | None = None,
) -> configparser.RawConfigParser:
    """Read ``path`` (or ``text``, already read from it) into ``parser`` (our INI dialect by
    default); errors name the file."""
    import configparser  # here: check_galera's SNMP modes import this module but read no INI file

    if parser is None:  # "; comment" and "# comment" after a value, as in the documented examples
        parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"))
    try:
        if text is None:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        parser.read_string(text, source=os.fspath(path))
    except OSError as err:
        raise ConfigError(f"cannot read {what} {path}: {err.strerror}") from None
    except (configparser.Error, UnicodeDecodeError) as err:
        first = str(err).splitlines()[0]
        raise ConfigError(f"{what} {path} is not a valid {kind}: {first}") from None
    return parser


def resolve_path(raw: str, config_path: str | os.PathLike[str], where: str) -> str:
    """A path from the file: relative ones are relative to the file's folder."""
    raw = raw.strip()
    if not raw:
        raise ConfigError(f"{where}: empty path")
    return raw if os.path.isabs(raw) else os.path.join(os.path.dirname(os.fspath(config_path)), raw)
