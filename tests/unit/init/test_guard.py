"""galera_snmp/init/guard.py: mariadb.service's start after a crash goes through galera-init."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from galera_snmp.init.guard import galera_init_starting, mark_starting, refuse_start, starting_path, unmark_starting
from galera_snmp.node.galerafiles import GraState
from galera_snmp.state import Position, SeqnoSource

UUID = "6b1e2c3d-0000-11ef-8000-0123456789ab"
CRASHED = GraState("2.1", Position(UUID, -1, SeqnoSource.GRASTATE, False))
CLEAN = GraState("2.1", Position(UUID, 42, SeqnoSource.GRASTATE, True))
UNREADABLE = "cannot read /var/lib/mysql/grastate.dat: Permission denied"


@pytest.mark.parametrize(("grastate", "starting", "new_cluster"),
                         list(itertools.product([CRASHED, CLEAN, None, UNREADABLE], [False, True], [False, True])))
def test_only_an_unclean_or_unknown_stop_outside_galera_init_is_refused(grastate, starting, new_cluster):
    refused = refuse_start(grastate, starting=starting, new_cluster=new_cluster)
    assert (refused is not None) == (grastate in (CRASHED, UNREADABLE) and not starting and not new_cluster)
    if refused:
        assert "systemctl restart galera-init" in refused  # the way to do it, in the one line


def test_the_marker_names_a_live_galera_init_only(tmp_path: Path):
    phase_file = tmp_path / "init-phase.json"
    assert not galera_init_starting(phase_file)
    mark_starting(phase_file)
    assert galera_init_starting(phase_file)
    unmark_starting(phase_file)
    assert not galera_init_starting(phase_file)
    # left by a galera-init that died: counts for nothing
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    starting_path(phase_file).write_text(json.dumps({"pid": int(dead.stdout), "start": 1}))
    assert not galera_init_starting(phase_file)
    # this process, but another start time (its pid reused): nothing either
    starting_path(phase_file).write_text(json.dumps({"pid": os.getpid(), "start": -5}))
    assert not galera_init_starting(phase_file)
    for garbage in ("", "[]", '{"pid": true, "start": 1}', '{"pid": "1"}'):
        starting_path(phase_file).write_text(garbage)
        assert not galera_init_starting(phase_file)
