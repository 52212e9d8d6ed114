"""galera_snmp/cluster/writer.py: one writer, decided alike on every node."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from support import node_report

from galera_snmp.cluster.writer import may_write, members_of, writer
from galera_snmp.state import Health, HealthCode, Member, NodeReport

ORDER = ("10.0.0.11", "10.0.0.12", "10.0.0.13")


def report(members=ORDER, valid: bool = True, **changes) -> NodeReport:
    rows = None if members is None else tuple(Member(f"u{i}", f"n{i}", f"{m}:3306", "c") for i, m in enumerate(members))
    return node_report(members=rows, valid=valid, last_error="", **{"read_only": False, **changes})


def test_the_first_node_that_may_write_is_the_writer_and_only_it():
    peers = {node: report() for node in ORDER}
    verdicts = [writer(me, ORDER, peers[me], peers) for me in ORDER]
    assert [v.healthy for v in verdicts] == [True, False, False]
    assert verdicts[1].reason == "10.0.0.11 is the writer"


def test_a_read_only_or_unhealthy_writer_passes_the_writes_on():
    for first in (report(read_only=True), report(desync=True), report(valid=False), report(read_only=None)):
        peers = {ORDER[0]: first, ORDER[1]: report(), ORDER[2]: report()}
        assert not writer(ORDER[0], ORDER, first, peers).healthy
        assert writer(ORDER[1], ORDER, peers[ORDER[1]], peers).healthy
        assert not writer(ORDER[2], ORDER, peers[ORDER[2]], peers).healthy


def test_a_node_that_left_the_primary_is_passed_over_without_asking_its_agent():
    mine = report(members=ORDER[1:])  # node 1 is gone from the view: its agent's last word does not matter
    assert writer(ORDER[1], ORDER, mine, {ORDER[0]: "timeout"}).healthy
    assert writer(ORDER[1], ORDER, mine, {ORDER[0]: report()}).healthy


def test_a_member_ahead_that_cannot_be_read_means_no():
    verdict = writer(ORDER[1], ORDER, report(), {ORDER[0]: "10.0.0.11:161: timeout"})
    assert verdict == Health(False, "cannot tell whether 10.0.0.11 is the writer: 10.0.0.11:161: timeout",
                             HealthCode.NOT_WRITER)
    assert not writer(ORDER[1], ORDER, report(), {}).healthy  # no current reports at all
    assert not writer(ORDER[1], ORDER, report(members=None), {}).healthy  # members unknown: ask everyone


def test_not_in_the_order_or_not_primary_is_never_the_writer():
    assert not writer("10.0.0.99", ORDER, report(), {}).healthy
    mine = report(cluster_status="non-Primary")
    assert not writer(ORDER[0], ORDER, mine, {}).healthy
    assert members_of(mine.state) is None
    assert members_of(report().state) == frozenset(ORDER)
    assert may_write(report()).healthy and not may_write(report(read_only=True)).healthy


NODE = st.fixed_dictionaries({"read_only": st.sampled_from([True, False, None]), "desync": st.booleans(),
                              "valid": st.booleans()})


@given(st.lists(NODE, min_size=3, max_size=3))
def test_with_one_view_and_every_agent_answering_at_most_one_writer(nodes):
    """All nodes in one Primary view and every agent answering: never two writers; and one exactly
    when some node may write."""
    reports = {name: report(read_only=n["read_only"], desync=n["desync"], valid=n["valid"])
               for name, n in zip(ORDER, nodes, strict=True)}
    writers = [me for me in ORDER if writer(me, ORDER, reports[me], reports).healthy]
    assert len(writers) <= 1
    assert (len(writers) == 1) == any(may_write(r).healthy for r in reports.values())
    if writers:
        assert writers[0] == next(me for me in ORDER if may_write(reports[me]).healthy)
