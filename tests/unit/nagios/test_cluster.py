"""One cluster rule (galera_snmp/cluster/consistency.py) behind both ``galera-snmp status`` (disagreements)
and check_galera's peers mode: the same answers get the same verdict from both."""

from __future__ import annotations

import pytest
from nagiosplugin import Metric
from nagiosplugin.state import Critical, Ok, ServiceState, Unknown, Warn
from support import UUID

from galera_snmp.cluster.consistency import Kind, assess_cluster, disagreements, findings
from galera_snmp.nagios.peers import Peers, PeersContext
from galera_snmp.state import ZERO_UUID

OTHER_UUID = "11111111-2222-3333-4444-555555555555"
NAMES = ("db1", "db2", "db3")


def situations(peer) -> dict[str, tuple[dict, set[str]]]:
    """Each situation: the answers by node name, and the nodes a problem is about (empty: a
    problem of the cluster as a whole, or none at all — see PROBLEMS)."""
    return {
        "healthy three nodes": ({n: peer(n) for n in NAMES}, set()),
        "one node not Primary": (
            {"db1": peer("db1"), "db2": peer("db2"), "db3": peer("db3", primary=False, members=("u3",))},
            {"db3"},
        ),
        "two Primary components, disjoint members": (
            {
                "db1": peer("db1", conf_id=5, members=("u1", "u2")),
                "db2": peer("db2", conf_id=5, members=("u1", "u2")),
                "db3": peer("db3", conf_id=6, members=("u3",)),
            },
            {"db1", "db2", "db3"},
        ),
        "two histories": (
            {"db1": peer("db1"), "db2": peer("db2"), "db3": peer("db3", history=OTHER_UUID)},
            {"db1", "db2", "db3"},
        ),
        "membership change, one size": (
            # db3 restarted and came back as u4; db1's agent has the new view, the others not yet
            {
                "db1": peer("db1", conf_id=13, members=("u1", "u2", "u4")),
                "db2": peer("db2", conf_id=11),
                "db3": peer("db3", conf_id=11),
            },
            set(),
        ),
        "membership change, sizes differ": (
            {
                "db1": peer("db1", conf_id=12, members=("u1", "u2")),
                "db2": peer("db2", conf_id=11),
                "db3": peer("db3", conf_id=11),
            },
            {"db1", "db2", "db3"},
        ),
        "a node not answering": (
            {"db1": peer("db1"), "db2": peer("db2"), "db3": "no answer from db3:161 after 2 tries"},
            {"db3"},
        ),
        "no member tables, one view": ({n: peer(n, members=None) for n in NAMES}, set()),
        "no member tables, two views": (
            {
                "db1": peer("db1", members=None),
                "db2": peer("db2", members=None),
                "db3": peer("db3", conf_id=4, members=None),
            },
            {"db1", "db2", "db3"},
        ),
        "one member table missing, same view": (
            {"db1": peer("db1"), "db2": peer("db2", members=None), "db3": peer("db3")},
            set(),
        ),
        "no node Primary": ({n: peer(n, primary=False) for n in NAMES}, set()),
    }


PROBLEMS = {
    "one node not Primary",
    "two Primary components, disjoint members",
    "two histories",
    "membership change, sizes differ",
    "a node not answering",
    "no member tables, two views",
    "no node Primary",
}


def status_of(answers: dict) -> list[str]:
    return disagreements(list(answers), list(answers.values()))


def peers_of(answers: dict):
    return PeersContext(Warn, None).evaluate(Metric("peers", Peers.of(answers), context="peers"), None)


def named(text: str) -> set[str]:
    return {name for name in NAMES if name in text}


@pytest.mark.parametrize("situation", [
    "healthy three nodes", "one node not Primary", "two Primary components, disjoint members", "two histories",
    "membership change, one size", "membership change, sizes differ", "a node not answering",
    "no member tables, one view", "no member tables, two views", "one member table missing, same view",
    "no node Primary",
])
def test_status_and_the_peers_mode_agree(peer, situation: str) -> None:
    answers, blamed = situations(peer)[situation]
    problems, result = status_of(answers), peers_of(answers)
    problem = situation in PROBLEMS
    assert (problems != []) is problem, problems
    assert (result.state != Ok) is problem, result.hint
    if blamed:
        assert named(" ".join(problems)) == blamed, problems
        assert named(result.hint) >= blamed, result.hint


def test_every_situation_is_tested(peer) -> None:
    assert set(situations(peer)) > PROBLEMS


def test_a_view_change_in_flight_is_no_problem_for_status(peer) -> None:
    """Before the one rule, ``galera-snmp status`` flagged nodes of one component that report
    different conf_ids (the peers mode did not)."""
    answers, _ = situations(peer)["membership change, one size"]
    assert status_of(answers) == []
    assert peers_of(answers).hint == f"one Primary component [db1, db2, db3] uuid {UUID} conf_id 11/13, size 3"


# --- the verdict itself --------------------------------------------------------------------------


