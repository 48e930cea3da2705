# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import math
import re

import pytest
import yaml

from ansible.errors import AnsibleError
from ansible.inventory.data import InventoryData
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.inventory import Constructable
from ansible.plugins.loader import inventory_loader
from ansible.template import Templar

from ansible_collections.geelark.cloudphone.plugins.inventory import geelark as geelark_inventory
from ansible_collections.geelark.cloudphone.plugins.inventory.geelark import host_names
from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import LIST_PATH, STATUS_PATH
from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import status_name
from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator

from ...conftest import API_KEY, APP_ID, TOKEN

STATUS_GROUPS = ["status_started", "status_starting", "status_shut_down", "status_expired"]


@pytest.fixture
def write_config(tmp_path, emulator, monkeypatch):
    for name in ("GEELARK_TOKEN", "GEELARK_APP_ID", "GEELARK_API_KEY", "GEELARK_API_URL"):
        monkeypatch.delenv(name, raising=False)

    def writer(name="fleet.geelark.yml", **config):
        config.setdefault("plugin", "geelark.cloudphone.geelark")
        config.setdefault("api_url", emulator.url)
        config.setdefault("retry_backoff", 0.01)
        if "app_id" not in config:
            config.setdefault("token", TOKEN)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(config))
        return str(path)

    return writer


def inventory_of(path, cache=True):
    return InventoryManager(loader=DataLoader(), sources=[path], cache=cache)


def parse_directly(path, cache=False):
    """Run the plugin without InventoryManager, which would turn errors into warnings."""
    loader = DataLoader()
    plugin = inventory_loader.get("geelark.cloudphone.geelark")
    plugin.templar = Templar(loader=loader)
    data = InventoryData()
    plugin.parse(data, loader, path, cache=cache)
    return data


def hostvars(inventory, name):
    return inventory.get_host(name).get_vars()


def test_every_phone_lands_in_its_status_group_by_the_status_endpoint(emulator, write_config):
    inventory = inventory_of(write_config())
    truth = emulator.true_status()
    hosts = inventory.get_hosts("geelark")
    assert len(hosts) == 250
    seen = {}
    for host in hosts:
        variables = host.get_vars()
        seen[variables["geelark_id"]] = variables["geelark_status"]
        group = "status_" + status_name(truth[variables["geelark_id"]])
        assert host.name in [h.name for h in inventory.get_hosts(group)]
    assert seen == truth
    assert 3 in truth.values() and len(inventory.get_hosts("status_expired")) == list(truth.values()).count(3)
    calls = emulator.stats()["requests"]
    assert calls == {LIST_PATH: 3, STATUS_PATH: 3}


def test_host_variables_are_complete_and_hold_no_proxy_password(emulator, write_config):
    inventory = inventory_of(write_config())
    phone_id = list(emulator.true_status())[5]
    host = [h for h in inventory.get_hosts("geelark") if h.get_vars()["geelark_id"] == phone_id][0]
    variables = host.get_vars()
    assert {k for k in variables if k.startswith("geelark_")} == {
        "geelark_id", "geelark_serial_name", "geelark_serial_no", "geelark_status", "geelark_status_name",
        "geelark_group", "geelark_tags", "geelark_remark", "geelark_charge_mode", "geelark_equipment",
        "geelark_proxy", "geelark_fetched_at", "geelark_api_url"}
    assert variables["geelark_group"] == {"id": "590711571886417453", "name": "warmup", "remark": "accounts warming up"}
    assert host.name == variables["geelark_serial_name"] == "warmup-00005"
    assert len(variables["geelark_tags"]) == 2 and all(isinstance(t, str) for t in variables["geelark_tags"])
    assert variables["geelark_proxy"] == {"type": "socks5", "server": "203.0.113.6", "port": 1085, "username": "user5"}
    assert "proxy-secret" not in json.dumps(variables)
    assert variables["geelark_equipment"]["countryName"] == "United States"


