# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A runbook acts on exactly what was typed, with the credentials and the API the inventory used (issue 22)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator

from .conftest import API_KEY, APP_ID, TOKEN, ansible_env, run_command
from .test_runbooks import PLAYBOOK, runbook

INVENTORY_STATUS_READS = 3  # the geelark inventory's own status calls for the 300 phones of the emulator


@pytest.fixture
def fleet(emulator, inventory_file):
    """The README's inventory: groups per GeeLark group and per tag."""
    return inventory_file(api_url=emulator.url, keyed_groups=[{"key": "geelark_group.name", "prefix": "group"},
                                                              {"key": "geelark_tags", "prefix": "tag"}])


def flat(run):
    """The output on one line, quotes as typed (ansible-core before 2.19 prints messages as JSON strings)."""
    return " ".join(run.out.split()).replace('\\"', '"')


def phones_of(emulator, group=None, status=None, tag=None):
    return sorted(p["id"] for p in emulator.state.phones.values()
                  if (group is None or p["group"]["name"] == group) and (status is None or p["status"] == status)
                  and (tag is None or tag in [t["name"] for t in p["tags"]]))


def ids_with_status(emulator, status, count):
    return [i for i, s in emulator.true_status().items() if s == status][:count]


# 22.1 Every part of a pattern must match a group or a host.

RUNBOOK_ARGS = {
    "assert_status": [],
    "wait_for_status": ["-e", "wait_timeout=0"],
    "power": ["-e", "state=stopped", "-e", "max_changes=1000", "--check"],
    "apps": ["-e", "package=com.zhiliaoapp.musically", "-e", "max_changes=1000", "--check"],
}


@pytest.mark.parametrize("name", sorted(RUNBOOK_ARGS))
def test_a_misspelt_exclusion_fails_before_any_request_naming_the_part(emulator, fleet, name):
    run = runbook(name, "-i", fleet, "-e", "phones=group_warmup:&status_started:!tag_vpi", *RUNBOOK_ARGS[name],
                  emulator=emulator)
    assert run.rc == 2, run.text
    text = flat(run)
    assert "phones 'group_warmup:&status_started:!tag_vpi': '!tag_vpi' matches no group and no host of the " \
        "inventory" in text
    assert "the phones it should leave out would be included" in text
    assert "Did you mean tag_vip?" in text and "Groups with phones: " in text and "group_warmup" in text
    assert emulator.stats()["requests"]["/open/v1/phone/status"] == INVENTORY_STATUS_READS


def test_a_misspelt_part_of_report_hosts_fails_the_status_report(emulator, fleet):
    run = runbook("status_report", "-i", fleet, "-e", "report_hosts=group_warmup,tag_vpi", emulator=emulator)
    assert run.rc == 2, run.text
    assert "report_hosts 'group_warmup,tag_vpi': 'tag_vpi' matches no group and no host" in flat(run)
    assert "GeeLark phones by status" not in run.out


@pytest.mark.parametrize("pattern, group, status, excluded_tag", [
    ("group_warmup:&status_started:!tag_vip", "warmup", 0, "vip"),
    ("group_warm*:&status_start?d:!tag_vip", "warmup", 0, "vip"),
    ("~^group_warm(up)?$:&status_started", "warmup", 0, None),
])
def test_a_pattern_whose_every_part_matches_targets_exactly_its_phones(emulator, fleet, pattern, group, status,
                                                                       excluded_tag):
    run = runbook("assert_status", "-i", fleet, "-e", "phones=%s" % pattern, emulator=emulator)
    assert run.rc == 0, run.text
    expected = set(phones_of(emulator, group=group, status=status))
    if excluded_tag:
        expected -= set(phones_of(emulator, tag=excluded_tag))
    reads = emulator.request_bodies("/open/v1/phone/status")[INVENTORY_STATUS_READS:]
    asked = {i for body in reads for i in body["ids"]}
    assert asked == expected


