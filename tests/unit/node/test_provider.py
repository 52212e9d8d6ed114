"""galera_snmp/node/provider.py: a provider option set the way the server takes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import stopped_node_config

from galera_snmp.config import load_config
from galera_snmp.node.provider import AdminError, provider_statement, set_provider_option

UUID = "32afe379-f152-11f1-8bad-8206cf6f7b1b"


def test_up_to_10_11_the_options_string_with_the_plugin_a_variable_of_its_own():
    """MariaDB 11.8 with the wsrep_provider plugin refuses wsrep_provider_options changes (1210):
    each provider option is a variable of its own there (make-primary failed exactly so)."""
    assert provider_statement("pc.bootstrap", "YES", set()) == "SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'"
    assert provider_statement("pc.bootstrap", "YES", {"wsrep_provider_pc_bootstrap"}) == (
        "SET GLOBAL wsrep_provider_pc_bootstrap = ON")
    assert provider_statement("evs.evict", UUID, set()) == f"SET GLOBAL wsrep_provider_options='evs.evict={UUID}'"
    assert provider_statement("evs.evict", UUID, {"wsrep_provider_evs_evict"}) == (
        f"SET GLOBAL wsrep_provider_evs_evict = '{UUID}'")


def test_an_empty_value_clears_evs_evicts_list():
    assert provider_statement("evs.evict", "", set()) == "SET GLOBAL wsrep_provider_options='evs.evict='"


@pytest.mark.parametrize("value", ["x'; DROP", "a b", "x" * 65])
def test_only_plain_values_reach_a_statement(value):
    with pytest.raises(ValueError, match="not a provider option value"):
        provider_statement("evs.evict", value, set())


def test_an_option_file_gone_since_the_start_is_an_admin_error_not_a_crash(tmp_path: Path):
    """Crash eviction's thread handles AdminError and goes on; anything else would end it."""
    config = load_config(stopped_node_config(tmp_path))
    (tmp_path / "client.cnf").unlink()
    with pytest.raises(AdminError, match=r"client\.cnf"):
        set_provider_option(config, "evs.evict", "")
