"""galera_snmp/init/transfer.py, and galera-init's wait for Synced that counts its timeout from
the last move: a long transfer that goes on is waited for, one that stopped is not."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from support import DONATING, stopped_node_config, synced_state, wsrep_values

from galera_snmp.config import load_config
from galera_snmp.init import initiator
from galera_snmp.init.initiator import InitError, Initiator
from galera_snmp.init.transfer import Look, Progress
from galera_snmp.node.sst import SstProcesses
from galera_snmp.node.transfer import datadir_bytes
from galera_snmp.record import replace
from galera_snmp.state import Health, MysqlFailure, NodeReport, ProcessState, Status


def test_any_change_of_what_the_joiner_shows_is_a_move() -> None:
    progress = Progress(started=0.0)
    assert not progress.see(Look(1.0, 1, "Joining: receiving State Transfer", None, 100))  # the first look
    assert not progress.see(Look(2.0, 1, "Joining: receiving State Transfer", None, None))  # not walked: same
    assert progress.still_for(10.0) == 10.0
    for at, seen in [
        (11.0, Look(11.0, 1, "Joining: receiving State Transfer", None, 4096)),  # the datadir grew
        (12.0, Look(12.0, 3, "Joined", None, None)),  # the local state
        (13.0, Look(13.0, 3, "Joined", 40, None)),  # the position applied
        (14.0, Look(14.0, 3, "Joined", 57, None)),
    ]:
        assert progress.see(seen) and progress.still_for(at) == 0.0
    assert not progress.see(Look(20.0, 3, "Joined", 57, 4096))
    assert progress.still_for(20.0) == 6.0
    assert progress.rate(21.0) == (4096 - 100) / 20.0


def test_the_line_says_how_it_goes() -> None:
    progress = Progress(started=0.0)
    progress.see(Look(0.0, None, None, None, 10 << 20))
    progress.see(Look(10.0, None, None, None, 30 << 20))
    state = synced_state(status=Status.JOINING, local_state=1, local_state_comment="Joining: receiving State Transfer")
    assert progress.line(12.0, state) == ("waiting 12 s for Synced: joining (Joining: receiving State Transfer) "
                                          "datadir 30.0 MiB, 1.7 MiB/s; last moved 2 s ago")


def test_the_datadir_size_counts_files_and_follows_no_link(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "t.ibd").write_bytes(b"x" * 5000)
    (tmp_path / "ibdata1").write_bytes(b"y" * 3000)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "big").write_bytes(b"z" * 100_000)
    os.symlink(outside, tmp_path / "linked")
    assert datadir_bytes(tmp_path) == 8000  # the linked folder is not walked
    assert datadir_bytes(tmp_path / "absent") is None


class Joiner:
    """A probe whose snapshots and datadir a test script drives, and a clock that sleeping moves."""

    def __init__(self, script) -> None:
        self.now = 0.0
        self.script = script

    def snapshot(self):
        return self.script(self.now)


def waiting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script, sizes) -> tuple[Initiator, list[str]]:
    config = load_config(stopped_node_config(tmp_path, (
        "[init]\nnodes = 127.0.0.1, 203.0.113.2\naddress = 127.0.0.1\nallow_v2c = yes\nsynced_timeout = 30\n")))
    said: list[str] = []
    init = Initiator(config, say=said.append)
    joiner = Joiner(script)
    init.probe = joiner

    def sleep(seconds: float) -> None:
        joiner.now += seconds
        if joiner.now > 4000:
            raise AssertionError("still waiting after 4000 s")

    monkeypatch.setattr(initiator, "time", SimpleNamespace(monotonic=lambda: joiner.now, sleep=sleep))
    monkeypatch.setattr(initiator, "datadir_bytes", lambda _datadir: sizes(joiner.now))
    return init, said


def sst(now: float):
    """mysqld runs and refuses connections while the SST's files arrive: nothing to read but the datadir."""
    return synced_state(status=Status.JOINING, process=ProcessState.RUNNING, mysql_failure=MysqlFailure.REFUSED,
                        cluster_status=None, local_state=None, local_state_comment=None, wsrep=wsrep_values())


