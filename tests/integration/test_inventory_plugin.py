# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import time

import pytest
import yaml

from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import LIST_PATH, STATUS_PATH, status_name
from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator

from .conftest import API_KEY, APP_ID, BIN, TOKEN, ansible_env, run_command

INVENTORY = os.path.join(BIN, "ansible-inventory")


def test_1234_phones_in_status_groups_then_a_cached_run_sends_nothing(inventory_file, tmp_path):
    with Emulator(phones=1234, token=TOKEN) as emu:
        path = inventory_file(api_url=emu.url, cache=True, cache_plugin="ansible.builtin.jsonfile",
                              cache_connection=str(tmp_path / "cache"))
        env = ansible_env(GEELARK_TOKEN=TOKEN)
        run = run_command([INVENTORY, "-i", path, "--list"], env=env)
        assert run.rc == 0, run.text
        listing = run.json()
        hostvars = listing["_meta"]["hostvars"]
        assert len(hostvars) == 1234
        truth = emu.true_status()
        for code in range(4):
            group = "status_" + status_name(code)
            members = listing.get(group, {}).get("hosts", [])
            expected = sorted(i for i, s in truth.items() if s == code)
            assert sorted(hostvars[h]["geelark_id"] for h in members) == expected
        floor = math.ceil(1234 / 100)
        assert emu.stats()["requests"] == {LIST_PATH: floor, STATUS_PATH: floor}

        emu.reset()
        again = run_command([INVENTORY, "-i", path, "--list"], env=env)
        assert again.rc == 0 and again.json() == listing
        assert emu.stats()["total_requests"] == 0

        play = tmp_path / "noop.yml"
        play.write_text("- hosts: status_started\n  gather_facts: false\n  tasks: []\n")
        flushed = run_command([os.path.join(BIN, "ansible-playbook"), "-i", path, str(play), "--flush-cache"], env=env)
        assert flushed.rc == 0, flushed.text
        assert emu.stats()["requests"] == {LIST_PATH: floor, STATUS_PATH: floor}
        cache_text = "".join(p.read_text() for p in (tmp_path / "cache").iterdir())
        assert TOKEN not in cache_text and "proxy-secret" not in cache_text


def test_graph_and_no_secret_at_vvvv(emulator, inventory_file):
    path = inventory_file(api_url=emulator.url, token=TOKEN)
    run = run_command([INVENTORY, "-i", path, "--graph", "-vvvv"])
    assert run.rc == 0, run.text
    assert "@status_shut_down:" in run.out and "@geelark:" in run.out
    assert TOKEN not in run.text and "proxy-secret" not in run.text


def test_wrong_token_fails_the_inventory_with_code_and_no_secret(emulator, inventory_file):
    path = inventory_file(api_url=emulator.url, token="wrong-token-secret")
    run = run_command([INVENTORY, "-i", path, "--list", "-vvvv"],
                      env=ansible_env(ANSIBLE_INVENTORY_UNPARSED_FAILED="1"))
    assert run.rc != 0
    assert "40003" in run.text and "wrong-token-secret" not in run.text


def test_skipped_file_says_why_at_vvv(emulator, tmp_path):
    path = tmp_path / "fleet.yml"
    path.write_text(yaml.safe_dump({"plugin": "geelark.cloudphone.geelark", "api_url": emulator.url}))
    run = run_command([INVENTORY, "-i", str(path), "--list", "-vvv"],
                      env=ansible_env(ANSIBLE_INVENTORY_ENABLED="geelark.cloudphone.geelark"))
    assert "the file name must end with .geelark.yml or .geelark.yaml" in run.text


