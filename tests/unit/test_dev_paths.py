"""Where a sandbox node and a machine of a bed keep their files (dev/base.InDir): each named once,
below the node's own directory, without building anything."""

from __future__ import annotations

import pytest

from galera_snmp.dev.base import InDir
from galera_snmp.dev.machines import Machine
from galera_snmp.dev.sandbox import Sandbox, SandboxNode, hosts_network


def test_a_sandbox_nodes_files_are_in_its_directory(tmp_path):
    node = Sandbox(tmp_path, 3).node(2)
    home = tmp_path / "node2"
    assert node.dir == home
    assert (node.datadir, node.cnf, node.config_path, node.option_file) == (
        home / "data", home / "my.cnf", home / "galera-snmp.conf", home / "client.cnf")
    assert (node.socket, node.pid_file, node.agentx_socket, node.track_file) == (
        home / "run" / "mysqld.sock", home / "run" / "mysqld.pid", home / "run" / "agentx.sock",
        home / "run" / "keepalived.track")
    assert (node.error_log, node.snmpd_conf, node.snmpd_extra_conf) == (
        home / "log" / "error.log", home / "snmpd.conf", home / "snmpd.extra.conf")


def test_a_machines_files_are_in_its_directory(tmp_path):
    machine = Machine(tmp_path, 3, hosts_network(3))
    home = tmp_path / "node3"
    assert (machine.dir, machine.tree, machine.log, machine._pid_file) == (
        home, home / "root", home / "console.log", home / "nspawn.pid")


def test_a_file_of_a_node_is_not_one_of_its_class():
    assert isinstance(SandboxNode.__dict__["cnf"], InDir)
    with pytest.raises(AttributeError, match="a file of a node"):
        _ = SandboxNode.cnf
