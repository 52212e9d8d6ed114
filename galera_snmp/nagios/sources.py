"""Where check_galera reads a node: the local mysqld through the probe, or the node's GALERA-MIB
over SNMP. Each source's read() imports its machinery itself, so a run pays only for the source
it uses: an SNMP run never loads PyMySQL or the probe, a MySQL run never loads the SNMP code.
"""

from __future__ import annotations

import nagiosplugin

from ..state import NodeReport

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: check_galera starts faster
if TYPE_CHECKING:
    from ..snmp.client import Target


class MysqlSource:
    """The local node, read by the probe (one connection) and judged by the health rule."""

    def __init__(self, config_path: str) -> None:
        self.config_path = config_path
        self.name = "local mysqld"

    def read(self, members: bool = False) -> NodeReport:
        """The node now; a CheckError (UNKNOWN) for a configuration it cannot use. The probe
        always reads the member table, so ``members`` is accepted for the Source interface."""
        from ..config import ConfigError, load_config  # imported here: SNMP runs never pay for PyMySQL
        from ..node.refresh import local_report

        try:
            return local_report(load_config(self.config_path))
        except ConfigError as err:
            raise nagiosplugin.CheckError(str(err)) from None


class SourceDown(Exception):
    """The source did not answer (the message says how)."""


class SnmpSource:
    """A node's GALERA-MIB through its snmpd: what its own agent says about it."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.name = target.host if target.port == 161 else f"{target.host}:{target.port}"

    def read(self, members: bool = False) -> NodeReport:
        """The node's report (with its member table if asked); SourceDown when it does not answer."""
        from ..snmp.client import SnmpError
        from ..snmp.remote import read_report  # imported here: MySQL runs never pay for it

        try:
            return read_report(self.target, members)
        except SnmpError as err:
            raise SourceDown(str(err)) from None


Source = MysqlSource | SnmpSource


def name_of(report: NodeReport, source: Source) -> str:
    """The node's name for a result text: its wsrep_node_name, else how it was reached."""
    return report.state.node_name or source.name