def test_jinja_in_api_data_is_shown_literally_and_never_run(emulator, inventory_file, tmp_path):
    marker = tmp_path / "pwned"
    emulator.state.add_phones([{"id": "700000000000000001", "serialName": "evil-phone",
                                "remark": "{{ lookup('pipe', 'touch %s') }}" % marker}])
    path = inventory_file(api_url=emulator.url, token=TOKEN, filters={"ids": ["700000000000000001"]})
    play = tmp_path / "show.yml"
    play.write_text(yaml.safe_dump([{"hosts": "geelark", "connection": "local", "gather_facts": False, "tasks": [
        {"ansible.builtin.debug": {"msg": "remark={{ geelark_remark }}"}},
        {"ansible.builtin.debug": {"var": "geelark_remark"}}]}]))
    run = run_command([os.path.join(BIN, "ansible-playbook"), "-i", path, str(play)])
    assert run.rc == 0, run.text
    assert "remark={{ lookup('pipe', 'touch %s') }}" % marker in run.out
    assert not marker.exists()


def test_ctrl_c_cancels_pending_requests(inventory_file):
    # 60 requests of 5 s each, 2 at a time: far longer than any delay in sending the signal, however busy the
    # machine; an interrupt that did not stop the run would outlast communicate's timeout below.
    with Emulator(phones=3000, token=TOKEN, latency=5.0) as emu:
        path = inventory_file(api_url=emu.url, token=TOKEN, concurrency=2)
        proc = subprocess.Popen([INVENTORY, "-i", path, "--list"], env=ansible_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        wait_for_requests(emu, proc, 2)  # the listing is under way: interrupt it
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode != 0
        assert 0 < emu.stats()["total_requests"] < 60  # 30 list pages and 30 status batches were ahead
        assert "Traceback" not in out + err


def wait_for_requests(emu, proc, count):
    """Block until the emulator has received `count` API requests (or the process ended)."""
    for _poll in range(6000):
        if emu.stats()["total_requests"] >= count or proc.poll() is not None:
            return
        time.sleep(0.01)
    raise AssertionError("the emulator never saw %d requests" % count)


def cached_inventory(inventory_file, tmp_path, emulator):
    # Phones created `starting` boot after boot_reads status reads: these tests compare two fetches.
    emulator.configure_power(boot_reads=1000)
    path = inventory_file(api_url=emulator.url, token=TOKEN, cache=True, cache_plugin="ansible.builtin.jsonfile",
                          cache_connection=str(tmp_path / "cache"))
    first = run_command([INVENTORY, "-i", path, "--list"])
    assert first.rc == 0, first.text
    [entry] = list((tmp_path / "cache").iterdir())
    return path, entry, first.json()


def without_fetch_time(listing):
    """An --list answer without geelark_fetched_at, which a fetch from the API renews."""
    for hostvars in listing["_meta"]["hostvars"].values():
        hostvars.pop("geelark_fetched_at", None)
    for group in listing.values():
        if isinstance(group, dict):
            group.get("vars", {}).pop("geelark_fetched_at", None)
    return listing


def read_entry(entry):
    """A jsonfile cache entry's data (ansible-core 2.19 wraps it in a __payload__ string)."""
    data = json.loads(entry.read_text())
    return json.loads(data["__payload__"]) if "__payload__" in data else data


def write_entry(entry, data):
    wrapped = "__payload__" in json.loads(entry.read_text())
    entry.write_text(json.dumps({"__payload__": json.dumps(data)} if wrapped else data))


def test_a_cut_short_cache_entry_is_a_miss_that_is_rewritten(emulator, inventory_file, tmp_path):
    path, entry, listing = cached_inventory(inventory_file, tmp_path, emulator)
    entry.write_text(entry.read_text()[:1000])  # a writer killed halfway, or a full disk
    emulator.reset()
    run = run_command([INVENTORY, "-i", path, "--list"], env=ansible_env(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="1"))
    assert run.rc == 0, run.text
    assert without_fetch_time(run.json()) == without_fetch_time(listing)
    assert "inventory cache entry" in run.err and "could not be read" in run.err
    assert emulator.stats()["requests"] == {LIST_PATH: 3, STATUS_PATH: 3}
    assert read_entry(entry)["format"] == 1  # a good entry was written again
    emulator.reset()
    assert without_fetch_time(run_command([INVENTORY, "-i", path, "--list"]).json()) == without_fetch_time(listing)
    assert emulator.stats()["total_requests"] == 0


def test_a_cache_entry_of_the_wrong_shape_is_a_miss(emulator, inventory_file, tmp_path):
    path, entry, listing = cached_inventory(inventory_file, tmp_path, emulator)
    data = read_entry(entry)
    data["statuses"] = [0, 1]
    write_entry(entry, data)
    run = run_command([INVENTORY, "-i", path, "--list"], env=ansible_env(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="1"))
    assert run.rc == 0, run.text
    assert without_fetch_time(run.json()) == without_fetch_time(listing)
    assert "does not have the expected shape" in run.err


def test_an_api_message_quoting_the_token_is_masked_everywhere(emulator, inventory_file):
    path = inventory_file(api_url=emulator.url, token=TOKEN)
    emulator.queue_faults({"kind": "code", "code": 40003, "msg": "token %s expired" % TOKEN})
    run = run_command([INVENTORY, "-i", path, "--list", "-vvvv"],
                      env=ansible_env(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="1"))
    assert run.rc != 0
    assert "token ******** expired" in run.text and TOKEN not in run.text


def test_a_warning_quoting_the_token_is_masked(emulator, inventory_file):
    phone = list(emulator.true_status())[0]
    emulator.queue_faults({"kind": "code", "code": 0, "path": STATUS_PATH, "data": {
        "successDetails": [], "failDetails": [{"id": phone, "code": 50000, "msg": "busy for %s" % TOKEN}]}})
    path = inventory_file(api_url=emulator.url, token=TOKEN, filters={"ids": [phone]})
    run = run_command([INVENTORY, "-i", path, "--list"])
    assert run.rc == 0, run.text
    assert "busy for ********" in run.err and TOKEN not in run.text


def test_a_file_for_this_plugin_with_the_wrong_name_gets_a_warning(emulator, tmp_path):
    path = tmp_path / "fleet.yml"
    path.write_text(yaml.safe_dump({"plugin": "geelark.cloudphone.geelark", "api_url": emulator.url}))
    run = run_command([INVENTORY, "-i", str(path), "--list"])
    assert "fleet.yml names this plugin but is not read: the file name must end with .geelark.yml" in \
        " ".join(run.err.split())


def test_each_request_is_shown_at_vvv_with_its_trace_id(emulator, inventory_file):
    path = inventory_file(api_url=emulator.url, token=TOKEN)
    run = run_command([INVENTORY, "-i", path, "--graph", "-vvv"])
    assert run.rc == 0, run.text
    trace_ids = emulator.stats()["trace_ids"]
    assert len(trace_ids) == 6
    for trace_id in trace_ids:
        assert "HTTP 200 in" in run.text and "traceId %s" % trace_id in run.text
    assert run_command([INVENTORY, "-i", path, "--graph", "-vv"]).text.count("traceId") == 0


def test_mixed_auth_schemes_say_which_came_from_where(emulator, inventory_file):
    path = inventory_file(api_url=emulator.url, app_id="some-app", api_key="some-key-value")
    run = run_command([INVENTORY, "-i", path, "--list"],
                      env=ansible_env(GEELARK_TOKEN=TOKEN, ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="1"))
    assert run.rc != 0
    assert "token (environment variable GEELARK_TOKEN), and app_id (the inventory file) and api_key (the " \
           "inventory file)" in " ".join(run.text.split())
    assert TOKEN not in run.text and "some-key-value" not in run.text


@pytest.mark.parametrize("where, source", [("file", "the inventory file"),
                                           ("env", "environment variable GEELARK_API_URL")])
def test_an_api_url_with_a_path_names_where_it_was_set(emulator, inventory_file, where, source):
    url = emulator.url + "/open/v1"
    path = inventory_file(token=TOKEN, **({"api_url": url} if where == "file" else {}))
    env = {"GEELARK_API_URL": url} if where == "env" else {}
    run = run_command([INVENTORY, "-i", path, "--list"], env=ansible_env(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="1",
                                                                         **env))
    assert run.rc != 0
    assert "set api_url (from %s) to '%s'" % (source, emulator.url) in " ".join(run.text.split())
    assert emulator.stats()["total_requests"] == 0


PLAYBOOK = os.path.join(BIN, "ansible-playbook")
VAULT_PASSWORD = "vault-pass-for-tests"


def vault_encrypted_vars(tmp_path, variables):
    """An ansible-vault encrypted vars file and its password file, made by the real ansible-vault."""
    path, password = tmp_path / "geelark-vault.yml", tmp_path / "vault-pass"
    path.write_text(yaml.safe_dump(variables))
    password.write_text(VAULT_PASSWORD + "\n")
    run = run_command([os.path.join(BIN, "ansible-vault"), "encrypt", "--vault-password-file", str(password),
                       str(path)])
    assert run.rc == 0, run.text
    assert path.read_text().startswith("$ANSIBLE_VAULT;")
    return str(path), str(password)


def count_play(tmp_path, hosts="geelark"):
    """A playbook that prints how many phones it sees."""
    path = tmp_path / "count.yml"
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"ansible.builtin.debug": {"msg": "phones: {{ groups['%s'] | default([]) | length }}" % hosts}}]}]))
    return str(path)


