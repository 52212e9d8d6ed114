"""docs/DEPLOY.md as the script the booted machines run: its marked shell blocks, in the guide's
order, each with where it runs, and the placeholders filled with a bed's values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "DEPLOY.md"
WHERE = ("every node", "one node", "every other node")  # what a block's mark may say
BLOCK = re.compile(r"^<!-- (?P<kind>deploy|uninstall): (?P<where>[^>]+?) -->\n```sh\n(?P<script>.*?)^```$",
                   re.MULTILINE | re.DOTALL)
PLACEHOLDER = re.compile(r"<[a-z][a-z' ]*>")


@dataclass(frozen=True)
class Block:
    step: str  # the heading it stands under
    where: str
    script: str


def blocks(kind: str = "deploy", path: Path = DEPLOY) -> list[Block]:
    """The blocks marked ``kind`` (deploy, uninstall), in the guide's order."""
    text = path.read_text()
    found = []
    for match in BLOCK.finditer(text):
        if match["kind"] != kind:
            continue
        headings = re.findall(r"^## (.+)$", text[: match.start()], re.MULTILINE)
        where = match["where"]
        assert where in WHERE, f"{path}: a block marked {where!r}; marks are {', '.join(WHERE)}"
        found.append(Block(headings[-1] if headings else "", where, match["script"]))
    assert found, f"{path} has no block marked {kind}"
    return found


def fill(block: Block, values: dict[str, str]) -> str:
    """The block with every placeholder replaced; an unknown one is the guide's error."""
    script = block.script
    for placeholder, value in values.items():
        script = script.replace(placeholder, value)
    left = PLACEHOLDER.findall(script)
    assert not left, f"step {block.step!r}: no value for {', '.join(sorted(set(left)))}"
    return script
