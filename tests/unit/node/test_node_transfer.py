"""node/transfer.py: a state transfer followed look by look, on either side, to its end."""

from __future__ import annotations

import pytest
from support import synced_state, wsrep_values

from galera_snmp.node.sst import SstProcesses
from galera_snmp.node.transfer import KEPT_FOR, TransferWatch, datadir_bytes
from galera_snmp.record import replace
from galera_snmp.state import MysqlFailure, NodeState, ProcessState, Status, TransferRole, TransferState

MIB = 1 << 20
DONOR_SIZE = 100 * MIB


def watch(stalled_after: float = 10.0) -> tuple[TransferWatch, list[int]]:
    asked: list[int] = []

    def size(method: str) -> int:
        assert method in ("rsync", "mariabackup"), method
        asked.append(DONOR_SIZE)
        return DONOR_SIZE

    return TransferWatch(stalled_after, size), asked


def copier(role: str, *counts: tuple[int, int], method: str = "rsync") -> SstProcesses:
    """The SST script and rsync processes (pid, bytes written so far)."""
    written = dict(counts)
    return SstProcesses(role, method, "10.0.0.13:4444/rsync_sst" if role == "donor" else "10.0.0.13:4444", written)


def refusing(**changes: object) -> NodeState:
    """A joiner's mysqld while rsync fills its datadir: it refuses connections."""
    fields: dict[str, object] = dict(status=Status.JOINING, mysql_failure=MysqlFailure.REFUSED, local_state=None,
                                     local_state_comment=None, cluster_status=None, sst_in_progress=True)
    return synced_state(**(fields | changes))


def donor_state() -> NodeState:
    return synced_state(local_state=2, local_state_comment="Donor/Desynced")


def test_a_donation_measures_its_size_once_and_goes_at_its_copiers_rate() -> None:
    donor, asked = watch()
    first = donor.see(100.0, donor_state(), copier("donor", (7, 10 * MIB)))
    assert first is not None and (first.role, first.state, first.method, first.peer) == (
        TransferRole.DONOR, TransferState.RUNNING, "rsync", "10.0.0.13")
    assert (first.done, first.expected, first.percent, first.rate) == (10 * MIB, DONOR_SIZE, 10, None)
    later = donor.see(110.0, donor_state(), copier("donor", (7, 30 * MIB)))
    assert later is not None and later.rate == 2 * MIB and later.seconds_left == 35 and later.seconds == 10
    assert asked == [DONOR_SIZE]  # the datadir is walked once per transfer


def test_the_wait_before_the_first_byte_is_not_part_of_the_rate() -> None:
    # a mariabackup donor prepares for seconds before its stream flows: the joiner's count sits still
    joiner, _ = watch(stalled_after=60.0)
    for at in (0.0, 2.0, 4.0, 6.0, 8.0):
        waiting = joiner.see(at, refusing(), copier("joiner", (9, 14_000), method="mariabackup"),
                             peer_expected=DONOR_SIZE)
        assert waiting is not None and waiting.rate is None and waiting.seconds_left is None
    for at, count in ((10.0, 2 * MIB), (12.0, 4 * MIB), (14.0, 6 * MIB)):
        flowing = joiner.see(at, refusing(), copier("joiner", (9, count), method="mariabackup"),
                             peer_expected=DONOR_SIZE)
    assert flowing is not None and flowing.rate is not None and flowing.rate > 0.98 * MIB  # not 6 MiB over 14 s
    assert flowing.seconds_left is not None and 94 <= flowing.seconds_left <= 96


def test_a_desync_by_hand_is_no_transfer() -> None:
    donor, asked = watch()
    assert donor.see(100.0, donor_state(), None) is None
    assert asked == []


def test_the_count_never_goes_back_when_a_copier_takes_its_count_along() -> None:
    donor, _ = watch()
    donor.see(100.0, donor_state(), copier("donor", (7, 10 * MIB), (8, 5 * MIB)))
    # rsync 7 ended and was reaped by a process outside the transfer: its 10 MiB are gone from the sum
    found = donor.see(102.0, donor_state(), copier("donor", (8, 6 * MIB)))
    assert found is not None and found.done == 15 * MIB
    found = donor.see(104.0, donor_state(), copier("donor", (8, 20 * MIB)))
    assert found is not None and found.done == 20 * MIB


def test_a_joiner_takes_its_size_from_the_donor_and_is_complete_once_synced() -> None:
    joiner, asked = watch()
    started = joiner.see(50.0, refusing(), copier("joiner", (9, 25 * MIB)), peer="node1", peer_expected=DONOR_SIZE)
    assert started is not None and (started.role, started.peer, started.percent) == (TransferRole.JOINER, "node1", 25)
    assert asked == []  # a joiner never walks its own datadir for the size
    # the copy is over: no script, the server not answering yet, nor Joining: still the same transfer
    between = joiner.see(60.0, refusing(status=Status.NONPRIMARY, sst_in_progress=False), None)
    assert between is not None and between.state is TransferState.RUNNING and between.started == 50.0
    assert between.method == "rsync" and between.done == 25 * MIB  # the copiers' count is kept
    catching_up = joiner.see(61.0, synced_state(local_state=3, local_state_comment="Joined"), None)
    assert catching_up is not None and catching_up.state is TransferState.RUNNING
    done = joiner.see(62.0, synced_state(), None)
    assert done is not None and (done.state, done.percent, done.seconds, done.still) == (
        TransferState.COMPLETE, 100, 12, 0)
    assert joiner.see(62.0 + KEPT_FOR, synced_state(), None) == done  # still published for a while
    assert joiner.see(63.0 + KEPT_FOR, synced_state(), None) is None


