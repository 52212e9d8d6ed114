"""galera_snmp/node/promotion.py: make-primary's record, as the agent will serve it."""

from __future__ import annotations

import json
from pathlib import Path

from galera_snmp.node import promotion
from galera_snmp.state import Position

UUID = "6b1e2c3d-0000-11ef-8000-0123456789ab"


def test_record_and_read_back(tmp_path: Path):
    assert promotion.read(tmp_path) is None
    text = promotion.record(tmp_path, "10.0.0.11", Position(UUID, 40), ["10.0.0.12", "10.0.0.13"], when=0)
    assert text == (f"1970-01-01T00:00:00Z make-primary: 10.0.0.11 bootstrapped its component at {UUID}:40; "
                    "confirmed lost: 10.0.0.12, 10.0.0.13")
    assert promotion.read(tmp_path) == text


def test_anything_else_in_the_file_is_no_record(tmp_path: Path):
    for content in ("", "[]", '{"text": 5}', json.dumps({"text": "two\nlines"}), "\xff"):
        (tmp_path / promotion.PROMOTION_FILE).write_text(content, errors="surrogateescape")
        assert promotion.read(tmp_path) is None
    (tmp_path / promotion.PROMOTION_FILE).unlink()
    (tmp_path / "elsewhere").write_text(json.dumps({"text": "planted"}))
    (tmp_path / promotion.PROMOTION_FILE).symlink_to(tmp_path / "elsewhere")
    assert promotion.read(tmp_path) is None
