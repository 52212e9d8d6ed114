"""galera_snmp/cluster/sites.py: which site a node is in, and when a whole site has gone silent."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import given
from hypothesis import strategies as st

from galera_snmp.cluster.sites import SilentSite, segment_of, silent_site, site_of
from galera_snmp.state import PRIMARY, NodeState, Status
from galera_snmp.wsrep import Kind, WsrepValue

EAST = ("10.0.1.1", "10.0.1.2", "10.0.1.3")
WEST = ("10.0.2.1", "10.0.2.2")
SITES = {**dict.fromkeys(EAST, "east"), **dict.fromkeys(WEST, "west")}


def running(cluster_status: str = "non-Primary", segment: int | None = None) -> NodeState:
    wsrep = {} if segment is None else {"wsrep_gmcast_segment": WsrepValue(Kind.GAUGE, str(segment), segment)}
    return NodeState(0.0, Status.NONPRIMARY if cluster_status != PRIMARY else Status.RUNNING, "",
                     cluster_status=cluster_status, wsrep=MappingProxyType(wsrep))


def stopped() -> NodeState:
    return NodeState(0.0, Status.STOPPED, "")


def east_dark(**west: NodeState) -> dict[str, NodeState | None]:
    return {**dict.fromkeys(EAST), WEST[0]: west.get("a", running()), WEST[1]: west.get("b", running())}


def test_a_site_silent_long_enough_while_the_other_waits_is_named_with_the_command():
    found = silent_site(SITES, east_dark(), dict.fromkeys(EAST, 100.0), now=190.0, silent_after=60)
    assert found == SilentSite("east", EAST, 90.0, WEST)
    advice = found.advice()
    assert advice == ("site east silent for 90 s. If it is lost, not cut off: galera-snmp make-primary "
                      "--confirm-lost 10.0.1.1,10.0.1.2,10.0.1.3 (--dry-run first) on a node that waits non-Primary: "
                      "10.0.2.1, 10.0.2.2")


def test_not_yet_silent_long_enough():
    since = {EAST[0]: 100.0, EAST[1]: 100.0, EAST[2]: 150.0}  # the last one answered later
    assert silent_site(SITES, east_dark(), since, now=200.0, silent_after=60) is None
    assert silent_site(SITES, east_dark(), since, now=210.0, silent_after=60).silent_for == 60.0


def test_no_advice_while_a_primary_is_visible_or_nobody_waits():
    since = dict.fromkeys(EAST, 0.0)
    assert silent_site(SITES, east_dark(a=running(PRIMARY)), since, 1000, 60) is None
    assert silent_site(SITES, east_dark(a=stopped(), b=stopped()), since, 1000, 60) is None
    assert silent_site(SITES, east_dark(a=stopped()), since, 1000, 60).waiting == (WEST[1],)


def test_part_of_a_site_two_sites_or_an_unknown_site_is_not_a_site_gone_dark():
    since = dict.fromkeys(EAST + WEST, 0.0)
    part = {**east_dark(), EAST[2]: running()}
    assert silent_site(SITES, part, since, 1000, 60) is None
    spread = {**east_dark(), WEST[1]: None}
    assert silent_site(SITES, spread, since, 1000, 60) is None
    unknown = {**SITES, EAST[0]: None}
    assert silent_site(unknown, east_dark(), since, 1000, 60) is None
    assert silent_site(SITES, dict.fromkeys(EAST + WEST, running()), since, 1000, 60) is None  # nobody silent


def test_a_site_is_configured_else_the_segment_else_unknown():
    assert site_of("a", {"a": "east"}, 2) == "east"
    assert site_of("b", {"a": "east"}, 2) == "segment-2"
    assert site_of("b", {}, None) is None
    assert segment_of(running(segment=3)) == 3 and segment_of(stopped()) is None


ANSWER = st.one_of(st.none(), st.just(PRIMARY), st.just("non-Primary"), st.just("stopped"))


@given(st.lists(ANSWER, min_size=5, max_size=5), st.lists(st.sampled_from(["east", "west", None]), min_size=5,
                                                           max_size=5), st.floats(0, 500))
def test_advice_only_for_one_whole_silent_site_and_never_beside_a_primary(answers, places, now):
    nodes = EAST + WEST
    states = {n: None if a is None else stopped() if a == "stopped" else running(a)
              for n, a in zip(nodes, answers, strict=True)}
    sites = dict(zip(nodes, places, strict=True))
    found = silent_site(sites, states, dict.fromkeys(nodes, 0.0), now, 60)
    if found is None:
        return
    assert PRIMARY not in answers
    assert set(found.nodes) == {n for n in nodes if sites[n] == found.site} == {n for n in nodes if states[n] is None}
    assert found.waiting and all(states[n] is not None and states[n].cluster_status == "non-Primary"
                                 for n in found.waiting)
    assert found.silent_for >= 60
