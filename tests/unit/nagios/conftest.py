"""What the check_galera tests share: reports built from hand-made snapshots, and a stand-in
source (a Source is anything with a name and read()) so no test needs a node or a network."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support import UUID, node_report

from galera_snmp.nagios.sources import SourceDown
from galera_snmp.state import Member, NodeReport, Status


def make_peer(
    name: str,
    *,
    conf_id: int = 3,
    members: tuple[str, ...] | None = ("u1", "u2", "u3"),
    size: int | None = None,
    history: str = UUID,
    primary: bool = True,
) -> NodeReport:
    """A node as the peers mode and ``galera-snmp status`` see it: its view (conf_id, member
    table by member UUID, size: the table's length unless given) in one history."""
    table = None if members is None else tuple(Member(m, m, f"{m}:3306", history) for m in members)
    changes: dict[str, object] = {
        "node_name": name,
        "cluster_conf_id": conf_id,
        "cluster_state_uuid": history,
        "cluster_size": size if size is not None else len(members or ("u1", "u2", "u3")),
        "members": table,
    }
    if not primary:
        changes |= {"cluster_status": "non-Primary", "status": Status.NONPRIMARY, "local_state": 1, "ready": False}
    return node_report(**changes)


class Answering:
    """A source that answers with a report, or raises (SourceDown: the node is silent)."""

    def __init__(self, answer: NodeReport | Exception, name: str = "db1.example.com") -> None:
        self.answer = answer
        self.name = name

    def read(self, members: bool = False) -> NodeReport:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
def report() -> Callable[..., NodeReport]:
    """support.node_report: a current report of a Synced node, judged by the health rule (donors do not serve)."""
    return node_report


@pytest.fixture
def peer() -> Callable[..., NodeReport]:
    return make_peer


@pytest.fixture
def answering() -> type[Answering]:
    return Answering


@pytest.fixture
def silent() -> Callable[[str], Answering]:
    """A source that does not answer: SourceDown with the client's words."""
    return lambda name="db1.example.com": Answering(SourceDown(f"no answer from {name}:161 after 2 tries"), name)
