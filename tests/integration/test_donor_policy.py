"""The donor policy on real Donor states: a mariabackup SST donor, and wsrep_desync."""

from __future__ import annotations

import shutil
import time

import pytest
from support import http_get

from galera_snmp.config import load_config, read_option_file
from galera_snmp.dev.sandbox import ADMIN_GROUP, HTTP_PORT, Sandbox
from galera_snmp.node.probe import Probe, datadir_lock
from galera_snmp.state import DONOR, HealthPolicy, assess_health

pytestmark = pytest.mark.integration

DONORS_SERVE = HealthPolicy(donor_serves=True)
DONORS_DO_NOT_SERVE = HealthPolicy(donor_serves=False)


def test_a_real_mariabackup_donor_serves_only_when_donors_serve(cluster: Sandbox) -> None:
    donor, joiner = cluster.node(1), cluster.node(3)
    admin = read_option_file(donor.option_file, ADMIN_GROUP)
    # the SST user's credentials go to the donor at run time, never into a file
    donor.sql(f"SET GLOBAL wsrep_sst_auth = '{admin.user}:{admin.password}'")
    joiner.stop()
    # wiped under the lock our recovery takes, so the node's agent cannot recover it meanwhile;
    # without a mysql/ folder it leaves the empty datadir alone afterwards
    with datadir_lock(joiner.datadir):
        for item in list(joiner.datadir.iterdir()):
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item)
            else:
                item.unlink()
    joiner.start(extra_args=("--wsrep_sst_method=mariabackup", f"--wsrep_sst_donor={donor.name}"))
    seen = []
    try:
        deadline = time.monotonic() + 120
        with Probe(load_config(donor.config_path)) as probe:
            while True:
                assert time.monotonic() < deadline, f"SST did not finish: {joiner.error_tail()}"
                state = probe.snapshot()
                if state.local_state == DONOR:
                    status, _, body = http_get(donor.address, HTTP_PORT)
                    seen.append((state, (status, body)))
                elif seen or joiner.snapshot().local_state == 4:
                    break
    finally:
        donor.sql("SET GLOBAL wsrep_sst_auth = ''")
    cluster.wait_settled()
    assert seen, "never saw the donor in Donor state"
    for state, _ in seen:
        assert not state.desync, "a real SST donor, not wsrep_desync"
        assert assess_health(state, DONORS_DO_NOT_SERVE).healthy is False
        assert "donor" in assess_health(state, DONORS_DO_NOT_SERVE).reason
        assert assess_health(state, DONORS_SERVE).healthy is True
    # The agent (default policy: donors do not serve) follows within its refresh: once it says
    # 503 it keeps saying so while the node is a donor.
    answers = [answer for _, answer in seen]
    first = next((i for i, (status, _) in enumerate(answers) if status == 503), None)
    assert first is not None, f"the agent never answered 503 during {len(seen)} donor observations"
    assert all(status == 503 and "donor" in body for status, body in answers[first:]), answers[first:]


def test_wsrep_desync_is_its_own_switch(cluster: Sandbox) -> None:
    node = cluster.node(2)
    node.set_desync(True)
    try:
        state = node.snapshot()
    finally:
        node.set_desync(False)
    assert state.local_state == DONOR and state.desync
    assert assess_health(state, DONORS_SERVE).reason == "wsrep_desync is ON"
    assert assess_health(state, HealthPolicy(desync_serves=True)).healthy is True
    assert assess_health(state, HealthPolicy()).healthy is False
