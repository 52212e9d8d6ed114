"""The few server options galera-init needs from the server's own my.cnf.

MySQL option files are not INI: ``!include`` and ``!includedir`` pull in other files, keys may
have no value, ``-`` and ``_`` are the same, and the last value read wins. Only the server's
groups are read.
"""

from __future__ import annotations

from pathlib import Path

from ..inifile import ConfigError

SERVER_GROUPS = ("mysqld", "server", "mariadb", "mariadbd", "galera", "mysqld_safe")
MAX_DEPTH = 10


def server_options(path: Path | str) -> dict[str, str]:
    """Every ``key = value`` of the server groups, includes followed, keys with ``_``."""
    options: dict[str, str] = {}
    _read(Path(path), options, 0)
    return options


def _read(path: Path, options: dict[str, str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ConfigError(f"{path}: includes nested more than {MAX_DEPTH} deep")
    try:
        text = path.read_text(errors="replace")
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("!includedir"):
            folder = Path(line.split(None, 1)[1].strip()) if " " in line else None
            if folder and folder.is_dir():
                for item in sorted(folder.iterdir()):
                    if item.suffix == ".cnf":
                        _read(item, options, depth + 1)
            continue
        if line.startswith("!include"):
            _read(Path(line.split(None, 1)[1].strip()), options, depth + 1)
            continue
        if line.startswith("["):
            group = line.strip("[]").strip().lower()
            continue
        if group not in SERVER_GROUPS:
            continue
        key, _, value = line.partition("=")
        options[key.strip().replace("-", "_").lower()] = _unquote(value.split("#", 1)[0].strip())


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def cluster_hosts(address: str) -> tuple[str, ...]:
    """The hosts of a ``wsrep_cluster_address`` (``gcomm://a,b:4567,c?pc.wait_prim=no``)."""
    scheme, sep, rest = address.partition("://")
    if not sep or scheme != "gcomm":
        raise ConfigError(f"wsrep_cluster_address {address!r} is not a gcomm:// address")
    hosts = [host_of(item) for item in rest.split("?", 1)[0].split(",") if item.strip()]
    if not hosts:
        raise ConfigError(f"wsrep_cluster_address {address!r} names no node")
    return tuple(hosts)


def host_of(address: str) -> str:
    """The host of a Galera node address: ``host``, ``host:port``, ``[IPv6]:port`` or a bare IPv6."""
    address = address.strip()
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address
