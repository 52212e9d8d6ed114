"""galera_snmp/init/make_primary.py's reading helpers: the component, and a node as it counts."""

from __future__ import annotations

import pytest

from galera_snmp.config import ConfigError
from galera_snmp.init.make_primary import component_of

NODES = ("10.0.0.11", "10.0.0.12", "10.0.0.13")
UUID = "6b1e2c3d-0000-11ef-8000-0123456789ab"


def test_the_component_from_wsrep_incoming_addresses():
    assert component_of("10.0.0.11:3306,10.0.0.13:3306", NODES) == {"10.0.0.11", "10.0.0.13"}
    assert component_of("", NODES) == set()
    with pytest.raises(ConfigError, match=r"10\.9\.9\.9 of this component are not among"):
        component_of("10.0.0.11:3306,10.9.9.9:3306", NODES)
