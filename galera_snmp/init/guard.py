"""Whether mariadb.service may start mysqld now: the drop-in contrib/systemd/mariadb.service.d runs
``galera-init --guard`` before every start.

A node that stopped uncleanly must come back through galera-init, which recovers its position,
then joins a Primary component or elects the one node to bootstrap. Started any other way after a
crash of the whole cluster (at boot because mariadb.service is still enabled, or by hand), nodes
can re-form a Primary without their positions — a history reset (docs/INIT.md) — or wait forever
until someone bootstraps a node by guess. The guard refuses such a start with the way to do it.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from ..config import Config
from ..node.galerafiles import GraState
from ..node.probe import read_grastate
from ..node.process import still_running, writer_stamp
from ..safeio import read_regular, write_atomically

STARTING_FILE = "init-starting.json"  # beside [init] phase_file: galera-init is starting mysqld


def refuse_start(grastate: GraState | str | None, *, starting: bool, new_cluster: bool) -> str | None:
    """Why mysqld must not start now, or None. ``grastate``: the parsed file, None when there is
    none (a datadir never started: nothing to lose), or why it cannot be read. ``starting``: a live
    galera-init is the one starting it. ``new_cluster``: the operator asked for a bootstrap by hand
    (galera_new_cluster), which mariadbd itself refuses after a crash unless they marked the node."""
    if starting or new_cluster or grastate is None:
        return None
    if isinstance(grastate, str):
        return f"{grastate}: cannot tell whether mysqld stopped cleanly; start it with: systemctl restart galera-init"
    if grastate.position.seqno >= 0:
        return None  # a clean shutdown: the position is in the file
    return ("mysqld stopped uncleanly (grastate.dat seqno -1) and galera-init is not starting it: "
            # restart: galera-init is a oneshot unit that stays active after boot, so start does nothing
            "run systemctl restart galera-init (it recovers the position, then joins or elects); "
            "a plain start after a crash may reset the cluster's history (docs/INIT.md)")


def starting_path(phase_file: Path) -> Path:
    return phase_file.with_name(STARTING_FILE)


def mark_starting(phase_file: Path) -> None:
    """Say that this galera-init starts mysqld now (the file names it, so a dead one counts for nothing)."""
    path = starting_path(phase_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(writer_stamp()) + "\n")


def unmark_starting(phase_file: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        starting_path(phase_file).unlink()


def galera_init_starting(phase_file: Path) -> bool:
    """Whether a live galera-init said it starts mysqld now."""
    try:
        data = json.loads(read_regular(starting_path(phase_file))[0])
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and still_running(data)


def guard(config: Config) -> str | None:
    """Why mariadb.service must not start this node's mysqld now, or None."""
    return refuse_start(read_grastate(config.server.datadir),
                        starting=galera_init_starting(config.init.phase_file),
                        new_cluster="--wsrep-new-cluster" in os.environ.get("_WSREP_NEW_CLUSTER", ""))

