"""The probe explains a failed MySQL read with the process state seen *after* it."""

from pathlib import Path

import pytest
from support import stopped_node_config

from galera_snmp import probe as probe_module
from galera_snmp.config import load_config
from galera_snmp.probe import MysqlReading, Probe
from galera_snmp.process import ProcessInfo
from galera_snmp.state import MysqlFailure, ProcessState, Status


@pytest.mark.parametrize(
    ("during_read", "failure", "expected"),
    [
        (ProcessState.SUSPENDED, MysqlFailure.TIMEOUT, Status.UNKNOWN),  # SIGSTOP arrived meanwhile
        (ProcessState.ABSENT, MysqlFailure.REFUSED, Status.STOPPED),  # it died meanwhile
    ],
)
def test_process_change_during_the_read_is_what_the_snapshot_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, during_read: ProcessState, failure: MysqlFailure, expected: Status
) -> None:
    process = {"now": ProcessInfo(ProcessState.RUNNING, 4242)}
    monkeypatch.setattr(probe_module, "find_mysqld", lambda datadir: process["now"])

    def read() -> MysqlReading:
        process["now"] = ProcessInfo(during_read, None if during_read is ProcessState.ABSENT else 4242)
        return MysqlReading(failure=failure, error="simulated")

    with Probe(load_config(stopped_node_config(tmp_path))) as probe:
        monkeypatch.setattr(probe._mysql, "read", read)
        state = probe.snapshot()
    assert state.process is during_read
    assert state.status is expected
