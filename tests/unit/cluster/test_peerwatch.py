"""galera_snmp/cluster/peerwatch.py: the agent's memory of when each node last answered and in
which segment, fed by a reader that plays the nodes' answers (no SNMP)."""

from __future__ import annotations

import threading
from types import MappingProxyType

from support import DONATING, UUID, node_report, wsrep_values

from galera_snmp.cluster.peerwatch import PeerWatch, transfer_source
from galera_snmp.config import load_config
from galera_snmp.record import replace
from galera_snmp.state import Health, NodeReport, Position, RejoinMethod, SeqnoSource, Status, TransferState
from galera_snmp.wsrep import Kind, WsrepValue

NODES = ("10.0.1.1", "10.0.1.2", "10.0.2.1")


def report(cluster_status: str, segment: int) -> NodeReport:
    wsrep = {"wsrep_gmcast_segment": WsrepValue(Kind.GAUGE, str(segment), segment)}
    return node_report(status=Status.NONPRIMARY, cluster_status=cluster_status, wsrep=MappingProxyType(wsrep),
                       health=Health(False, "non-Primary"))


class Cluster:
    """What each node answers now (a string: no answer), and a clock the test moves."""

    def __init__(self) -> None:
        self.answers: list[NodeReport | str] = [report("Primary", 1), report("Primary", 1), report("Primary", 2)]
        self.now = 1000.0
        self.asked = 0

    def read(self, targets):
        assert [t.host for t in targets] == list(NODES)
        self.asked += 1
        return list(self.answers)


def watch(tmp_path, cluster: Cluster, extra: str = "", read=None) -> PeerWatch:
    (tmp_path / "snmp.cred").write_text("[snmp]\nprotocol = 3\nsecname = watcher\nauthpasswd = secret-one\n"
                                        "privpasswd = secret-two\n")
    (tmp_path / "snmp.cred").chmod(0o600)
    conf = tmp_path / "galera-snmp.conf"
    conf.write_text(f"[mysql]\noption_file = x.cnf\n[init]\nnodes = {', '.join(NODES)}\naddress = {NODES[2]}\n"
                    f"snmp_credentials = snmp.cred\n[cluster]\nsilent_after = 60\n{extra}")
    return PeerWatch(load_config(conf), read=read or cluster.read, clock=lambda: cluster.now)


def test_a_segment_learnt_while_it_answered_names_the_site_once_it_is_silent_long_enough(tmp_path):
    cluster = Cluster()
    sites = watch(tmp_path, cluster)
    assert sites.poll() is None  # all answer: segments 1 and 2 learnt
    cluster.answers = ["timeout", "timeout", report("non-Primary", 2)]
    cluster.now += 5
    assert sites.poll() is None  # silent since the last answer 5 s ago
    cluster.now += 60
    advice = sites.poll()
    assert advice is not None and advice.startswith("site segment-1 silent for 65 s")
    assert "--confirm-lost 10.0.1.1,10.0.1.2" in advice
    cluster.answers[0] = report("non-Primary", 1)  # part of that site is back: not a site gone dark
    assert sites.poll() is None


def test_without_memory_of_their_segment_silent_nodes_are_named_only_by_configured_sites(tmp_path):
    cluster = Cluster()
    cluster.answers = ["timeout", "timeout", report("non-Primary", 2)]
    cluster.now += 120
    assert watch(tmp_path, cluster).poll() is None  # never heard: no segment, so no site
    configured = watch(tmp_path, cluster, "sites = 10.0.1.1=east, 10.0.1.2=east, 10.0.2.1=west\n")
    assert configured.poll() is None  # silence counts from the start of watching
    cluster.now += 60
    assert configured.poll().startswith("site east silent for 60 s")


def test_follow_publishes_changes_only_and_stops(tmp_path):
    cluster = Cluster()
    published: list[str | None] = []
    stop = threading.Event()

    def publish(advice):
        published.append(advice)
        stop.set()

    def read(targets):  # all answer twice (nothing to publish), then site 1 is silent for good
        answers = cluster.read(targets)
        if cluster.asked > 2:
            cluster.now += 100
            return ["timeout", "timeout", report("non-Primary", 2)]
        return answers

    watch(tmp_path, cluster, read=read).follow(publish, stop, 0)
    assert cluster.asked == 3 and len(published) == 1 and published[0].startswith("site segment-1")