def test_a_subscript_selects_phones_of_a_group_that_exists(emulator, fleet):
    run = runbook("assert_status", "-i", fleet, "-e", "phones=status_started[0:2]", emulator=emulator)
    assert run.rc == 0, run.text
    assert "All 3 phones are started" in run.out


def test_a_comma_separated_pattern_targets_every_group_it_names(emulator, fleet):
    run = runbook("assert_status", "-i", fleet, "-e", "phones=group_warmup,group_reels", emulator=emulator)
    count = len(phones_of(emulator, group="warmup")) + len(phones_of(emulator, group="reels"))
    assert "(inventory pattern group_warmup,group_reels (%d phones))" % count in flat(run), run.text


# 22.2 Space-separated IDs are refused; a JSON list with spaces is a list.

def test_space_separated_ids_are_refused_saying_how_to_write_a_list(emulator):
    ids = ids_with_status(emulator, 0, 2)
    run = runbook("assert_status", "-e", "phone_ids=%s %s" % tuple(ids), emulator=emulator)
    assert run.rc == 2, run.text
    text = flat(run)
    assert "-e got '%s', which is not NAME=VALUE" % ids[1] in text
    assert "-e phone_ids=ID1,ID2" in text and """-e '{"phone_ids": ["ID1", "ID2"]}'""" in text
    assert "All 1 phones" not in run.out
    assert emulator.stats()["total_requests"] == 0


def test_a_space_separated_pattern_is_refused_too(emulator, fleet):
    run = runbook("power", "-i", fleet, "-e", "phones=group_warmup group_reels", "-e", "state=stopped", "--check",
                  emulator=emulator)
    assert run.rc == 2, run.text
    assert "-e got 'group_reels', which is not NAME=VALUE" in flat(run)


@pytest.mark.parametrize("separator", [", ", ",", " , "])
def test_a_json_list_in_key_value_form_is_a_list_with_or_without_spaces(emulator, separator):
    ids = ids_with_status(emulator, 0, 3)
    run = runbook("assert_status", "-e", "phone_ids=[%s]" % separator.join('"%s"' % i for i in ids),
                  emulator=emulator)
    assert run.rc == 0, run.text
    assert "All 3 phones are started (phone_ids (3 IDs))" in run.out
    assert emulator.request_bodies("/open/v1/phone/status") == [{"ids": ids}]


# 22.3 A misspelt runbook variable fails with "did you mean"; unrelated extra vars pass.

@pytest.mark.parametrize("name, typo, meant", [
    ("wait_for_status", "wait_timout=1200", "wait_timeout"),
    ("assert_status", "wanted_stauts=shut_down", "wanted_status"),
    ("power", "max_change=500", "max_changes"),
    ("power", "poll_intervall=1", "poll_interval"),
    ("status_report", "report_list_limt=3", "report_list_limit"),
])
def test_a_misspelt_variable_fails_saying_which_was_meant(emulator, fleet, name, typo, meant):
    args = ["-e", "state=started"] if name == "power" else []
    run = runbook(name, "-i", fleet, "-e", typo, *args, emulator=emulator)
    assert run.rc == 2, run.text
    assert "%s is not a variable of the %s runbook: did you mean %s?" % (typo.split("=")[0], name, meant) in flat(run)
    assert emulator.stats()["requests"]["/open/v1/phone/status"] == INVENTORY_STATUS_READS


def test_unrelated_extra_vars_are_allowed(emulator, fleet):
    run = runbook("assert_status", "-i", fleet, "-e", "phones=status_started", "-e", "customer=acme",
                  "-e", "ticket=OPS-42", emulator=emulator)
    assert run.rc == 0, run.text


# 22.5 Credentials given as the README names them reach the modules.

