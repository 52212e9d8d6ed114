"""contrib/keepalived: every shipped config parses, the notify script, and a real keepalived
reading our track file (one network namespace, no Galera needed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from vrrp import CONTRIB, GALERA_CHECK, NOTIFY_SCRIPT, VrrpLab, check_config, lab_config

from galera_snmp.dev.base import wait_for
from galera_snmp.safeio import write_atomically

SHIPPED = sorted(CONTRIB.glob("*.conf"))


def installed_paths(text: str) -> str:
    """The shipped files name /usr/local/bin and /etc paths; here they live in the venv and the repo."""
    return text.replace("/usr/local/bin/", f"{GALERA_CHECK.parent}/").replace(
        "/etc/keepalived/galera-keepalived-notify", str(NOTIFY_SCRIPT)
    )


def test_both_variants_are_shipped():
    assert {p.name for p in SHIPPED} == {"keepalived.conf", "keepalived-vrrp-script.conf"}


@pytest.mark.parametrize("shipped", SHIPPED, ids=lambda p: p.name)
def test_shipped_config_passes_keepalived_t(shipped: Path, tmp_path: Path) -> None:
    conf = tmp_path / shipped.name
    conf.write_text(installed_paths(shipped.read_text()))
    result = check_config(conf)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_config_fails_keepalived_t(tmp_path: Path) -> None:
    """keepalived -t really checks: the seed's 2.0.0+ style (track_script inside track_file) fails."""
    conf = tmp_path / "broken.conf"
    shipped = installed_paths((CONTRIB / "keepalived.conf").read_text())  # only the injected line is wrong
    conf.write_text(shipped.replace("weight 0 reverse", "weight 0 reverse\n    track_script x"))
    result = check_config(conf)
    assert result.returncode != 0
    assert "Unknown keyword 'track_script'" in result.stderr  # refused for that line, not for another reason


def test_notify_script_logs_and_runs_hooks_in_order(tmp_path: Path) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    seen = tmp_path / "seen"
    for name, body in (("20-second", f'echo "2 $*" >> {seen}'), ("10-first", f'echo "1 $*" >> {seen}; exit 4')):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\n{body}\n")
        hook.chmod(0o755)
    (hooks / "30-not-executable").write_text(f"#!/bin/sh\necho never >> {seen}\n")
    log = tmp_path / "notify.log"
    result = subprocess.run(
        [str(NOTIFY_SCRIPT), "--log", str(log), "--hooks", str(hooks), "INSTANCE", "galera_vip", "MASTER", "103"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0
    assert seen.read_text() == "1 INSTANCE galera_vip MASTER 103\n2 INSTANCE galera_vip MASTER 103\n"
    lines = log.read_text().splitlines()
    assert lines[0].endswith("INSTANCE galera_vip is now MASTER (priority 103)")
    assert "10-first failed (exit 4)" in lines[1]
    assert len(lines) == 2  # the non-executable hook is skipped silently


def test_notify_script_without_arguments_exits_0(tmp_path: Path) -> None:
    result = subprocess.run([str(NOTIFY_SCRIPT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "usage" in result.stderr


def test_keepalived_faults_on_anything_but_our_serve_value(tmp_path: Path) -> None:
    """Missing (keepalived's init_file writes 0), "0", empty, garbage: FAULT, VIP released."""
    track = tmp_path / "keepalived.track"
    notify_log = tmp_path / "notify.log"
    config = lab_config(
        CONTRIB / "keepalived.conf", 1, 103, notify_log,
        {r'file "/run/galera-snmp/keepalived\.track"': f'file "{track}"'},
    )
    with VrrpLab(tmp_path, 1) as lab:
        lab.start(1, config)
        wait_for(lambda: notify_log.exists() and "is now FAULT" in notify_log.read_text(), 10, "FAULT at start")
        assert track.read_text().strip() == "0"  # init_file
        assert not lab.has_vip(1)
        for bad in ("0\n", "", "garbage\n", None):
            write_atomically(track, "1\n")
            lab.wait_holder(1)
            if bad is None:
                track.unlink()
            else:
                write_atomically(track, bad)
            lab.wait_holder(None, timeout=5)
        assert "is now MASTER" in notify_log.read_text()
