"""galera_snmp/eviction.py: the crash notice and the rule that decides on it. Nothing that is not
a fresh, sealed notice from the dead member's own node about a member of this node's view evicts."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import free_udp_port, node_report, stopped_node_config

from galera_snmp.config import ConfigError, load_config
from galera_snmp.eviction import (
    FRESH,
    MAX_DATAGRAM,
    Evictor,
    Notice,
    NoticeError,
    Seen,
    forgettable,
    judge,
    load_key,
    new_notice,
    notice_socket,
    own_member,
    seal,
    unseal,
)
from galera_snmp.state import Health, Member, NodeReport, Status
from galera_snmp.wsrep import Kind, WsrepValue

KEY = bytes(range(32))
DEAD = "32afe379-f152-11f1-8bad-8206cf6f7b1b"
OTHER = "4c3e1525-f144-11f1-9410-230d22bbdc04"
NODES = ("10.0.0.11", "10.0.0.12", "10.0.0.13")
VIEW = (Member(DEAD, "node1", "10.0.0.11:3306", "c"), Member(OTHER, "node2", "10.0.0.12:3306", "c"))
NOW = 1_700_000_000.0


def notice(**changes: object) -> Notice:
    fields = {"sender": "10.0.0.11", "member": DEAD, "at": NOW, "nonce": "ab" * 16, **changes}
    return Notice(**fields)  # type: ignore[arg-type]


def verdict(n: Notice | None = None, source: str = "10.0.0.11", now: float = NOW, **changes: object) -> str | None:
    context = {"me": "10.0.0.12", "nodes": NODES, "members": VIEW, "primary": True, "evicted": set(), **changes}
    return judge(n or notice(), source, now, **context)  # type: ignore[arg-type]


def test_a_sealed_notice_reads_back_as_sent():
    sent = new_notice("10.0.0.11", DEAD.upper(), NOW)
    assert unseal(seal(sent, KEY), KEY) == sent and sent.member == DEAD
    assert len(seal(sent, KEY)) < MAX_DATAGRAM


@pytest.mark.parametrize(("how", "error"), [
    (lambda data: data[:-1] + bytes([data[-1] ^ 1]), "not sealed with the cluster's key"),
    (lambda data: data.replace(b"10.0.0.11", b"10.0.0.13"), "not sealed with the cluster's key"),  # re-addressed
    (lambda data: data + b"x" * MAX_DATAGRAM, "not a crash notice"),
    (lambda data: b"GSEV2" + data[5:], "not a crash notice"),
    (lambda data: b"", "not a crash notice"),
])
def test_anything_but_a_whole_notice_sealed_with_the_key_is_refused(how, error):
    with pytest.raises(NoticeError, match=error):
        unseal(how(seal(notice(), KEY)), KEY)
    with pytest.raises(NoticeError, match="not sealed with the cluster's key"):
        unseal(seal(notice(), bytes(32)), KEY)  # another cluster's key


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=MAX_DATAGRAM + 8))
def test_no_forged_datagram_unseals(data):
    with pytest.raises(NoticeError):
        unseal(data, KEY)


def test_a_notice_about_a_member_of_this_view_from_its_own_node_evicts():
    assert verdict() is None


@pytest.mark.parametrize(("n", "source", "now", "changes", "why"), [
    (notice(sender="10.0.0.99"), "10.0.0.99", NOW, {}, "is not another node of this cluster"),
    (notice(sender="10.0.0.12"), "10.0.0.12", NOW, {}, "is not another node of this cluster"),  # about itself
    (notice(), "10.0.0.13", NOW, {}, "came from 10.0.0.13"),  # another node speaking for it
    (notice(), "10.0.0.11", NOW + FRESH + 1, {}, "stale"),
    (notice(), "10.0.0.11", NOW - FRESH - 1, {}, "stale"),  # from the future
    (notice(), "10.0.0.11", NOW, {"evicted": {DEAD}}, "evicted already"),
    (notice(), "10.0.0.11", NOW, {"primary": False}, "not in a Primary component"),
    (notice(), "10.0.0.11", NOW, {"members": None}, "view is not known"),
    (notice(member="11111111-0000-0000-0000-000000000000"), "10.0.0.11", NOW, {}, "restarted under a new identity"),
    (notice(member=OTHER), "10.0.0.11", NOW, {}, "is 10.0.0.12:3306 in this node's view, not 10.0.0.11"),
])
def test_every_doubt_means_no_eviction(n, source, now, changes, why):
    said = verdict(n, source, now, **changes)
    assert said is not None and why in said, said


def test_a_replayed_notice_is_refused_and_old_nonces_are_forgotten():
    seen = Seen(limit=3)
    assert seen.add("a", NOW) and not seen.add("a", NOW + 1)
    assert seen.add("b", NOW) and seen.add("c", NOW)
    assert seen.add("d", NOW)  # the oldest gives way at the limit
    assert seen.add("a", NOW + 2 * FRESH + 1)  # long forgotten: judge() refuses it as stale anyway


def test_the_key_is_a_private_hex_file(tmp_path: Path):
    path = tmp_path / "evict.key"
    path.write_text(KEY.hex() + "\n")
    path.chmod(0o600)
    assert load_key(path) == KEY
    path.write_text("not hex\n")
    with pytest.raises(ConfigError, match="not hexadecimal"):
        load_key(path)
    path.write_text("ab" * 8)
    with pytest.raises(ConfigError, match="8 octets, at least 32"):
        load_key(path)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="accessible by others"):
        load_key(path)


def test_the_own_member_is_the_last_reports_gcomm_uuid():
    def report(raw: str | None) -> NodeReport:
        wsrep = {} if raw is None else {"wsrep_gcomm_uuid": WsrepValue(Kind.TEXT, raw, raw)}
        return node_report(wsrep=MappingProxyType(wsrep), health=Health(True, "ok"))

    assert own_member(report(DEAD.upper())) == DEAD
    assert own_member(report(None)) is None and own_member(None) is None
    assert own_member(report("garbage")) is None
    assert own_member(report("00000000-0000-0000-0000-000000000000")) is None



def test_the_evict_list_is_cleared_only_of_our_evictions_once_a_primary_view_holds_none_of_them():
    def report(listed: str | None, members: object = VIEW[1:], valid: bool = True, **changes: object) -> NodeReport:
        wsrep = {} if listed is None else {"wsrep_evs_evict_list": WsrepValue(Kind.TEXT, listed, listed)}
        return node_report(members=members, wsrep=MappingProxyType(wsrep), valid=valid, health=Health(True, "ok"),
                           last_error="", **changes)

    gone = "a87b873e-f167-11f1-a396-6eb090fb006b"
    ours = {DEAD, gone}
    assert forgettable(report(f"{DEAD.upper()}, {gone}"), ours) == {DEAD, gone}
    assert forgettable(report(f"{DEAD},{gone}"), {DEAD}) == set()  # an operator's or Galera's own: never undone
    assert forgettable(report(DEAD, members=VIEW), ours) == set()  # the view still holds it: still forming
    assert forgettable(report(gone, members=(Member(DEAD.upper(), "node1", "10.0.0.11:3306", "c"),)), ours) == {gone}
    assert forgettable(report(f"{gone},{DEAD}", members=(Member(DEAD.upper(), "n", "a", "c"),)), ours) == set()
    assert forgettable(report(""), ours) == set() and forgettable(report(None), ours) == set()
    assert forgettable(report(DEAD, members=None), ours) == set()  # no view known
    assert forgettable(report(DEAD, valid=False), ours) == set()
    assert forgettable(report(DEAD, status=Status.STOPPED), ours) == set()
    assert forgettable(None, ours) == set()


@pytest.mark.parametrize("absent, present", [("192.0.2.77", "127.0.0.1"), ("2001:db8::77", "::1")])
def test_the_notice_socket_binds_an_address_the_network_has_not_configured_yet(absent, present):
    """At boot the agent may start before its address is up: the bind must not fail then (a real
    socket; a TEST-NET address is on no interface of any host), and a configured address serves."""
    notice_socket(absent, 0).close()
    with notice_socket(present, 0) as listener, notice_socket(present, 0) as sender:
        listener.settimeout(5)
        sender.sendto(b"notice", listener.getsockname()[:2])
        data, source = listener.recvfrom(64)
    assert data == b"notice" and source[0] == present


def test_an_unforeseen_error_does_not_end_the_evictions(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """The crash-notice thread on real sockets: the first look at this node's report raises (a bug
    the code did not foresee); the thread logs it and goes on to judge the next notice, whose
    eviction then fails as it must here (no server), said and survived too."""
    key = tmp_path / "evict.key"
    key.write_text(KEY.hex())
    key.chmod(0o600)
    port = free_udp_port()
    config = load_config(stopped_node_config(tmp_path, f"[init]\nnodes = 127.0.0.1, 127.0.0.2\naddress = 127.0.0.1\n"
                                                       f"[cluster]\nevict_key = {key}\nevict_port = {port}\n"))
    report = node_report(members=(Member(DEAD, "node2", "127.0.0.2:3306", "c"),))
    looks = []

    def current() -> NodeReport:
        looks.append(1)
        if len(looks) == 1:
            raise RuntimeError("unforeseen")
        return report

    evictor, stop = Evictor(config, current, lambda text: None), threading.Event()
    thread = threading.Thread(target=evictor.serve, args=(stop,), daemon=True)
    caplog.set_level(logging.INFO, "galera_snmp.eviction")
    thread.start()
    try:
        with notice_socket("127.0.0.2", 0) as sender:
            sender.sendto(seal(new_notice("127.0.0.2", DEAD, time.time()), KEY), ("127.0.0.1", port))
            deadline = time.monotonic() + 30
            while "evicting" not in caplog.text:
                assert thread.is_alive() and time.monotonic() < deadline, caplog.text
                time.sleep(0.05)
    finally:
        stop.set()
        thread.join(5)
        evictor.close()
    assert "unexpected RuntimeError: unforeseen" in caplog.text and "Traceback" in caplog.text
    assert f"exited, but evicting {DEAD} failed" in caplog.text
