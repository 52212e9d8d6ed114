"""The history (cluster state UUID) this node was last seen in, kept in ``[agent] state_dir``.

Galera keeps its history across restarts and bootstraps done right (galera-init starts the
elected node at its recovered position: same UUID). A Primary under another UUID than the one
the node was in means the history was replaced: a reset (pc.recovery after a plain start, then
``galera_new_cluster``) while nobody watched, or a node moved to another cluster. Only two
changes are expected, and both are recorded here first: galera-init bootstrapping a reset
history the operator named (--force-bootstrap 00000000-...:N), and the operator accepting the
new history after checking the data (``galera-snmp accept-history``).

It also keeps the last position the node saw committed in that history (:func:`seen_to_keep`):
after an outage galera-init refuses to bootstrap the history from a lower one (a restored
backup, a rolled-back disk), which would lose the commits in between without a word.

One file, one reader: the probe reads it for every snapshot (:func:`left_history` says whether
to flag the node), long-running probes write it (:func:`to_keep`, :func:`seen_to_keep`).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..record import record, replace
from ..safeio import read_regular, write_for_folder_owner
from ..state import SEQNO_MAX, ZERO_UUID, NodeState, Position, is_uuid

HISTORY_FILE = "history.json"
MAX_BYTES = 4096


@record
class KnownHistory:
    """What the file says: the last history seen, and whether a new one is expected."""

    uuid: str | None = None  # the last history UUID this node was in a Primary component of
    accept_next: bool = False  # galera-init or the operator said a new history is coming: take it
    seen: int | None = None  # the last seqno of ``uuid`` seen committed (at least SEEN_LAG old)
    seen_at: float | None = None  # when ``seen`` was written (wall clock)

    @property
    def seen_position(self) -> Position | None:
        return Position(self.uuid, self.seen) if self.uuid is not None and self.seen is not None else None


class HistoryFileError(ValueError):
    pass


def _current(state: NodeState) -> str | None:
    """The real (non-zero) history of the node's Primary component, else None."""
    uuid = state.cluster_state_uuid
    if not state.says_primary or uuid is None or not is_uuid(uuid) or uuid == ZERO_UUID:
        return None
    return uuid.lower()


def left_history(known: KnownHistory, state: NodeState) -> str | None:
    """The history the node left without the change being recorded, or None."""
    current = _current(state)
    if current is None or known.uuid is None or known.uuid == current or known.accept_next:
        return None
    return known.uuid


def to_keep(known: KnownHistory, state: NodeState) -> KnownHistory | None:
    """What the file should say after ``state``, or None when it stays as it is: the first
    history seen is kept, a recorded change is taken (and the expectation used up), an unrecorded
    one is not (the node stays flagged until the operator accepts it). An expectation also ends
    when the node is back in the history it has: else it would wait there and let a later,
    unrecorded reset through unflagged."""
    current = _current(state)
    if current is None:
        return None
    if known.uuid == current:
        return replace(known, accept_next=False) if known.accept_next else None
    if known.uuid is None or known.accept_next:
        return KnownHistory(current)
    return None


SEEN_LAG = 5.0  # seconds a seqno must have been committed before it is kept: older than InnoDB's
# once-a-second log flush (innodb_flush_log_at_trx_commit = 0 or 2), which a crash may lose
SEEN_EVERY = 10.0  # seconds between writes of a seqno that only grew


def seen_to_keep(known: KnownHistory, committed: Position | None, now: float) -> KnownHistory | None:
    """What the file should say after the node was seen at ``committed`` (a live position in a
    Primary component, SEEN_LAG seconds ago), or None when it stays: written when the seqno
    grew and SEEN_EVERY has passed, and at once when it is lower (the history went back on
    purpose: a forced bootstrap), never for another history than the kept one."""
    if committed is None or known.uuid is None or committed.uuid != known.uuid or committed.seqno == known.seen:
        return None
    grew = known.seen is not None and committed.seqno > known.seen
    if grew and known.seen_at is not None and 0 <= now - known.seen_at < SEEN_EVERY:
        return None
    return replace(known, seen=committed.seqno, seen_at=now)


def parse(data: bytes) -> KnownHistory:
    try:
        doc = json.loads(data)
        uuid, accept = doc.get("uuid"), doc.get("accept_next", False)
        seen, seen_at = doc.get("seen"), doc.get("seen_at")
    except (ValueError, AttributeError) as err:
        raise HistoryFileError(f"not a history record: {err}") from None
    if (uuid is not None and not (isinstance(uuid, str) and is_uuid(uuid))) or not isinstance(accept, bool):
        raise HistoryFileError("not a history record: uuid must be a UUID or null, accept_next a boolean")
    if not (seen is None or (type(seen) is int and 0 <= seen <= SEQNO_MAX)) or not (
        seen_at is None or (type(seen_at) in (int, float) and seen_at >= 0)
    ):
        raise HistoryFileError("not a history record: seen must be a seqno or null, seen_at a time or null")
    return KnownHistory(uuid.lower() if uuid else None, accept, seen if uuid else None, seen_at if uuid else None)


def read(state_dir: Path) -> KnownHistory | str:
    """The kept history (empty when there is none yet), or why it cannot be read."""
    path = state_dir / HISTORY_FILE
    try:
        return parse(read_regular(path, MAX_BYTES)[0])
    except FileNotFoundError:
        return KnownHistory()
    except OSError as err:
        return f"cannot read {path}: {err.strerror or err}"
    except HistoryFileError as err:
        return f"{path}: {err}"


def write(state_dir: Path, known: KnownHistory) -> None:
    """Replace the file (as the folder's owner, whoever writes it)."""
    text = json.dumps({"uuid": known.uuid, "accept_next": known.accept_next, "seen": known.seen,
                       "seen_at": known.seen_at}) + "\n"
    write_for_folder_owner(state_dir / HISTORY_FILE, text)


def accept(state_dir: Path, state: NodeState) -> str:
    """The operator's word that the node's history is the right one (``galera-snmp
    accept-history``): the current one when it is Primary, else the next one it will have.
    Raises OSError when the file cannot be read or written."""
    current = _current(state)
    if current is not None:
        write(state_dir, KnownHistory(current))  # what was seen of another history says nothing here
        return f"history {current} accepted"
    expect_new(state_dir)
    return "the next history this node's Primary component has will be accepted"


def expect_new(state_dir: Path) -> None:
    """Record that a new history is about to start on purpose (galera-init bootstrapping a reset
    history the operator named). Raises OSError when the file cannot be read or written."""
    known = read(state_dir)
    if isinstance(known, str):
        raise OSError(known)
    write(state_dir, replace(known, accept_next=True))


def rewind(state_dir: Path, position: Position) -> None:
    """Record that the operator forced a bootstrap of ``position`` below what was seen of its
    history (galera-init --force-bootstrap): it is the history's last position now. Raises
    OSError when the file cannot be read or written."""
    known = read(state_dir)
    if isinstance(known, str):
        raise OSError(known)
    if known.uuid == position.uuid and known.seen is not None and position.seqno < known.seen:
        write(state_dir, replace(known, seen=position.seqno, seen_at=None))