def test_status_groups_always_exist_and_sit_under_geelark(write_config):
    inventory = inventory_of(write_config(statuses=["expired"]))
    for group in STATUS_GROUPS:
        assert group in inventory.groups
        assert inventory.groups["geelark"] in inventory.groups[group].parent_groups
    assert len(inventory.get_hosts("status_started")) == 0
    assert all(h.get_vars()["geelark_status"] == 3 for h in inventory.get_hosts("geelark"))


def test_status_group_prefix_is_an_option(write_config):
    inventory = inventory_of(write_config(status_group_prefix="state_"))
    assert "state_started" in inventory.groups and "status_started" not in inventory.groups


@pytest.fixture
def warnings(monkeypatch):
    """Warnings the plugin shows (Display itself shows each distinct text once per process)."""
    shown = []
    monkeypatch.setattr(geelark_inventory.display, "warning", lambda msg, *a, **kw: shown.append(msg))
    return shown


def test_shared_serial_names_get_the_id_and_no_phone_is_dropped(emulator, write_config, warnings):
    inventory = inventory_of(write_config())
    names = [h.name for h in inventory.get_hosts("geelark")]
    assert len(names) == len(set(names)) == 250
    twins = sorted(n for n in names if n.startswith("reels-00038"))
    assert twins == ["reels-00038_601876382020300922", "reels-00038_601876382020308841"]
    assert len([n for n in names if "_6018763820" in n]) == 2 * (250 // 40)
    assert any("12 phones share a serial name" in w for w in warnings)


def test_host_names_rule():
    phones = [{"id": "1", "serialName": "a"}, {"id": "2", "serialName": "a"}, {"id": "3", "serialName": "b"},
              {"id": "4", "serialName": ""}, {"id": "5", "serialName": "a_1"}]
    assert host_names(phones, "serial_name") == {"1": "1", "2": "a_2", "3": "b", "4": "4", "5": "a_1"}
    assert host_names(phones, "id") == {"1": "1", "2": "2", "3": "3", "4": "4", "5": "5"}


def test_a_phone_without_a_name_and_a_phone_named_by_that_id_both_get_a_host_name():
    phones = [{"id": "7", "serialName": ""}, {"id": "8", "serialName": "7"}, {"id": "9", "serialName": None}]
    expected = {"7": "7", "8": "7_8", "9": "9"}  # the ID is the phone's own; the name gives way
    assert host_names(phones, "serial_name") == expected
    assert host_names(list(reversed(phones)), "serial_name") == expected


def test_a_name_that_is_a_group_name_of_the_inventory_gets_the_id_appended():
    phones = [{"id": "1", "serialName": "all"}, {"id": "2", "serialName": "status_started"},
              {"id": "3", "serialName": "group_x"}, {"id": "4", "serialName": "group_x_4"},
              {"id": "5", "serialName": "keep"}]
    reserved = {"all", "status_started", "group_x", "group_x_4", "group_x_4_4"}  # then the ID alone
    assert host_names(phones, "serial_name", reserved) == {
        "1": "all_1", "2": "status_started_2", "3": "group_x_3", "4": "4", "5": "keep"}
    assert host_names(phones, "id", {"1", "1_2"}) == {"1": "1_3", "2": "2", "3": "3", "4": "4", "5": "5"}


def test_control_characters_in_a_name_become_underscores_in_the_host_name():
    phones = [{"id": "1", "serialName": "\x1b]0;title\x07\x1b[2Jok: [x]\r\nnext\x7f\x9b\u202e"},
              {"id": "2", "serialName": " \tplain name\n"}, {"id": "3", "serialName": "\x00"}]
    assert host_names(phones, "serial_name") == {
        "1": "_]0;title__[2Jok: [x]__next___", "2": "plain name", "3": "_"}


def test_host_names_are_unique_group_free_and_printable_whatever_the_input():
    hypothesis = pytest.importorskip("hypothesis")
    strategies = hypothesis.strategies
    samples = ["", "a", "a_1", "1", "all", "\x1b", "x\ny", "status_started", "1_2", "2_1"]
    texts = strategies.one_of(strategies.sampled_from(samples), strategies.text(max_size=6))
    ids = strategies.one_of(strategies.sampled_from(["1", "2", "a", "all", "a_1", "1_2"]),
                            strategies.text(min_size=1, max_size=4))

    @hypothesis.settings(max_examples=400, deadline=None)
    @hypothesis.given(phones=strategies.dictionaries(ids, strategies.one_of(strategies.none(), texts), max_size=8),
                      reserved=strategies.sets(texts, max_size=5),
                      hostname=strategies.sampled_from(["serial_name", "id"]))
    def check(phones, reserved, hostname):
        listed = [{"id": phone_id, "serialName": name} for phone_id, name in phones.items()]
        names = host_names(listed, hostname, reserved)
        assert set(names) == set(phones)  # every phone, once
        assert len(set(names.values())) == len(names)  # no name shared
        assert not set(names.values()) & reserved  # no name is a group name
        for name in names.values():
            assert name and not re.search(r"[\x00-\x1f\x7f-\x9f]", name)

    check()


def test_hostname_id(write_config, emulator):
    inventory = inventory_of(write_config(hostname="id"))
    assert sorted(h.name for h in inventory.get_hosts("geelark")) == sorted(emulator.true_status())


def test_server_side_filters_are_sent_and_client_side_statuses_applied(emulator, write_config):
    inventory = inventory_of(write_config(filters={"group_name": "warmup", "open_status": 1},
                                          statuses=["started"]))
    hosts = inventory.get_hosts("geelark")
    assert hosts and all(h.get_vars()["geelark_group"]["name"] == "warmup" for h in hosts)
    assert all(h.get_vars()["geelark_status_name"] == "started" for h in hosts)
    assert emulator.request_bodies(LIST_PATH)[0] == {"groupName": "warmup", "openStatus": 1, "page": 1,
                                                     "pageSize": 100}


def test_unknown_filter_fails_clearly(write_config):
    with pytest.raises(AnsibleError, match="Unknown filter 'group'"):
        parse_directly(write_config(filters={"group": "warmup"}))


@pytest.mark.parametrize("config, fragment", [
    ({"statuses": ["running"]}, "Invalid value"),
    ({"api_url": "openapi.geelark.com"}, "is not an http(s) URL"),
    ({"concurrency": 0}, "concurrency must be a whole number"),
    ({"token": None}, "No GeeLark credentials were given"),
])
def test_bad_options_fail_clearly(write_config, config, fragment):
    with pytest.raises(AnsibleError) as info:
        parse_directly(write_config(**config))
    assert fragment.lower() in str(info.value).lower()  # 2.22 writes "has an invalid value"


def test_signature_auth_and_templated_credentials(emulator, write_config):
    path = write_config(app_id="{{ 'eH6gQR4oHr3Fs' ~ 'ZpI36La01IW' }}", api_key=API_KEY)
    assert APP_ID == "eH6gQR4oHr3FsZpI36La01IW"
    assert len(inventory_of(path).get_hosts("geelark")) == 250
    assert emulator.stats()["secret_leaks"] == 0


def test_wrong_credentials_fail_with_code_and_no_secret(write_config):
    with pytest.raises(AnsibleError) as info:
        parse_directly(write_config(token="wrong-token-value"))
    assert "40003" in str(info.value) and "traceId" in str(info.value)
    assert "wrong-token-value" not in str(info.value)


def test_cache_hit_sends_no_request_and_flush_refetches(emulator, write_config, tmp_path):
    path = write_config(cache=True, cache_plugin="ansible.builtin.jsonfile", cache_connection=str(tmp_path / "cache"))
    first = sorted(h.name for h in inventory_of(path).get_hosts("geelark"))
    assert emulator.stats()["total_requests"] == 6
    emulator.reset()
    second = inventory_of(path)
    assert sorted(h.name for h in second.get_hosts("geelark")) == first
    assert emulator.stats()["total_requests"] == 0
    second.refresh_inventory()
    assert emulator.stats()["total_requests"] == 6
    inventory_of(path, cache=False)
    assert emulator.stats()["total_requests"] == 12
    cached = "".join(p.read_text() for p in (tmp_path / "cache").iterdir())
    assert "proxy-secret" not in cached and TOKEN not in cached and "password" not in cached


def test_cache_off_always_fetches(emulator, write_config):
    path = write_config()
    inventory_of(path)
    inventory_of(path)
    assert emulator.stats()["total_requests"] == 12


def test_changed_filters_miss_the_cache(emulator, write_config, tmp_path):
    cache = dict(cache=True, cache_plugin="ansible.builtin.jsonfile", cache_connection=str(tmp_path / "cache"))
    inventory_of(write_config(**cache))
    emulator.reset()
    inventory = inventory_of(write_config(filters={"group_name": "reels"}, **cache))
    assert emulator.stats()["total_requests"] > 0
    assert all(h.get_vars()["geelark_group"]["name"] == "reels" for h in inventory.get_hosts("geelark"))


def test_constructed_features(write_config):
    inventory = inventory_of(write_config(
        keyed_groups=[{"key": "geelark_group.name", "prefix": "group"}],
        groups={"uk": "geelark_equipment.countryName == 'United Kingdom'"},
        compose={"label": "geelark_serial_name ~ '/' ~ geelark_status_name"}))
    assert len(inventory.get_hosts("group_warmup")) == 50
    assert len(inventory.get_hosts("uk")) == 63
    variables = inventory.get_hosts("group_reels")[0].get_vars()
    assert variables["label"] == "%s/%s" % (variables["geelark_serial_name"], variables["geelark_status_name"])


def test_api_strings_are_unsafe_and_never_templated(emulator, write_config):
    emulator.state.add_phones([{"id": "123", "serialName": "{{ 7 * 6 }}", "remark": "{{ lookup('pipe', 'id') }}"}])
    inventory = inventory_of(write_config(compose={"shown": "geelark_remark"}))
    host = inventory.get_host("{{ 7 * 6 }}")
    variables = host.get_vars()
    assert variables["geelark_remark"] == "{{ lookup('pipe', 'id') }}"
    templar = Templar(loader=DataLoader(), variables=variables)
    assert templar.template(variables["geelark_remark"]) == "{{ lookup('pipe', 'id') }}"
    assert variables["shown"] == "{{ lookup('pipe', 'id') }}"


def test_a_phone_deleted_between_list_and_status_is_left_out_with_a_warning(emulator, write_config, warnings):
    victim = list(emulator.true_status())[-1]
    # The last status batch (phones 201-250) goes out after every list page is in: delete it then.
    emulator.queue_faults({"kind": "mutate", "path": STATUS_PATH}, {"kind": "mutate", "path": STATUS_PATH},
                          {"kind": "mutate", "path": STATUS_PATH, "delete": [victim]})
    inventory = inventory_of(write_config(concurrency=1))
    assert len(inventory.get_hosts("geelark")) == 249
    assert victim not in [h.get_vars()["geelark_id"] for h in inventory.get_hosts("geelark")]
    assert any(victim in w and "no longer exists (42001)" in w for w in warnings)


def test_a_status_the_api_does_not_give_falls_back_to_the_list(emulator, write_config):
    ids = list(emulator.true_status())[:2]
    with Emulator(fleet=list(emulator.state.phones.values())[:2], token=TOKEN) as small:
        small.queue_faults({"kind": "code", "code": 0, "path": STATUS_PATH,
                            "data": {"successDetails": [{"id": ids[0], "status": 3}]}})
        inventory = inventory_of(write_config(api_url=small.url))
        statuses = {h.get_vars()["geelark_id"]: h.get_vars()["geelark_status"] for h in inventory.get_hosts("geelark")}
    listed = emulator.state.phones[ids[1]]["status"]
    assert statuses == {ids[0]: 3, ids[1]: 2 if listed == 3 else listed}


def test_file_names_not_ending_in_geelark_yml_are_skipped(write_config):
    plugin = inventory_loader.get("geelark.cloudphone.geelark")
    assert plugin.verify_file(write_config(name="fleet.geelark.yaml"))
    assert not plugin.verify_file(write_config(name="fleet.yml"))


def test_1234_phones_with_the_fewest_calls(write_config):
    with Emulator(phones=1234, token=TOKEN) as emu:
        inventory = inventory_of(write_config(api_url=emu.url))
        assert len(inventory.get_hosts("geelark")) == 1234
        floor = math.ceil(1234 / 100)
        assert emu.stats()["requests"] == {LIST_PATH: floor, STATUS_PATH: floor}
        by_group = {g: len(inventory.get_hosts(g)) for g in STATUS_GROUPS}
        truth = list(emu.true_status().values())
        assert by_group == {"status_" + status_name(c): truth.count(c) for c in range(4)}


def test_an_unknown_status_code_gets_its_own_group(emulator, write_config):
    phone_id = next(iter(emulator.true_status()))
    emulator.set_status([phone_id], 7)
    inventory = inventory_of(write_config())
    hosts = inventory.get_hosts("status_unknown")
    assert [h.get_vars()["geelark_id"] for h in hosts] == [phone_id]
    assert hosts[0].get_vars()["geelark_status"] == 7
    assert inventory.groups["geelark"] in inventory.groups["status_unknown"].parent_groups
    assert len(inventory.get_hosts("geelark")) == 250


@pytest.fixture
def extra_vars(monkeypatch):
    """Set the command line's -e values as ansible-playbook would, for BaseInventoryPlugin to load."""
    from ansible import context
    from ansible.module_utils.common.collections import ImmutableDict
    from ansible.utils.vars import load_extra_vars

    def setter(*values):
        monkeypatch.setattr(context, "CLIARGS", ImmutableDict(extra_vars=values))
        monkeypatch.setattr(load_extra_vars, "extra_vars", None, raising=False)  # it keeps the first answer

    yield setter
    monkeypatch.setattr(load_extra_vars, "extra_vars", None, raising=False)


def test_credential_templates_see_the_extra_vars(emulator, write_config, extra_vars):
    extra_vars("geelark_app_id=%s" % APP_ID, '{"geelark_api_key": "%s"}' % API_KEY)
    path = write_config(app_id="{{ geelark_app_id }}", api_key="{{ geelark_api_key }}")
    assert len(parse_directly(path).hosts) == 250
    assert emulator.stats()["secret_leaks"] == 0


def test_an_undefined_credential_variable_is_named(write_config, extra_vars, emulator):
    extra_vars("other=1")
    with pytest.raises(AnsibleError) as info:
        parse_directly(write_config(token="{{ vault_geelark_token }}"))
    message = str(info.value)
    assert "the token option could not be templated: the variable 'vault_geelark_token' is undefined" in message
    assert "before group_vars and host_vars" in message and "GEELARK_TOKEN" in message
    assert emulator.stats()["total_requests"] == 0


def test_a_failing_credential_template_names_only_the_error_type(write_config):
    with pytest.raises(AnsibleError) as info:
        parse_directly(write_config(token="{{ 'secret-part' | no_such_filter }}"))
    assert "the token option could not be templated" in str(info.value)
    assert "secret-part" not in str(info.value)


def test_phones_run_tasks_on_the_controller_by_default_and_compose_overrides_it(write_config):
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[write_config(compose={"ansible_connection": "'ssh'"}),
                                                         write_config(name="plain.geelark.yml")])
    assert inventory.groups["geelark"].get_vars() == {"ansible_connection": "local",
                                                      "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    manager = VariableManager(loader=loader, inventory=inventory)
    variables = manager.get_vars(host=inventory.get_hosts("status_shut_down")[0])
    assert variables["ansible_connection"] == "ssh"  # compose (a host variable) wins over the group default
    assert variables["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
    templar = Templar(loader=loader, variables=variables)
    assert templar.template(variables["ansible_python_interpreter"]) == variables["ansible_playbook_python"]


def test_the_fetch_time_is_a_host_variable_stored_with_the_cache(emulator, write_config, tmp_path):
    path = write_config(cache=True, cache_plugin="ansible.builtin.jsonfile", cache_connection=str(tmp_path / "cache"))
    first = inventory_of(path)
    fetched = {h.get_vars()["geelark_fetched_at"] for h in first.get_hosts("geelark")}
    assert len(fetched) == 1
    [stamp] = fetched
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", stamp)
    assert stamp in "".join(p.read_text() for p in (tmp_path / "cache").iterdir())
    emulator.reset()
    again = inventory_of(path)
    assert emulator.stats()["total_requests"] == 0
    assert {h.get_vars()["geelark_fetched_at"] for h in again.get_hosts("geelark")} == {stamp}


def test_a_phone_with_null_lists_and_objects_gets_empty_host_variables(emulator, write_config):
    emulator.state.add_phones([{"id": "700000000000000001", "serialName": None, "serialNo": None, "group": None,
                                "tags": None, "remark": None, "chargeMode": None, "equipmentInfo": None,
                                "proxy": None},
                               {"id": "700000000000000002", "tags": [None, {"name": None}], "group": {"name": None}}])
    keyed = [{"key": "geelark_group.name", "prefix": "group"}, {"key": "geelark_tags", "prefix": "tag"}]
    inventory = inventory_of(write_config(hostname="id", keyed_groups=keyed))
    variables = inventory.get_host("700000000000000001").get_vars()
    texts = ("geelark_serial_name", "geelark_serial_no", "geelark_remark")
    assert [variables[name] for name in texts] == ["", "", ""]
    assert variables["geelark_group"] == {"id": "", "name": "", "remark": ""}
    assert (variables["geelark_tags"], variables["geelark_equipment"], variables["geelark_proxy"]) == ([], {}, {})
    assert variables["geelark_charge_mode"] is None
    assert inventory.get_host("700000000000000002").get_vars()["geelark_tags"] == [""]
    assert len(inventory.get_hosts("geelark")) == 252


def test_the_documentation_lists_every_host_variable():
    documentation = yaml.safe_load(geelark_inventory.DOCUMENTATION)
    text = " ".join(documentation["description"])
    host_variables = set(geelark_inventory.PhoneHostVars.__annotations__) | {"geelark_fetched_at", "geelark_api_url"}
    assert set(re.findall(r"C\((geelark_\w+)\)", text)) == host_variables
    for name, value in geelark_inventory.CONNECTION_DEFAULTS.items():
        assert "C(%s=%s)" % (name, value) in text


def test_an_empty_value_in_the_file_counts_as_not_set_for_every_option(write_config, monkeypatch, emulator):
    monkeypatch.setenv("GEELARK_TOKEN", TOKEN)
    monkeypatch.setenv("GEELARK_API_URL", emulator.url)
    loader = DataLoader()
    plugin = inventory_loader.get("geelark.cloudphone.geelark")
    plugin.templar = Templar(loader=loader)
    data = InventoryData()
    plugin.parse(data, loader, write_config(token="", api_url=" ", app_id=None, validate_certs=""), cache=False)
    assert len(data.hosts) == 250
    options = plugin._client_options()
    # validate_certs: "" would read as false (no TLS verification); unset, it takes its default, true.
    assert (options["token"], options["api_url"], options["app_id"], options["validate_certs"]) == (
        TOKEN, emulator.url, None, None)
    # A credential given empty with nothing found elsewhere is noted, so "No GeeLark credentials" can say so.
    assert plugin._sources == {"token": "environment variable GEELARK_TOKEN",
                               "api_url": "environment variable GEELARK_API_URL",
                               "app_id": "empty in the inventory file"}


def _inventory_view(inventory):
    """What a play sees of each host: its groups, its variables, and those of ours that would be templated."""
    from ansible.utils.unsafe_proxy import AnsibleUnsafe

    try:
        from ansible.template import is_trusted_as_template  # ansible-core 2.19 on
    except ImportError:
        is_trusted_as_template = None

    def templated(value):
        if isinstance(value, dict):
            return any(templated(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return any(templated(v) for v in value)
        if not isinstance(value, str):
            return False
        return is_trusted_as_template(value) if is_trusted_as_template else not isinstance(value, AnsibleUnsafe)

    view = {}
    for host in inventory.get_hosts():
        own = host.get_vars()
        view[host.name] = {"groups": sorted(g.name for g in host.get_groups()), "vars": json.loads(json.dumps(own)),
                           "templated": sorted(k for k, v in own.items() if k.startswith("geelark_") and templated(v))}
    return view


def test_host_variables_are_written_directly_only_where_ansible_core_has_the_internal(emulator, write_config, tmp_path,
                                                                                      monkeypatch):
    # Writing into ansible-core's inventory data behind its 2.19+ proxy (`__wrapped__`) skips
    # set_variable's walk over every value; releases without the proxy go through set_variable.
    from ansible.release import __version__ as core_version

    expected = "direct" if tuple(int(p) for p in core_version.split(".")[:2]) >= (2, 19) else "set_variable"
    check = geelark_inventory.direct_host_store
    picked = []

    def spy(inventory):
        store = check(inventory)
        picked.append("set_variable" if store is None else "direct")
        return store

    monkeypatch.setattr(geelark_inventory, "direct_host_store", spy)
    # The cache makes both runs see the same fetch (its time is a host variable).
    path = write_config(cache=True, cache_plugin="ansible.builtin.jsonfile", cache_connection=str(tmp_path / "cache"),
                        compose={"phone_label": "geelark_serial_name ~ '-' ~ geelark_status_name"},
                        keyed_groups=[{"key": "geelark_status_name", "prefix": "by"}])
    checked = _inventory_view(inventory_of(path))
    assert picked == [expected], "ansible-core %s" % core_version
    monkeypatch.setattr(geelark_inventory, "direct_host_store", lambda inventory: None)
    through_set_variable = _inventory_view(inventory_of(path))
    assert emulator.stats()["total_requests"] == 6  # the second run came from the cache
    assert len(checked) == 250 and checked == through_set_variable
    assert not any(view["templated"] for view in checked.values())  # API data is never templated


def test_credentials_are_masked_in_the_inventorys_messages_also_where_a_json_string_quotes_them():
    plugin = inventory_loader.get("geelark.cloudphone.geelark")
    plugin._secrets = ('k"ey\\1',)
    quoted = json.dumps({"msg": 'k"ey\\1'})  # as an API answer quoting the key would show it
    assert plugin._mask("bad key k\"ey\\1 in %s" % quoted) == 'bad key ******** in {"msg": "********"}'


PLAIN_VARIABLES = {
    "name": "reels-00001", "spaced": " reels ", "empty": "", "looks_true": "True", "looks_listed": "[1, 2]",
    "looks_mapped": "{'a': 1}", "template": "{{ 7 * 6 }}", "number": 7, "nothing": None, "flag": True,
    "tags": ["tiktok", "vip"], "mixed": ["tiktok", 1],
    "group": {"id": "5907", "name": "warmup", "items": "a key named like a method", "inner": {"deep": "x"}},
    "true": "a variable Jinja never reads", "none": "neither",
}
# Read directly; every other expression below is left to ansible-core.
READ_DIRECTLY = ["name", " name ", "spaced", "empty", "tags", "group.name", "group.inner.deep"]


@pytest.mark.parametrize("expression", READ_DIRECTLY + [
    "looks_true", "looks_listed", "looks_mapped", "template", "number", "nothing", "flag", "mixed", "group",
    "group.items", "group.missing", "missing", "missing.name", "name.upper", "true", "none", "tags[0]",
    "group['name']", "name ~ '-x'", "group.inner"])
def test_a_plain_reference_reads_what_ansible_core_would_template(expression):
    variables = geelark_inventory.mark_unsafe(PLAIN_VARIABLES)
    plugin = inventory_loader.get("geelark.cloudphone.geelark")
    plugin.templar = Templar(loader=DataLoader())
    direct = geelark_inventory.plain_reference(expression, variables)
    assert (direct is not geelark_inventory.NOT_PLAIN) == (expression in READ_DIRECTLY)
    if direct is geelark_inventory.NOT_PLAIN:
        return
    # what this release of ansible-core gives (the expression trusted, as it is when read from the inventory file)
    templated = Constructable._compose(plugin, geelark_inventory._trusted_template(expression), variables)
    assert direct == templated and isinstance(direct, str) == isinstance(templated, str)
    value = variables[expression.strip()] if "." not in expression else None
    if isinstance(value, str):  # the very value: what the API gave stays as untemplatable as it was
        assert direct is value


@pytest.fixture
def templated(monkeypatch):
    """The expressions ansible-core's Constructable._compose is given, in order."""
    given = []
    compose = Constructable._compose

    def recorded(self, template, variables, *args, **kwargs):
        given.append(template)
        return compose(self, template, variables, *args, **kwargs)

    monkeypatch.setattr(Constructable, "_compose", recorded)
    return given


def test_keyed_groups_and_compose_on_plain_references_skip_the_template_engine(write_config, templated):
    inventory = inventory_of(write_config(
        keyed_groups=[{"key": "geelark_group.name", "prefix": "group"}, {"key": "geelark_tags", "prefix": "tag"}],
        compose={"shown": "geelark_serial_name", "label": "geelark_serial_name ~ '/' ~ geelark_status_name"}))
    assert len(inventory.get_hosts("group_warmup")) == 50 and inventory.get_hosts("tag_vip")
    phones = len(inventory.get_hosts("geelark"))
    assert set(templated) == {"geelark_serial_name ~ '/' ~ geelark_status_name"} and len(templated) == phones
    variables = inventory.get_hosts("group_reels")[0].get_vars()
    assert variables["shown"] == variables["geelark_serial_name"]
    assert variables["label"] == "%s/%s" % (variables["geelark_serial_name"], variables["geelark_status_name"])


def test_with_use_extra_vars_every_expression_goes_through_ansible_core(write_config, templated):
    keyed = [{"key": "geelark_group.name", "prefix": "group"}]
    inventory = inventory_of(write_config(use_extra_vars=True, keyed_groups=keyed))
    assert len(inventory.get_hosts("group_warmup")) == 50
    assert templated == ["geelark_group.name"] * len(inventory.get_hosts("geelark"))


def test_compose_sees_every_host_variable_as_groups_and_keyed_groups_do(write_config, emulator):
    inventory = inventory_of(write_config(strict=True, compose={
        "site": "geelark_api_url", "fetched": "geelark_fetched_at", "me": "inventory_hostname",
        "label": "inventory_hostname ~ '@' ~ geelark_api_url"}))
    variables = hostvars(inventory, "warmup-00000")
    assert variables["site"] == variables["geelark_api_url"] == emulator.url
    assert variables["fetched"] == variables["geelark_fetched_at"] != ""
    assert variables["me"] == "warmup-00000" and variables["label"] == "warmup-00000@" + emulator.url
