# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ansible-inventory against a hostile account: names that are group names or hold control characters,
names that collide with IDs, pagers that lie, empty option values. Real runs against the emulator."""

from __future__ import annotations

import os
import re
import ssl

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import LIST_PATH, STATUS_PATH, status_name

from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator

from .conftest import BIN, TOKEN, ansible_env, run_command

INVENTORY = os.path.join(BIN, "ansible-inventory")
KEYED = [{"key": "geelark_group.name", "prefix": "group"}, {"key": "geelark_tags", "prefix": "tag"}]
GROUPS = {"uk": "geelark_equipment.countryName == 'United Kingdom'"}
STRICT = {"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"}
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # everything but TAB and LF, which output may hold itself


def listing_of(emulator, inventory_file, env=None, **config):
    path = inventory_file(api_url=emulator.url, token=TOKEN, **config)
    run = run_command([INVENTORY, "-i", path, "--list"], env=ansible_env(**dict(STRICT, **(env or {}))))
    assert run.rc == 0, run.text
    return run, run.json()


def members(listing, group):
    return listing.get(group, {}).get("hosts", [])


def test_phones_named_like_groups_get_their_own_host_names_and_every_group_keeps_its_members(
        emulator, inventory_file):
    ids = list(emulator.true_status())
    clashing = ["all", "ungrouped", "geelark", "status_started", "status_expired", "status_unknown", "group_warmup",
                "tag_vip", "uk", "localhost"]
    emulator.rename(dict(zip(ids, clashing)))
    run, listing = listing_of(emulator, inventory_file, keyed_groups=KEYED, groups=GROUPS)
    hostvars = listing["_meta"]["hostvars"]
    # Every phone exactly once, and no host name is a group name.
    assert sorted(v["geelark_id"] for v in hostvars.values()) == sorted(ids)
    assert not set(hostvars) & set(listing)
    for phone_id, name in zip(ids, clashing):
        assert hostvars["%s_%s" % (name, phone_id)]["geelark_serial_name"] == name
    # Each status group holds exactly the phones of its status, and no group became another's child.
    truth = emulator.true_status()
    for code in range(4):
        group = "status_" + status_name(code)
        assert sorted(hostvars[h]["geelark_id"] for h in members(listing, group)) == \
            sorted(i for i, s in truth.items() if s == code)
        assert not listing.get(group, {}).get("children")
    assert sorted(listing["geelark"]["children"]) == sorted("status_" + n for n in
                                                            ("started", "starting", "shut_down", "expired"))
    warmup = [h for h in hostvars if hostvars[h]["geelark_group"]["name"] == "warmup"]
    assert sorted(members(listing, "group_warmup")) == sorted(warmup)
    assert sorted(members(listing, "uk")) == sorted(
        h for h in hostvars if hostvars[h]["geelark_equipment"].get("countryName") == "United Kingdom")
    text = " ".join(run.err.split())
    assert "10 phones have a serial name that is also a group name, localhost or the name of a host" in text
    assert "localhost" not in hostvars  # the runbooks' plays run on the controller, never on a phone
    assert "all_%s" % ids[0] in text and "group_warmup_%s" % ids[6] in text


def test_a_phone_named_like_a_host_of_another_source_gets_its_own_host_name(emulator, inventory_file, tmp_path):
    """Two sources (a second geelark inventory, a static file) never merge two phones into one host."""
    ids = list(emulator.true_status())
    emulator.rename({ids[0]: "shared-name"})
    static = tmp_path / "static.yml"
    static.write_text("all:\n  hosts:\n    shared-name:\n      from_static: true\n")
    path = inventory_file(api_url=emulator.url, token=TOKEN)
    run = run_command([INVENTORY, "-i", str(static), "-i", path, "--list"], env=ansible_env(**STRICT))
    assert run.rc == 0, run.text
    hostvars = run.json()["_meta"]["hostvars"]
    assert hostvars["shared-name"] == {"from_static": True}
    assert hostvars["shared-name_%s" % ids[0]]["geelark_id"] == ids[0]
    assert "the name of a host of another inventory source" in " ".join(run.err.split())


def test_control_characters_never_reach_the_terminal_through_host_names(emulator, inventory_file):
    ids = list(emulator.true_status())
    hostile = {ids[0]: "\x1b]0;owned\x07\x1b[2Jreal-name", ids[1]: "fake\r\nok: [localhost]", ids[2]: "\x9b31mred\x7f"}
    emulator.rename(hostile)
    run, listing = listing_of(emulator, inventory_file)
    hostvars = listing["_meta"]["hostvars"]
    assert hostvars["_]0;owned__[2Jreal-name"]["geelark_serial_name"] == hostile[ids[0]]  # kept as the API gave it
    assert hostvars["fake__ok: [localhost]"]["geelark_id"] == ids[1]
    assert hostvars["_31mred_"]["geelark_id"] == ids[2]
    assert "3 phones have control characters in their serial name" in " ".join(run.err.split())
    graph = run_command([INVENTORY, "-i", inventory_file(api_url=emulator.url, token=TOKEN), "--graph"],
                        env=ansible_env(**STRICT))
    assert graph.rc == 0, graph.text
    assert "|--fake__ok: [localhost]" in graph.out
    assert not CONTROL.search(graph.out + graph.err) and not CONTROL.search(run.err)
    assert not any(CONTROL.search(name) for name in hostvars)  # --list may hold them in geelark_serial_name only


def test_a_phone_without_a_name_and_a_phone_named_by_that_id_both_appear(emulator, inventory_file):
    first, second = list(emulator.true_status())[:2]
    emulator.rename({first: "", second: first})
    _run, listing = listing_of(emulator, inventory_file)
    hostvars = listing["_meta"]["hostvars"]
    assert len(hostvars) == 300
    assert hostvars[first]["geelark_id"] == first
    assert hostvars["%s_%s" % (first, second)]["geelark_id"] == second


def test_a_pager_that_repeats_its_pages_fails_the_inventory_with_bounded_requests(emulator, inventory_file):
    emulator.set_pager(repeat=True, total=5000)
    path = inventory_file(api_url=emulator.url, token=TOKEN)
    run = run_command([INVENTORY, "-i", path, "--list"], env=ansible_env(**STRICT))
    assert run.rc != 0
    text = " ".join(run.text.split())
    assert "The phone list did not add up in 3 readings" in text and "appeared on two pages" in text
    assert "Traceback" not in run.text
    # Each reading stops at page 2, which repeats page 1's phones; nothing else was in flight.
    assert [b["page"] for b in emulator.request_bodies(LIST_PATH)] == [1, 2] * 3


def test_a_total_too_large_to_read_fails_at_once_after_one_request(emulator, inventory_file):
    emulator.set_pager(total=1000000000)
    path = inventory_file(api_url=emulator.url, token=TOKEN)
    run = run_command([INVENTORY, "-i", path, "--list"], env=ansible_env(**STRICT))
    assert run.rc != 0
    text = " ".join(run.text.split())
    assert "The phone list claims 1000000000 phones, more than the 200000 one listing reads" in text
    assert "split the listing with filters" in text and "traceId" in text
    assert emulator.stats()["requests"] == {LIST_PATH: 1}


def test_every_host_says_where_it_was_read(emulator, inventory_file, tmp_path):
    config = dict(cache=True, cache_plugin="ansible.builtin.jsonfile", cache_connection=str(tmp_path / "cache"))
    path = inventory_file(api_url=emulator.url + "/", token=TOKEN, **config)
    for _run in range(2):  # from the API, then from the cache
        run = run_command([INVENTORY, "-i", path, "--list"], env=ansible_env(**STRICT))
        assert run.rc == 0, run.text
        assert {v["geelark_api_url"] for v in run.json()["_meta"]["hostvars"].values()} == {emulator.url}
    assert emulator.stats()["requests"] == {LIST_PATH: 3, STATUS_PATH: 3}


def test_an_empty_value_in_the_inventory_file_falls_back_to_the_environment(emulator, inventory_file):
    path = inventory_file(api_url="{{ geelark_url | default('') }}", token="{{ geelark_token }}", app_id="")
    run = run_command([INVENTORY, "-i", path, "--graph", "-e", "geelark_token="],
                      env=ansible_env(GEELARK_TOKEN=TOKEN, GEELARK_API_URL=emulator.url, **STRICT))
    assert run.rc == 0, run.text
    assert "@status_shut_down:" in run.out
    assert emulator.stats()["requests"] == {LIST_PATH: 3, STATUS_PATH: 3}


def test_an_empty_value_everywhere_says_no_credentials_were_given(emulator, inventory_file):
    path = inventory_file(api_url=emulator.url, token="{{ geelark_token }}")
    run = run_command([INVENTORY, "-i", path, "--graph", "-e", "geelark_token="],
                      env=ansible_env(GEELARK_TOKEN="", **STRICT))
    assert run.rc != 0
    assert "No GeeLark credentials were given" in " ".join(run.text.split())
    assert emulator.stats()["total_requests"] == 0


# validate_certs as a template or text: a self-signed server on 127.0.0.1 must be refused unless it is really off.
trustme = pytest.importorskip("trustme")


@pytest.fixture
def self_signed_emulator():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
    with Emulator(phones=5, token=TOKEN, ssl_context=context) as emu:
        yield emu


def _tls_inventory(emulator, inventory_file, validate_certs, *extra):
    path = inventory_file(api_url=emulator.url, token=TOKEN, retries=0, validate_certs=validate_certs)
    return run_command([INVENTORY, "-i", path, "--list"] + list(extra), env=ansible_env(**STRICT))


@pytest.mark.parametrize("validate_certs,extra", [
    ("{{ vc | default(true) }}", []),
    ("{{ vc }}", ["-e", "vc=on"]),
    ("{{ vc }}", ["-e", "vc=YES"]),
    ("on", []),
], ids=["default-true", "extra-var-on", "extra-var-YES", "text-on"])
def test_a_templated_or_text_validate_certs_that_means_true_checks_the_certificate(
        self_signed_emulator, inventory_file, validate_certs, extra):
    run = _tls_inventory(self_signed_emulator, inventory_file, validate_certs, *extra)
    assert run.rc != 0, run.text
    assert "TLS verification of %s failed" % self_signed_emulator.url in " ".join(run.err.split())
    assert self_signed_emulator.stats()["total_requests"] == 0


@pytest.mark.parametrize("validate_certs,extra", [
    ("{{ vc }}", ["-e", "vc=off"]),
    ("{{ vc | default(false) }}", []),
    ("No", []),
], ids=["extra-var-off", "default-false", "text-No"])
def test_a_templated_or_text_validate_certs_that_means_false_turns_the_check_off(
        self_signed_emulator, inventory_file, validate_certs, extra):
    run = _tls_inventory(self_signed_emulator, inventory_file, validate_certs, *extra)
    assert run.rc == 0, run.text
    assert len(run.json()["_meta"]["hostvars"]) == 5


@pytest.mark.parametrize("validate_certs,extra,shown", [
    ("maybe", [], "'maybe'"),
    ("{{ vc }}", ["-e", "vc=perhaps"], "'perhaps'"),
], ids=["text-maybe", "extra-var-perhaps"])
def test_a_validate_certs_that_is_not_a_boolean_is_refused_before_any_request(
        self_signed_emulator, inventory_file, validate_certs, extra, shown):
    run = _tls_inventory(self_signed_emulator, inventory_file, validate_certs, *extra)
    assert run.rc != 0, run.text
    text = " ".join(run.err.split())
    assert "validate_certs" in text and shown in text and "the inventory file" in text, text
    assert "Traceback" not in run.text
    assert self_signed_emulator.stats()["total_requests"] == 0


def test_a_templated_timeout_and_retries_are_rendered_and_typed(emulator, inventory_file):
    path = inventory_file(api_url=emulator.url, token=TOKEN, timeout="{{ t }}", retries="{{ n | default(2) }}")
    run = run_command([INVENTORY, "-i", path, "--list", "-e", "t=7.5"], env=ansible_env(**STRICT))
    assert run.rc == 0, run.text
    assert len(run.json()["_meta"]["hostvars"]) == 300
    bad = inventory_file(name="bad.geelark.yml", api_url=emulator.url, token=TOKEN, timeout="{{ t }}")
    run = run_command([INVENTORY, "-i", bad, "--list", "-e", "t=soon"], env=ansible_env(**STRICT))
    assert run.rc != 0 and "timeout" in run.err and "'soon'" in run.err and "the inventory file" in run.err, run.text


def test_an_empty_token_in_the_inventory_file_is_named_when_no_credentials_are_found(emulator, inventory_file):
    path = inventory_file(api_url=emulator.url, token="{{ geelark_token }}")
    run = run_command([INVENTORY, "-i", path, "--graph", "-e", "geelark_token="], env=ansible_env(**STRICT))
    assert run.rc != 0
    text = " ".join(run.text.split())
    assert "No GeeLark credentials were given: the token in the inventory file was empty" in text, text
    assert emulator.stats()["total_requests"] == 0


def test_a_40003_says_the_token_came_from_the_inventory_file(emulator, inventory_file):
    path = inventory_file(api_url=emulator.url, token="{{ geelark_token }}", retries=0)
    run = run_command([INVENTORY, "-i", path, "--graph", "-e", "geelark_token=wrong-but-secret"],
                      env=ansible_env(**STRICT))
    assert run.rc != 0
    text = " ".join(run.text.split())
    assert "40003" in text and "check the token, which came from the inventory file" in text, text
    assert "wrong-but-secret" not in run.text


def test_an_api_url_in_upper_case_is_accepted_and_exposed_in_its_normal_form(emulator, inventory_file):
    port = emulator.url.rsplit(":", 1)[1]
    path = inventory_file(api_url="HTTP://LOCALHOST:%s/" % port, token=TOKEN)
    run = run_command([INVENTORY, "-i", path, "--list"], env=ansible_env(**STRICT))
    assert run.rc == 0, run.text
    assert {v["geelark_api_url"] for v in run.json()["_meta"]["hostvars"].values()} == {"http://localhost:" + port}


def test_an_api_url_with_a_query_is_refused_asking_for_the_base_url(emulator, inventory_file):
    path = inventory_file(api_url=emulator.url + "/?region=cn", token=TOKEN)
    run = run_command([INVENTORY, "-i", path, "--list"], env=ansible_env(**STRICT))
    assert run.rc != 0
    text = " ".join(run.err.split())
    assert "has a query or fragment (?region=cn)" in text and "set api_url (from the inventory file) to %r" \
        % emulator.url in text, text
    assert emulator.stats()["total_requests"] == 0
