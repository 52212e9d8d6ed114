"""galera_snmp.snmp.client against a real net-snmp snmpd: SNMPv2c, and SNMPv3 with every auth
protocol and priv protocol Debian's snmpd accepts (MD5, SHA, SHA-224/256/384/512 x AES, AES-192,
AES-256, at all three levels), wrong pass phrases, unknown users, a restarted snmpd and a clock
outside the time window.

No agent and no database: snmpd serves its own system subtree (.1.3.6.1.2.1.1) through a
view, to a community and to USM users created in its configuration file. net-snmp's
snmpget/snmpwalk are the reference for the answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import free_udp_port, tool

from galera_snmp.dev.base import wait_for
from galera_snmp.record import replace
from galera_snmp.snmp.client import Client, SnmpError, SnmpTimeout, Target

REPO = Path(__file__).resolve().parents[2]
SYSTEM = (1, 3, 6, 1, 2, 1, 1)
SYS_DESCR = (*SYSTEM, 1, 0)
SYS_UPTIME = (*SYSTEM, 3, 0)
COMMUNITY = "public"
# user, level, auth protocol, auth pass phrase, priv protocol, priv pass phrase
USERS = [
    ("sha256aes", "authPriv", "SHA-256", "auth-pass-256", "AES", "priv-pass-aes"),
    ("shaaes", "authPriv", "SHA", "auth-pass-sha", "AES", "priv-pass-sha"),
    ("md5aes", "authPriv", "MD5", "auth-pass-md5", "AES", "priv-pass-md5"),
    ("sha224aes192", "authPriv", "SHA-224", "auth-pass-224", "AES-192", "priv-pass-192"),
    ("sha512aes256", "authPriv", "SHA-512", "auth-pass-512", "AES-256", "priv-pass-256"),
    ("sha384only", "authNoPriv", "SHA-384", "auth-pass-384", None, None),
    ("shaonly", "authNoPriv", "SHA", "auth-pass-only", None, None),
    ("noauth", "noAuthNoPriv", None, None, None, None),
]
NET_SNMP_LEVEL = {"authPriv": "priv", "authNoPriv": "auth", "noAuthNoPriv": "noauth"}


def snmpd_conf(port: int, users: list[tuple] = USERS) -> str:
    lines = [f"agentAddress udp:127.0.0.1:{port}", "view system included .1.3.6.1.2.1.1"]
    lines.append(f"rocommunity {COMMUNITY} 127.0.0.1 -V system")
    for user, level, auth, auth_pass, priv, priv_pass in users:
        secrets = f' {auth} "{auth_pass}"' if auth else ""
        secrets += f' {priv} "{priv_pass}"' if priv else ""
        lines += [f"createUser {user}{secrets}", f"rouser {user} {NET_SNMP_LEVEL[level]} -V system"]
    return "\n".join(lines) + "\n"


def start_snmpd(tmp: Path, port: int, keep_engine: bool = False) -> subprocess.Popen:
    """snmpd on ``port`` with tmp/snmpd.conf. With ``keep_engine`` it also reads what it keeps in
    tmp/persistent (its engine ID and boots) as a system's snmpd does; else (-C) a new engine
    ID each start."""
    (tmp / "persistent").mkdir(exist_ok=True)
    only = [] if keep_engine else ["-C"]
    return subprocess.Popen(
        [tool("snmpd"), "-f", *only, "-c", str(tmp / "snmpd.conf"), "-Lf", str(tmp / "snmpd.log")],
        env={**os.environ, "SNMP_PERSISTENT_DIR": str(tmp / "persistent"), "MIBS": "",
             "SNMPCONFPATH": str(tmp / "persistent")},
    )


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp("snmpd-client")
    port = free_udp_port()
    (tmp / "snmpd.conf").write_text(snmpd_conf(port))
    snmpd = start_snmpd(tmp, port)

    def answers() -> bool:
        try:
            with Client(Target("127.0.0.1", port, COMMUNITY, timeout=0.2, retries=0)) as client:
                return isinstance(client.get([SYS_UPTIME])[SYS_UPTIME], int)
        except SnmpError:
            return snmpd.poll() is not None  # stop waiting: the assertion below says why

    try:
        wait_for(answers, 20, "snmpd")
        assert snmpd.poll() is None, (tmp / "snmpd.log").read_text()
        yield port
    finally:
        snmpd.terminate()
        snmpd.wait(10)


def v3(port: int, *user: str | None, **options: object) -> Target:
    """A Target for one of USERS: (name, level, auth protocol, auth pass, priv protocol, priv pass)."""
    name, level, auth, auth_pass, priv, priv_pass = user
    return Target(
        "127.0.0.1",
        port,
        version="3",
        user=name,
        level=level,
        auth_protocol=auth or "SHA",
        auth_password=auth_pass,
        priv_protocol=priv or "AES",
        priv_password=priv_pass,
        **{"timeout": 1.0, "retries": 0, **options},
    )


def net_snmp(command: str, port: int, option: str, oid: str) -> str:
    """The output of net-snmp's ``command`` (snmpget, snmpwalk) over SNMPv2c."""
    result = subprocess.run(
        [tool(command), "-v2c", "-c", COMMUNITY, "-On", "-t", "2", "-r", "1", option, f"127.0.0.1:{port}", oid],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={**os.environ, "MIBS": ""},
    )
    return result.stdout