def test_a_transfer_that_goes_on_for_longer_than_synced_timeout_is_waited_for(tmp_path, monkeypatch) -> None:
    """An SST of 300 s against a synced_timeout of 30 s: the datadir grows all along."""
    def script(now: float):
        return synced_state() if now >= 300 else sst(now)

    init, said = waiting(tmp_path, monkeypatch, script, sizes=lambda now: int(now) * 1_000_000)
    assert init.wait_synced(joining=True).synced
    assert sum(line.startswith("waiting ") for line in said) >= 25  # one line every 10 s
    assert "datadir" in said[-1]


def test_a_transfer_that_stopped_moving_fails_after_synced_timeout(tmp_path, monkeypatch) -> None:
    """The SST's rsync stopped (SIGSTOP, a hung donor): the datadir stays at 120 MB from 120 s on."""
    init, said = waiting(tmp_path, monkeypatch, sst, sizes=lambda now: int(min(now, 120.0)) * 1_000_000)
    with pytest.raises(InitError, match="nothing moved for 30 s"):
        init.wait_synced(joining=True)
    assert 150 <= init.probe.now <= 160  # the last move at 120 s, then 30 s of stillness
    assert said[-1].endswith("last moved 20 s ago") or said[-1].endswith("last moved 30 s ago"), said[-1]


def test_a_member_catching_up_by_ist_moves_by_its_position(tmp_path, monkeypatch) -> None:
    def script(now: float):
        if now >= 200:
            return synced_state()
        return replace(synced_state(status=Status.JOINING, local_state=3, local_state_comment="Joined"),
                       wsrep=wsrep_values(wsrep_last_committed=str(int(now))))

    init, _said = waiting(tmp_path, monkeypatch, script, sizes=lambda now: 5_000_000)  # the datadir stays
    assert init.wait_synced(joining=True).synced


def test_bytes_an_sst_stored_are_a_move_and_said_though_the_datadir_does_not_grow() -> None:
    # rsync rewrites a rejoining node's files in place: only its copiers' count moves
    progress = Progress(0.0)
    progress.see(Look(1.0, None, None, None, 100 << 20, 1 << 20))
    assert progress.see(Look(8.0, None, None, None, 100 << 20, 9 << 20))
    assert not progress.see(Look(9.0, None, None, None, 100 << 20, 9 << 20))
    assert progress.still_for(9.0) == 1.0
    assert "SST copied 9.0 MiB" in progress.line(9.0, synced_state(status=Status.JOINING))


def test_an_rsync_rejoin_in_place_is_waited_for_with_the_donors_size_and_an_eta(tmp_path, monkeypatch) -> None:
    """rsync rewrites the joiner's files in place (the datadir stays at 100 MB) for 300 s: its
    copiers' count moves, and the donor's agent publishes the size, so the line has a percentage."""
    size = 300 << 20

    def copiers(_pid: int):
        init_now = joiner_clock[0]
        return SstProcesses("joiner", "rsync", "127.0.0.1:4444", {9: int(min(init_now, 300)) << 20})

    donating = replace(DONATING, peer="127.0.0.1", expected=size)
    donor = NodeReport(synced_state(local_state=2, local_state_comment="Donor/Desynced"), Health(True, ""), True, 0,
                       transfer=donating)
    joiner_clock = [0.0]

    def script(now: float):
        joiner_clock[0] = now
        return synced_state() if now >= 300 else sst(now)

    init, said = waiting(tmp_path, monkeypatch, script, sizes=lambda now: 100_000_000)
    monkeypatch.setattr(initiator, "sst_processes", copiers)
    monkeypatch.setattr(initiator, "read_all", lambda targets: ["no answer", donor][: len(targets)])
    assert init.wait_synced(joining=True).synced
    assert any("SST copied" in line and "% (" in line and "ETA" in line for line in said), said[-3:]