def test_credentials_from_a_vars_file_reach_the_runbook_as_they_reached_the_inventory(emulator, inventory_file,
                                                                                      tmp_path):
    vault = tmp_path / "geelark-vault.yml"
    vault.write_text(yaml.safe_dump({"geelark_app_id": APP_ID, "geelark_api_key": API_KEY,
                                     "geelark_api_url": emulator.url}))
    fleet = inventory_file(api_url="{{ geelark_api_url }}", app_id="{{ geelark_app_id }}",
                           api_key="{{ geelark_api_key }}")
    run = run_command([PLAYBOOK, "-i", fleet, "geelark.cloudphone.assert_status", "-e", "@%s" % vault,
                       "-e", "phones=status_started"], env=ansible_env())
    assert run.rc == 0, run.text
    assert "All %d phones are started" % len(phones_of(emulator, status=0)) in run.out
    assert API_KEY not in run.text


@pytest.mark.parametrize("name", ["assert_status", "wait_for_status", "power"])
def test_a_token_given_with_e_reaches_the_modules(emulator, inventory_file, name):
    fleet = inventory_file(api_url=emulator.url, token="{{ geelark_token }}")
    extra = ["-e", "state=started", "-e", "max_changes=1000"] if name == "power" else []
    run = run_command([PLAYBOOK, "-i", fleet, "geelark.cloudphone.%s" % name, "-e", "geelark_token=%s" % TOKEN,
                       "-e", "geelark_api_url=%s" % emulator.url, "-e", "phones=status_started", *extra],
                      env=ansible_env())
    assert run.rc == 0, run.text
    assert "No GeeLark credentials" not in run.text and TOKEN not in run.out


# 22.6 The runbooks call the API the inventory listed the phones from.

def test_the_runbook_calls_the_api_of_the_inventory_file(emulator, inventory_file):
    fleet = inventory_file(api_url=emulator.url)  # no GEELARK_API_URL: the global site is not this one
    run = run_command([PLAYBOOK, "-i", fleet, "geelark.cloudphone.assert_status", "-e", "phones=status_started"],
                      env=ansible_env(GEELARK_TOKEN=TOKEN))
    assert run.rc == 0, run.text
    assert emulator.stats()["requests"]["/open/v1/phone/status"] == INVENTORY_STATUS_READS + 2


def test_phones_of_two_apis_in_one_run_fail_clearly(emulator, inventory_file, tmp_path):
    with Emulator(phones=20, token=TOKEN, seed=2) as other:
        first = inventory_file(api_url=emulator.url)
        second = inventory_file(name="cn.geelark.yml", api_url=other.url)
        run = run_command([PLAYBOOK, "-i", first, "-i", second, "geelark.cloudphone.power", "-e", "state=stopped",
                           "-e", "max_changes=1000", "--check"], env=ansible_env(GEELARK_TOKEN=TOKEN))
        assert run.rc == 2, run.text
        assert "The phones targeted were listed from 2 different APIs (" in flat(run)
        assert emulator.stats()["requests"]["/open/v1/phone/status"] == INVENTORY_STATUS_READS


def test_ids_of_no_inventory_phone_with_two_apis_are_said_to_name_none(emulator, inventory_file):
    with Emulator(phones=20, token=TOKEN, seed=2) as other:
        first = inventory_file(api_url=emulator.url)
        second = inventory_file(name="cn.geelark.yml", api_url=other.url)
        run = run_command([PLAYBOOK, "-i", first, "-i", second, "geelark.cloudphone.assert_status",
                           "-e", "phone_ids=601876382029999999"], env=ansible_env(GEELARK_TOKEN=TOKEN))
        assert run.rc == 2, run.text
        text = flat(run)
        assert "nothing was sent" in text and "run once for each inventory (-i FILE)" in text
        assert "None of phone_ids is a phone of these inventories" in text
        assert emulator.stats()["requests"]["/open/v1/phone/status"] == INVENTORY_STATUS_READS
        assert other.stats()["requests"].get("/open/v1/phone/status", 0) == 1  # its inventory's own read