def test_a_joiner_whose_mysqld_is_gone_failed() -> None:
    joiner, _ = watch()
    joiner.see(50.0, refusing(), copier("joiner", (9, MIB)))
    gone = joiner.see(51.0, refusing(status=Status.STOPPED, process=ProcessState.ABSENT, pid=None,
                                     sst_in_progress=True), None)
    # sst_in_progress stays behind a killed joiner, but with no mysqld it is not joining any more
    assert gone is not None and gone.state is TransferState.FAILED, gone


def test_nothing_moving_for_the_threshold_is_stalled_and_moving_again_runs() -> None:
    joiner, _ = watch(stalled_after=10.0)
    for at in (0.0, 5.0, 9.0):
        found = joiner.see(at, refusing(), copier("joiner", (9, 3 * MIB)))
        assert found is not None and found.state is TransferState.RUNNING
    stalled = joiner.see(10.0, refusing(), copier("joiner", (9, 3 * MIB)))
    assert stalled is not None and (stalled.state, stalled.still) == (TransferState.STALLED, 10)
    moving = joiner.see(11.0, refusing(), copier("joiner", (9, 4 * MIB)))
    assert moving is not None and (moving.state, moving.still) == (TransferState.RUNNING, 0)


def test_an_ist_counts_write_sets_up_to_the_peers_position() -> None:
    joiner, _ = watch()

    def joining(applied: int) -> NodeState:
        return synced_state(status=Status.JOINING, local_state=1, local_state_comment="Joining: receiving IST",
                            wsrep=wsrep_values(wsrep_last_committed=str(applied)))

    first = joiner.see(0.0, joining(1000), None, target=1400)
    assert first is not None and (first.method, first.unit, first.done, first.expected) == ("ist", "write-sets", 0, 400)
    half = joiner.see(2.0, joining(1200), None, target=1400)
    assert half is not None and (half.percent, half.rate, half.seconds_left) == (50, 100.0, 2)


@pytest.mark.parametrize("done", [0, 99 * MIB, 100 * MIB, 120 * MIB])
def test_percent_stays_below_100_until_complete(done: int) -> None:
    donor, _ = watch()
    found = donor.see(0.0, donor_state(), copier("donor", (7, done)))
    assert found is not None and found.percent == min(99, done * 100 // DONOR_SIZE)


def test_the_size_to_expect_is_what_an_sst_copies(tmp_path) -> None:
    for name, size in {"ibdata1": 1000, "ib_logfile0": 300, "undo001": 20, "aria_log.00000001": 4,
                       "galera.cache": 50_000, "grastate.dat": 100, "node.err": 7}.items():
        (tmp_path / name).write_bytes(bytes(size))
    for folder in ("shop", "mysql", ".sst", "lost+found"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "t.ibd").write_bytes(bytes(2000))
    assert datadir_bytes(tmp_path, "rsync") == 1000 + 300 + 20 + 4 + 2 * 2000
    assert datadir_bytes(tmp_path, "mariabackup") == 1000 + 20 + 4 + 2 * 2000  # no redo log
    assert datadir_bytes(tmp_path) == 1000 + 300 + 20 + 4 + 50_000 + 100 + 7 + 4 * 2000


def test_an_idle_sst_script_beside_a_joiner_that_answers_while_joining_is_an_ist() -> None:
    # MariaDB starts wsrep_sst_rsync before it knows it gets an IST; the script stores a few KiB
    joiner, _ = watch()
    started = joiner.see(0.0, refusing(), copier("joiner", (9, 12 << 10)))
    assert started is not None and (started.method, started.unit) == ("rsync", "bytes")
    answering = synced_state(status=Status.NONPRIMARY, cluster_status="non-Primary", local_state=1,
                             local_state_comment="Joining: receiving State Transfer",
                             wsrep=wsrep_values(wsrep_last_committed="11"))
    ist = joiner.see(1.5, answering, copier("joiner", (9, 16 << 10)), target=161)
    assert ist is not None and (ist.method, ist.unit, ist.done, ist.expected, ist.rate) == (
        "ist", "write-sets", 0, 150, None)
    later = joiner.see(3.0, replace(answering, wsrep=wsrep_values(wsrep_last_committed="20")), None, target=161)
    assert later is not None and (later.done, later.percent, later.rate) == (9, 6, 6.0)


def test_a_joiner_that_answers_while_joining_after_a_copy_is_still_its_sst() -> None:
    joiner, _ = watch()
    joiner.see(0.0, refusing(), copier("joiner", (9, 40 * MIB)))
    after = joiner.see(5.0, synced_state(local_state=1, local_state_comment="Joining: receiving State Transfer"), None)
    assert after is not None and (after.method, after.unit, after.done) == ("rsync", "bytes", 40 * MIB)


def test_an_ist_donor_counts_nothing_and_walks_nothing() -> None:
    donor, asked = watch()
    bypass = SstProcesses("donor", "ist", "10.0.0.13:4444/rsync_sst", {7: 4096})
    found = donor.see(0.0, donor_state(), bypass)
    assert found is not None and (found.method, found.unit, found.done, found.expected, found.peer) == (
        "ist", "write-sets", None, None, "10.0.0.13")
    assert asked == []


def test_a_donor_that_counts_nothing_is_never_called_stalled_by_itself() -> None:
    donor, asked = watch(stalled_after=5.0)
    streaming = SstProcesses("donor", "mariabackup", "10.0.0.13:4444", {})
    for at in (0.0, 4.0, 30.0):
        found = donor.see(at, donor_state(), streaming)
        assert found is not None and found.state is TransferState.RUNNING and found.done is None
    assert found.expected == DONOR_SIZE and asked == [DONOR_SIZE]
