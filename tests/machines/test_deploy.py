"""docs/DEPLOY.md executed on three booted machines of each supported Debian release, as an
operator would: the guide's blocks in order, on the nodes they name, then what a deployment must
give: doctor on every node, GALERA-MIB through snmpd to the NMS's SNMPv3 user and nothing else,
check_galera from the Nagios plugin folder, `galera-snmp status` over the whole cluster."""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from guide import blocks, fill

from galera_snmp.dev.machines import DEBIAN, SHARED, STATION, SUBNET, Bed, Machine, MachineError, root_image

pytestmark = pytest.mark.machines

GALERA_MIB = ".1.3.6.1.4.1.32473"
NMS_USER = "galeramon"


class Deployment:
    """Three machines deployed by the guide, and the secrets the guide's placeholders got."""

    def __init__(self, bed: Bed, deb: Path) -> None:
        self.bed = bed
        self.secrets = {name: secrets.token_urlsafe(18) for name in (
            "<monitoring password>", "<galeramon auth passphrase>", "<galeramon priv passphrase>",
            "<galerainit auth passphrase>", "<galerainit priv passphrase>")}  # fmt: skip
        self.secrets["<crash eviction key>"] = secrets.token_hex(32)
        self.common = {
            **self.secrets,
            "./galera-snmp_<version>_all.deb": f"{SHARED}/{deb.name}",
            **{f"192.0.2.1{i}": machine.address for i, machine in enumerate(bed.machines, start=1)},
            "192.0.2.10": f"{SUBNET}.{STATION}",
        }

    def values(self, machine: Machine) -> dict[str, str]:
        return {**self.common, "<this node's address>": machine.address}

    def run_guide(self) -> None:
        first, *others = self.bed.machines
        where = {"every node": self.bed.machines, "one node": [first], "every other node": others}
        for block in blocks():
            for machine in where[block.where]:
                try:
                    machine.run(fill(block, self.values(machine)), timeout=600)
                except MachineError as err:  # what systemd saw is what says why
                    journal = machine.run("journalctl -n 60 --no-pager", check=False).stdout
                    raise MachineError(f"step {block.step!r}: {err}\n{journal}") from None

    def nms_conf(self) -> str:
        """net-snmp's client settings for the NMS's user (its snmp.conf)."""
        return (f"mibs :\ndefVersion 3\ndefSecurityLevel authPriv\ndefSecurityName {NMS_USER}\n"
                f"defAuthType SHA-256\ndefAuthPassphrase {self.secrets['<galeramon auth passphrase>']}\n"
                f"defPrivType AES\ndefPrivPassphrase {self.secrets['<galeramon priv passphrase>']}\n")

    def nms_env(self, folder: Path) -> dict[str, str]:
        """net-snmp's tools on this machine (the monitoring station) as the NMS's user."""
        folder.mkdir(mode=0o700, exist_ok=True)
        conf = folder / "snmp.conf"
        conf.touch(mode=0o600)
        conf.write_text(self.nms_conf())
        return {**os.environ, "SNMPCONFPATH": str(folder)}


@pytest.fixture(scope="module", params=sorted(DEBIAN))
def deployed(request: pytest.FixtureRequest, deb: Path) -> Iterator[Deployment]:
    bed = Bed(Path(tempfile.mkdtemp(prefix=f"gs-deploy{request.param}-", dir="/var/tmp")), 3, request.param)
    try:
        bed.up()
        shutil.copy(deb, bed.shared / deb.name)
        deployment = Deployment(bed, deb)
        deployment.run_guide()
        yield deployment
    finally:
        bed.down(purge=True)


def doctor(machine: Machine) -> tuple[list[str], str]:
    """The checks doctor failed on ``machine``, and all it said."""
    result = machine.run("galera-snmp doctor", check=False)
    said = result.stdout + result.stderr
    return [line[2:].split(":")[0] for line in result.stdout.splitlines() if line.startswith("✗")], said


def test_doctor_passes_on_every_node(deployed: Deployment) -> None:
    for machine in deployed.bed.machines:
        failed, said = doctor(machine)
        assert failed == [], f"{machine.name}:\n{said}"
        for check in ("✓ MIB by name", "✓ agent via snmpd", "✓ node lists: 3 nodes", "✓ systemd units"):
            assert check in said, f"{machine.name}:\n{said}"