def sys_descr_by_snmpget(port: int) -> bytes:
    """sysDescr.0 as net-snmp reads it, in hex so that no quoting or escaping gets in the way."""
    out = net_snmp("snmpget", port, "-Oqvx", ".1.3.6.1.2.1.1.1.0")
    return bytes.fromhex(out.replace('"', "").replace(" ", "").replace("\n", ""))


def oids_by_snmpwalk(port: int) -> list[tuple[int, ...]]:
    """The OIDs snmpwalk prints, less its last line: endOfMibView (the view ends with the subtree)."""
    lines = net_snmp("snmpwalk", port, "-Oq", ".1.3.6.1.2.1.1").splitlines()
    oids = [line.split()[0] for line in lines if line[:1] == "." and "No more variables left" not in line]
    return [tuple(int(arc) for arc in oid[1:].split(".")) for oid in oids]


def test_v2c_get_matches_snmpget(port: int) -> None:
    with Client(Target("127.0.0.1", port, COMMUNITY)) as client:
        answer = client.get([SYS_UPTIME, SYS_DESCR])
    assert isinstance(answer[SYS_UPTIME], int)
    assert answer[SYS_UPTIME] > 0
    assert answer[SYS_DESCR] == sys_descr_by_snmpget(port)


def test_v2c_walk_matches_snmpwalk(port: int) -> None:
    with Client(Target("127.0.0.1", port, COMMUNITY)) as client:
        walked = list(client.walk(SYSTEM, repetitions=10))
    assert [oid for oid, _ in walked] == oids_by_snmpwalk(port)
    assert dict(walked)[SYS_DESCR] == sys_descr_by_snmpget(port)


def test_a_wrong_community_is_a_timeout(port: int) -> None:
    with (
        Client(Target("127.0.0.1", port, "not-the-community", timeout=0.3, retries=0)) as client,
        pytest.raises(SnmpTimeout, match="wrong community or agent down"),
    ):
        client.get([SYS_UPTIME])


@pytest.mark.parametrize("user", USERS, ids=[f"{u[0]}-{u[1]}" for u in USERS])
def test_v3_get_for_every_protocol_and_level(port: int, user: tuple) -> None:
    with Client(v3(port, *user)) as client:
        answer = client.get([SYS_UPTIME, SYS_DESCR])
        again = client.get([SYS_UPTIME])  # the same engine: discovery and keys are reused
    assert isinstance(answer[SYS_UPTIME], int)
    assert again[SYS_UPTIME] >= answer[SYS_UPTIME]
    assert answer[SYS_DESCR] == sys_descr_by_snmpget(port)


def test_v3_walk_matches_snmpwalk(port: int) -> None:
    with Client(v3(port, *USERS[0])) as client:
        assert [oid for oid, _ in client.walk(SYSTEM, repetitions=7)] == oids_by_snmpwalk(port)


def test_a_wrong_auth_password_is_an_error_at_once(port: int) -> None:
    user, level, auth, _, priv, priv_pass = USERS[0]
    started = time.monotonic()
    with (
        Client(v3(port, user, level, auth, "wrong-auth-pass", priv, priv_pass, timeout=3.0)) as client,
        pytest.raises(SnmpError) as caught,
    ):
        client.get([SYS_UPTIME])
    elapsed = time.monotonic() - started
    assert not isinstance(caught.value, SnmpTimeout)  # snmpd reports usmStatsWrongDigests
    assert "authentication failed (wrong auth password or protocol?)" in str(caught.value)
    assert elapsed < 3.0
    assert "wrong-auth-pass" not in str(caught.value)
    assert priv_pass not in str(caught.value)


def test_a_wrong_auth_protocol_is_an_error_too(port: int) -> None:
    user, level, _, auth_pass, priv, priv_pass = USERS[0]
    with (
        Client(v3(port, user, level, "SHA-512", auth_pass, priv, priv_pass)) as client,
        pytest.raises(SnmpError, match="authentication failed") as caught,
    ):
        client.get([SYS_UPTIME])
    assert not isinstance(caught.value, SnmpTimeout)


