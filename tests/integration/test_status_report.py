# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The status_report runbook, run by its FQCN against the emulator."""

from __future__ import annotations

import collections
import csv
import datetime
import json
import re
import types

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import STATUS_NAMES

from .conftest import TOKEN, ansible_env, fleet_emulator, run_command, write_inventory
from .test_runbooks import PLAYBOOK, runbook

FETCHED_AT = "%Y-%m-%dT%H:%M:%SZ"
GROUPS = [{"key": "geelark_group.name", "prefix": "group"}]  # group_NAME per GeeLark group


@pytest.fixture
def fleet(emulator, inventory_file):
    return inventory_file(api_url=emulator.url, keyed_groups=GROUPS)


def shared_report(tmp_path_factory, name, *args, phones=()):
    """One status_report run, with report_dir, against an emulator of its own, for several tests to read.

    The runbook only reads, so the tests that check different parts of the same report share one run.
    """
    out = tmp_path_factory.mktemp(name)
    with fleet_emulator() as emulator:
        emulator.state.add_phones(list(phones))
        fleet = write_inventory(out, api_url=emulator.url, keyed_groups=GROUPS)
        reports = out / "reports"
        run = runbook("status_report", "-i", fleet, "-e", "report_dir=%s" % reports, *args, emulator=emulator)
        yield types.SimpleNamespace(emulator=emulator, run=run, dir=reports)


@pytest.fixture(scope="module")
def whole_fleet(tmp_path_factory):
    """The report of the emulator's 300 phones, with 4 phones of each status on screen."""
    yield from shared_report(tmp_path_factory, "whole-fleet", "-e", "report_list_limit=4")


SCRIPT_PHONE = {"id": "700000000000000001", "serialName": "<script>alert(1)</script>", "status": 3,
                "group": {"id": "9", "name": "a|b <img src=x onerror=alert(2)>", "remark": ""}}
NULL_PHONE = {"id": "700000000000000003", "serialName": None, "group": None, "tags": None, "remark": None,
              "equipmentInfo": None, "proxy": None, "status": 2}


@pytest.fixture(scope="module")
def hostile_fleet(tmp_path_factory):
    """The report of a fleet with a phone whose name and group hold markup, and a phone whose fields are null."""
    yield from shared_report(tmp_path_factory, "hostile-fleet", phones=[SCRIPT_PHONE, NULL_PHONE])


def report_files(path):
    return {kind: (path / ("status_report." + kind)).read_text() for kind in ("md", "html", "json", "csv")}


def truth_of(emulator):
    phones = list(emulator.state.phones.values())
    return phones, collections.Counter(STATUS_NAMES[p["status"]] for p in phones)


def test_status_report_numbers_equal_the_fleet(whole_fleet):
    run = whole_fleet.run
    assert run.rc == 0, run.text
    phones, truth = truth_of(whole_fleet.emulator)
    by_group = collections.Counter((p["group"]["name"], STATUS_NAMES[p["status"]]) for p in phones)
    assert "GeeLark phones by status (geelark): 300 phones" in run.out
    for name, count in truth.items():
        assert re.search(r"%s\s+%d\s" % (name, count), run.out), (name, count)
    files = report_files(whole_fleet.dir)
    for name, count in truth.items():
        assert "| %s | %d |" % (name, count) in files["md"]
    for group in {p["group"]["name"] for p in phones}:
        counts = [by_group[(group, s)] for s in ("started", "starting", "shut_down", "expired")]
        total = sum(by_group[(group, s)] for s in STATUS_NAMES.values())
        row = "| %s | %s | %d |" % (group, " | ".join(str(c) for c in counts), total)
        assert row in files["md"]
    assert "<script" not in files["html"] and 'class="bar"' in files["html"]
    # The bars start at the left of their cells (the cells of numbers are right-aligned).
    assert "td.barcell { text-align: left;" in files["html"]
    assert files["html"].count('<td class="barcell"><span class="bar"') == 4
    assert ">%d<" % truth["expired"] in files["html"]


