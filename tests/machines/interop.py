"""Run inside a booted machine by Debian's own python3 (``python3 -I -B interop.py``), against
the machine's own snmpd: the installed package's SNMP client for every user of USERS, the
errors, a restarted snmpd and a clock outside the time window. Prints one JSON document; the
test on this machine judges it. Imports nothing of the checkout: only /usr/lib/galera-snmp."""

from __future__ import annotations

import json
import subprocess
import sys
import time

sys.path.insert(0, "/usr/lib/galera-snmp")

from galera_snmp.record import replace
from galera_snmp.snmp.client import Client, SnmpError, SnmpTimeout, Target

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
# user, level, auth protocol, auth pass phrase, priv protocol, priv pass phrase: every auth x priv
# protocol Debian's net-snmp takes that we speak (DES is refused by us, on purpose)
AUTH = ("MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
PRIV = ("AES", "AES-192", "AES-256")
USERS = [(f"{a}-{p}".lower(), "authPriv", a, f"auth-{a}-{p}".lower(), p, f"priv-{a}-{p}".lower())
         for a in AUTH for p in PRIV]
USERS += [("sha256only", "authNoPriv", "SHA-256", "auth-pass-only", None, None),
          ("noauth", "noAuthNoPriv", None, None, None, None)]
NET_SNMP_LEVEL = {"authPriv": "priv", "authNoPriv": "auth", "noAuthNoPriv": "noauth"}


def snmpd_lines() -> tuple[str, str]:
    """(createUser lines for /var/lib/snmp/snmpd.conf, access lines for snmpd.conf.d)."""
    create, access = [], ["view interopView included .1.3.6.1.2.1.1"]
    for user, level, auth, auth_pass, priv, priv_pass in USERS:
        secrets = f' {auth} "{auth_pass}"' if auth else ""
        secrets += f' {priv} "{priv_pass}"' if priv else ""
        create.append(f"createUser {user}{secrets}")
        access.append(f"rouser -s usm {user} {NET_SNMP_LEVEL[level]} -V interopView")
    return "\n".join(create) + "\n", "\n".join(access) + "\n"


def target(user: tuple, **options: object) -> Target:
    name, level, auth, auth_pass, priv, priv_pass = user
    return Target("127.0.0.1", 161, version="3", user=name, level=level, auth_protocol=auth or "SHA",
                  auth_password=auth_pass, priv_protocol=priv or "AES", priv_password=priv_pass,
                  **{"timeout": 1.0, "retries": 0, **options})


def error(user: tuple, **options: object) -> str:
    try:
        with Client(target(user, **options)) as client:
            client.get([SYS_UPTIME])
    except SnmpTimeout as err:
        return f"timeout: {err}"
    except SnmpError as err:
        return f"error: {err}"
    return "answered"


def main() -> int:
    if sys.argv[1:] == ["snmpd-lines"]:
        print(json.dumps(snmpd_lines()))
        return 0
    report: dict[str, object] = {"python": sys.version.split()[0]}
    descr = subprocess.run(["snmpget", "-v3", "-l", "noAuthNoPriv", "-u", "noauth", "-Oqvx", "127.0.0.1",
                            ".1.3.6.1.2.1.1.1.0"], capture_output=True, text=True, check=True).stdout
    expected = bytes.fromhex(descr.replace('"', "").replace(" ", "").replace("\n", ""))
    report["users"] = {}
    for user in USERS:
        try:
            with Client(target(user)) as client:
                answer = client.get([SYS_UPTIME, SYS_DESCR])
                again = client.get([SYS_UPTIME])  # the engine and keys kept
            ok = answer[SYS_DESCR] == expected and again[SYS_UPTIME] >= answer[SYS_UPTIME] > 0
            report["users"][user[0]] = "ok" if ok else f"wrong answer: {answer}"
        except SnmpError as err:
            report["users"][user[0]] = f"error: {err}"
    first = USERS[0]
    report["wrong auth"] = error((first[0], first[1], first[2], "wrong-auth-pass", first[4], first[5]))
    report["wrong priv"] = error((first[0], first[1], first[2], first[3], first[4], "wrong-priv-pass"))
    report["unknown user"] = error(("nobody", *first[1:]))
    with Client(target(first)) as client:
        client.get([SYS_UPTIME])
        engine = client._v3.engine
        client._v3.engine = replace(engine, time=engine.time + 1000)
        report["time window"] = "ok" if client.get([SYS_UPTIME]) else "no answer"
        subprocess.run(["systemctl", "restart", "snmpd"], check=True)
        deadline, restarted = time.monotonic() + 30, "no answer"
        while time.monotonic() < deadline:
            try:
                client.get([SYS_UPTIME])
            except SnmpTimeout:
                time.sleep(0.2)
                continue
            after = client._v3.engine
            restarted = "ok" if (after.id, after.boots) == (engine.id, engine.boots + 1) else f"{after}"
            break
        report["restarted snmpd"] = restarted
    report["modules"] = sorted(m for m in sys.modules if m.split(".")[0] in ("pysnmp", "pyasn1", "cryptography"))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
