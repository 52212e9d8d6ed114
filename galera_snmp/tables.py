"""Plain-text tables for people reading a terminal or a log."""

from __future__ import annotations


def table(rows: list[tuple[str, ...]]) -> str:
    """Rows as aligned columns (the first row is the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)
