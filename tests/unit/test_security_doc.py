"""docs/SECURITY.md points each promise at its test: every test it names exists, so a renamed or
deleted test cannot leave a promise pointing at nothing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`")


def test_every_test_the_threat_model_names_exists() -> None:
    text = (ROOT / "docs" / "SECURITY.md").read_text()
    current: Path | None = None
    named = 0
    for path, name in REFERENCE.findall(text):
        if path:
            current = ROOT / path
            assert current.is_file(), path
        if name:
            assert current is not None and f"def {name}(" in current.read_text(), (current, name)
            named += 1
    assert named >= 20