def test_credentials_from_extra_vars_in_ansible_inventory_and_ansible_playbook(emulator, inventory_file, tmp_path):
    path = inventory_file(api_url="{{ geelark_url }}", app_id="{{ geelark_app_id }}", api_key="{{ geelark_api_key }}")
    vault, password = vault_encrypted_vars(tmp_path, {"geelark_app_id": APP_ID, "geelark_api_key": API_KEY})
    url = "geelark_url=%s" % emulator.url
    runs = {
        "-e key=value": [INVENTORY, "-i", path, "--graph", "-e", url, "-e", "geelark_app_id=%s" % APP_ID,
                         "-e", "geelark_api_key=%s" % API_KEY],
        "-e JSON and vault file": [INVENTORY, "-i", path, "--graph", "-e", '{"geelark_url": "%s"}' % emulator.url,
                                   "-e", "@" + vault, "--vault-password-file", password],
        "ansible-playbook": [PLAYBOOK, "-i", path, count_play(tmp_path), "-e", url, "-e", "@" + vault,
                             "--vault-password-file", password],
    }
    for name, command in runs.items():
        emulator.reset()
        run = run_command(command, env=ansible_env(ANSIBLE_INVENTORY_UNPARSED_FAILED="1"))
        assert run.rc == 0, (name, run.text)
        assert emulator.stats()["requests"] == {LIST_PATH: 3, STATUS_PATH: 3}, name
        assert ("phones: 300" in run.out) if command[0] == PLAYBOOK else ("@status_shut_down:" in run.out), name
        assert API_KEY not in run.text and emulator.stats()["secret_leaks"] == 0


