"""derive_status, the health rule and NodeState serialisation."""

import json
import re
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from support import health_cases, synced_state, wsrep_values

from galera_snmp.state import (
    SEQNO_MAX,
    ZERO_UUID,
    HealthCode,
    HealthPolicy,
    MysqlFailure,
    NodeState,
    Position,
    ProcessState,
    SeqnoSource,
    Status,
    assess_health,
    derive_status,
)
from galera_snmp.wsrep import classify

UUID = "cf45eb64-e601-11f1-9293-5ec05f0f5611"


def derive(
    *,
    process=ProcessState.RUNNING,
    pid=4332,
    failure=None,
    error=None,
    cluster_status="Primary",
    local_state=4,
    local_state_comment="Synced",
    sst_in_progress=None,
):
    return derive_status(
        process=process,
        pid=pid,
        failure=failure,
        error=error,
        cluster_status=cluster_status,
        local_state=local_state,
        local_state_comment=local_state_comment,
        sst_in_progress=sst_in_progress,
    )


# --- derive_status ---------------------------------------------------------------------------

_NO_ANSWER = {"cluster_status": None, "local_state": None, "local_state_comment": None}


@pytest.mark.parametrize(
    ("kwargs", "status", "words"),
    [
        pytest.param({}, Status.RUNNING, ["Primary", "4", "Synced"], id="primary-synced"),
        pytest.param({"local_state": 2, "local_state_comment": "Donor/Desynced"}, Status.RUNNING,
                     ["Primary", "2", "Donor/Desynced"], id="primary-donor"),
        pytest.param({"local_state": 3, "local_state_comment": "Joined"}, Status.JOINING,
                     ["Primary", "3", "Joined"], id="primary-joined"),
        pytest.param({"local_state": 1, "local_state_comment": "Joining"}, Status.JOINING,
                     ["Primary", "1", "Joining"], id="primary-joining"),
        pytest.param({"local_state": 1, "local_state_comment": None}, Status.JOINING, ["local state 1"],
                     id="primary-joining-no-comment"),
        pytest.param({"local_state": None}, Status.UNKNOWN, ["wsrep_local_state"], id="primary-no-local-state"),
        pytest.param({"cluster_status": "non-Primary", "local_state": 0}, Status.NONPRIMARY, ["non-Primary"],
                     id="non-primary"),
        pytest.param({"cluster_status": "Disconnected", "local_state": 0}, Status.NONPRIMARY, ["Disconnected"],
                     id="disconnected"),
        pytest.param({"cluster_status": None}, Status.UNKNOWN, ["wsrep_cluster_status"], id="answered-no-wsrep"),
        pytest.param({**_NO_ANSWER, "process": ProcessState.ABSENT, "pid": None,
                      "failure": MysqlFailure.REFUSED, "error": "Can't connect"},
                     Status.STOPPED, ["not running"], id="stopped"),
        pytest.param({**_NO_ANSWER, "process": ProcessState.ABSENT, "pid": None,
                      "failure": MysqlFailure.TIMEOUT, "error": "timed out"},
                     Status.STOPPED, ["not running"], id="absent-timeout-is-stopped"),
        pytest.param({**_NO_ANSWER, "process": ProcessState.SUSPENDED,
                      "failure": MysqlFailure.TIMEOUT, "error": "timed out"},
                     Status.UNKNOWN, ["suspended", "4332", "timed out"], id="suspended"),
        pytest.param({**_NO_ANSWER, "process": ProcessState.UNKNOWN, "pid": None,
                      "failure": MysqlFailure.REFUSED, "error": "Can't connect"},
                     Status.UNKNOWN, ["cannot tell", "Can't connect"], id="process-unknown"),
        pytest.param({**_NO_ANSWER, "failure": MysqlFailure.REFUSED, "error": "Can't connect",
                      "sst_in_progress": True},
                     Status.JOINING, ["state transfer", "4332"], id="refused-sst"),
        pytest.param({**_NO_ANSWER, "failure": MysqlFailure.REFUSED, "error": "Can't connect",
                      "sst_in_progress": False},
                     Status.NONPRIMARY, ["refuses connections", "4332"], id="refused"),
        pytest.param({**_NO_ANSWER, "failure": MysqlFailure.REFUSED, "error": "Can't connect",
                      "sst_in_progress": None},
                     Status.NONPRIMARY, ["refuses connections"], id="refused-sst-unknown"),
        pytest.param({**_NO_ANSWER, "failure": MysqlFailure.TIMEOUT, "error": "read timed out"},
                     Status.UNKNOWN, ["does not answer", "read timed out"], id="timeout"),
        pytest.param({**_NO_ANSWER, "failure": MysqlFailure.ACCESS_DENIED,
                      "error": "Access denied for user 'monitor'@'localhost'"},
                     Status.UNKNOWN, ["cannot be read", "Access denied"], id="access-denied"),
        pytest.param({**_NO_ANSWER, "failure": MysqlFailure.ERROR, "error": "Too many connections"},
                     Status.UNKNOWN, ["cannot be read", "Too many connections"], id="other-error"),
    ],
)
def test_derive_status(kwargs, status, words):
    got_status, reason = derive(**kwargs)
    assert got_status is status
    for word in words:
        assert word in reason


