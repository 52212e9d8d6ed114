"""Parsers for the files Galera leaves on disk: grastate.dat and the error log of
``mariadbd --wsrep-recover``.

Pure functions of text. Anything that is not clearly a valid file raises
:class:`GaleraFileError` with a reason; a parser never guesses a number, because a wrong seqno
is how clusters lose data.
"""

from __future__ import annotations

import re

from ..record import record
from ..state import SEQNO_MAX, UNKNOWN_SEQNO, Position, SeqnoSource, is_uuid

_INT_RE = re.compile(r"^-?[0-9]+$")
# MariaDB: "[Note] WSREP: Recovered position: UUID:SEQNO[,D-S-N]"
# MySQL 8 / PXC: "[Note] [MY-000000] [WSREP] Recovered position: UUID:SEQNO"
_RECOVERED_RE = re.compile(
    r"(?:WSREP:|\[WSREP\])\s+Recovered position:?\s+"
    r"(?P<uuid>[0-9a-fA-F-]{36}):(?P<seqno>-?[0-9]+)(?:,[0-9]+-[0-9]+-[0-9]+)?(?=\s|$)"
)
_ERROR_LINE_RE = re.compile(r"\[ERROR\]\s*(?:\[[^\]]*\]\s*)*(?P<msg>.*)")


class GaleraFileError(ValueError):
    """A Galera state file or recovery log that cannot be trusted; the message says why."""


@record
class GraState:
    """Contents of grastate.dat: its position (source ``grastate``, seqno -1 while mysqld runs or
    after a crash) with its safe_to_bootstrap (None in files older than Galera 25.3.19)."""

    version: str | None
    position: Position


def _uuid(value: str, what: str) -> str:
    if not is_uuid(value):
        raise GaleraFileError(f"{what} {value!r} is not a UUID")
    return value.lower()


def _seqno(value: str, what: str) -> int:
    if not _INT_RE.match(value):
        raise GaleraFileError(f"{what} {value!r} is not an integer")
    seqno = int(value)
    if not UNKNOWN_SEQNO <= seqno <= SEQNO_MAX:
        raise GaleraFileError(f"{what} {seqno} is out of range (-1 .. 2^63-1)")
    return seqno


def _text(data: str | bytes, what: str) -> str:
    if isinstance(data, bytes):
        try:
            data = data.decode("ascii")
        except UnicodeDecodeError:
            raise GaleraFileError(f"{what} is not a text file") from None
    if "\x00" in data:
        raise GaleraFileError(f"{what} contains NUL bytes")
    return data


def _fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise GaleraFileError(f"unexpected line {line[:60]!r}")
        fields.setdefault(key.strip(), value.strip())
    return fields


def parse_grastate(data: str | bytes) -> GraState:
    """Parse grastate.dat (version 2.1 with or without ``safe_to_bootstrap``)."""
    text = _text(data, "grastate.dat")
    if not text.strip():
        raise GaleraFileError("grastate.dat is empty")
    try:
        fields = _fields(text)
    except GaleraFileError as err:
        raise GaleraFileError(f"grastate.dat: {err}") from None
    for required in ("uuid", "seqno"):
        if required not in fields:
            raise GaleraFileError(f"grastate.dat has no {required!r} line")
    uuid, seqno = _uuid(fields["uuid"], "grastate.dat uuid"), _seqno(fields["seqno"], "grastate.dat seqno")
    safe: bool | None = None
    if "safe_to_bootstrap" in fields:
        raw = fields["safe_to_bootstrap"]
        if raw not in ("0", "1"):
            raise GaleraFileError(f"grastate.dat safe_to_bootstrap {raw!r} is neither 0 nor 1")
        safe = raw == "1"
    return GraState(version=fields.get("version"), position=Position(uuid, seqno, SeqnoSource.GRASTATE, safe))


def parse_recovered_position(log: str | bytes) -> Position:
    """Find the position ``mariadbd --wsrep-recover`` wrote to its error log (source ``recovered``;
    a MariaDB GTID suffix is not part of it).

    The last "Recovered position" line wins (a log file may hold several runs). A log with no
    such line means recovery failed: the error names the log's own [ERROR] lines.
    """
    text = log.decode("utf-8", "replace") if isinstance(log, bytes) else log
    matches = list(_RECOVERED_RE.finditer(text))
    if not matches:
        errors = [m.group("msg").strip() for m in _ERROR_LINE_RE.finditer(text)]
        detail = "; ".join(errors[-2:]) if errors else "no error lines either"
        raise GaleraFileError(f"no 'Recovered position' in the recovery log ({detail})")
    last = matches[-1]
    uuid, seqno = _uuid(last.group("uuid"), "recovered uuid"), _seqno(last.group("seqno"), "recovered seqno")
    return Position(uuid, seqno, SeqnoSource.RECOVERED)


def mark_safe_to_bootstrap(data: str | bytes) -> str:
    """grastate.dat with ``safe_to_bootstrap: 1``, everything else as it was.

    mariadbd refuses ``--wsrep-new-cluster`` on a node whose grastate.dat says 0 (every node
    after a crash). Only the elected node's file is changed, and only right before it starts.
    """
    text = _text(data, "grastate.dat")
    parse_grastate(text)  # never rewrite a file we do not understand
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.partition(":")[0].strip() == "safe_to_bootstrap":
            lines[i] = "safe_to_bootstrap: 1"
            break
    else:
        lines.append("safe_to_bootstrap: 1")
    return "\n".join(lines) + "\n"