def test_a_wrong_priv_password_is_an_error(port: int) -> None:
    user, level, auth, auth_pass, priv, _ = USERS[0]
    with (
        Client(v3(port, user, level, auth, auth_pass, priv, "wrong-priv-pass", timeout=0.5)) as client,
        pytest.raises(SnmpError) as caught,
    ):
        client.get([SYS_UPTIME])
    # snmpd decrypts to garbage, cannot parse it and drops it silently: we can only time out
    assert "wrong priv password" in str(caught.value)
    assert "wrong-priv-pass" not in str(caught.value)
    assert auth_pass not in str(caught.value)


def test_an_unknown_user_is_an_error_at_once(port: int) -> None:
    started = time.monotonic()
    with (
        Client(v3(port, "nobody", "authPriv", "SHA", "auth-pass-x", "AES", "priv-pass-x", timeout=3.0)) as client,
        pytest.raises(SnmpError) as caught,
    ):
        client.get([SYS_UPTIME])
    elapsed = time.monotonic() - started
    assert not isinstance(caught.value, SnmpTimeout)
    assert str(caught.value).endswith("SNMPv3 user 'nobody': unknown user")
    assert elapsed < 3.0


def test_a_level_above_the_users_is_refused(port: int) -> None:
    user, _, auth, auth_pass, _, _ = USERS[5]  # an authNoPriv user asking for authPriv
    with (
        Client(v3(port, user, "authPriv", auth, auth_pass, "AES", "priv-pass-xyz")) as client,
        pytest.raises(SnmpError, match="security level not allowed") as caught,
    ):
        client.get([SYS_UPTIME])
    assert not isinstance(caught.value, SnmpTimeout)


@pytest.mark.parametrize("version", ["2c", "3"])
def test_a_one_shot_get_loads_no_snmp_library(port: int, version: str) -> None:
    """What a Nagios plugin run does: a fresh interpreter, one GET, exit. Our own codecs answer,
    over SNMPv3 authPriv too: pysnmp, pyasn1 and cryptography stay unloaded (bench/oneshot times it)."""
    name, level, auth, auth_pass, priv, priv_pass = USERS[0]
    target = (f"Target('127.0.0.1', {port})" if version == "2c" else
              f"Target('127.0.0.1', {port}, version='3', user={name!r}, level={level!r}, auth_protocol={auth!r}, "
              f"auth_password={auth_pass!r}, priv_protocol={priv!r}, priv_password={priv_pass!r})")
    libraries = ("pysnmp", "pyasn1", "cryptography")
    code = (
        "import sys; from galera_snmp.snmp.client import Client, Target; "
        f"uptime = Client({target}).get([{SYS_UPTIME}])[{SYS_UPTIME}]; "
        f"print(type(uptime).__name__, sorted(m for m in sys.modules if m.startswith({libraries!r})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["int", "[]"]  # sysUpTime's TimeTicks, and none of those modules


def test_des_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ValueError, match="DES privacy is not supported"):
        Target("127.0.0.1", version="3", user="u", auth_password="auth-pass", priv_protocol="DES",
               priv_password="priv-pass")


def test_a_clock_outside_the_time_window_is_resynchronised(port: int) -> None:
    """RFC 3414 3.2 7a: the agent answers a request stamped 1,000 s off with an authenticated
    notInTimeWindow Report carrying its clock; the client takes it and sends again, once."""
    with Client(v3(port, *USERS[0])) as client:
        first = client.get([SYS_UPTIME])[SYS_UPTIME]
        engine = client._v3.engine
        client._v3.engine = replace(engine, time=engine.time + 1000)
        assert client.get([SYS_UPTIME])[SYS_UPTIME] >= first
        assert abs(client._v3.engine.now() - engine.now()) <= 2  # the agent's clock again


@pytest.mark.parametrize("keep_engine", [True, False], ids=["same-engine", "new-engine"])
def test_a_restarted_snmpd_is_followed(tmp_path: Path, keep_engine: bool) -> None:
    """snmpd restarted. Same engine ID: one more boot, its time from 0; the client, refused as not
    in the time window, takes the agent's clock and reads on. A new engine ID: the client, told
    the engine is unknown, discovers it again."""
    port = free_udp_port()
    user = USERS[0]
    (tmp_path / "snmpd.conf").write_text(snmpd_conf(port, [user]))
    engines = []
    with Client(v3(port, *user, timeout=0.5)) as client:
        for _ in range(2):
            snmpd = start_snmpd(tmp_path, port, keep_engine)
            try:
                wait_for(lambda: _answers(client), 20, "snmpd over SNMPv3")
                engines.append(client._v3.engine)
            finally:
                snmpd.terminate()
                snmpd.wait(10)
    if keep_engine:
        assert engines[1].id == engines[0].id
        assert engines[1].boots == engines[0].boots + 1
    else:
        assert engines[1].id != engines[0].id


def _answers(client: Client) -> bool:
    try:
        return isinstance(client.get([SYS_UPTIME])[SYS_UPTIME], int)
    except SnmpError as err:  # not listening yet (refused, timeout); a Report would say otherwise
        assert "SNMPv3 user" not in str(err)
        return False
