"""``galera-snmp make-primary``: the I/O around promote.decide — the component from the local
server, every node from its agent (the reader galera-init and ``status`` use), then
``pc.bootstrap=YES`` on this node when the rule names it, recorded for the agent to show."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from ..address import normalise
from ..cluster.peers import find_cluster, trusted_targets
from ..config import Config, ConfigError
from ..node import promotion
from ..node.probe import MysqlReader
from ..node.provider import AdminError, set_provider_option
from ..snmp.remote import read_all
from .promote import Promotion, decide
from .views import evidence_table, peer_view

POLL = 0.5


class MakePrimaryError(Exception):
    pass


def component_of(incoming: str, nodes: Collection[str]) -> set[str]:
    """The configured nodes wsrep_incoming_addresses lists (ConfigError for one that is not one)."""
    members = {normalise(address) for address in incoming.split(",") if address.strip()}
    strangers = sorted(members - set(nodes))
    if strangers:
        raise ConfigError(f"members {', '.join(strangers)} of this component are not among [init] nodes "
                          f"({', '.join(nodes)}): list the data nodes by the addresses they use")
    return members


def decision_text(decision: Promotion, component: Collection[str], me: int) -> str:
    verdict = f"make {decision.target} Primary: {decision.reason}" if decision.target else f"refused: {decision.reason}"
    return evidence_table(decision.evidence, me, component) + f"\n(* this component)\ndecision: {verdict}"


class MakePrimary:
    def __init__(self, config: Config, confirm_lost: Collection[str] = (), say: Callable[[str], None] = print):
        self.config = config
        self.cluster = find_cluster(config)
        self.targets = trusted_targets(config, self.cluster, "make-primary promotes")
        self.confirm_lost = {normalise(name) for name in confirm_lost}
        self.say = say
        self.me = self.cluster.nodes[self.cluster.me]

    def decide(self) -> tuple[Promotion, set[str]]:
        reader = MysqlReader(self.config)
        try:
            reading = reader.read()
        finally:
            reader.close()
        if reading.failure is not None:
            raise MakePrimaryError(f"mysqld here does not answer ({reading.error}): run make-primary on a running "
                                   "member of the component to promote")
        component = component_of(reading.status.get("wsrep_incoming_addresses", ""), self.cluster.nodes)
        if self.me not in component:
            component.add(self.me)
        views = [peer_view(i, name, report)
                 for i, (name, report) in enumerate(zip(self.cluster.nodes, read_all(self.targets), strict=True))]
        return decide(views, component, self.confirm_lost), component

    def run(self, dry_run: bool = False) -> int:
        decision, component = self.decide()
        self.say(decision_text(decision, component, self.cluster.me))
        if decision.target is None:
            return 1
        if decision.target != self.me:
            lost = f" --confirm-lost {','.join(sorted(self.confirm_lost))}" if self.confirm_lost else ""
            self.say(f"run it on {decision.target}, the member with the newest commits: "
                     f"galera-snmp make-primary{lost}")
            return 0 if dry_run else 1
        if dry_run:
            self.say("dry run: would set pc.bootstrap=YES here")
            return 0
        self.bootstrap()
        target = next(v for v in decision.evidence if v.name == self.me)
        assert target.position is not None  # decide() names only a member with a known position
        lost = sorted(self.confirm_lost)
        self.say(f"recorded: {promotion.record(self.config.agent.state_dir, self.me, target.position, lost)}")
        self.wait_primary(component)
        return 0

    def bootstrap(self) -> None:
        """``pc.bootstrap=YES`` on this node's server, as an administrator (node/provider.py)."""
        try:
            statement = set_provider_option(self.config, "pc.bootstrap", "YES")
        except AdminError as err:
            raise MakePrimaryError(str(err)) from None
        self.say(f"ran {statement}")

    def wait_primary(self, component: Collection[str]) -> None:
        deadline = time.monotonic() + self.config.init.synced_timeout
        members = [t for name, t in zip(self.cluster.nodes, self.targets, strict=True) if name in component]
        while time.monotonic() < deadline:
            reports = read_all(members)
            states = [r.state for r in reports if not isinstance(r, str) and r.valid is True]
            if len(states) == len(members) and all(s.synced for s in states):
                self.say(f"Primary: {len(states)} member(s) Synced")
                return
            time.sleep(POLL)
        raise MakePrimaryError(f"the component is not Primary with every member Synced after "
                               f"{self.config.init.synced_timeout:g} s")