def test_the_rejoin_forecast_reads_the_others_caches_and_remembers_this_nodes_segment(tmp_path):
    """Node 10.0.2.1 (this one, segment 2) is stopped: the Synced others' caches say IST, from the
    one in its segment; the rate the caches forget is measured between polls."""

    def synced(name: str, segment: int, cached: int, committed: int) -> NodeReport:
        wsrep = {"wsrep_gmcast_segment": str(segment), "wsrep_local_cached_downto": str(cached)}
        return node_report(node_name=name, wsrep=wsrep_values(**wsrep),
                           position=Position(UUID, committed, SeqnoSource.LIVE))

    cluster = Cluster()
    cluster.answers = [synced("n1", 1, 100, 5_000), synced("n2", 2, 50, 5_000), synced("n3", 2, 10, 4_990)]
    peers = watch(tmp_path, cluster)
    peers.poll()  # n3 answers: segment 2 learnt
    me = node_report(status=Status.STOPPED, cluster_status=None, local_state=None, wsrep=wsrep_values(),
                     position=Position(UUID, 4_000, SeqnoSource.GRASTATE))
    cluster.answers[2] = "timeout"
    cluster.now += 5
    peers.poll()
    found = peers.rejoin(me)
    assert (found.method, found.donor, found.seconds_left) == (RejoinMethod.IST, "n2", None)
    cluster.answers[:2] = [synced("n1", 1, 150, 5_050), synced("n2", 2, 100, 5_050)]
    cluster.now += 10
    peers.poll()
    found = peers.rejoin(me)
    # 50 write-sets forgotten since the last look before the caches started to (not the first look)
    assert found.seconds_left == int(found.write_sets_left / (50 / 10))
    cluster.answers[:2] = [synced("n1", 1, 4_500, 9_000), synced("n2", 2, 4_400, 9_000)]
    cluster.now += 5
    peers.poll()
    assert peers.rejoin(me).method is RejoinMethod.SST


def test_a_peer_out_of_a_primary_component_or_silent_is_out(tmp_path):
    cluster = Cluster()
    peers = watch(tmp_path, cluster)
    cluster.answers = [node_report(), node_report(), report("non-Primary", 2)]  # the last is this node
    peers.poll()
    assert not peers.someone_out()  # this node's own answer does not count
    cluster.answers[1] = report("non-Primary", 1)
    peers.poll()
    assert peers.someone_out()
    cluster.answers[1] = "timeout"
    peers.poll()
    assert peers.someone_out()
    cluster.now += 10_000  # answers too old tell nothing
    assert not peers.someone_out()


def at(seqno: int) -> NodeReport:
    return node_report(position=Position(UUID, seqno, SeqnoSource.LIVE, False))


def donating(peer: str | None, expected: int, state: TransferState = TransferState.RUNNING) -> NodeReport:
    return replace(at(40), transfer=replace(DONATING, state=state, peer=peer, expected=expected))


def test_a_joiners_donor_is_the_one_sending_to_its_address_in_any_spelling_else_the_only_one():
    me = "[2001:DB8::0013]:4567"
    two = {"a": donating("2001:db8::13", 7), "b": donating("2001:db8::14", 9), "c": at(42)}
    assert transfer_source(me, two) == ("a", 7, 42)
    assert transfer_source(me, {"a": donating("2001:db8::99", 7), "c": at(42)}) == ("a", 7, 42)
    assert transfer_source(me, {"a": donating(None, 7), "b": donating("2001:db8::14", 9)}) == (None, None, 40)
    # ended transfers, silent and stale peers, and the joiner itself name no donor
    ended = {"a": donating("2001:db8::13", 7, TransferState.COMPLETE), "b": "no answer",
             "c": replace(donating("2001:db8::13", 7), valid=False), me: donating("2001:db8::13", 7)}
    assert transfer_source(me, ended)[:2] == (None, None)
