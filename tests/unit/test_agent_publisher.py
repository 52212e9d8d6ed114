"""Publisher: snapshots become the served tree and the notifications, with a fake clock."""

from __future__ import annotations

import logging
import struct
import threading
from pathlib import Path
from types import MappingProxyType

import pytest
from support import synced_state, wsrep_values

from galera_snmp.agent.publisher import MAX_PENDING_NOTIFICATIONS, OBJECT_OIDS, Publisher
from galera_snmp.config import Config, MysqlConfig, load_config
from galera_snmp.node.refresh import Reporter, is_valid
from galera_snmp.snmp.mib import BY_NAME, STATUS
from galera_snmp.snmp.notifications import BY_NOTIFICATION
from galera_snmp.snmp.types import Syntax
from galera_snmp.state import (
    HealthPolicy,
    MysqlFailure,
    NodeReport,
    NodeState,
    Position,
    ProcessState,
    Rejoin,
    RejoinMethod,
    SeqnoSource,
    Status,
)
from galera_snmp.wsrep import classify

T0 = 1_700_000_000.0


def read_oid(data: bytes, pos: int) -> tuple[tuple[int, ...], int]:
    n_subid, prefix, _, _ = data[pos : pos + 4]
    subids = struct.unpack_from(f"!{n_subid}I", data, pos + 4)
    return ((1, 3, 6, 1, prefix) if prefix else ()) + tuple(subids), pos + 4 + 4 * n_subid


def decode_varbind(data: bytes) -> tuple[int, tuple[int, ...], object]:
    """(type, name, value) of one network-order VarBind."""
    vtype, _ = struct.unpack_from("!HH", data)
    name, pos = read_oid(data, 4)
    if vtype == 2:
        (value,) = struct.unpack_from("!i", data, pos)
        pos += 4
    elif vtype == 66:
        (value,) = struct.unpack_from("!I", data, pos)
        pos += 4
    elif vtype == 70:
        (value,) = struct.unpack_from("!Q", data, pos)
        pos += 8
    elif vtype == 4:
        (length,) = struct.unpack_from("!I", data, pos)
        value = data[pos + 4 : pos + 4 + length]
        pos += 4 + length + (-length % 4)
    else:
        value = None
    assert pos == len(data)
    return vtype, name, value


def scalar(name: str) -> tuple[int, ...]:
    return (*BY_NAME[name].oid, 0)


def served(publisher: Publisher, name: str) -> object:
    vtype, oid, value = decode_varbind(publisher.served_tree().get(scalar(name)))
    assert oid == scalar(name)
    return None if vtype == Syntax.NO_SUCH_INSTANCE else value


def synced(taken_at: float = T0, **changes) -> NodeState:
    fields = {
        "taken_at": taken_at,
        "position": Position(seqno=100, source=SeqnoSource.LIVE),
        "cluster_state_uuid": None,
        "cluster_conf_id": None,
        "cluster_name": None,
        "wsrep": wsrep_values(wsrep_replicated="7"),
    }
    fields.update(changes)
    return synced_state(**fields)