def test_derive_status_without_pid_does_not_invent_one():
    _, reason = derive(**_NO_ANSWER, pid=None, failure=MysqlFailure.TIMEOUT, error="timed out")
    assert "pid" not in reason
    assert reason.startswith("mysqld ")


# --- assess_health ---------------------------------------------------------------------------


def node(**overrides):
    return synced_state(**{"taken_at": 1763767111.5, "position": Position(UUID, 15, SeqnoSource.LIVE), **overrides})


DONOR = {"local_state": 2, "local_state_comment": "Donor/Desynced"}
DEFAULT = HealthPolicy()
DONORS_SERVE = HealthPolicy(donor_serves=True)
DESYNC_SERVES = HealthPolicy(desync_serves=True)
STOPPED = {
    "status": Status.STOPPED,
    "reason": "mysqld is not running",
    "process": ProcessState.ABSENT,
    "pid": None,
    "mysql_failure": MysqlFailure.REFUSED,
    "local_state": None,
    "local_state_comment": None,
    "cluster_status": None,
    "ready": None,
    "desync": None,
    "reject_queries": None,
}


@pytest.mark.parametrize(
    ("overrides", "policy", "healthy", "words"),
    [
        pytest.param({}, DEFAULT, True, ["Synced", "Primary", "ready"], id="synced"),
        pytest.param({"reject_queries": "none"}, DEFAULT, True, [], id="reject-none-lowercase"),
        pytest.param({"desync": None}, DEFAULT, True, [], id="desync-unreported"),
        pytest.param({**DONOR, "desync": True}, DEFAULT, False, ["wsrep_desync"], id="desync-on"),
        pytest.param({**DONOR, "desync": True}, DONORS_SERVE, False, ["wsrep_desync"], id="desync-on-donors-serve"),
        pytest.param({**DONOR, "desync": True}, DESYNC_SERVES, True, [], id="desync-on-desync-serves"),
        pytest.param({"desync": True}, DEFAULT, False, ["wsrep_desync"], id="desync-on-still-synced"),
        pytest.param({**DONOR, "desync": False}, DEFAULT, False, ["donor", "Donor/Desynced"], id="donor"),
        pytest.param({**DONOR, "desync": False}, DESYNC_SERVES, False, ["donor"], id="donor-desync-serves"),
        pytest.param({**DONOR, "desync": False}, DONORS_SERVE, True, [], id="donor-donors-serve"),
        pytest.param({"cluster_status": "non-Primary", "local_state": 0, "local_state_comment": "Initialized"},
                     DEFAULT, False, ["non-Primary"], id="non-primary"),
        pytest.param({"ready": False}, DEFAULT, False, ["wsrep_ready"], id="not-ready"),
        pytest.param({"local_state": 3, "local_state_comment": "Joined"}, DEFAULT, False, ["Joined"], id="joined"),
        pytest.param({"local_state": 1, "local_state_comment": "Joining"}, DONORS_SERVE, False, ["Joining"],
                     id="joining"),
        pytest.param({"reject_queries": "ALL"}, DEFAULT, False, ["wsrep_reject_queries", "ALL"], id="reject-all"),
        pytest.param({"reject_queries": "ALL_KILL"}, DEFAULT, False, ["ALL_KILL"], id="reject-all-kill"),
        pytest.param({"drained": True}, DEFAULT, False, ["drained"], id="drained"),
        pytest.param({"drained": True}, HealthPolicy(True, True), False, ["drained"], id="drained-any-policy"),
        pytest.param(STOPPED, DEFAULT, False, ["not running"], id="stopped"),
        pytest.param({**STOPPED, "status": Status.UNKNOWN, "reason": "mysqld (pid 4332) runs but cannot be read",
                      "process": ProcessState.RUNNING, "pid": 4332, "mysql_failure": MysqlFailure.ACCESS_DENIED},
                     DEFAULT, None, ["cannot be read"], id="access-denied"),
        pytest.param({**STOPPED, "status": Status.UNKNOWN, "reason": "mysqld (pid 4332) runs but cannot be read",
                      "process": ProcessState.RUNNING, "pid": 4332, "mysql_failure": MysqlFailure.ERROR},
                     DEFAULT, None, ["cannot be read"], id="other-error"),
        pytest.param({**STOPPED, "status": Status.UNKNOWN, "reason": "mysqld (pid 4332) does not answer",
                      "process": ProcessState.RUNNING, "pid": 4332, "mysql_failure": MysqlFailure.TIMEOUT},
                     DEFAULT, False, ["does not answer"], id="timeout"),
        pytest.param({**STOPPED, "status": Status.NONPRIMARY, "reason": "refuses connections",
                      "process": ProcessState.RUNNING, "pid": 4332},
                     DEFAULT, False, ["refuses"], id="refused"),
        pytest.param({"cluster_status": None}, DEFAULT, None, ["incomplete"], id="no-cluster-status"),
        pytest.param({"ready": None}, DEFAULT, None, ["incomplete"], id="no-ready"),
        pytest.param({"local_state": None}, DEFAULT, None, ["incomplete"], id="no-local-state"),
        pytest.param({"reject_queries": None}, DEFAULT, None, ["wsrep_reject_queries"], id="no-reject-queries"),
    ],
)
def test_assess_health(overrides, policy, healthy, words):
    health = assess_health(node(**overrides), policy)
    assert health.healthy is healthy
    assert health.reason
    for word in words:
        assert word in health.reason


