"""contrib/galera-snmp.conf: it loads as it ships, and it shows every key the loader knows."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from galera_snmp.config import _SCHEMA, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "contrib" / "galera-snmp.conf"


def test_it_loads_as_shipped(tmp_path: Path) -> None:
    copy = tmp_path / "galera-snmp.conf"
    shutil.copy(EXAMPLE, copy)
    copy.chmod(0o644)
    config = load_config(copy)
    assert config.mysql.option_file == Path("/etc/galera-snmp/client.cnf")


def test_every_key_is_shown_in_its_section() -> None:
    section, shown = "", set()
    for line in EXAMPLE.read_text().splitlines():
        if match := re.fullmatch(r"\[(\w+)\]", line):
            section = match[1]
        elif match := re.match(r"#? ?(\w+) =", line):
            shown.add((section, match[1]))
    known = {(name, key) for name, keys in _SCHEMA.items() for key in keys}
    assert known - shown == set(), "keys missing from contrib/galera-snmp.conf"
    assert shown - known == set(), "keys the loader does not know"