def test_the_json_report_has_counts_every_phone_not_started_and_its_times(whole_fleet):
    assert whole_fleet.run.rc == 0, whole_fleet.run.text
    report = json.loads((whole_fleet.dir / "status_report.json").read_text())
    phones, truth = truth_of(whole_fleet.emulator)
    assert report["total"] == 300 and report["hosts"] == "geelark"
    assert report["by_status"] == dict((name, truth[name]) for name in list(STATUS_NAMES.values()) + ["unknown"])
    assert report["started_pct"] == round(100.0 * truth["started"] / 300, 1)
    for name in ("starting", "shut_down", "expired"):
        expected = sorted((p["serialName"], p["id"]) for p in phones if STATUS_NAMES[p["status"]] == name)
        assert sorted((p["name"], p["id"]) for p in report["not_started"][name]) == expected
    assert "started" not in report["not_started"]
    taken = datetime.datetime.strptime(report["taken_at"], FETCHED_AT)
    fetched = datetime.datetime.strptime(report["data_fetched_at"], FETCHED_AT)
    assert report["data_age_seconds"] == int((taken - fetched).total_seconds()) >= 0
    assert report["thresholds"] == {} and report["threshold_failures"] == []
    rows = list(csv.reader(report_files(whole_fleet.dir)["csv"].splitlines()))
    assert rows[0] == ["serial_name", "id", "status", "group"]
    assert sorted(tuple(r) for r in rows[1:]) == sorted(
        (p["serialName"], p["id"], STATUS_NAMES[p["status"]], p["group"]["name"]) for p in phones)


def test_the_screen_lists_the_first_n_phones_of_each_status_and_the_files_all(whole_fleet):
    run = whole_fleet.run
    assert run.rc == 0, run.text
    phones, truth = truth_of(whole_fleet.emulator)
    shown = re.findall(r'"  (\S+) \((\d{18})\)  \S+",?\n', run.out)
    assert len(shown) == 4 * 3  # starting, shut_down, expired each hold more than 4 phones
    assert "shut_down: %d phones, the first 4 (every one is in the report files)" % truth["shut_down"] in run.out
    status_of = dict((p["id"], STATUS_NAMES[p["status"]]) for p in phones)
    assert collections.Counter(status_of[phone_id] for _name, phone_id in shown) == {
        "starting": 4, "shut_down": 4, "expired": 4}
    markdown = report_files(whole_fleet.dir)["md"]
    for phone in phones:
        if phone["status"] != 0:
            assert "| %s | %s | %s |" % (phone["serialName"], phone["id"], phone["group"]["name"]) in markdown


def test_a_threshold_not_met_fails_the_run_after_writing_the_report(emulator, fleet, tmp_path):
    _phones, truth = truth_of(emulator)
    run = runbook("status_report", "-i", fleet, "-e", "report_dir=%s" % tmp_path, "-e", "max_expired=0",
                  "-e", "min_started_pct=90", emulator=emulator)
    assert run.rc == 2, run.text
    pct = 100.0 * truth["started"] / 300
    message = "Thresholds not met: %d phones are expired; max_expired is 0; %.1f%% of the phones are started (%d of " \
              "300); min_started_pct is 90" % (truth["expired"], pct, truth["started"])
    assert message in run.out
    report = json.loads((tmp_path / "status_report.json").read_text())
    assert report["thresholds"] == {"max_expired": 0, "min_started_pct": 90}
    assert len(report["threshold_failures"]) == 2


def test_thresholds_that_are_met_pass(emulator, fleet):
    _phones, truth = truth_of(emulator)
    run = runbook("status_report", "-i", fleet, "-e", "max_expired=%d" % truth["expired"], "-e", "min_started_pct=40",
                  "-e", "max_shut_down=%d" % truth["shut_down"], "-e", "min_started=%d" % truth["started"],
                  emulator=emulator)
    assert run.rc == 0, run.text
    assert ": met" in run.out