def hung(taken_at: float) -> NodeState:
    return NodeState(
        taken_at=taken_at,
        status=Status.UNKNOWN,
        reason="mysqld (pid 4332) does not answer: timed out",
        process=ProcessState.RUNNING,
        pid=4332,
        mysql_failure=MysqlFailure.TIMEOUT,
    )


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Snapshots:
    """A fake probe: returns (or raises) whatever the test set last."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.next: NodeState | Exception | None = None

    def __call__(self) -> NodeState:
        if isinstance(self.next, Exception):
            raise self.next
        assert self.next is not None
        return self.next


def make(policy: HealthPolicy | None = None) -> tuple[Publisher, Snapshots, Clock]:
    config = Config(path=Path("/nonexistent.conf"), mysql=MysqlConfig(option_file=Path("/nonexistent.cnf")))
    if policy is not None:
        config = Config(path=config.path, mysql=config.mysql, health=policy)
    clock = Clock()
    snapshots = Snapshots(clock)
    return Publisher(Reporter(config, snapshots, clock=clock, monotonic=clock)), snapshots, clock


def drain(publisher: Publisher) -> list[tuple[tuple[int, ...], list[bytes]]]:
    out = list(publisher.notifications)
    publisher.notifications.clear()
    return out


def trap(name: str) -> tuple[int, ...]:
    return BY_NOTIFICATION[name].oid


def test_first_refresh_publishes_a_tree_and_no_notification():
    publisher, snapshots, _ = make()
    assert len(publisher.tree) == 0
    snapshots.next = synced()
    ctx = publisher.refresh()
    assert publisher.context is ctx
    assert ctx.valid
    assert ctx.health.healthy is True
    assert len(publisher.tree) > 10
    assert served(publisher, "galeraStatus") == STATUS[Status.RUNNING]
    assert served(publisher, "galeraNodeName") == b"node1"
    assert served(publisher, "galeraDataValid") == 1
    assert served(publisher, "galeraHealthy") == 1
    assert not publisher.notifications


def test_an_unchanged_snapshot_queues_nothing():
    publisher, snapshots, clock = make()
    snapshots.next = synced()
    publisher.refresh()
    clock.now += 2
    snapshots.next = synced(T0 + 2, wsrep=MappingProxyType({"wsrep_replicated": classify("wsrep_replicated", "9")}))
    publisher.refresh()
    assert drain(publisher) == []
    assert served(publisher, "galeraReplicated") == 9  # the new values are served all the same


def test_status_change_queues_galera_status_change():
    publisher, snapshots, clock = make()
    snapshots.next = synced()
    publisher.refresh()
    clock.now += 2
    snapshots.next = synced(
        T0 + 2, status=Status.NONPRIMARY, reason="cluster status is non-Primary", cluster_status="non-Primary"
    )
    publisher.refresh()
    queued = drain(publisher)
    assert [oid for oid, _ in queued] == [trap("galeraStatusChange"), trap("galeraHealthChange")]
    trap_oid, varbinds = queued[0]
    assert [decode_varbind(vb) for vb in varbinds] == [
        (2, scalar("galeraStatus"), STATUS[Status.NONPRIMARY]),
        (4, scalar("galeraStatusReason"), b"cluster status is non-Primary"),
        (4, scalar("galeraNodeName"), b"node1"),
    ]
    assert trap_oid == (1, 3, 6, 1, 4, 1, 32473, 0, 1)
    _, health = queued[1]
    assert decode_varbind(health[0]) == (2, scalar("galeraHealthy"), 2)


def test_local_state_change_queues_its_notification():
    publisher, snapshots, _ = make(HealthPolicy(donor_serves=True))
    snapshots.next = synced()
    publisher.refresh()
    snapshots.next = synced(local_state=2, local_state_comment="Donor/Desynced")
    publisher.refresh()
    queued = drain(publisher)
    assert [oid for oid, _ in queued] == [trap("galeraLocalStateChange")]
    assert [decode_varbind(vb) for vb in queued[0][1]] == [
        (2, scalar("galeraLocalState"), 2),
        (4, scalar("galeraLocalStateComment"), b"Donor/Desynced"),
        (4, scalar("galeraNodeName"), b"node1"),
    ]


def test_cluster_size_change_queues_its_notification():
    publisher, snapshots, _ = make()
    snapshots.next = synced()
    publisher.refresh()
    snapshots.next = synced(cluster_size=2)
    publisher.refresh()
    queued = drain(publisher)
    assert [oid for oid, _ in queued] == [trap("galeraClusterSizeChange")]
    assert [decode_varbind(vb) for vb in queued[0][1]] == [
        (66, scalar("galeraClusterSize"), 2),
        (2, scalar("galeraClusterStatus"), 1),
        (4, scalar("galeraNodeName"), b"node1"),
    ]


def test_health_change_queues_its_notification():
    publisher, snapshots, _ = make()
    snapshots.next = synced()
    publisher.refresh()
    snapshots.next = synced(reject_queries="ALL")
    publisher.refresh()
    queued = drain(publisher)
    assert [oid for oid, _ in queued] == [trap("galeraHealthChange")]
    assert [decode_varbind(vb) for vb in queued[0][1]] == [
        (2, scalar("galeraHealthy"), 2),
        (4, scalar("galeraHealthReason"), b"wsrep_reject_queries is ALL"),
        (4, scalar("galeraNodeName"), b"node1"),
    ]


def test_site_advice_is_published_with_the_next_report_and_notified_when_it_comes_and_goes():
    publisher, snapshots, _ = make()
    snapshots.next = synced(cluster_status="non-Primary")
    publisher.refresh()
    advice = "site east (10.0.0.11) silent for 61 s while 10.0.0.12 wait non-Primary"
    publisher.site_advice = advice
    assert drain(publisher) == []  # not before a report carries it
    publisher.refresh()
    assert served(publisher, "galeraSiteAdvice") == advice.encode()
    queued = drain(publisher)
    assert [oid for oid, _ in queued] == [trap("galeraSiteSilentChange")]
    assert decode_varbind(queued[0][1][0]) == (4, scalar("galeraSiteAdvice"), advice.encode())
    publisher.site_advice = advice.replace("61", "66")  # the same silence, longer: no new notification
    publisher.refresh()
    assert drain(publisher) == []
    publisher.site_advice = None
    publisher.refresh()
    assert [oid for oid, _ in drain(publisher)] == [trap("galeraSiteSilentChange")]


def test_invalid_snapshot_is_flagged_and_ages_with_the_clock():
    publisher, snapshots, clock = make()
    snapshots.next = synced(T0)
    publisher.refresh()
    assert served(publisher, "galeraDataAge") == 0

    for elapsed in (10, 25, 3600):
        clock.now = T0 + elapsed
        snapshots.next = hung(T0 + elapsed)
        ctx = publisher.refresh()
        assert not ctx.valid
        assert ctx.age == elapsed  # since the last *valid* snapshot
        assert served(publisher, "galeraDataValid") == 2
        assert served(publisher, "galeraDataAge") == elapsed
        assert served(publisher, "galeraLastError") == b"mysqld (pid 4332) does not answer: timed out"
        assert served(publisher, "galeraStatus") == STATUS[Status.UNKNOWN]

    clock.now = T0 + 4000
    snapshots.next = synced(T0 + 4000)
    ctx = publisher.refresh()
    assert ctx.valid
    assert served(publisher, "galeraDataValid") == 1
    assert served(publisher, "galeraDataAge") == 0  # read just now, by the monotonic clock
    assert served(publisher, "galeraLastError") == b""


def test_invalid_first_snapshot_ages_from_the_start():
    publisher, snapshots, clock = make()
    clock.now = T0 + 7
    snapshots.next = hung(T0 + 7)
    ctx = publisher.refresh()
    assert (ctx.valid, ctx.age) == (False, 7)
    assert served(publisher, "galeraDataValid") == 2


def test_failing_snapshot_keeps_the_previous_values(caplog):
    publisher, snapshots, clock = make()
    snapshots.next = synced(T0, node_name="keep-me")
    publisher.refresh()
    clock.now = T0 + 30
    snapshots.next = OSError("connection pool on fire")
    with caplog.at_level(logging.CRITICAL, logger="galera_snmp.agent"):
        ctx = publisher.refresh()
    assert not ctx.valid
    assert ctx.age == 30
    assert served(publisher, "galeraNodeName") == b"keep-me"
    assert served(publisher, "galeraStatus") == STATUS[Status.RUNNING]
    assert served(publisher, "galeraDataValid") == 2
    assert served(publisher, "galeraDataAge") == 30
    error = served(publisher, "galeraLastError")
    assert isinstance(error, bytes)
    assert b"snapshot failed" in error
    assert b"connection pool on fire" in error
    assert not publisher.notifications

    clock.now = T0 + 45  # still failing: the age keeps growing
    with caplog.at_level(logging.CRITICAL, logger="galera_snmp.agent"):
        publisher.refresh()
    assert served(publisher, "galeraDataAge") == 45


def test_failing_first_snapshot_publishes_an_unknown_invalid_state(caplog):
    """Before any snapshot there is nothing to keep: serve "unknown", invalid, with the error."""
    publisher, snapshots, clock = make()
    clock.now = T0 + 4
    snapshots.next = ValueError("no probe")
    with caplog.at_level(logging.CRITICAL, logger="galera_snmp.agent"):
        ctx = publisher.refresh()
    assert publisher.context is ctx
    assert (ctx.valid, ctx.age, ctx.state.status, ctx.health.healthy) == (False, 4, Status.UNKNOWN, None)
    assert served(publisher, "galeraStatus") == STATUS[Status.UNKNOWN]
    assert served(publisher, "galeraDataValid") == 2
    assert served(publisher, "galeraDataAge") == 4
    assert served(publisher, "galeraHealthy") == 3
    error = served(publisher, "galeraLastError")
    assert isinstance(error, bytes)
    assert b"no probe" in error
    assert served(publisher, "galeraNodeName") is None
    assert not publisher.notifications


def test_notifications_carry_the_last_known_values():
    """A stopped node no longer reports its name; the notification still names it."""
    publisher, snapshots, _ = make()
    snapshots.next = synced(node_name="node1")
    publisher.refresh()
    stopped = NodeState(
        T0, Status.STOPPED, "mysqld is not running", process=ProcessState.ABSENT, mysql_failure=MysqlFailure.REFUSED
    )
    snapshots.next = stopped
    publisher.refresh()
    assert served(publisher, "galeraNodeName") is None  # not served any more...
    queued = dict(drain(publisher))
    status_change = [decode_varbind(vb) for vb in queued[trap("galeraStatusChange")]]
    assert status_change == [
        (2, scalar("galeraStatus"), STATUS[Status.STOPPED]),
        (4, scalar("galeraStatusReason"), b"mysqld is not running"),
        (4, scalar("galeraNodeName"), b"node1"),  # ...but the notification carries the last known
    ]
    size_change = [decode_varbind(vb) for vb in queued[trap("galeraClusterSizeChange")]]
    assert size_change[0] == (66, scalar("galeraClusterSize"), 3)  # last known size


def test_notification_object_never_known_is_sent_empty():
    publisher, snapshots, _ = make()
    snapshots.next = synced(node_name=None, cluster_size=None)
    publisher.refresh()
    snapshots.next = synced(node_name=None, cluster_size=None, status=Status.BLOCKED, reason="blocked")
    publisher.refresh()
    [(trap_oid, varbinds)] = drain(publisher)
    assert trap_oid == trap("galeraStatusChange")
    assert decode_varbind(varbinds[2]) == (4, scalar("galeraNodeName"), b"")


def test_a_full_notification_queue_drops_the_oldest_without_raising(caplog):
    """No master for a long time: what is sent when it is back must include how things are now."""
    publisher, snapshots, _ = make()
    snapshots.next = synced()
    publisher.refresh()
    publisher.notifications.extend([((0, i), []) for i in range(MAX_PENDING_NOTIFICATIONS)])
    snapshots.next = synced(status=Status.BLOCKED, reason="blocked")
    with caplog.at_level(logging.WARNING, logger="galera_snmp.agent"):
        ctx = publisher.refresh()
    assert len(publisher.notifications) == MAX_PENDING_NOTIFICATIONS
    assert publisher.notifications[0][0] == (0, 1)  # the oldest gave way
    assert publisher.notifications[-1][0] == trap("galeraStatusChange")
    assert "the oldest dropped" in caplog.text
    assert ctx.state.status is Status.BLOCKED
    assert served(publisher, "galeraStatus") == STATUS[Status.BLOCKED]


def test_tree_serves_no_such_instance_for_known_objects():
    publisher, snapshots, _ = make()
    snapshots.next = synced(node_name=None)
    publisher.refresh()
    assert BY_NAME["galeraNodeName"].oid in OBJECT_OIDS
    vtype, _, _ = decode_varbind(publisher.tree.get(scalar("galeraNodeName")))
    assert vtype == Syntax.NO_SUCH_INSTANCE


@pytest.mark.parametrize(
    ("state", "valid"),
    [
        (synced(), True),
        (synced(process=ProcessState.UNKNOWN), True),
        (
            NodeState(
                T0,
                Status.STOPPED,
                "mysqld is not running",
                process=ProcessState.ABSENT,
                mysql_failure=MysqlFailure.REFUSED,
            ),
            True,
        ),
        (hung(T0), False),
        (NodeState(T0, Status.UNKNOWN, "x", process=ProcessState.SUSPENDED, mysql_failure=MysqlFailure.TIMEOUT), False),
        (
            NodeState(T0, Status.NONPRIMARY, "x", process=ProcessState.RUNNING, mysql_failure=MysqlFailure.REFUSED),
            False,
        ),
        (NodeState(T0, Status.UNKNOWN, "x", process=ProcessState.UNKNOWN, mysql_failure=MysqlFailure.ERROR), False),
    ],
)
def test_is_valid(state, valid):
    assert is_valid(state) is valid


# --- the node set galera-init elects with ------------------------------------------------------


def with_init(tmp_path: Path, init: str, defaults_file: Path | None = None) -> Publisher:
    """A publisher of the configuration load_config reads with these [init] lines, refreshed once."""
    conf = tmp_path / "galera-snmp.conf"
    server = f"[server]\ndefaults_file = {defaults_file}\n" if defaults_file else ""
    conf.write_text(f"[mysql]\noption_file = client.cnf\n{server}[init]\n{init}")
    publisher = Publisher(Reporter(load_config(conf), synced, clock=Clock()))
    publisher.refresh()
    return publisher


def test_the_node_set_is_served_from_the_init_nodes_as_galera_init_computes_it(tmp_path):
    publisher = with_init(tmp_path, "nodes = 10.0.0.13, 10.0.0.11:4567, 10.0.0.12\n")
    assert served(publisher, "galeraNodeSetDigest") == b"c77f8cedecd9b486"
    assert served(publisher, "galeraNodeSet") == b"10.0.0.11,10.0.0.12,10.0.0.13"


def test_the_node_set_follows_wsrep_cluster_address_without_arbitrators_and_its_edits(tmp_path):
    mycnf = tmp_path / "my.cnf"
    mycnf.write_text("[galera]\nwsrep_cluster_address = gcomm://10.0.0.13,garbd.example,10.0.0.11\n")
    publisher = with_init(tmp_path, "arbitrators = garbd.example\n", defaults_file=mycnf)
    assert served(publisher, "galeraNodeSet") == b"10.0.0.11,10.0.0.13"
    mycnf.write_text("[galera]\nwsrep_cluster_address = gcomm://10.0.0.13,garbd.example,10.0.0.11,10.0.0.12\n")
    publisher.refresh()  # read again: no agent restart needed
    assert served(publisher, "galeraNodeSetDigest") == b"c77f8cedecd9b486"


def test_no_node_set_without_the_configuration_to_tell_it(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        publisher = with_init(tmp_path, "")
        publisher.refresh()
    assert (served(publisher, "galeraNodeSetDigest"), served(publisher, "galeraNodeSet")) == (None, None)
    assert served(publisher, "galeraStatus") == STATUS[Status.RUNNING]  # the rest is served all the same
    assert [r.getMessage() for r in caplog.records] == [  # once, not at every refresh
        f"galeraNodeSetDigest not served: {tmp_path / 'galera-snmp.conf'}: [init] nodes is empty and [server] "
        "defaults_file is not set"]


def test_a_stuck_refresh_makes_the_last_report_stale():
    """The refresh thread stuck (a hung /proc read, a snapshot that never returns): the last
    "healthy" must stop keeping traffic once the next refresh is overdue (one refresh interval
    beyond a snapshot's longest duration); a finished snapshot makes the data current again."""
    publisher, snapshots, clock = make()
    heard: list[NodeReport] = []
    publisher.listeners.append(heard.append)
    snapshots.next = synced(T0)
    publisher.refresh()
    limit = publisher.stale_after()
    assert limit == publisher.config.agent.refresh_interval + 2 * (
        publisher.config.mysql.connect_timeout + publisher.config.mysql.read_timeout
    )
    clock.now = T0 + limit
    assert publisher.check_stale() is None
    assert (served(publisher, "galeraDataValid"), served(publisher, "galeraDataAge")) == (1, int(limit))
    clock.now = T0 + limit + 1
    # every answer knows before the watch thread has run: no window where stale data looks current
    current = publisher.current()
    assert current is not None and (current.valid, current.age, current.verdict().healthy) == (False, int(limit + 1),
                                                                                                 False)
    assert (served(publisher, "galeraDataValid"), served(publisher, "galeraDataAge")) == (2, int(limit + 1))
    stale = publisher.check_stale()
    assert stale is not None and heard[-1] is not None
    assert (stale.valid, stale.age, stale.verdict().healthy) == (False, int(limit + 1), False)
    assert stale.last_error == f"no new snapshot for {limit + 1:.0f} s: the refresh is stuck"
    assert (heard[-1].valid, served(publisher, "galeraDataValid"), served(publisher, "galeraHealthy")) == (False, 2, 1)
    assert served(publisher, "galeraDataAge") == int(limit + 1)
    snapshots.next = synced(T0 + limit + 2)
    clock.now = T0 + limit + 2
    assert publisher.refresh().valid is True
    assert publisher.check_stale() is None


def test_the_age_is_counted_when_the_answer_is_made():
    """galeraDataAge, the HTTP check's data_age and the agent-check read the age of the last
    current snapshot at the moment they answer, not the 0 it had when it was published."""
    publisher, snapshots, clock = make()
    snapshots.next = synced(T0)
    published = publisher.refresh()
    assert published.age == 0 and publisher.current() is publisher.context  # nothing to count yet
    tree = publisher.served_tree()
    clock.now = T0 + 3.5
    assert (publisher.current().age, publisher.current().valid) == (3, True)
    assert served(publisher, "galeraDataAge") == 3 and publisher.context.age == 0
    assert publisher.served_tree() is publisher.served_tree() is not tree  # rendered once per second of age
    snapshots.next = synced(T0 + 4)
    clock.now = T0 + 4
    publisher.refresh()
    assert served(publisher, "galeraDataAge") == 0


def test_a_refresh_finishing_during_the_staleness_check_is_what_stays_served():
    """The stuck refresh comes back while the watch is marking its data stale: the fresh report
    must be the one served afterwards (else the track file flaps 0-1-0-1 as it recovers)."""
    publisher, snapshots, clock = make()
    snapshots.next = synced(T0)
    publisher.refresh()
    clock.now = T0 + publisher.stale_after() + 1
    snapshots.next = synced(T0 + 100)
    age = publisher.reporter.age
    racing: list[threading.Thread] = []

    def age_while_a_refresh_finishes() -> int:  # the check is under way: a refresh finishes now
        if not racing:
            racing.append(threading.Thread(target=publisher.refresh))
            racing[0].start()
            racing[0].join(0.2)  # it must wait for the check to publish first
        return age()

    publisher.reporter.age = age_while_a_refresh_finishes  # type: ignore[method-assign]
    assert publisher.check_stale() is not None
    racing[0].join(5)
    assert publisher.context is not None and publisher.context.valid is True
    assert served(publisher, "galeraDataValid") == 1


class Forecasts:
    """A peer watch whose rejoin forecast the test sets (the rest: no writer, no transfer source)."""

    def __init__(self) -> None:
        self.rejoin_now = Rejoin(RejoinMethod.IST, "10 write-sets from node2", "node2", 90)
        self.asked = 0

    def rejoin(self, mine: NodeReport) -> Rejoin:
        self.asked += 1
        return self.rejoin_now

    def writer(self, mine: NodeReport) -> None:
        return None

    def transfer_source(self) -> tuple[None, None, None]:
        return None, None, None


def test_a_forecast_redone_after_a_peer_round_is_served_without_a_new_snapshot():
    publisher, snapshots, _ = make()
    peers = Forecasts()
    publisher.peer_watch = peers  # type: ignore[assignment]
    snapshots.next = synced()
    publisher.refresh()
    assert served(publisher, "galeraRejoinMethod") == 1  # ist
    snapshots.next = RuntimeError("no snapshot may be taken")
    published = publisher.context
    publisher.forecast_again()  # the same forecast: nothing published again
    assert publisher.context is published
    peers.rejoin_now = Rejoin(RejoinMethod.SST, "seqno 9 is older than the caches safely hold (from 13)")
    publisher.forecast_again()
    assert served(publisher, "galeraRejoinMethod") == 2  # sst, from the last snapshot
    assert publisher.context is not None and publisher.context.state is published.state
