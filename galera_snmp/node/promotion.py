"""What ``galera-snmp make-primary`` did on this node, kept in ``[agent] state_dir`` so that the
agent shows it (galeraLastPromotion, the galeraPromotion notification, ``galera-snmp status``)
and a later look at the history knows the Primary was made on purpose, and with what loss.

One file, one reader: make-primary writes it, the probe reads it for every snapshot.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..safeio import read_regular, write_for_folder_owner
from ..state import Position

PROMOTION_FILE = "promotion.json"
MAX_BYTES = 4096


def record(state_dir: Path, node: str, position: Position, lost: list[str], *, when: float | None = None) -> str:
    """Keep what was done; returns the line the agent will serve."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if when is None else when))
    text = f"{stamp} make-primary: {node} bootstrapped its component at {position}"
    if lost:
        text += f"; confirmed lost: {', '.join(lost)}"
    write_for_folder_owner(state_dir / PROMOTION_FILE, json.dumps({"text": text}) + "\n")
    return text


def read(state_dir: Path) -> str | None:
    """The last promotion's line, or None (none, or a file that is not ours: never a guess)."""
    try:
        text = json.loads(read_regular(state_dir / PROMOTION_FILE, MAX_BYTES)[0]).get("text")
    except (OSError, ValueError, AttributeError):
        return None
    return text if isinstance(text, str) and text.isprintable() else None