@pytest.mark.parametrize("extra, fragment", [
    ("max_expired=none", "max_expired must be a whole number of at least 0, not 'none'"),
    ("max_expired=", "max_expired must be a whole number of at least 0, not '' (an empty value)"),
    ("min_started_pct=120", "min_started_pct must be a whole number of at least 0 and at most 100, not '120'"),
    ("phones=", "phones is empty: give an inventory pattern"),
    ("report_hosts=", "report_hosts is empty: give an inventory pattern"),
    ('{"phone_ids": ["1"], "report_hosts": "geelark"}', "as phone_ids or as an inventory pattern in report_hosts"),
])
def test_bad_input_fails_before_any_report(emulator, fleet, extra, fragment):
    run = runbook("status_report", "-i", fleet, "-e", extra, emulator=emulator)
    assert run.rc == 2 and fragment in " ".join(run.out.split())
    assert "GeeLark phones by status" not in run.out


def test_api_text_is_escaped_in_markdown_and_html(hostile_fleet):
    assert hostile_fleet.run.rc == 0, hostile_fleet.run.text
    files = report_files(hostile_fleet.dir)
    for kind in ("md", "html"):
        assert "<script" not in files[kind] and "<img" not in files[kind]
    assert "| &lt;script&gt;alert(1)&lt;/script&gt; | 700000000000000001 | a\\|b &lt;img src=x onerror=alert(2)&gt; |" \
        in files["md"]
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in files["html"]
    row = [r for r in csv.reader(files["csv"].splitlines()) if r[1] == "700000000000000001"]
    assert row == [["<script>alert(1)</script>", "700000000000000001", "expired", "a|b <img src=x onerror=alert(2)>"]]


def test_a_phone_with_null_fields_is_reported(hostile_fleet):
    assert hostile_fleet.run.rc == 0, hostile_fleet.run.text
    report = json.loads((hostile_fleet.dir / "status_report.json").read_text())
    assert {"name": "", "id": "700000000000000003", "group": ""} in report["not_started"]["shut_down"]
    assert report["by_group"][""]["total"] == 1 and "| (no group) |" in report_files(hostile_fleet.dir)["md"]


def test_the_age_of_cached_data_is_shown(emulator, inventory_file, tmp_path):
    cache = tmp_path / "cache"
    fleet = inventory_file(api_url=emulator.url, cache=True, cache_plugin="ansible.builtin.jsonfile",
                           cache_connection=str(cache))
    assert runbook("status_report", "-i", fleet, emulator=emulator).rc == 0
    [entry] = list(cache.iterdir())
    stored = json.loads(entry.read_text())
    wrapped = "__payload__" in stored  # ansible-core 2.19 and later keep the entry as a JSON string in a wrapper
    payload = json.loads(stored["__payload__"]) if wrapped else stored
    payload["fetched_at"] = "2026-01-02T03:04:05Z"  # as if the cache had been written then
    entry.write_text(json.dumps(dict(stored, __payload__=json.dumps(payload)) if wrapped else payload))
    emulator.reset()
    run = runbook("status_report", "-i", fleet, "-e", "report_dir=%s" % tmp_path, emulator=emulator)
    assert run.rc == 0, run.text
    assert emulator.stats()["total_requests"] == 0
    report = json.loads((tmp_path / "status_report.json").read_text())
    assert report["data_fetched_at"] == "2026-01-02T03:04:05Z"
    taken = datetime.datetime.strptime(report["taken_at"], FETCHED_AT)
    age = int((taken - datetime.datetime(2026, 1, 2, 3, 4, 5)).total_seconds())
    assert report["data_age_seconds"] == age
    assert "data fetched from the API 2026-01-02T03:04:05Z (%d s before the report, from the inventory cache)" % age \
        in run.out


def test_a_report_without_a_loaded_inventory_fails_and_says_why(emulator, inventory_file):
    fleet = inventory_file(api_url=emulator.url)
    run = run_command([PLAYBOOK, "-i", fleet, "geelark.cloudphone.status_report"],
                      env=ansible_env(GEELARK_TOKEN="wrong-report-token"))
    assert run.rc == 2, run.text
    assert "No geelark inventory was loaded" in run.out and "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true" in run.out
    assert "0 phones" not in run.out and "wrong-report-token" not in run.text
    run = run_command([PLAYBOOK, "geelark.cloudphone.status_report"], env=ansible_env(GEELARK_TOKEN=TOKEN))
    assert run.rc == 2 and "No geelark inventory was loaded" in run.out


