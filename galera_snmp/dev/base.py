"""What the development modules and the tests share without loading the sandbox (pymysql, the
probe, the SNMP client): the sandbox's error, polling with a deadline, and finding the programs
a test runs (this installation's, or the installed package's), and naming the files of a node's
directory."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

INSTALL_HINT = "apt-get install mariadb-server galera-4 rsync snmpd"
PROGRAMS_ENV = "GALERA_SNMP_BIN"  # folders (PATH-style) of the programs to run instead of this venv's


class SandboxError(Exception):
    """The sandbox cannot do what was asked; the message says why and what to do."""


class InDir:
    """A file of a node's directory (its ``dir``), as an attribute: a sandbox node or a machine
    lists its files as a table of names, not a property each."""

    def __init__(self, relative: str) -> None:
        self.relative = relative

    def __get__(self, node: Any, owner: type | None = None) -> Path:
        if node is None:
            raise AttributeError(f"{self.relative}: a file of a node, not of its class")
        return node.dir / self.relative


def binary(name: str, hint: str = INSTALL_HINT, error: type[Exception] = SandboxError) -> str:
    """A system program, from PATH or the sbin folders; else ``error`` naming what installs it."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if not found:
        raise error(f"{name} is not installed ({hint})")
    return found


def program(name: str) -> str:
    """One of our commands: from $GALERA_SNMP_BIN's folders when set (the package test runs the
    installed .deb's that way), else this installation's (the venv's), else one on PATH."""
    folders = os.environ.get(PROGRAMS_ENV)
    if folders:
        found = shutil.which(name, path=folders)
        if not found:
            raise SandboxError(f"{name} is not in {PROGRAMS_ENV}={folders}")
        return found
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else binary(name)


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll ``check`` until it is true; raise SandboxError naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SandboxError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