def test_a_view_change_in_flight_is_one_component(peer) -> None:
    answers, _ = situations(peer)["membership change, sizes differ"]
    verdict = assess_cluster(answers)
    assert len(verdict.components) == 1
    component = verdict.components[0]
    assert component.nodes == ("db1", "db2", "db3")
    assert component.conf_ids == (11, 12)
    assert component.sizes == {"db1": 2, "db2": 3, "db3": 3}
    assert component.sizes_differ is True
    assert verdict.size_disagreement == (component,)
    assert verdict.split is False


def test_disjoint_members_are_a_split_brain(peer) -> None:
    answers, _ = situations(peer)["two Primary components, disjoint members"]
    verdict = assess_cluster({**answers, "db4": "timeout", "db5": peer("db5", primary=False)})
    assert [c.nodes for c in verdict.components] == [("db1", "db2"), ("db3",)]
    assert verdict.split is True
    assert verdict.histories == (UUID,)
    assert verdict.down == {"db4": "timeout"}
    assert verdict.outside == ("db5",)
    assert verdict.size_disagreement == ()
    assert verdict.describe_split() == (
        f"2 Primary components: [db1, db2] uuid {UUID} conf_id 5"
        f" and [db3] uuid {UUID} conf_id 6"
    )


def test_two_histories_never_share_a_component_even_with_overlapping_members(peer) -> None:
    verdict = assess_cluster({"db1": peer("db1"), "db2": peer("db2", history=OTHER_UUID)})
    assert [c.nodes for c in verdict.components] == [("db1",), ("db2",)]
    assert verdict.histories == (UUID, OTHER_UUID)
    assert verdict.describe_split(str.upper).startswith("2 Primary components in 2 histories: [DB1] uuid cf45eb64")


def test_without_member_tables_the_view_decides(peer) -> None:
    answers, _ = situations(peer)["no member tables, two views"]
    assert [c.nodes for c in assess_cluster(answers).components] == [("db1", "db2"), ("db3",)]


def test_a_node_without_member_table_joins_the_component_of_its_view(peer) -> None:
    answers, _ = situations(peer)["one member table missing, same view"]
    assert [c.nodes for c in assess_cluster(answers).components] == [("db1", "db2", "db3")]


def test_nobody_answering_is_no_component() -> None:
    verdict = assess_cluster({"db1": "timeout", "db2": "refused"})
    assert verdict.components == ()
    assert verdict.down == {"db1": "timeout", "db2": "refused"}
    assert verdict.outside == ()
    assert verdict.split is False


# --- one wording: the findings both put into words ----------------------------------------------


def cases(peer) -> dict[str, tuple[dict, list[Kind], ServiceState]]:
    """Each case: the answers (node names as reached, so both say the same names), the findings
    in order, and check_galera's state with --unreachable unknown."""
    three = {n: peer(n) for n in NAMES}
    return {
        "healthy": (three, [], Ok),
        "split": (
            {"db1": peer("db1", members=("u1", "u2")), "db2": peer("db2", members=("u1", "u2")),
             "db3": peer("db3", conf_id=4, members=("u3",))},
            [Kind.SPLIT],
            Critical,
        ),
        "no Primary": ({n: peer(n, primary=False) for n in NAMES}, [Kind.NO_PRIMARY], Critical),
        "reset history": ({n: peer(n, history=ZERO_UUID) for n in NAMES}, [Kind.HISTORY_RESET], Critical),
        "one silent": (three | {"db3": "no answer from db3:161 after 2 tries"}, [Kind.NOT_ANSWERING], Unknown),
        "one outside": (three | {"db3": peer("db3", primary=False, members=("u3",))}, [Kind.OUTSIDE], Warn),
        "sizes differing": (three | {"db3": peer("db3", size=2)}, [Kind.SIZES_DIFFER], Warn),
        "silent and outside": (
            three | {"db2": "timeout", "db3": peer("db3", primary=False, members=("u3",))},
            [Kind.NOT_ANSWERING, Kind.OUTSIDE],
            Unknown,
        ),
    }


@pytest.mark.parametrize("case", [
    "healthy", "split", "no Primary", "reset history", "one silent", "one outside", "sizes differing",
    "silent and outside",
])
def test_status_and_the_peers_mode_say_the_same_findings(peer, case: str) -> None:
    answers, kinds, state = cases(peer)[case]
    found = findings(assess_cluster(answers))
    assert [finding.kind for finding in found] == kinds
    texts = [finding.text for finding in found]
    # galera-snmp status: the findings' lines first, then unhealthy nodes no finding has named
    problems = status_of(answers)
    assert problems[:len(texts)] == texts
    assert all(", not healthy: " in line for line in problems[len(texts):]), problems
    # check_galera peers: the same findings in the same words and order, each kind in its state
    context = PeersContext(Unknown, None)
    peers = Peers.of(answers)
    assert [text for _, text in context.judged(peers)] == texts
    result = context.evaluate(Metric("peers", peers, context="peers"), None)
    assert result.state == state
    if not texts:
        assert result.hint.startswith("one Primary component [db1, db2, db3]"), result.hint
        return
    said = "; ".join(texts)
    assert result.hint.endswith(said), result.hint
    prefix = result.hint.removesuffix(said)  # the one component named first, when there is one
    assert prefix == "" or (prefix.startswith("one Primary component [") and prefix.endswith("; ")), result.hint