def test_a_pattern_that_matches_no_phone_fails_unless_allowed(emulator, fleet):
    run = runbook("status_report", "-i", fleet, "-e", "report_hosts=group_reels:&group_warmup", emulator=emulator)
    assert run.rc == 2, run.text
    assert "report_hosts 'group_reels:&group_warmup' matches no phone of the geelark inventory (300 phones loaded)" \
        in run.out
    assert "group_reels" in run.out and "allow_empty=true" in run.out
    run = runbook("status_report", "-i", fleet, "-e", "report_hosts=group_reels:&group_warmup",
                  "-e", "allow_empty=true", emulator=emulator)
    assert run.rc == 0, run.text
    assert "GeeLark phones by status (group_reels:&group_warmup): 0 phones" in run.out


def test_a_misspelt_group_fails_even_with_allow_empty(emulator, fleet):
    run = runbook("status_report", "-i", fleet, "-e", "report_hosts=group_reel", "-e", "allow_empty=true",
                  emulator=emulator)
    assert run.rc == 2, run.text
    assert "report_hosts 'group_reel': 'group_reel' matches no group and no host of the inventory" in run.out
    assert "Did you mean group_reels?" in run.out


def test_status_report_for_part_of_the_fleet(emulator, fleet):
    run = runbook("status_report", "-i", fleet, "-e", "report_hosts=group_reels", emulator=emulator)
    assert run.rc == 0, run.text
    count = sum(1 for p in emulator.state.phones.values() if p["group"]["name"] == "reels")
    assert "GeeLark phones by status (group_reels): %d phones" % count in run.out


def test_status_report_for_phone_ids(emulator, fleet):
    truth = emulator.true_status()
    ids = [i for i, s in truth.items() if s == 0][:2] + [i for i, s in truth.items() if s == 3][:1]
    run = runbook("status_report", "-i", fleet, "-e", "phone_ids=" + ",".join(ids), "-e", "max_expired=0",
                  emulator=emulator)
    assert run.rc == 2, run.text
    assert "GeeLark phones by status (phone_ids (3 IDs)): 3 phones" in run.out
    assert "Thresholds not met: 1 phone is expired; max_expired is 0" in run.out
    absent = runbook("status_report", "-i", fleet, "-e", "phone_ids=%s,404404404404404404" % ids[0],
                     emulator=emulator)
    assert absent.rc == 2
    assert "1 of the 2 phone_ids is not in the geelark inventory: 404404404404404404." in " ".join(absent.out.split())


def test_geelark_api_url_is_said_to_reach_the_report_only_through_the_inventory(emulator, fleet, inventory_file):
    run = runbook("status_report", "-i", fleet, "-e", "geelark_api_url=http://127.0.0.1:1", emulator=emulator)
    assert run.rc == 0, run.text
    assert "geelark_api_url changes nothing here unless the inventory file's api_url uses it" in " ".join(
        run.out.split())
    templated = inventory_file(name="templated.geelark.yml", api_url="{{ geelark_api_url }}")
    run = runbook("status_report", "-i", templated, "-e", "geelark_api_url=%s" % emulator.url)
    assert run.rc == 0, run.text
    assert "GeeLark phones by status (geelark): %d phones" % len(emulator.true_status()) in run.out


def test_a_mistyped_pattern_in_phones_is_named_as_phones(emulator, fleet):
    run = runbook("status_report", "-i", fleet, "-e", "phones=group_wramup", emulator=emulator)
    assert run.rc == 2
    assert "phones 'group_wramup': 'group_wramup' matches no group and no host of the inventory" in run.out


