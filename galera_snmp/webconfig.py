"""The web configuration file Prometheus exporters share (exporter-toolkit's ``web-config.yml``):
TLS and basic authentication for /metrics, written the way users of node_exporter or
mysqld_exporter already write them.

Supported, with exporter-toolkit's meaning::

    tls_server_config:
      cert_file: /etc/galera-snmp/metrics.crt
      key_file: /etc/galera-snmp/metrics.key
      client_auth_type: RequireAndVerifyClientCert   # or NoClientCert (default), VerifyClientCertIfGiven
      client_ca_file: /etc/galera-snmp/clients-ca.crt
      min_version: TLS12                             # or TLS13
    basic_auth_users:
      prometheus: $2y$10$...                         # bcrypt, as htpasswd -B makes it

Anything else is refused by name rather than ignored: a setting the operator believes in must
not silently do nothing. The file and the key file must not be readable by others. Needs PyYAML
and bcrypt (Debian: python3-yaml, python3-bcrypt), loaded only when a file is given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ssl
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

from .config import ConfigError, read_private
from .record import record

TLS_KEYS = {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version"}
CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
MIN_VERSION = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
REMEMBERED = 64  # checked credentials kept, so a scrape every few seconds costs one bcrypt, not one each


@record
class WebConfig:
    tls: ssl.SSLContext | None = None
    users: Mapping[str, bytes] | None = None  # name → bcrypt hash; None: no authentication


def load(path: Path) -> WebConfig:
    """The file's settings; ConfigError naming the file and the key for anything wrong."""
    try:
        import yaml
    except ImportError:
        raise ConfigError(f"web_config {path} needs PyYAML: apt-get install python3-yaml") from None
    text = read_private(path, "web config")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"web config {path} is not YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"web config {path}: a mapping of settings expected")
    unknown = set(doc) - {"tls_server_config", "basic_auth_users"}
    if unknown:
        raise ConfigError(f"web config {path}: not supported here: {', '.join(sorted(map(str, unknown)))}")
    tls = _tls(path, doc.get("tls_server_config")) if doc.get("tls_server_config") is not None else None
    users = _users(path, doc["basic_auth_users"]) if doc.get("basic_auth_users") is not None else None
    return WebConfig(tls, users)


def _tls(path: Path, section: object) -> ssl.SSLContext:
    if not isinstance(section, dict) or set(section) - TLS_KEYS:
        extra = sorted(map(str, set(section) - TLS_KEYS)) if isinstance(section, dict) else ["(not a mapping)"]
        raise ConfigError(f"web config {path}: tls_server_config: not supported here: {', '.join(extra)}")
    cert, key = section.get("cert_file"), section.get("key_file")
    if not (isinstance(cert, str) and isinstance(key, str)):
        raise ConfigError(f"web config {path}: tls_server_config needs cert_file and key_file")
    read_private(key, "TLS key file")  # refused when others may read it
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MIN_VERSION.get(section.get("min_version", "TLS12"))  # type: ignore[assignment]
    if context.minimum_version is None:
        raise ConfigError(f"web config {path}: min_version must be one of {', '.join(MIN_VERSION)}")
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as err:
        raise ConfigError(f"web config {path}: cannot load cert_file/key_file: {err}") from None
    auth = section.get("client_auth_type", "NoClientCert")
    if auth not in CLIENT_AUTH:
        raise ConfigError(f"web config {path}: client_auth_type must be one of {', '.join(CLIENT_AUTH)}")
    context.verify_mode = CLIENT_AUTH[auth]
    if context.verify_mode is not ssl.CERT_NONE:
        ca = section.get("client_ca_file")
        if not isinstance(ca, str):
            raise ConfigError(f"web config {path}: client_auth_type {auth} needs client_ca_file")
        try:
            context.load_verify_locations(ca)
        except (OSError, ssl.SSLError) as err:
            raise ConfigError(f"web config {path}: cannot load client_ca_file: {err}") from None
    return context


def _users(path: Path, section: object) -> dict[str, bytes]:
    try:
        import bcrypt  # noqa: F401 - checked now, used by Authenticator
    except ImportError:
        raise ConfigError(f"web config {path}: basic_auth_users needs bcrypt: apt-get install python3-bcrypt") from None
    if not isinstance(section, dict) or not section:
        raise ConfigError(f"web config {path}: basic_auth_users must map user names to bcrypt hashes")
    users = {}
    for name, hashed in section.items():
        if not (isinstance(name, str) and isinstance(hashed, str) and hashed.startswith(("$2a$", "$2b$", "$2y$"))):
            raise ConfigError(f"web config {path}: basic_auth_users: {name!r} needs a bcrypt hash ($2y$...)")
        users[name] = hashed.encode()
    return users


class Authenticator:
    """Basic authentication against the file's users. A credential that passed bcrypt once is
    remembered (by a hash of it, in memory) so that each scrape does not cost bcrypt's work."""

    def __init__(self, users: Mapping[str, bytes]) -> None:
        import bcrypt

        self.users = users
        self._check = bcrypt.checkpw
        self._passed: OrderedDict[bytes, None] = OrderedDict()

    def allows(self, authorization: str | None) -> bool:
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            name, colon, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        hashed = self.users.get(name)
        if not colon or hashed is None:
            return False
        token = hashlib.sha256(b"\0".join((name.encode(), password.encode(), hashed))).digest()
        if token in self._passed:
            self._passed.move_to_end(token)
            return True
        if not self._check(password.encode(), hashed):
            return False
        self._passed[token] = None
        if len(self._passed) > REMEMBERED:
            self._passed.popitem(last=False)
        return True