def test_an_empty_geelark_api_url_is_refused_when_the_inventory_lists_the_phones(emulator, fleet):
    run = runbook("assert_status", "-i", fleet, "-e", "geelark_api_url=", emulator=emulator)
    assert run.rc == 2, run.text
    assert "geelark_api_url is empty, and an extra var overrides every phone's geelark_api_url" in flat(run)
    assert emulator.stats()["requests"]["/open/v1/phone/status"] == INVENTORY_STATUS_READS


@pytest.mark.parametrize("name, variable", [("power", "phones"), ("status_report", "report_hosts")])
def test_a_pattern_given_as_a_list_is_refused_saying_how_to_join_it(emulator, fleet, name, variable):
    args = ["-e", "state=stopped", "-e", "max_changes=1000", "--check"] if name == "power" else []
    run = runbook(name, "-i", fleet, "-e", json.dumps({variable: ["status_started", "status_expired"]}), *args,
                  emulator=emulator)
    assert run.rc == 2, run.text
    assert ('%s is ["status_started", "status_expired"], not a pattern: give one inventory pattern as text, '
            "its parts joined with commas (-e %s=group_a,group_b)" % (variable, variable)) in flat(run)
    assert emulator.stats()["requests"]["/open/v1/phone/status"] == INVENTORY_STATUS_READS


def test_a_plan_that_fails_under_check_says_nothing_was_sent(emulator, fleet):
    run = runbook("power", "-i", fleet, "-e", "state=started", "-e", "max_changes=1000", "--check",
                  emulator=emulator)
    assert run.rc == 2, run.text  # the expired phones cannot start
    expired, down = len(phones_of(emulator, status=3)), len(phones_of(emulator, status=2))
    assert ("%d of 300 phones did not start, and %d would be sent the start (check mode: nothing was sent)"
            % (expired, down)) in flat(run)
    assert "/open/v1/phone/start" not in emulator.stats()["requests"]


# 22.11 A phone that changed and then failed is counted once.

def test_a_boot_that_times_out_is_counted_once_in_the_power_summary(emulator, tmp_path):
    down = ids_with_status(emulator, 2, 3)
    emulator.configure_power(boot_reads=10000)  # they never finish booting
    report = tmp_path / "power.json"
    run = runbook("power", "-e", json.dumps({"state": "started", "phone_ids": down, "wait_timeout": 1,
                                             "poll_interval": 1, "report_file": str(report)}), emulator=emulator)
    assert run.rc == 2, run.text
    text = flat(run)
    assert "start 3 phones: 0 changed, 0 needed no change, 3 failed (3 of them after the start was sent)" in text
    assert not re.search(r"(?<![\w/.-])-3\b", text)  # no negative count; paths may hold "-3"
    assert text.count("[the start was sent]") >= 3
    assert sorted(json.loads(report.read_text())["changed_ids"]) == sorted(down)


def test_a_phone_whose_start_was_sent_is_named_before_phones_never_sent_it(emulator):
    expired, down = ids_with_status(emulator, 3, 22), ids_with_status(emulator, 2, 1)
    emulator.configure_power(boot_reads=10000)  # it never finishes booting
    run = runbook("power", "-e", json.dumps({"state": "started", "phone_ids": expired + down, "wait_timeout": 1,
                                             "poll_interval": 1}), emulator=emulator)
    assert run.rc == 2, run.text
    text = flat(run)
    assert "start 23 phones: 0 changed, 0 needed no change, 23 failed (1 of them after the start was sent)" in text
    # 20 failed phones are named: the one the start was sent to first, though it was targeted last.
    sent = "(%s): [the start was sent]" % down[0]
    assert sent in text and text.index(sent) < text.index("22 phones: ")
    assert "... and 3 more" in text


# 22.12 Runbooks give runbook advice, not module options.

@pytest.mark.parametrize("name", ["assert_status", "wait_for_status"])
def test_an_unknown_id_gets_runbook_advice_not_a_module_option(emulator, name):
    ids = ids_with_status(emulator, 0, 1) + ["404404404404404404"]
    run = runbook(name, "-e", json.dumps({"phone_ids": ids, "wait_timeout": 0} if name == "wait_for_status"
                                         else {"phone_ids": ids}), emulator=emulator)
    assert run.rc == 2, run.text
    assert "fail_on_missing" not in run.text
    assert "The API gave no status for 1 of them: check the IDs in phone_ids" in flat(run)