# --- property tests --------------------------------------------------------------------------

_cluster_status = st.one_of(st.sampled_from(["Primary", "non-Primary", "Disconnected", "primary"]), st.none())
_reject = st.one_of(
    st.sampled_from(["NONE", "none", "None", "ALL", "ALL_KILL", "", " NONE"]), st.none(), st.text(max_size=8)
)
_local_state = st.one_of(st.integers(min_value=0, max_value=5), st.none(), st.integers())
_opt_bool = st.one_of(st.booleans(), st.none())

node_states = st.builds(
    NodeState,
    taken_at=st.floats(min_value=0, max_value=2**40, allow_nan=False),
    status=st.sampled_from(Status),
    reason=st.text(min_size=1, max_size=40),
    process=st.sampled_from(ProcessState),
    mysql_failure=st.one_of(st.none(), st.sampled_from(MysqlFailure)),
    local_state=_local_state,
    local_state_comment=st.one_of(st.none(), st.sampled_from(["Synced", "Donor/Desynced", "Joined", "Joining"])),
    cluster_status=_cluster_status,
    ready=_opt_bool,
    desync=_opt_bool,
    reject_queries=_reject,
    drained=st.booleans(),
)
policies = st.builds(HealthPolicy, donor_serves=st.booleans(), desync_serves=st.booleans())


def fit_for_traffic(state, policy):
    """The health rule of PRODUCT.md, written independently of the code under test."""
    state_ok = state.local_state == 4 or (
        state.local_state == 2 and (policy.donor_serves or (state.desync is True and policy.desync_serves))
    )
    return (
        state.mysql_failure is None
        and state.cluster_status == "Primary"
        and state.ready is True
        and state_ok
        and state.reject_queries is not None
        and state.reject_queries.casefold() == "none"
        and not state.drained
        and (state.desync is not True or policy.desync_serves)
    )


