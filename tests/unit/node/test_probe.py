"""How the probe reads the local server: the order of its observations, and what it loads."""

import subprocess
import sys
from pathlib import Path

import pytest
from support import free_tcp_port, stopped_node_config

from galera_snmp.config import load_config
from galera_snmp.node import probe as probe_module
from galera_snmp.node.probe import MysqlReading, Probe
from galera_snmp.node.process import ProcessInfo
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


_LOADED = """
import sys
from galera_snmp.config import load_config
from galera_snmp.node.probe import Probe

with Probe(load_config(sys.argv[1])) as probe:
    state = probe.snapshot()
import pymysql

print(state.mysql_failure, "ssl" in sys.modules, "cryptography" in sys.modules, pymysql._auth._have_cryptography)
import ssl  # hidden only while PyMySQL loaded

print(ssl.PROTOCOL_TLS_CLIENT is not None)
"""


@pytest.mark.parametrize(
    ("client_options", "cryptography"),
    [
        ("socket = /nonexistent/mysqld.sock\n", False),  # no RSA exchange on a local socket
        ("host = 127.0.0.1\nport = {port}\n", True),  # caching_sha2_password over plain TCP needs it
    ],
)
def test_probe_loads_pymysql_without_tls_and_only_needed_crypto(
    tmp_path: Path, client_options: str, cryptography: bool
) -> None:
    config = stopped_node_config(tmp_path)
    option_file = tmp_path / "client.cnf"
    option_file.write_text(
        "[client]\nuser = monitor\npassword = s3cret\n" + client_options.format(port=free_tcp_port())
    )
    result = subprocess.run([sys.executable, "-c", _LOADED, str(config)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["refused", "False", str(cryptography), str(cryptography), "True"]


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        ((MysqlFailure.ERROR, MysqlFailure.REFUSED), Status.STOPPED),  # a --wsrep-recover run reset it
        ((MysqlFailure.ERROR, MysqlFailure.ERROR), Status.UNKNOWN),  # something keeps answering: never "stopped"
        ((MysqlFailure.TIMEOUT,), Status.UNKNOWN),  # not asked twice: that would double the wait
    ],
)
def test_no_server_but_a_reset_connection_is_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failures: tuple[MysqlFailure, ...], expected: Status
) -> None:
    monkeypatch.setattr(probe_module, "find_mysqld", lambda datadir: ProcessInfo(ProcessState.ABSENT))
    answers = iter(failures)
    with Probe(load_config(stopped_node_config(tmp_path))) as probe:
        monkeypatch.setattr(probe._mysql, "read", lambda: MysqlReading(failure=next(answers), error="reset by peer"))
        assert probe.snapshot().status is expected
    assert next(answers, None) is None  # every planned reading was taken, and no more