# 21.1 A power run that fails partway names what changed, on screen and in the report, before it fails.

def test_a_start_refused_partway_writes_the_summary_and_report_before_failing(emulator, tmp_path):
    ids = sorted(emulator.true_status())[:150]
    emulator.set_status(ids, 2)
    emulator.queue_faults({"kind": "http", "status": 403, "path": "/open/v1/phone/start", "skip": 1})
    report = tmp_path / "power.json"
    run = runbook("power", "-e", json.dumps({"state": "started", "phone_ids": ids, "max_changes": 150,
                                             "poll_interval": 1, "report_file": str(report)}), emulator=emulator)
    assert run.rc == 2, run.text
    started = sorted(i for i, s in emulator.true_status().items() if i in ids and s in (0, 1))
    assert len(started) == 100  # the first batch was applied
    written = json.loads(report.read_text())
    assert sorted(written["changed_ids"]) == started
    assert sorted(f["id"] for f in written["failures"]) == sorted(set(ids) - set(started))
    text = flat(run)
    assert "start 150 phones: 100 changed, 0 needed no change, 50 failed" in text
    assert "HTTP 403" in text  # the reason, with the phones of the refused batch
    assert "50 of 150 phones did not start, and 100 were sent the start: see the summary above, and every phone " \
        "in %s" % report in text
    assert text.index("start 150 phones:") < text.index("50 of 150 phones did not start")


# 21.5 Names are shown with their control characters escaped on screen too.

def test_control_characters_in_names_are_escaped_in_the_runbook_output(emulator):
    down = ids_with_status(emulator, 2, 1)
    emulator.rename({down[0]: "\x1b[2Jwiped\r\nok: [forged]"})
    run = runbook("assert_status", "-e", json.dumps({"phone_ids": down}),
                  emulator=emulator)
    assert run.rc == 2, run.text
    assert "\\x1b[2Jwiped\\x0d\\x0aok: [forged] (%s): shut_down" % down[0] in run.out.replace("\\\\", "\\")
    assert "\x1b" not in run.text


# 22.1 An empty part of a pattern is refused: ansible-core drops it, and what is left may mean every phone
# (-e "phones=$GROUP:&status_started" with GROUP unset is every started phone).

def refused_before_any_request(run, emulator):
    assert run.rc == 2, run.text
    assert emulator.stats()["requests"].get("/open/v1/phone/status", 0) == INVENTORY_STATUS_READS
    assert emulator.stats()["power_writes"] == {}


@pytest.mark.parametrize("pattern, where", [
    (":&status_started", "the first of 2 parts, before '&status_started'"),
    (":!tag_vip", "the first of 2 parts, before '!tag_vip'"),
    ("group_warmup,,group_reels", "the second of 3 parts, between 'group_warmup' and 'group_reels'"),
    ("group_warmup:&", "the second of 2 parts, after 'group_warmup'"),
    ("group_warmup:!:&status_started", "the second of 3 parts, between 'group_warmup' and '&status_started'"),
    (",", "the first of 2 parts and the second of 2 parts"),
    (":", "the first of 2 parts and the second of 2 parts"),
])
def test_an_empty_part_of_a_pattern_is_refused_naming_its_position(emulator, fleet, pattern, where):
    run = runbook("power", "-i", fleet, "-e", "phones=%s" % pattern, "-e", "state=stopped", "-e", "max_changes=1000",
                  "--check", emulator=emulator)
    refused_before_any_request(run, emulator)
    text = flat(run)
    count = where.count(" parts")
    assert "phones '%s' has %s: %s." % (pattern, "2 empty parts" if count == 2 else "an empty part", where) in text
    assert "An unset shell variable gives an empty part" in text
    assert "would change" not in run.out