@settings(max_examples=200)
@given(node_states, policies)
def test_healthy_only_when_the_rule_holds(state, policy):
    health = assess_health(state, policy)
    if health.healthy is True:
        assert state.answered
        assert state.cluster_status == "Primary"
        assert state.ready is True
        assert state.local_state == 4 or (
            state.local_state == 2 and (policy.donor_serves or (state.desync and policy.desync_serves))
        )
        assert state.reject_queries.casefold() == "none"
        assert not state.drained
        assert state.desync is not True or policy.desync_serves
    assert (health.healthy is True) == fit_for_traffic(state, policy)


def cannot_tell(state, policy):
    """When the health rule of the README gives "cannot tell" (exit 3), written independently of
    the code under test. The rule's checks are taken in order, the first that decides wins:
    mysqld not answering decides (cannot tell only when it refused to be read — access denied or
    another error — and may still run); then incomplete wsrep status (cannot tell); then every
    "not healthy" fact (cluster status, ready, desync, donor, local state); then a missing
    wsrep_reject_queries (cannot tell); nothing after it can give "cannot tell"."""
    if state.mysql_failure is not None:
        return state.mysql_failure in (MysqlFailure.ACCESS_DENIED, MysqlFailure.ERROR) and (
            state.process is not ProcessState.ABSENT
        )
    if state.cluster_status is None or state.ready is None or state.local_state is None:
        return True
    desync = state.desync is True
    passes_before_reject_queries = (
        state.cluster_status == "Primary"
        and state.ready is True
        and (not desync or policy.desync_serves)
        and (
            state.local_state == 4
            or (state.local_state == 2 and (policy.donor_serves or (desync and policy.desync_serves)))
        )
    )
    return passes_before_reject_queries and state.reject_queries is None


@settings(max_examples=200)
@given(node_states, policies)
# the edges of the order, which random states rarely reach: reject_queries unknown decides only
# after every other check passed, and before drained
@example(node(reject_queries=None), DEFAULT)
@example(node(reject_queries=None, drained=True), DEFAULT)
@example(node(reject_queries=None, **DONOR), DEFAULT)
@example(node(reject_queries=None, **DONOR), DONORS_SERVE)
@example(node(reject_queries=None, desync=True), DEFAULT)
def test_assess_health_never_raises_and_explains(state, policy):
    health = assess_health(state, policy)
    assert (health.healthy is None) == cannot_tell(state, policy)
    assert health.reason.strip()


@settings(max_examples=200)
@given(node_states, policies)
def test_unhealthy_fact_outweighs_policy(state, policy):
    # A node that is not answering, not Primary, not ready or drained is never made healthy by
    # a more permissive policy.
    if not state.answered or state.cluster_status not in ("Primary", None) or state.ready is False or state.drained:
        assert assess_health(state, HealthPolicy(donor_serves=True, desync_serves=True)).healthy is not True
    # A more permissive policy never turns a healthy node unhealthy.
    if assess_health(state, policy).healthy is True:
        assert assess_health(state, HealthPolicy(donor_serves=True, desync_serves=True)).healthy is True


# --- the verdict's code ----------------------------------------------------------------------

HEALTHY_CODES = {HealthCode.SYNCED, HealthCode.DONOR_SERVING}
CANNOT_TELL_CODES = {HealthCode.MYSQLD_UNREADABLE, HealthCode.WSREP_INCOMPLETE, HealthCode.REJECT_QUERIES_UNKNOWN}
NOT_RULE_STEPS = {HealthCode.NO_CURRENT_DATA, HealthCode.UNCLASSIFIED, HealthCode.WRITER, HealthCode.NOT_WRITER}


def test_every_step_of_the_rule_has_a_case():
    assert list(health_cases()) == [code for code in HealthCode if code not in NOT_RULE_STEPS]


@pytest.mark.parametrize("code", health_cases())
def test_each_step_of_the_rule_gives_its_code(code):
    state, policy = health_cases()[code]
    assert assess_health(state, policy).code is code


@settings(max_examples=200)
@given(node_states, policies)
def test_the_code_says_what_the_verdict_says(state, policy):
    health = assess_health(state, policy)
    assert health.code not in NOT_RULE_STEPS
    assert (health.healthy is True) == (health.code in HEALTHY_CODES)
    assert (health.healthy is None) == (health.code in CANNOT_TELL_CODES)