def test_the_mib_resolves_by_name_with_what_the_package_installs(deployed: Deployment) -> None:
    """snmpget -m +GALERA-MIB on a clean Debian: no non-free base modules, no internet."""
    machine = deployed.bed.machine(1)
    conf = "\n".join(line for line in deployed.nms_conf().splitlines() if not line.startswith("mibs"))
    got = machine.run("umask 077 && mkdir -p /root/nms && cat > /root/nms/snmp.conf && "
                      f"SNMPCONFPATH=/root/nms snmpget -m +GALERA-MIB {machine.address} GALERA-MIB::galeraStatus.0 "
                      "GALERA-MIB::galeraDataValid.0", input_=conf + "\n").stdout
    assert "GALERA-MIB::galeraStatus.0 = INTEGER: running(5)" in got, got
    assert "GALERA-MIB::galeraDataValid.0 = INTEGER: true(1)" in got, got


def test_the_nms_user_sees_galera_mib_and_nothing_else(deployed: Deployment, tmp_path: Path) -> None:
    env = deployed.nms_env(tmp_path / "nms")
    for machine in deployed.bed.machines:
        walk = subprocess.run(["snmpwalk", "-On", "-t", "2", machine.address, ".1"], capture_output=True,
                              text=True, timeout=120, env=env, check=False)
        rows = [line.split()[0] for line in walk.stdout.splitlines() if line.startswith(".")]
        assert walk.returncode == 0 and rows, walk.stderr
        assert all(oid.startswith(GALERA_MIB + ".") for oid in rows), [r for r in rows if GALERA_MIB not in r][:5]
        public = subprocess.run(["snmpget", "-v2c", "-c", "public", "-t", "1", "-r", "0", machine.address,
                                 ".1.3.6.1.2.1.1.1.0"], capture_output=True, text=True, timeout=30, check=False)
        assert public.returncode != 0, "Debian's community public still answers"


def test_check_galera_from_the_plugin_folder_over_snmpv3(deployed: Deployment) -> None:
    first = deployed.bed.machine(1)
    nms = {"PROTOCOL": "3", "SECNAME": NMS_USER, "AUTHPROTO": "SHA-256", "PRIVPROTO": "AES",
           "AUTHPASSWD": deployed.secrets["<galeramon auth passphrase>"],
           "PRIVPASSWD": deployed.secrets["<galeramon priv passphrase>"]}
    exports = "".join(f"read -r CHECK_GALERA_{key}; export CHECK_GALERA_{key}\n" for key in nms)  # from stdin
    for machine in deployed.bed.machines:
        result = first.run(exports + f"/usr/lib/nagios/plugins/check_galera -m node -H {machine.address}",
                           check=False, input_="".join(f"{value}\n" for value in nms.values()))
        assert result.returncode == 0 and result.stdout.startswith("GALERA OK"), result.stdout + result.stderr