def test_an_undefined_credential_variable_is_named_with_the_sources_that_work(emulator, inventory_file):
    path = inventory_file(api_url=emulator.url, token="{{ vault_geelark_token }}")
    run = run_command([INVENTORY, "-i", path, "--graph"], env=ansible_env(ANSIBLE_INVENTORY_UNPARSED_FAILED="1"))
    assert run.rc != 0
    text = " ".join(run.text.split())  # ansible-core before 2.19 wraps warnings at 80 columns
    assert "the token option could not be templated: the variable 'vault_geelark_token' is undefined" in text
    assert "before group_vars and host_vars" in text and "-e @vars.yml" in text and "GEELARK_TOKEN" in text
    assert emulator.stats()["total_requests"] == 0


def test_a_play_on_a_status_group_runs_per_host_and_batched_tasks_on_the_controller(inventory_file, tmp_path):
    """No ansible_connection, no interpreter setting: the inventory's defaults must be enough."""
    with Emulator(phones=12, token=TOKEN) as emu:
        path = inventory_file(api_url=emu.url)
        shut_down = sorted(i for i, s in emu.true_status().items() if s == 2)
        play = tmp_path / "shut_down.yml"
        play.write_text(yaml.safe_dump([{
            "hosts": "status_shut_down", "gather_facts": False, "tasks": [
                {"name": "Per host: a module run through the host's connection", "ansible.builtin.ping": None},
                {"name": "Per host: a fact", "ansible.builtin.set_fact": {"phone_label": "{{ geelark_id }}"}},
                {"name": "Batched: one status request for every phone of the play",
                 "geelark.cloudphone.geelark_phone_status": {
                     "ids": "{{ ansible_play_hosts | map('extract', hostvars, 'geelark_id') | list }}"},
                 "run_once": True, "register": "status"},
                {"ansible.builtin.debug": {"msg": "checked {{ status.by_status.shut_down | sort | join(',') }}"},
                 "run_once": True},
            ]}], sort_keys=False))
        env = ansible_env(GEELARK_TOKEN=TOKEN, GEELARK_API_URL=emu.url)
        del env["ANSIBLE_PYTHON_INTERPRETER"]  # as a user has it: nothing set
        emu.reset()
        run = run_command([PLAYBOOK, "-i", path, str(play), "-v"], env=env)
        assert run.rc == 0, run.text
        assert "UNREACHABLE" not in run.out and "discovered_interpreter_python" not in run.out
        assert run.out.count('"ping": "pong"') == len(shut_down) >= 2
        assert "checked %s" % ",".join(shut_down) in run.out
        # The inventory's list and status calls, then one status call for the play, not one per phone.
        assert emu.stats()["requests"] == {LIST_PATH: 1, STATUS_PATH: 2}


