"""galera_snmp/node/history.py: the kept history, when a changed one is flagged, what is kept."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest
from support import UUID, synced_state

from galera_snmp.node import history
from galera_snmp.node.history import KnownHistory, left_history, to_keep
from galera_snmp.snmp.mib import read_node, render
from galera_snmp.state import ZERO_UUID, Health, NodeReport, Position, history_reset

OTHER = "0b1c2d3e-0000-11f1-8000-000000000001"
THIRD = "9f8e7d6c-0000-11f1-8000-000000000002"
KNOWN = [KnownHistory(uuid, accept) for uuid in (None, UUID, OTHER) for accept in (False, True)]
STATES = [
    synced_state(cluster_status=status, cluster_state_uuid=uuid)
    for status in ("Primary", "non-Primary", None)
    for uuid in (UUID, OTHER, ZERO_UUID, None, "garbage")
]


def real_primary(state) -> bool:
    return state.cluster_status == "Primary" and state.cluster_state_uuid in (UUID, OTHER)


@pytest.mark.parametrize(("known", "state"), list(itertools.product(KNOWN, STATES)))
def test_a_change_is_flagged_exactly_when_unrecorded(known, state):
    flagged = left_history(known, state)
    expected = (real_primary(state) and known.uuid is not None and known.uuid != state.cluster_state_uuid
                and not known.accept_next)
    assert (flagged is not None) == expected
    if flagged:
        assert flagged == known.uuid
        assert to_keep(known, state) is None  # stays flagged until the operator accepts it


@pytest.mark.parametrize(("known", "state"), list(itertools.product(KNOWN, STATES)))
def test_what_is_kept_never_flags_the_same_state(known, state):
    kept = to_keep(known, state)
    if kept is None:
        return
    assert real_primary(state) and kept == KnownHistory(state.cluster_state_uuid)  # the expectation used up
    assert left_history(kept, state) is None
    assert to_keep(kept, state) is None  # written once, not at every refresh


def test_an_expectation_ends_when_the_node_is_back_in_its_history():
    """galera-init expected a new history (a reset node to bootstrap or join) but the node came
    back in the one it had: the flag must not linger to let a later, unrecorded reset through."""
    expecting = KnownHistory(UUID, accept_next=True)
    kept = to_keep(expecting, synced_state(cluster_state_uuid=UUID))
    assert kept == KnownHistory(UUID)
    assert left_history(kept, synced_state(cluster_state_uuid=OTHER)) == UUID  # the later reset is flagged


def test_a_reset_then_a_new_cluster_while_nobody_watched_is_a_history_reset():
    state = synced_state(cluster_state_uuid=OTHER)
    flagged = history.left_history(KnownHistory(UUID), state)
    why = history_reset(synced_state(cluster_state_uuid=OTHER, left_history=flagged))
    assert why is not None and UUID in why and OTHER in why and "galera-snmp accept-history" in why


def test_the_left_history_crosses_the_mib():
    state = synced_state(cluster_state_uuid=OTHER, left_history=UUID)
    rows = render(NodeReport(state, Health(True, "ok"), True, 0, ""))
    back = read_node({oid: value for oid, _, value in rows}).state
    assert back.left_history == UUID
    assert history_reset(back) == history_reset(state)


def test_file_round_trip_and_accept(tmp_path: Path):
    assert history.read(tmp_path) == KnownHistory()  # nothing kept yet
    history.write(tmp_path, KnownHistory(UUID))
    assert history.read(tmp_path) == KnownHistory(UUID)
    history.expect_new(tmp_path)  # galera-init about to bootstrap a reset history
    assert history.read(tmp_path) == KnownHistory(UUID, accept_next=True)
    # the operator accepts the history the node is in now
    assert OTHER in history.accept(tmp_path, synced_state(cluster_state_uuid=OTHER))
    assert history.read(tmp_path) == KnownHistory(OTHER)
    # ... or, with the node down, the next one it will have
    history.accept(tmp_path, synced_state(cluster_status=None, cluster_state_uuid=None))
    assert history.read(tmp_path) == KnownHistory(OTHER, accept_next=True)


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"uuid": 5}', b'{"uuid": "x"}',
                                     b'{"uuid": null, "accept_next": "yes"}', b"\xff" * 10,
                                     b'{"uuid": null, "seen": -1}', b'{"uuid": null, "seen": "12"}',
                                     b'{"uuid": null, "seen": 1, "seen_at": -5}', b'{"uuid": null, "seen": true}'])
def test_a_bad_file_is_a_reason_not_a_history(tmp_path: Path, content: bytes):
    (tmp_path / history.HISTORY_FILE).write_bytes(content)
    outcome = history.read(tmp_path)
    assert isinstance(outcome, str) and history.HISTORY_FILE in outcome


def test_a_symlink_is_not_followed(tmp_path: Path):
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps({"uuid": UUID, "accept_next": False}))
    (tmp_path / history.HISTORY_FILE).symlink_to(target)
    assert isinstance(history.read(tmp_path), str)


def test_a_history_kept_by_root_belongs_to_the_folder_owner(tmp_path: Path):
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file away")
    os.chown(tmp_path, 65534, 65534)
    history.write(tmp_path, KnownHistory(THIRD))
    info = os.stat(tmp_path / history.HISTORY_FILE)
    assert (info.st_uid, info.st_gid) == (65534, 65534)


# --- the last position seen committed: a floor for galera-init -----------------------------------

T = 1_700_000_000.0


def test_a_seen_seqno_is_written_when_it_grew_at_most_every_few_seconds():
    known = KnownHistory(UUID)
    first = history.seen_to_keep(known, Position(UUID, 40), T)
    assert first == KnownHistory(UUID, seen=40, seen_at=T)  # the first one at once
    assert history.seen_to_keep(first, Position(UUID, 40), T + 60) is None  # unchanged: no write
    assert history.seen_to_keep(first, Position(UUID, 45), T + history.SEEN_EVERY - 1) is None
    assert history.seen_to_keep(first, Position(UUID, 45), T + history.SEEN_EVERY) == KnownHistory(
        UUID, seen=45, seen_at=T + history.SEEN_EVERY)
    # lower: the history went back on purpose (a forced bootstrap): written at once
    assert history.seen_to_keep(first, Position(UUID, 12), T + 1) == KnownHistory(UUID, seen=12, seen_at=T + 1)
    # a clock stepped back does not stop the writes for good
    assert history.seen_to_keep(first, Position(UUID, 45), T - 3600) is not None


@pytest.mark.parametrize("committed", [None, Position(OTHER, 99)])
def test_nothing_but_the_kept_history_is_written_as_seen(committed):
    assert history.seen_to_keep(KnownHistory(UUID, seen=5, seen_at=T), committed, T + 99) is None
    assert history.seen_to_keep(KnownHistory(), Position(UUID, 5), T) is None  # no history kept yet


def test_a_new_history_starts_with_nothing_seen():
    kept = history.to_keep(KnownHistory(UUID, accept_next=True, seen=500, seen_at=T),
                           synced_state(cluster_state_uuid=OTHER))
    assert kept == KnownHistory(OTHER)


def test_the_seen_position_round_trips_and_is_rewound_only_downwards(tmp_path: Path):
    history.write(tmp_path, KnownHistory(UUID, seen=120, seen_at=T))
    assert history.read(tmp_path) == KnownHistory(UUID, seen=120, seen_at=T)
    assert history.read(tmp_path).seen_position == Position(UUID, 120)
    history.rewind(tmp_path, Position(OTHER, 5))  # another history: nothing to rewind
    history.rewind(tmp_path, Position(UUID, 130))  # above: nothing to rewind
    assert history.read(tmp_path).seen == 120
    history.rewind(tmp_path, Position(UUID, 40))  # the operator forced 40
    assert history.read(tmp_path) == KnownHistory(UUID, seen=40)


def test_the_seen_position_crosses_the_mib():
    state = synced_state(seen_position=Position(UUID, 120))
    rows = render(NodeReport(state, Health(True, "ok"), True, 0, ""))
    assert read_node({oid: value for oid, _, value in rows}).state.seen_position == Position(UUID, 120)
    garbage = read_node({oid: b"x:-1" if value == f"{UUID}:120".encode() else value for oid, _, value in rows})
    assert garbage.state.seen_position is None
