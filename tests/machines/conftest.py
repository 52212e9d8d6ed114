"""Booted Debian machines (galera_snmp/dev/machines.py) with our package installed from the .deb
built from this checkout, one bed per supported release. A missing tool fails with its hint."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import require

from galera_snmp import __version__
from galera_snmp.dev.machines import DEBIAN, INSTALL_HINT, SHARED, Bed

REPO = Path(__file__).resolve().parents[2]


def build(out: str, *args: str) -> Path:
    built = subprocess.run([sys.executable, str(REPO / "packaging" / "deb" / "build"), "--out", out, *args],
                           capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr[-3000:]
    return Path(built.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def deb() -> Iterator[Path]:
    """The package, built once from this checkout."""
    require(("mmdebstrap", "systemd-nspawn", "nsenter", "dpkg-deb"), "booted machines", INSTALL_HINT,
            root_because="mount overlays, make namespaces and boot systemd-nspawn")
    with tempfile.TemporaryDirectory(prefix="gs-deb-") as out:
        yield build(out)


@pytest.fixture(scope="session")
def next_deb(deb: Path) -> Iterator[Path]:
    """The same code as a later version: what an upgrade installs."""
    with tempfile.TemporaryDirectory(prefix="gs-deb-next-") as out:
        yield build(out, "--version", f"{__version__}+next1")


@pytest.fixture(scope="module", params=sorted(DEBIAN))
def machine(request: pytest.FixtureRequest, deb: Path) -> Iterator:
    """One booted machine of each release with the package installed by apt from the .deb (no
    network beyond the bed's: apt finds what it depends on already installed) before MariaDB's
    accounts exist, as on a host where galera-snmp comes first: the mysql user and group are
    removed before the install."""
    bed = Bed(Path(tempfile.mkdtemp(prefix=f"gs-debian{request.param}-", dir="/var/tmp")), 1, request.param)
    try:
        bed.up()
        shutil.copy(deb, bed.shared / deb.name)
        node = bed.machine(1)
        node.run("systemctl stop mariadb && userdel mysql && (groupdel mysql 2>/dev/null || true) "
                 "&& ! getent group mysql")
        node.run(f"DEBIAN_FRONTEND=noninteractive apt-get install -y -q {SHARED}/{deb.name}")
        yield node
    finally:
        bed.down(purge=True)