@pytest.mark.parametrize("name, variable", [
    ("assert_status", "phones"),
    ("wait_for_status", "phones"),
    ("status_report", "phones"),
    ("status_report", "report_hosts"),
])
def test_every_runbook_refuses_an_empty_part_naming_the_variable(emulator, fleet, name, variable):
    args = ["-e", "wait_timeout=0"] if name == "wait_for_status" else []
    run = runbook(name, "-i", fleet, "-e", "%s=:&status_started" % variable, *args, emulator=emulator)
    refused_before_any_request(run, emulator)
    assert "%s ':&status_started' has an empty part: the first of 2 parts" % variable in flat(run)
    assert "GeeLark phones by status" not in run.out and "phones are started" not in run.out


def test_a_status_report_of_commas_alone_fails_instead_of_counting_every_phone(emulator, fleet):
    run = runbook("status_report", "-i", fleet, "-e", "report_hosts=,", emulator=emulator)
    assert run.rc == 2, run.text
    assert "report_hosts ',' has 2 empty parts: the first of 2 parts and the second of 2 parts." in flat(run)
    assert "GeeLark phones by status" not in run.out


# 22.10 (runbooks) An ID that went through a floating point number has lost digits: say so, and to quote it.

@pytest.mark.parametrize("name", ["assert_status", "wait_for_status", "power", "status_report"])
def test_a_float_id_is_refused_saying_it_lost_digits_and_to_quote_it(emulator, fleet, name):
    args = {"power": ["-e", "state=started"], "status_report": ["-i", fleet]}.get(name, [])
    run = runbook(name, "-e", '{"phone_ids": [6.01876382020000000e17]}', *args, emulator=emulator)
    assert run.rc == 2, run.text
    text = flat(run)
    assert "phone_ids holds '6.0187638202e+17', a floating point number: the ID lost its last digits" in text
    assert """quote each ID so it stays text: -e '{"phone_ids": ["601876382020062634"]}'""" in text
    assert "Separate several IDs with commas" not in text
    inventory_reads = INVENTORY_STATUS_READS if name == "status_report" else 0
    assert emulator.stats()["requests"].get("/open/v1/phone/status", 0) == inventory_reads


def test_an_id_written_in_floating_point_notation_is_refused_the_same_way(emulator):
    run = runbook("assert_status", "-e", "phone_ids=601876382020000000,6.01876382020062634e17", emulator=emulator)
    assert run.rc == 2, run.text
    assert "phone_ids holds '6.01876382020062634e17', a floating point number: the ID lost its last digits" \
        in flat(run)
    assert emulator.stats()["total_requests"] == 0


@pytest.mark.parametrize("name", ["assert_status", "wait_for_status", "power"])
def test_a_json_string_of_space_separated_ids_is_refused_not_joined_into_one_id(emulator, name):
    ids = ids_with_status(emulator, 0, 2)
    run = runbook(name, "-e", json.dumps({"phone_ids": "%s %s" % tuple(ids)}), "-e", "state=stopped", "--check",
                  emulator=emulator) if name == "power" else \
        runbook(name, "-e", json.dumps({"phone_ids": "%s %s" % tuple(ids)}), emulator=emulator)
    assert run.rc == 2, run.text
    text = flat(run)
    assert "phone_ids holds '%s %s'" % tuple(ids) in text
    assert "IDs separated by spaces" in text and """-e '{"phone_ids": ["ID1", "ID2"]}'""" in text
    assert "".join(ids) not in run.out
    assert emulator.stats()["total_requests"] == 0


def test_a_json_string_of_comma_separated_ids_may_have_spaces_after_the_commas(emulator):
    ids = ids_with_status(emulator, 0, 2)
    run = runbook("assert_status", "-e", json.dumps({"phone_ids": " %s, %s " % tuple(ids)}), emulator=emulator)
    assert run.rc == 0, run.text
    assert emulator.request_bodies("/open/v1/phone/status") == [{"ids": ids}]
