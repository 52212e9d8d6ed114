"""contrib/zabbix/galera_by_snmp.yaml imports into a real Zabbix 6.0 (server, frontend API and
database started by the test) and becomes the template it says: its items, value maps, member
discovery and triggers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from zabbix_support import IMPORT_RULES, TEMPLATE_FILE, Zabbix, zabbix

from galera_snmp.snmp import mib, notifications
from galera_snmp.snmp import zabbix as generator


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zabbix]:
    with zabbix(tmp_path_factory.mktemp("zabbix")) as started:
        print(f"Zabbix harness started in {started.timings['total']:.1f} s: "
              + ", ".join(f"{part} {seconds:.1f} s" for part, seconds in started.timings.items()))
        yield started


def test_the_template_imports_and_is_what_the_file_says(server: Zabbix) -> None:
    assert server.call("configuration.import", {"format": "yaml", "rules": IMPORT_RULES,
                                                "source": TEMPLATE_FILE.read_text(encoding="utf-8")}) is True
    (found,) = server.call("template.get", {
        "filter": {"host": generator.TEMPLATE}, "output": ["templateid", "host", "uuid"],
        "selectItems": "count", "selectTriggers": "count", "selectDiscoveries": "count", "selectMacros": "extend",
        "selectValueMaps": ["name", "mappings"],
    })
    export = generator.template()["zabbix_export"]
    valuemaps = export["templates"][0]["valuemaps"]
    assert found["uuid"] == generator.uid("template", generator.TEMPLATE)
    assert int(found["items"]) == len(mib.SCALARS) + len(notifications.TABLE)  # polled, and a trap item each
    assert int(found["triggers"]) == len(generator.TRIGGERS)
    assert int(found["discoveries"]) == 1
    assert sorted(vm["name"] for vm in found["valuemaps"]) == sorted(vm["name"] for vm in valuemaps)
    assert {m["macro"] for m in found["macros"]} == {m for m, _, _ in generator.MACROS}

    (rule,) = server.call("discoveryrule.get", {"templateids": found["templateid"], "output": ["key_"],
                                                "selectItems": "count"})
    assert (rule["key_"], int(rule["items"])) == (generator.DISCOVERY_KEY, len(mib.MEMBER_COLUMNS))
    items = server.call("item.get", {"templateids": found["templateid"], "output": ["key_", "value_type"],
                                     "selectPreprocessing": ["type"]})
    traps = {i["key_"] for i in items if i["key_"].startswith("snmptrap[")}
    assert traps == {f'snmptrap["notification {n.name}"]' for n in notifications.TABLE}
    per_second = {i["key_"] for i in items if any(step["type"] == "10" for step in i["preprocessing"])}
    assert per_second == {generator.item_key(o.name) for o in mib.SCALARS if generator.is_counter(o)}


def test_importing_again_changes_nothing(server: Zabbix) -> None:
    """Stable UUIDs: a second import of the same file updates the template in place."""
    before = server.call("item.get", {"templated": True, "output": ["itemid"], "sortfield": "itemid"})
    assert server.call("configuration.import", {"format": "yaml", "rules": IMPORT_RULES,
                                                "source": TEMPLATE_FILE.read_text(encoding="utf-8")}) is True
    assert server.call("item.get", {"templated": True, "output": ["itemid"], "sortfield": "itemid"}) == before