def test_inventory_yaml_output_has_plain_strings_for_scripts(emulator, inventory_file):
    """The README sends scripts to --yaml: API strings there are plain, never {"__ansible_unsafe": ...}."""
    path = inventory_file(api_url=emulator.url, token=TOKEN)
    run = run_command([INVENTORY, "-i", path, "--list", "--yaml"])
    assert run.rc == 0, run.text
    assert "__ansible_unsafe" not in run.out
    hosts = yaml.safe_load(run.out)["all"]["children"]["geelark"]["children"]["status_expired"]["hosts"]
    expired = sorted(i for i, s in emulator.true_status().items() if s == 3)
    assert sorted(v["geelark_id"] for v in hosts.values()) == expired
    assert all(isinstance(v["geelark_serial_name"], str) and v["geelark_serial_name"] for v in hosts.values())


def test_a_key_the_plugin_does_not_know_gets_a_warning(emulator, inventory_file):
    path = inventory_file(api_url=emulator.url, tokn=TOKEN)
    run = run_command([INVENTORY, "-i", path, "--graph"], env=ansible_env(GEELARK_TOKEN=TOKEN))
    assert run.rc == 0, run.text
    assert "has the key 'tokn', which is not an option of this plugin and is ignored; did you mean 'token'?" in \
        " ".join(run.err.split())
    assert TOKEN not in run.text


def test_a_filter_that_matches_nothing_gets_a_warning(emulator, inventory_file):
    path = inventory_file(api_url=emulator.url, token=TOKEN, filters={"group_name": "wramup"})
    run = run_command([INVENTORY, "-i", path, "--graph"])
    assert run.rc == 0, run.text
    assert 'the inventory holds no phone: the API listed 0 with filters {"group_name": "wramup"}' in \
        " ".join(run.err.split())