def test_galera_snmp_status_sees_the_whole_cluster(deployed: Deployment) -> None:
    result = deployed.bed.machine(2).run("galera-snmp status", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(machine.address in result.stdout for machine in deployed.bed.machines), result.stdout


def wait_status(machine: Machine, word: str, timeout: float = 180) -> None:
    """Until galera-check says ``word`` on ``machine`` (its own command, as an operator asks)."""
    deadline = time.monotonic() + timeout
    said = ""
    while time.monotonic() < deadline:
        said = machine.run("galera-check status", check=False).stdout.strip()
        if said == word:
            return
        time.sleep(1)
    raise AssertionError(f"{machine.name}: galera-check status says {said!r}, not {word!r}, after {timeout:g} s")


class Ledger:
    """Writes on one machine, as a client there would: one autocommit INSERT after another
    through its own mariadb client, each id printed once the server said OK. The writer runs in
    the machine's namespaces, so a power cut kills it with the rest; what it printed (the
    acknowledged ids) is already here."""

    def __init__(self, machine: Machine, start: int) -> None:
        machine.run("mariadb -e 'CREATE DATABASE IF NOT EXISTS ledger; "
                    "CREATE TABLE IF NOT EXISTS ledger.t (id BIGINT PRIMARY KEY)'")
        loop = (f"i={start}; while :; do i=$((i+1)); "
                "mariadb -e \"INSERT INTO ledger.t VALUES ($i)\" 2>/dev/null && echo $i; done")
        self.process = machine.spawn(["/bin/sh", "-c", loop])
        self.acked: list[int] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.acked.append(int(line))

    def wait(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            assert time.monotonic() < deadline, f"the writer committed {len(self.acked)} rows, not {count}"
            time.sleep(0.1)

    def stop(self) -> list[int]:
        self.process.kill()
        self.process.wait(30)
        self.reader.join(10)
        return list(self.acked)


def missing(machine: Machine, acked: list[int]) -> set[int]:
    present = {int(row) for row in machine.run("mariadb -N -e 'SELECT id FROM ledger.t'").stdout.split()}
    return set(acked) - present


def main_pids(machine: Machine) -> dict[str, str]:
    return {unit: machine.run(f"systemctl show -p MainPID --value {unit}").stdout.strip()
            for unit in ("galera-snmp-agent", "mariadb", "snmpd")}


def test_an_upgrade_restarts_the_agent_only_and_keeps_config_and_state(deployed: Deployment, next_deb: Path) -> None:
    """A later version of the package installed on a serving node: the agent runs the new code
    (restarted), MariaDB, snmpd and galera-init are not touched, the configuration, the secrets
    and the kept state stay."""
    node = deployed.bed.machine(1)
    kept = "/etc/galera-snmp/galera-snmp.conf /etc/galera-snmp/client.cnf /etc/galera-snmp/snmp.cred"
    before, sums = main_pids(node), node.run(f"md5sum {kept}").stdout
    history = json.loads(node.run("cat /var/lib/galera-snmp/history.json").stdout)["uuid"]
    init_ran = node.run("systemctl show -p ExecMainStartTimestampMonotonic --value galera-init").stdout
    shutil.copy(next_deb, deployed.bed.shared / next_deb.name)
    node.run(f"DEBIAN_FRONTEND=noninteractive apt-get install -y -q {SHARED}/{next_deb.name}")
    assert node.run("dpkg-query -W galera-snmp").stdout.split() == ["galera-snmp", next_deb.name.split("_")[1]]
    after = main_pids(node)
    assert after["galera-snmp-agent"] not in (before["galera-snmp-agent"], "0"), (before, after)
    assert (after["mariadb"], after["snmpd"]) == (before["mariadb"], before["snmpd"]), (before, after)
    assert node.run("systemctl show -p ExecMainStartTimestampMonotonic --value galera-init").stdout == init_ran
    assert node.run(f"md5sum {kept}").stdout == sums
    assert json.loads(node.run("cat /var/lib/galera-snmp/history.json").stdout)["uuid"] == history
    wait_status(node, "running", timeout=60)  # the new agent serves


def quorum_kept(others: list[Machine], rebooted: Machine) -> None:
    """Never below quorum: every other machine keeps its Primary component."""
    for other in others:
        said = other.run("galera-check status", check=False).stdout.strip()
        assert said == "running", f"{other.name} says {said!r} while {rebooted.name} reboots"


def test_a_rolling_reboot_under_load_never_loses_quorum(deployed: Deployment) -> None:
    """Every machine rebooted in turn (systemctl reboot) while a client writes on another: the two
    others stay Primary throughout, each rebooted node is back by its units, nothing lost."""
    if deployed.bed.debian != "13":
        pytest.skip("rolling reboots run on Debian 13 only (CI time); the units are the same on 12")
    node1, node2, node3 = deployed.bed.machines
    acked: list[int] = []
    for rebooted, writer in ((node3, node1), (node2, node1), (node1, node2)):
        ledger = Ledger(writer, start=len(acked) + rebooted.index * 10**9)
        ledger.wait(20)
        others = [m for m in deployed.bed.machines if m is not rebooted]
        rebooted.enter(["systemctl", "reboot"], timeout=30)
        deadline = time.monotonic() + 300
        while rebooted.nspawn_pid() is not None and rebooted.system_state() in ("running", "degraded"):
            quorum_kept(others, rebooted)  # until it is seen going down
            assert time.monotonic() < deadline, f"{rebooted.name} did not go down"
        while rebooted.nspawn_pid() is not None:  # systemd-nspawn exits on reboot: the bed boots it again
            quorum_kept(others, rebooted)
            assert time.monotonic() < deadline, f"{rebooted.name} did not go down"
        deployed.bed.boot(rebooted, timeout=300)
        quorum_kept(others, rebooted)
        wait_status(rebooted, "running")
        acked += ledger.stop()
    for machine in deployed.bed.machines:
        assert not missing(machine, acked), machine.name


def test_a_cut_machine_comes_back_by_itself_and_the_guard_holds_a_plain_start(deployed: Deployment) -> None:
    """It changes the cluster. A power cut of one machine while the others serve and take writes:
    booted, its units alone bring it back into the cluster, caught up by IST. Then mysqld
    killed: the others evict it at once (crash eviction), a plain start is refused with the
    command to use, and that command works.

    First a clean restart: Galera resumes from the recovered position only when its saved state
    names the cluster (grastate.dat's uuid); after a full copy (SST) that can stay cleared until
    the next clean shutdown (its guard against a half-done SST), and a crash then costs a full
    copy again (seen on both releases right after the deployment's first join)."""
    node3 = deployed.bed.machine(3)
    node3.run("systemctl restart mariadb")  # shut down cleanly, rejoined by IST
    wait_status(node3, "running")
    saved = node3.run("cat /var/lib/mysql/grastate.dat").stdout
    assert re.search(r"^uuid:\s+(?!0{8}-)[0-9a-f-]{36}$", saved, re.M), saved
    node3.power_cut()
    deployed.bed.machine(1).run("mariadb -e 'CREATE DATABASE IF NOT EXISTS c1; CREATE TABLE IF NOT EXISTS c1.t "
                                "(id INT PRIMARY KEY); INSERT INTO c1.t VALUES (1), (2), (3)'")  # while it is away
    deployed.bed.boot(node3)
    wait_status(node3, "running")
    # the server's log, wherever this release sends it: the journal (by unit or syslog), or a file
    joined = node3.run("journalctl -b --no-pager -o cat; cat /var/log/mysql/error.log 2>/dev/null",
                       check=False).stdout
    assert "IST received" in joined or "Receiving IST" in joined, joined[-3000:]  # caught up by IST, no full copy
    assert node3.run("mariadb -N -e 'SELECT COUNT(*) FROM c1.t'").stdout.strip() == "3"
    uuids = {json.loads(m.run("galera-check --json").stdout)["cluster_state_uuid"]
             for m in deployed.bed.machines}
    assert len(uuids) == 1 and None not in uuids, uuids  # one history, kept
    member = node3.run("mariadb -N -e \"SHOW STATUS LIKE 'wsrep_gcomm_uuid'\"").stdout.split()[1]
    node3.run("systemctl kill -s KILL mariadb")
    # crash eviction: node3's agent told the others, whose agents evicted its member (as
    # mysql@localhost; the evict list is cleared again once the view has left it behind)
    for other in deployed.bed.machines[:2]:
        deadline = time.monotonic() + 10
        while not (evicted := re.search(rf"{member} \(\S+\) evicted, (\d+) ms after its mysqld exited", other.run(
                "journalctl -b -u galera-snmp-agent --no-pager -o cat | grep evicted", check=False).stdout)):
            assert time.monotonic() < deadline, (f"{other.name} did not evict node3's crashed member {member}:\n"
                                                 f"{agent_log(other)}\n{agent_log(node3)}")
            time.sleep(0.2)
        assert int(evicted[1]) < 1000, evicted[0]  # as its agent measured it: writes back within a second
    wait_status(node3, "stopped")
    plain = node3.run("systemctl start mariadb", check=False)
    assert plain.returncode != 0
    said = node3.run("journalctl -u mariadb -n 20 --no-pager", check=False).stdout
    assert "systemctl restart galera-init" in said, said
    node3.run("systemctl restart galera-init", timeout=600)
    wait_status(node3, "running")


def agent_log(machine: Machine) -> str:
    """What a failed crash eviction is read from: the agent's lines of this boot on its way."""
    return machine.name + ":\n" + machine.run(
        "journalctl -b -u galera-snmp-agent --no-pager -o short-precise "
        "| grep -iE 'crash|evict|exit|start|stop|error|warn' | tail -n 40", check=False).stdout


def test_two_machines_cut_the_survivor_made_primary_and_they_rejoin(deployed: Deployment) -> None:
    """After the single cut (it changes the cluster too). Two machines lose power at once: the
    survivor is non-Primary, and galera-snmp make-primary, run there as the guide's operator would,
    makes it Primary (MariaDB 10.11 takes pc.bootstrap in wsrep_provider_options, 11.8's plugin
    as a variable of its own). Booted, the two rejoin by their units; nothing acknowledged lost."""
    node1, node2, node3 = deployed.bed.machines
    node1.run("mariadb -e 'CREATE DATABASE IF NOT EXISTS c2; CREATE TABLE IF NOT EXISTS c2.t (id INT PRIMARY KEY); "
              "INSERT INTO c2.t VALUES (1)'")
    node2.power_cut()
    node3.power_cut()
    wait_status(node1, "nonprimary", timeout=60)
    lost = f"{node2.address},{node3.address}"
    made = node1.run(f"galera-snmp make-primary --confirm-lost {lost}", check=False, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    wait_status(node1, "running", timeout=60)
    node1.run("mariadb -e 'INSERT INTO c2.t VALUES (2)'")  # acknowledged while the two are away
    for machine in (node2, node3):
        deployed.bed.boot(machine)
    for machine in (node2, node3):
        wait_status(machine, "running")
        rows = machine.run("mariadb -N -e 'SELECT id FROM c2.t ORDER BY id'").stdout.split()
        assert rows == ["1", "2"], (machine.name, rows)


def test_a_power_cut_of_every_machine_under_load_comes_back_by_the_units(deployed: Deployment) -> None:
    """b: all three machines lose power at once while a client writes; power comes back in a
    random order, one machine a minute late. The units alone make one 3-node Primary: one
    bootstrap, the cluster's history kept, every acknowledged commit there."""
    machines = deployed.bed.machines
    history = json.loads(machines[0].run("galera-check --json").stdout)["cluster_state_uuid"]
    ledger = Ledger(machines[0], start=5 * 10**9)
    ledger.wait(50)
    deployed.bed.power_cut()
    acked = ledger.stop()
    rng = random.Random(deployed.bed.debian)
    order = rng.sample(machines, len(machines))
    delays = [rng.uniform(0, 10), rng.uniform(0, 10), 60.0]  # the last one a minute late
    started = time.monotonic()
    for machine, delay in zip(order, delays, strict=True):
        time.sleep(max(0.0, delay - (time.monotonic() - started)))
        machine.boot(root_image(deployed.bed.debian), deployed.bed.shared)  # no wait: the early ones wait for it
    for machine in machines:
        machine.wait_booted(timeout=600)  # galera-init holds the boot until the node is Synced
        wait_status(machine, "running")
    decisions = [m.run("journalctl -b -u galera-init --no-pager -o cat", check=False).stdout for m in machines]
    assert sum("decision: bootstrap:" in said for said in decisions) == 1, "\n---\n".join(decisions)
    for machine in machines:
        assert json.loads(machine.run("galera-check --json").stdout)["cluster_state_uuid"] == history
        assert not missing(machine, acked), machine.name


def test_uninstall_by_the_guide_leaves_nothing(deployed: Deployment) -> None:
    """Last of all. Nodes 1 and 2 follow the guide's Uninstall section; node 3's operator skips
    it and only purges: no secret and no dangling unit link may stay there either."""
    node1, node2, node3 = deployed.bed.machines
    where = {"every node": [node1, node2], "one node": [node1]}
    for block in blocks("uninstall"):
        for machine in where[block.where]:
            machine.run(fill(block, deployed.values(machine)), timeout=600)
    node3.run("DEBIAN_FRONTEND=noninteractive apt-get purge -y galera-snmp")
    ours = (f"find / -xdev -path {SHARED} -prune -o "  # the bed's own mount point, not the package's
            "\\( -name '*galera-snmp*' -o -name '*galera_snmp*' \\) -print")
    for machine in (node1, node2):
        assert machine.run(ours).stdout == "", machine.name
        kept = machine.run("cat /var/lib/snmp/snmpd.conf /etc/snmp/snmpd.conf").stdout
        assert "galeramon" not in kept and "galerainit" not in kept and "\nrocommunity " in kept
        size = machine.run("mariadb -N -e 'SHOW STATUS LIKE \"wsrep_cluster_size\"'").stdout.split()
        assert size == ["wsrep_cluster_size", "3"], size  # the database never noticed
    users = node1.run("mariadb -N -e 'SELECT COUNT(*) FROM mysql.user WHERE user = \"galera_snmp\"'").stdout
    assert users.strip() == "0"
    for machine in deployed.bed.machines:
        assert machine.run("find /etc/systemd/system -xtype l").stdout == "", machine.name
        assert machine.run("ls /etc/galera-snmp 2>&1 || true").stdout.strip().endswith("No such file or directory")
