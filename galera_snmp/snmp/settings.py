"""How to reach a node's snmpd, in check_snmp's words — shared by check_galera (options and
--credentials) and galera-init ([init] snmp_credentials).

Light on purpose (the plugin imports it on every run); the client is imported only when a
target is built.
"""

from __future__ import annotations

from collections.abc import Mapping

from .types import SECURITY_LEVELS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: check_galera starts faster
if TYPE_CHECKING:
    from .client import Target

PROTOCOLS = ("2c", "3")
KEYS = ("community", "protocol", "seclevel", "secname", "authproto", "authpasswd", "privproto", "privpasswd")
DEFAULTS = {"community": "public", "protocol": "2c", "seclevel": "authPriv", "authproto": "SHA", "privproto": "AES"}
SECTION = "snmp"  # the section of a credentials file


def merge(*layers: Mapping[str, str | None]) -> dict[str, str | None]:
    """The first value given for each key, layer by layer (check_galera: command line, environment,
    file), else the default; ValueError
    for an unknown key or a value out of the choices."""
    for layer in layers:
        unknown = sorted(set(layer) - set(KEYS))
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(KEYS)})")
    settings = {key: next((layer[key] for layer in layers if layer.get(key)), DEFAULTS.get(key)) for key in KEYS}
    for key, allowed in (("protocol", PROTOCOLS), ("seclevel", SECURITY_LEVELS)):
        if settings[key] not in allowed:
            raise ValueError(f"{key} {settings[key]!r} is not one of {', '.join(allowed)}")
    return settings


def target(host: str, port: int, settings: Mapping[str, str | None], timeout: float, retries: int) -> Target:
    """ValueError when the settings do not make a usable target."""
    from .client import Target

    return Target(
        host,
        port,
        settings["community"] or "public",
        timeout,
        retries,
        version=settings["protocol"] or "2c",
        user=settings["secname"],
        level=settings["seclevel"] or "authPriv",
        auth_protocol=settings["authproto"] or "SHA",
        auth_password=settings["authpasswd"],
        priv_protocol=settings["privproto"] or "AES",
        priv_password=settings["privpasswd"],
    )
