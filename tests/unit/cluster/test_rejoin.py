"""galera_snmp/cluster/rejoin.py: IST or SST for a node joining now, by Galera's donor rule
applied to what the nodes publish (pure; no SNMP, no mysqld)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import UUID, galera_would_ist, node_report, wsrep_values

from galera_snmp.cluster.rejoin import (
    SAFETY_CAP,
    Donor,
    ForgetRate,
    describe,
    donor_of,
    donors_of,
    forecast,
    safety_gap,
    spared_donors,
)
from galera_snmp.record import replace
from galera_snmp.snmp.mib import read_node, render
from galera_snmp.state import Health, Member, NodeReport, Position, RejoinMethod, SeqnoSource, Status

OTHER = "0b7ac5b8-e602-11f1-8a41-5ec05f0f5611"


def stopped_at(seqno: int, uuid: str = UUID, source: SeqnoSource = SeqnoSource.GRASTATE) -> Position:
    return Position(uuid, seqno, source)


def donor(name: str, cached: int, committed: int = 10_000, segment: int | None = 0, history: str = UUID) -> Donor:
    return Donor(name, segment, history, committed, cached)


CASES = [
    # (what, position, donors, method, donor)
    ("position not known", Position(), [donor("n2", 100)], RejoinMethod.UNKNOWN, None),
    ("reset history is no position", Position("00000000-0000-0000-0000-000000000000", 5, SeqnoSource.GRASTATE),
     [donor("n2", 100)], RejoinMethod.UNKNOWN, None),
    ("nobody to ask", stopped_at(9_000), [], RejoinMethod.UNKNOWN, None),
    ("another history", stopped_at(9_000), [donor("n2", 100, history=OTHER)], RejoinMethod.SST, None),
    ("inside the cache", stopped_at(9_000), [donor("n2", 100)], RejoinMethod.IST, "n2"),
    ("below the cache", stopped_at(50), [donor("n2", 100)], RejoinMethod.SST, None),
    # the gap: (10,000 - 100) // 128 = 77, so the floor is 177
    ("inside the safety gap", stopped_at(176), [donor("n2", 100)], RejoinMethod.SST, None),
    ("at the floor", stopped_at(177), [donor("n2", 100)], RejoinMethod.IST, "n2"),
    ("ahead of the cluster (stopped)", stopped_at(10_001), [donor("n2", 100)], RejoinMethod.UNKNOWN, None),
    ("ahead of the others' older answers (a member)", stopped_at(10_003, source=SeqnoSource.LIVE),
     [donor("n2", 100)], RejoinMethod.IST, "n2"),
    ("the donor in its segment first", stopped_at(9_000),
     [donor("far", 5_000, segment=1), donor("near", 100, segment=0)], RejoinMethod.IST, "near"),
    ("among able ones, the one caching least", stopped_at(9_000),
     [donor("n2", 100), donor("n3", 8_000)], RejoinMethod.IST, "n3"),
    ("one that cannot serve it is not chosen", stopped_at(5_000),
     [donor("n2", 100), donor("n3", 8_000)], RejoinMethod.IST, "n2"),
]


@pytest.mark.parametrize(("what", "position", "donors", "method", "chosen"), CASES, ids=[c[0] for c in CASES])
def test_the_forecast(what, position, donors, method, chosen) -> None:
    found = forecast(position, 0, donors)
    assert (found.method, found.donor) == (method, chosen), found.reason
    assert found.reason
    if method is RejoinMethod.IST:
        assert found.write_sets_left is not None and found.write_sets_left >= 0
    else:
        assert (found.write_sets_left, found.seconds_left) == (None, None)


@given(seqno=st.integers(0, 20_000), caches=st.lists(st.integers(1, 20_000), min_size=1, max_size=4),
       committed=st.integers(0, 20_000))
def test_ist_is_forecast_exactly_when_galera_would_serve_it(seqno, caches, committed) -> None:
    donors = [donor(f"n{i}", cached, max(committed, cached - 1)) for i, cached in enumerate(caches)]
    if seqno > max(d.committed for d in donors):
        return  # a joiner ahead of the group: Galera refuses it (the table has it)
    found = forecast(stopped_at(seqno), 0, donors)
    caches = [(d.cached_downto, d.committed) for d in donors]
    assert (found.method is RejoinMethod.IST) == galera_would_ist(seqno, caches)
    if found.method is RejoinMethod.IST:
        assert next(d for d in donors if d.name == found.donor).cached_downto <= seqno + 1


@given(seqno=st.integers(1_000, 2_000_000), lowest=st.integers(1, 1_000), extra=st.integers(0, 5_000_000),
       forgotten=st.integers(0, 3_000_000))
def test_the_margin_is_what_the_caches_may_still_forget_while_as_many_writes_arrive(seqno, lowest, extra,
                                                                                    forgotten) -> None:
    """In steady state the caches forget one write-set per new one: IST holds for exactly
    ``write_sets_left`` more such steps, and what is left shrinks by one per step."""
    last = seqno + extra
    before = forecast(stopped_at(seqno), 0, [donor("n2", lowest, last)])
    after = forecast(stopped_at(seqno), 0, [donor("n2", lowest + forgotten, last + forgotten)])
    if before.method is not RejoinMethod.IST:
        assert after.method is RejoinMethod.SST
        return
    assert before.write_sets_left is not None
    if forgotten <= before.write_sets_left:
        assert after.method is RejoinMethod.IST and after.write_sets_left == before.write_sets_left - forgotten
    else:
        assert after.method is RejoinMethod.SST


@given(seqno=st.integers(0, 20_000), caches=st.lists(st.integers(1, 20_000), min_size=1, max_size=4),
       hidden=st.lists(st.integers(1, 20_000), max_size=3), committed=st.integers(0, 20_000))
def test_what_the_agents_cannot_see_only_errs_towards_sst(seqno, caches, hidden, committed) -> None:
    """Members without an agent (garbd, the joiner's own recovered cache) take part in Galera's
    lowest cache: a forecast of IST from the visible donors is IST for Galera too."""
    donors = [donor(f"n{i}", cached, max(committed, cached - 1)) for i, cached in enumerate(caches)]
    last = max(d.committed for d in donors)
    if seqno > last:
        return
    everyone = [(d.cached_downto, d.committed) for d in donors] + [(cached, last) for cached in hidden]
    if forecast(stopped_at(seqno), 0, donors).method is RejoinMethod.IST:
        lowest = min(cached for cached, _ in everyone)
        assert seqno >= lowest + min((last - lowest) // 128, 2**20)  # Galera's floor with every member
        assert galera_would_ist(seqno, [(d.cached_downto, d.committed) for d in donors])


def test_what_the_caches_forgot_since_they_were_read_is_taken_as_gone() -> None:
    """Answers some seconds old: at 10 write-sets a second, 3 s cost 30 of what is left."""
    fresh = forecast(stopped_at(9_000), 0, [donor("n2", 100)], forget_rate=10.0)
    aged = forecast(stopped_at(9_000), 0, [donor("n2", 100)], forget_rate=10.0, age=3.0)
    assert aged.write_sets_left == fresh.write_sets_left - 30
    edge = forecast(stopped_at(110), 0, [donor("n2", 100, committed=500)], forget_rate=10.0, age=3.0)
    assert edge.method is RejoinMethod.SST and "at the edge of the caches" in edge.reason
    assert forecast(stopped_at(110), 0, [donor("n2", 100, committed=500)]).method is RejoinMethod.IST  # 7 left


def test_donors_in_two_histories_tell_nothing() -> None:
    found = forecast(stopped_at(9_000), 0, [donor("n2", 100), donor("n3", 100, history=OTHER)])
    assert found.method is RejoinMethod.UNKNOWN and "2 histories" in found.reason


def test_seconds_left_is_the_margin_at_the_rate_the_caches_forget() -> None:
    found = forecast(stopped_at(9_000), 0, [donor("n2", 100)], forget_rate=10.0)
    assert found.write_sets_left == 9_000 - 177 and found.seconds_left == found.write_sets_left // 10
    assert forecast(stopped_at(9_000), 0, [donor("n2", 100)], forget_rate=0.0).seconds_left is None


def test_the_safety_gap_is_a_128th_of_the_cached_range_at_most_two_to_the_twentieth() -> None:
    assert safety_gap(100, 10_000) == 77
    assert safety_gap(1, 1 << 40) == SAFETY_CAP
    assert safety_gap(401, 400) == -1  # Galera's arithmetic shift, for a cache that holds nothing


def test_only_a_synced_node_with_a_cache_is_a_donor_as_its_peers_read_it() -> None:
    """From the node's report as another agent reads it through GALERA-MIB (the peer watch's
    input): the position is galeraSeqno, the cache galeraLocalCachedDownto."""
    served = node_report(position=Position(UUID, 900, SeqnoSource.LIVE), wsrep=wsrep_values(
        wsrep_last_committed="900", wsrep_local_cached_downto="12", wsrep_gmcast_segment="2"))
    state = read_node({oid: value for oid, _, value in render(served)}).state
    assert donor_of("10.0.0.12", state) == Donor("node1", 2, UUID, 900, 12)
    assert donor_of("10.0.0.12", replace(state, node_name=None)).name == "10.0.0.12"
    assert donor_of("10.0.0.12", replace(state, local_state=2)) is None  # a donor already
    assert donor_of("10.0.0.12", replace(state, status=Status.STOPPED)) is None
    for empty in ("0", str(2**64 - 1)):  # what mysqld says while the cache is empty
        assert donor_of("10.0.0.12", replace(state, wsrep=wsrep_values(wsrep_local_cached_downto=empty))) is None
    assert donors_of({"a": state, "b": None, "c": state}, joiner="c") == [Donor("node1", 2, UUID, 900, 12)]


def test_the_rate_at_which_the_caches_forget() -> None:
    rate = ForgetRate(seconds=60)
    assert rate.add(0.0, [donor("n2", 100)]) is None  # one look: no slope yet
    assert rate.add(10.0, [donor("n2", 150)]) == 5.0
    assert rate.add(20.0, [donor("n2", 300)]) == 10.0  # (300 - 100) / 20
    assert rate.add(100.0, [donor("n2", 300)]) is None  # the older looks age out
    assert rate.add(110.0, [donor("n2", 400), donor("n3", 350)]) is None  # other donors: measured anew
    assert rate.add(120.0, [donor("n2", 400), donor("n3", 450)]) == 5.0  # the lowest: 350, then 400
    assert rate.add(130.0, [donor("n2", 10), donor("n3", 20)]) is None  # a cache started over
    assert rate.add(140.0, [donor("n2", 30), donor("n3", 20)]) == 1.0
    assert rate.add(150.0, []) == 1.0  # nobody answers: what was measured stays until it ages out


def test_the_forget_rate_counts_from_when_the_caches_started_to_forget() -> None:
    rate = ForgetRate(seconds=60)
    for at in (0.0, 10.0, 20.0, 30.0):
        assert rate.add(at, [donor("n2", 100)]) is None  # the cache still fills: nothing forgotten yet
    assert rate.add(35.0, [donor("n2", 110)]) == 2.0  # 10 write-sets in 5 s, not in 35


def test_the_forecast_in_words() -> None:
    ist = forecast(stopped_at(9_000), 0, [donor("n2", 100)], forget_rate=2.0)
    assert describe(ist) == ("a rejoin now gets IST (1000 write-sets from n2); it holds for 8823 more write-sets, "
                             "about 73 min at the current rate")
    assert describe(forecast(stopped_at(9_000), 0, [donor("n2", 100)])).endswith("it holds for 8823 more write-sets")
    assert describe(forecast(stopped_at(50), 0, [donor("n2", 100)])).startswith("a rejoin now needs SST: seqno 50")
    assert describe(forecast(Position(), 0, [])).startswith("IST or SST for a rejoin is not known")


def test_the_donors_that_spare_the_writer() -> None:
    def peer(name: str | None, segment: int = 0, *, writes: bool = False, valid: bool = True,
             **changes: object) -> NodeReport:
        report = node_report(node_name=name, valid=valid, wsrep=wsrep_values(wsrep_gmcast_segment=str(segment)),
                             **changes)
        return replace(report, writer=Health(writes, "the writer" if writes else "not the writer"))

    reports: dict[str, NodeReport | str] = {
        "10.0.0.11": peer("node1", writes=True),  # the writer
        "10.0.0.12": peer("node2", segment=1),
        "10.0.0.13": peer("node3"),  # the joiner itself
        "10.0.0.14": peer("node4"),
        "10.0.0.15": peer("node5", drained=True),
        "10.0.0.16": peer("node6", local_state=2),  # a donor already: not Synced
        "10.0.0.17": peer("node7", valid=False),  # stale
        "10.0.0.18": peer(None),  # no name to ask for it by
        "10.0.0.19": peer("a,b"),  # a name the list cannot carry
        "10.0.0.21": peer("n\n[mysqld]\ninit_file=/tmp/x"),  # nor one that would write more options
        "10.0.0.22": peer("node 8"),
        "10.0.0.20": "timeout",
    }
    assert spared_donors(reports, "10.0.0.13", 0) == "node4,"  # its segment's only: Galera takes a listed one anywhere
    assert spared_donors(reports, "10.0.0.13", 1) == "node2,"
    assert spared_donors(reports, "10.0.0.13", 2) == "node2,node4,"  # none in its segment: the others
    assert spared_donors(reports, "10.0.0.13", None) == "node2,node4,"  # configured order
    only_writer = {"10.0.0.11": reports["10.0.0.11"], "10.0.0.13": reports["10.0.0.13"]}
    assert spared_donors(only_writer, "10.0.0.13", 0) is None  # Galera chooses: the writer rather than nobody
    # Galera matches a listed name as a prefix: node1 would select the writer node10
    prefixed = {"10.0.0.11": peer("node10", writes=True), "10.0.0.12": peer("node1"), "10.0.0.13": peer("node2")}
    assert spared_donors(prefixed, "10.0.0.14", 0) == "node2,"
    member = Member("9b2d-1", "node2-old", "10.0.0.19:4567", UUID)  # a member whose agent does not answer
    assert spared_donors({**prefixed, "10.0.0.15": peer("node3", members=(member,))}, "10.0.0.14", 0) == "node3,"