def test_a_relative_report_dir_is_relative_to_where_the_run_starts(emulator, inventory_file, tmp_path):
    fleet = inventory_file(api_url=emulator.url, token=TOKEN)
    run = run_command([PLAYBOOK, "-i", fleet, "geelark.cloudphone.status_report",
                       "-e", "report_dir=out"], cwd=str(tmp_path))
    assert run.rc == 0, run.text
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "status_report.csv", "status_report.html", "status_report.json", "status_report.md"]
    assert "Reports written: %s/status_report.{md,html,json,csv}" % (tmp_path / "out") in run.out


def test_a_mistyped_threshold_is_refused_rather_than_passing_unchecked(emulator, inventory_file):
    fleet = inventory_file(api_url=emulator.url, token=TOKEN)
    run = run_command([PLAYBOOK, "-i", fleet, "geelark.cloudphone.status_report",
                       "-e", "max_exipred=0"])
    assert run.rc == 2
    assert "max_exipred is not a threshold of this report" in run.out


def test_a_formula_in_a_phone_name_is_text_in_the_csv(emulator, inventory_file, tmp_path):
    emulator.state.add_phones([{"id": "700000000000000009", "serialName": "=HYPERLINK(\"x\")", "status": 2}])
    fleet = inventory_file(api_url=emulator.url, token=TOKEN, filters={"ids": ["700000000000000009"]})
    run = run_command([PLAYBOOK, "-i", fleet, "geelark.cloudphone.status_report",
                       "-e", "report_dir=%s" % tmp_path])
    assert run.rc == 0, run.text
    assert '"\'=HYPERLINK(""x"")"' in (tmp_path / "status_report.csv").read_text()


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", ""])
def test_report_list_limit_must_be_a_whole_number(emulator, fleet, value):
    run = runbook("status_report", "-i", fleet, "-e", "report_list_limit=%s" % value, emulator=emulator)
    assert run.rc == 2, run.text
    assert "report_list_limit must be a whole number of phones, 0 or more, not '%s'" % value in " ".join(
        run.out.split())
    assert "GeeLark phones by status" not in run.out


def test_control_characters_in_names_are_escaped_in_every_report(emulator, inventory_file, tmp_path):
    ids = sorted(emulator.true_status())[:3]
    emulator.rename({ids[0]: "\x1b[2J\x1b]0;pwned\x07wiped\r\nok: [forged]", ids[1]: "\tTAB", ids[2]: "\rCR"})
    emulator.set_status(ids, 2)
    fleet = inventory_file(api_url=emulator.url, token=TOKEN, filters={"ids": ids})
    run = run_command([PLAYBOOK, "-i", fleet, "geelark.cloudphone.status_report", "-e", "report_dir=%s" % tmp_path])
    assert run.rc == 0, run.text
    files = report_files(tmp_path)
    shown = "\\x1b[2J\\x1b]0;pwned\\x07wiped\\x0d\\x0aok: [forged]"
    assert shown in run.out.replace("\\\\", "\\")  # the screen's JSON doubles each backslash
    for kind in ("md", "html", "csv"):
        text = files[kind]
        assert not any(c in text for c in "\x1b\x07\r\t"), kind
    assert shown.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]") in files["md"]
    assert "<td>%s</td>" % shown in files["html"]
    rows = dict((r[1], r[0]) for r in csv.reader(files["csv"].splitlines()[1:]))
    # A cell that starts with a control character (TAB, CR, ESC) is neutralised like =, +, -, @.
    assert rows[ids[0]] == "'" + shown
    assert rows[ids[1]] == "'\\x09TAB" and rows[ids[2]] == "'\\x0dCR"
    report = json.loads(files["json"])
    assert "\x1b[2J\x1b]0;pwned\x07wiped\r\nok: [forged]" in [p["name"] for p in report["not_started"]["shut_down"]]


def test_phones_and_report_hosts_together_are_refused_naming_both(emulator, fleet):
    run = runbook("status_report", "-i", fleet, "-e", "phones=group_warmup", "-e", "report_hosts=group_reels",
                  emulator=emulator)
    assert run.rc == 2, run.text
    assert "Give the phones either in report_hosts or in phones, not both (report_hosts=group_reels, " \
        "phones=group_warmup)" in run.out
    assert "GeeLark phones by status" not in run.out