def test_the_readme_names_every_code_in_the_rules_order():
    """README's "Health rule" is the rule for operators: it must not drift from the code again."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("\n## Health rule\n", 1)[1].split("\n## ", 1)[0]
    codes = {code.value for code in HealthCode}
    named = [word for word in re.findall(r"`([^`]+)`", section) if word in codes]
    assert named == [code.value for code in HealthCode]


# --- NodeState.to_dict -----------------------------------------------------------------------


def test_to_dict_is_json_with_enum_words():
    wsrep = MappingProxyType(
        {
            "wsrep_local_state": classify("wsrep_local_state", "4"),
            "wsrep_flow_control_paused": classify("wsrep_flow_control_paused", "1.42823e-05"),
            "wsrep_replicated": classify("wsrep_replicated", "garbage"),
            "wsrep_cluster_status": classify("wsrep_cluster_status", "Primary"),
        }
    )
    state = node(mysql_failure=MysqlFailure.ACCESS_DENIED, notes=("a", "b"), wsrep=wsrep)
    data = state.to_dict()
    text = json.dumps(data, allow_nan=False)
    back = json.loads(text)
    assert back["status"] == "running"
    assert back["seqno_source"] == "live"
    assert back["process"] == "running"
    assert back["mysql_failure"] == "access-denied"
    for key in ("status", "seqno_source", "process", "mysql_failure"):
        assert type(data[key]) is str
    assert back["notes"] == ["a", "b"]
    assert back["seqno"] == 15
    assert back["wsrep"]["wsrep_local_state"] == {"kind": "gauge", "value": 4, "raw": "4"}
    assert back["wsrep"]["wsrep_flow_control_paused"] == {"kind": "float", "value": 1.42823e-05, "raw": "1.42823e-05"}
    assert back["wsrep"]["wsrep_replicated"] == {"kind": "counter", "value": None, "raw": "garbage"}
    assert back["wsrep"]["wsrep_cluster_status"]["kind"] == "text"
    assert set(back) >= {"taken_at", "reason", "state_uuid", "safe_to_bootstrap", "drained", "desync"}


def test_to_dict_of_defaults():
    state = NodeState(taken_at=0.0, status=Status.UNKNOWN, reason="nothing known")
    data = json.loads(json.dumps(state.to_dict(), allow_nan=False))
    assert data["status"] == "unknown"
    assert data["seqno"] == -1
    assert data["seqno_source"] == "unknown"
    assert data["process"] == "unknown"
    assert data["mysql_failure"] is None
    assert data["wsrep"] == {}
    assert data["notes"] == []


# The JSON keys galera-check --json has always printed: the position stays flat in them.
JSON_KEYS = {
    "taken_at", "status", "reason", "seqno", "seqno_source", "state_uuid", "safe_to_bootstrap", "gvwstate_present",
    "sst_in_progress", "process", "pid", "mysql_failure", "local_state", "local_state_comment", "cluster_status",
    "cluster_size", "cluster_state_uuid", "cluster_conf_id", "ready", "connected", "desync", "reject_queries",
    "node_name", "cluster_name", "drained", "read_only", "maint_mode", "donor_rejects_queries", "gcache_size",
    "left_history", "seen_position",
    "promotion", "notes", "members", "wsrep",
}


def test_to_dict_keeps_the_position_flat():
    state = node(position=Position(UUID, 15, SeqnoSource.GRASTATE, True))
    data = json.loads(json.dumps(state.to_dict(), allow_nan=False))
    assert set(data) == JSON_KEYS
    assert (data["seqno"], data["seqno_source"], data["state_uuid"], data["safe_to_bootstrap"]) == (
        15, "grastate", UUID, True)
    assert (state.position.seqno, state.position.source, state.position.uuid) == (15, SeqnoSource.GRASTATE, UUID)


# --- Position.is_known: the one "known position" rule ------------------------------------------


@pytest.mark.parametrize(
    ("uuid", "seqno", "known"),
    [
        (UUID, 0, True),
        (UUID, SEQNO_MAX, True),
        (UUID.upper(), 7, True),  # Galera writes lower case; either is a UUID
        (UUID, -1, False),  # Galera's "no seqno"
        (UUID, SEQNO_MAX + 1, False),
        (ZERO_UUID, 7, False),  # Galera's "no history"
        (None, 7, False),
        ("", 7, False),
        (UUID[:-1], 7, False),
        (UUID + "0", 7, False),
        (UUID + "\n", 7, False),
        (UUID.replace("-", "_"), 7, False),
        ("g" + UUID[1:], 7, False),
    ],
)
def test_position_is_known(uuid, seqno, known):
    for source in SeqnoSource:  # where it came from does not make it more or less real
        for safe in (True, False, None):
            assert Position(uuid, seqno, source, safe).is_known is known


def spec_known(uuid: str | None, seqno: int) -> bool:
    """The rule written out by hand: 8-4-4-4-12 hex digits, not all zero, a seqno 0 .. 2^63-1."""
    if uuid is None or len(uuid) != 36 or [i for i, c in enumerate(uuid) if c == "-"] != [8, 13, 18, 23]:
        return False
    digits = uuid.replace("-", "")
    return all(c in "0123456789abcdefABCDEF" for c in digits) and set(digits) != {"0"} and 0 <= seqno < 2**63


_uuids = st.one_of(
    st.none(),
    st.sampled_from([UUID, UUID.upper(), ZERO_UUID]),
    st.uuids().map(str),
    st.text(alphabet="0123456789abcdefABCDEFG-", min_size=30, max_size=40),
    st.text(max_size=40),
)


@settings(max_examples=300)
@given(_uuids, st.integers(min_value=-(2**64), max_value=2**64))
def test_position_is_known_follows_the_written_rule(uuid, seqno):
    assert Position(uuid, seqno).is_known is spec_known(uuid, seqno)


_wsrep_maps = st.dictionaries(
    st.text(max_size=20), st.builds(classify, st.text(max_size=20), st.text(max_size=20)), max_size=5
).map(MappingProxyType)


@settings(max_examples=100)
@given(node_states, _wsrep_maps, st.lists(st.text(max_size=10), max_size=3).map(tuple))
def test_to_dict_always_serialises(state, wsrep, notes):
    state = NodeState(**{**state.__dict__, "wsrep": wsrep, "notes": notes})
    data = json.loads(json.dumps(state.to_dict(), allow_nan=False))
    assert data["status"] == state.status.value
    assert data["process"] == state.process.value
    assert data["mysql_failure"] == (state.mysql_failure.value if state.mysql_failure else None)
    assert data["notes"] == list(notes)
    assert set(data["wsrep"]) == set(wsrep)


@pytest.mark.parametrize(("status", "cluster_status", "in_primary"), [
    (Status.RUNNING, "Primary", True),
    (Status.JOINING, "Primary", True),  # a joiner its mysqld puts in a Primary component
    (Status.JOINING, None, False),  # a leftover sst_in_progress on a server refusing connections
    (Status.JOINING, "non-Primary", False),
    (Status.NONPRIMARY, "non-Primary", False),
    (Status.STOPPED, None, False),
    (Status.BOOTSTRAPPING, None, False),
])
def test_in_a_primary_component_is_one_rule(status, cluster_status, in_primary):
    assert synced_state(status=status, cluster_status=cluster_status).in_primary is in_primary


def test_synced_is_running_in_a_primary_component_with_local_state_4():
    assert synced_state().synced
    assert not synced_state(local_state=2, local_state_comment="Donor/Desynced").synced
    assert not synced_state(status=Status.JOINING).synced
    assert not synced_state(cluster_status="non-Primary", status=Status.NONPRIMARY).synced


def test_wsrep_numbers_are_read_in_one_place():
    state = synced_state(wsrep=wsrep_values(wsrep_local_recv_queue="3", wsrep_flow_control_paused="0.25",
                                            wsrep_provider_name="Galera"))
    assert state.wsrep_int("wsrep_local_recv_queue") == state.wsrep_number("wsrep_local_recv_queue") == 3
    assert state.wsrep_number("wsrep_flow_control_paused") == 0.25
    assert state.wsrep_int("wsrep_flow_control_paused") is None
    assert state.wsrep_number("wsrep_provider_name") is None and state.wsrep_int("wsrep_provider_name") is None
    assert state.wsrep_number("wsrep_local_send_queue") is None and state.wsrep_int("wsrep_local_send_queue") is None
