"""galera_snmp/tables.py: aligned columns for people, no trailing blanks."""

from __future__ import annotations

from galera_snmp.tables import table


def test_columns_are_aligned_to_the_widest_cell() -> None:
    text = table([("NODE", "STATUS"), ("10.0.0.11 (this node)", "running"), ("b", "-")])
    assert text.splitlines() == [
        "NODE                   STATUS",
        "10.0.0.11 (this node)  running",
        "b                      -",
    ]


def test_no_line_ends_in_blanks_even_with_an_empty_last_cell() -> None:
    text = table([("NODE", "NOTE"), ("a", ""), ("bb", "why")])
    assert text.splitlines() == ["NODE  NOTE", "a", "bb    why"]


def test_a_header_alone() -> None:
    assert table([("A", "B")]) == "A  B"
