# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The runbooks in playbooks/, run by their FQCN against the emulator."""

from __future__ import annotations

import json
import os
import re

import pytest

from .conftest import BIN, TOKEN, ansible_env, run_command

PLAYBOOK = os.path.join(BIN, "ansible-playbook")


@pytest.fixture
def fleet(emulator, inventory_file):
    return inventory_file(api_url=emulator.url, keyed_groups=[{"key": "geelark_group.name", "prefix": "group"}])


def runbook(name, *args, emulator=None):
    env = ansible_env(GEELARK_TOKEN=TOKEN, **({"GEELARK_API_URL": emulator.url} if emulator else {}))
    return run_command([PLAYBOOK, "geelark.cloudphone.%s" % name, *args], env=env)


def failure_ids(run):
    """The phone IDs listed in a runbook's failure message (ansible-core 2.19 prints it twice)."""
    return sorted(set(re.findall(r"\((\d{18})\): ", run.out)))


def test_assert_status_passes_when_every_phone_is_started(emulator, fleet):
    run = runbook("assert_status", "-i", fleet, "-e", "phones=status_started", emulator=emulator)
    assert run.rc == 0, run.text


def test_assert_status_fails_exactly_for_the_phones_not_started(emulator, fleet, tmp_path):
    report = tmp_path / "not_started.json"
    run = runbook("assert_status", "-i", fleet, "-e", "phones=group_warmup", "-e", "report_file=%s" % report,
                  emulator=emulator)
    assert run.rc == 2
    warmup = [p for p in emulator.state.phones.values() if p["group"]["name"] == "warmup"]
    not_started = sorted(p["id"] for p in warmup if p["status"] != 0)
    assert len(not_started) > 20
    written = json.loads(report.read_text())
    assert sorted(p["id"] for p in written["not_in_status"]) == not_started
    assert len(failure_ids(run)) == 20  # the first 20 on screen, all of them in the file
    assert set(failure_ids(run)) <= set(not_started)
    assert "... and %d more: all of them are in %s" % (len(not_started) - 20, report) in run.out
    assert "%d of %d phones are not started (inventory pattern group_warmup (%d phones)):" % (
        len(not_started), len(warmup), len(warmup)) in run.out
    expired = next(p for p in warmup if p["status"] == 3)
    assert {"id": expired["id"], "serial_name": expired["serialName"], "status": 3,
            "status_name": "expired"} in written["not_in_status"]


def test_assert_status_with_ids_and_a_wanted_status(emulator):
    ids = [i for i, s in emulator.true_status().items() if s == 2][:4] + ["404404404404404404"]
    run = runbook("assert_status", "-e", json.dumps({"phone_ids": ids, "wanted_status": "shut_down"}),
                  emulator=emulator)
    assert run.rc == 2
    assert "1 of 5 phones is not shut_down (phone_ids (5 IDs)):" in run.out
    assert "(no name) (404404404404404404): no status from the API - 42001 env not found" in run.out


def test_wait_for_status_succeeds_when_the_phones_start(emulator):
    ids = [i for i, s in emulator.true_status().items() if s == 2][:3]
    emulator.set_status(ids, 0, on_read=3)  # shut down for two polls, started from the third
    run = runbook("wait_for_status", "-e", json.dumps({"phone_ids": ids, "poll_interval": 1, "wait_timeout": 20}),
                  emulator=emulator)
    assert run.rc == 0, run.text
    assert "All 3 phones are started" in run.out
    polls = emulator.request_bodies("/open/v1/phone/status")
    assert [sorted(body["ids"]) for body in polls] == [sorted(ids)] * 3  # one batched call per poll


def test_wait_for_status_times_out_cleanly_naming_the_laggards(emulator):
    truth = emulator.true_status()
    late = [i for i, s in truth.items() if s == 2][:2]
    ready = [i for i, s in truth.items() if s == 0][:2]
    extra = {"phone_ids": ready + late, "poll_interval": 1, "wait_timeout": 2}
    run = runbook("wait_for_status", "-e", json.dumps(extra), emulator=emulator)
    assert run.rc == 2
    assert "Timed out after 2 s (3 polls): 2 of 4 phones are not started (phone_ids (4 IDs)):" in run.out
    assert failure_ids(run) == sorted(late)
    assert len(emulator.request_bodies("/open/v1/phone/status")) == 3


def test_wait_for_status_with_no_wait_fails_when_a_phone_is_not_there_yet(emulator):
    shut_down = [i for i, s in emulator.true_status().items() if s == 2][:1]
    run = runbook("wait_for_status", "-e", json.dumps({"phone_ids": shut_down, "wait_timeout": 0}),
                  emulator=emulator)
    assert run.rc == 2
    assert "Timed out after 0 s (1 poll): 1 of 1 phone is not started" in run.out
    assert "All 1 phones" not in run.out


def test_wait_for_status_timeout_says_so_first_and_stays_short(emulator):
    late = [i for i, s in emulator.true_status().items() if s == 2][:45]
    run = runbook("wait_for_status", "-e", json.dumps({"phone_ids": late, "wait_timeout": 0}), emulator=emulator)
    assert run.rc == 2
    failure = run.out[run.out.index("fatal: "):]
    assert '"msg": ["Timed out after 0 s (1 poll): 45 of 45 phones are not started' in failure  # said first
    assert "... and 25 more: run with -e report_file=PATH to write all of them to a file" in failure
    # The task headers and the first 20 phones: all 45 would be 25 lines more.
    assert len(run.out.splitlines()) < 90


def test_wait_for_status_stops_at_once_for_phones_the_api_does_not_know(emulator):
    ids = [i for i, s in emulator.true_status().items() if s == 2][:1] + ["404404404404404404"]
    run = runbook("wait_for_status", "-e", json.dumps({"phone_ids": ids, "poll_interval": 1, "wait_timeout": 600}),
                  emulator=emulator)
    assert run.rc == 2
    assert ("Stopped waiting after 1 poll(s), before the 600 s timeout: 2 of 2 phones are not started "
            "(phone_ids (2 IDs)), and the API does not know 1 of them, which waiting cannot change:") in run.out
    assert "(no name) (404404404404404404): no status from the API - 42001" in run.out
    assert len(emulator.request_bodies("/open/v1/phone/status")) == 1


@pytest.mark.parametrize("args", [["-e", "phones="], ["-e", "phones= "]])
@pytest.mark.parametrize("name", ["assert_status", "wait_for_status", "power"])
def test_an_empty_pattern_is_refused_not_read_as_every_phone(emulator, fleet, name, args):
    extra = ["-e", "state=stopped", "-e", "max_changes=1000"] if name == "power" else []
    run = runbook(name, "-i", fleet, *args, *extra, emulator=emulator)
    assert run.rc == 2
    assert "phones is empty: give an inventory pattern such as status_shut_down" in run.out
    assert emulator.stats()["requests"]["/open/v1/phone/status"] == 3  # the inventory's own, none more


def test_a_mistyped_pattern_lists_only_the_groups_that_hold_phones(emulator, inventory_file, tmp_path):
    fleet = inventory_file(api_url=emulator.url, statuses=["expired"])
    other = tmp_path / "web.ini"
    other.write_text("[web]\nlocalhost\n")  # a group of another inventory, with no phone
    run = runbook("assert_status", "-i", fleet, "-i", str(other), "-e", "phones=status_started", emulator=emulator)
    assert run.rc == 2
    assert "(%d phones; groups with phones: geelark, status_expired). Check the spelling" % sum(
        1 for s in emulator.true_status().values() if s == 3) in " ".join(run.out.split())


def test_phone_ids_without_an_inventory_gives_no_pattern_warning(emulator):
    ids = [i for i, s in emulator.true_status().items() if s == 0][:1]
    run = runbook("assert_status", "-e", "phone_ids=%s" % ids[0], emulator=emulator)
    assert run.rc == 0, run.text
    assert "Could not match supplied host pattern" not in run.text


@pytest.mark.parametrize("name", ["assert_status", "wait_for_status"])
def test_a_mistyped_pattern_fails_and_says_so(emulator, fleet, name):
    run = runbook(name, "-i", fleet, "-e", "phones=group_wramup", emulator=emulator)
    assert run.rc == 2
    assert "phones 'group_wramup': 'group_wramup' matches no group and no host of the inventory" in run.out
    assert "Did you mean group_warmup?" in run.out
    assert emulator.stats()["requests"]["/open/v1/phone/status"] == 3  # the inventory's own, none more


@pytest.mark.parametrize("name", ["assert_status", "wait_for_status"])
def test_an_inventory_that_did_not_load_fails_the_runbook(emulator, inventory_file, name):
    broken = inventory_file(api_url=emulator.url, token="wrong-inventory-token")
    run = run_command([PLAYBOOK, "-i", broken, "geelark.cloudphone.%s" % name], env=ansible_env())
    assert run.rc == 2
    assert "the geelark inventory did not load (there is no 'geelark' group)" in run.out
    assert "wrong-inventory-token" not in run.text


def test_wait_for_status_without_ids_or_inventory_fails(emulator):
    run = runbook("wait_for_status", emulator=emulator)
    assert run.rc == 2
    assert "the geelark inventory did not load" in run.out
    assert "All 0 phones" not in run.out


def test_an_empty_phone_ids_fails_unless_allowed(emulator):
    run = runbook("assert_status", "-e", '{"phone_ids": []}', emulator=emulator)
    assert run.rc == 2
    assert "No phones to act on: phone_ids is empty" in run.out
    allowed = runbook("assert_status", "-e", '{"phone_ids": [], "allow_empty": true}', emulator=emulator)
    assert allowed.rc == 0, allowed.text
    assert "No phone was targeted (allow_empty is true): nothing was checked" in allowed.out


@pytest.mark.parametrize("form", ["one", "comma"])
def test_phone_ids_as_key_value_is_one_id_or_a_comma_separated_list(emulator, form):
    started = [i for i, s in emulator.true_status().items() if s == 0][:3]
    ids = started[:1] if form == "one" else started
    run = runbook("assert_status", "-e", "phone_ids=%s" % ",".join(ids), emulator=emulator)
    assert run.rc == 0, run.text
    assert ("The phone is started (phone_ids (1 ID))" if form == "one" else
            "All 3 phones are started (phone_ids (3 IDs))") in run.out
    assert emulator.request_bodies("/open/v1/phone/status") == [{"ids": ids}]


def test_runbooks_pass_on_api_errors(emulator):
    run = run_command([PLAYBOOK, "geelark.cloudphone.wait_for_status", "-e",
                       json.dumps({"phone_ids": ["1"], "geelark_api_url": emulator.url})],
                      env=ansible_env(GEELARK_TOKEN="wrong-runbook-token"))
    assert run.rc == 2
    assert "code 40003" in run.out and "wrong-runbook-token" not in run.text


@pytest.mark.parametrize("value, shown", [
    ("601876382020000000,", "''"),                # what "-e phone_ids=ID1, ID2" leaves: a space ends the value
    ("abc", "'abc'"),
    ("601876382020000000;601876382020007919", "'601876382020000000;601876382020007919'"),
])
def test_a_value_that_is_not_a_phone_id_is_refused_before_any_request(emulator, value, shown):
    run = runbook("assert_status", "-e", "phone_ids=%s" % value, emulator=emulator)
    assert run.rc == 2
    assert "phone_ids holds %s, which is not a phone ID" % shown in run.out
    assert "no spaces" in run.out
    assert emulator.stats()["total_requests"] == 0


def test_a_json_list_in_key_value_form_is_read_as_a_list(emulator):
    started = [i for i, s in emulator.true_status().items() if s == 0][:2]
    run = runbook("assert_status", "-e", "phone_ids=%s" % json.dumps(started, separators=(",", ":")),
                  emulator=emulator)
    assert run.rc == 0, run.text
    assert "All 2 phones are started (phone_ids (2 IDs))" in run.out


def test_duplicate_ids_are_checked_once(emulator):
    started = [i for i, s in emulator.true_status().items() if s == 0][:1]
    run = runbook("assert_status", "-e", "phone_ids=%s,%s" % (started[0], started[0]), emulator=emulator)
    assert run.rc == 0, run.text
    assert "The phone is started (phone_ids (1 ID))" in run.out


def test_phone_ids_and_phones_together_are_refused(emulator, fleet):
    run = runbook("assert_status", "-i", fleet, "-e", "phones=geelark", "-e", "phone_ids=601876382020000000",
                  emulator=emulator)
    assert run.rc == 2
    assert "Give the phones either as phone_ids or as an inventory pattern in phones, not both" in run.out


def test_a_report_file_is_written_under_check_mode_too(emulator, tmp_path):
    down = [i for i, s in emulator.true_status().items() if s == 2][:2]
    report = tmp_path / "not_started.json"
    run = runbook("assert_status", "--check", "-e", json.dumps({"phone_ids": down, "report_file": str(report)}),
                  emulator=emulator)
    assert run.rc == 2
    assert sorted(p["id"] for p in json.loads(report.read_text())["not_in_status"]) == sorted(down)


@pytest.mark.parametrize("bad, message", [
    ("poll_interval=0", "poll_interval must be a whole number of seconds, 1 or more, not 0"),
    ("wait_timeout=-1", "wait_timeout must be a whole number of seconds, 0 or more, not -1"),
    ("wanted_status=runing", "wanted_status must be started, starting, shut_down or expired, not runing"),
])
def test_wait_for_status_names_the_bad_value(emulator, bad, message):
    run = runbook("wait_for_status", "-e", bad, "-e", "phone_ids=601876382020000000", emulator=emulator)
    assert run.rc == 2
    assert message in run.out
    assert emulator.stats()["total_requests"] == 0


@pytest.mark.parametrize("name", ["assert_status", "wait_for_status"])
def test_one_phone_is_counted_in_the_singular(emulator, name):
    up = [i for i, s in emulator.true_status().items() if s == 0][:1]
    run = runbook(name, "-e", "phone_ids=%s" % up[0], emulator=emulator)
    assert run.rc == 0, run.text
    assert "All 1 phone" not in run.out and "1 phones" not in run.out
    assert re.search(r"The phone is started( after 1 poll\(s\))? \(phone_ids \(1 ID\)\)", run.out), run.out


@pytest.mark.parametrize("name", ["assert_status", "wait_for_status"])
def test_a_run_that_passes_rewrites_a_stale_report_file(emulator, tmp_path, name):
    up = [i for i, s in emulator.true_status().items() if s == 0][:2]
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"not_in_status": [{"id": "1"}]}))  # a previous run's
    run = runbook(name, "-e", json.dumps({"phone_ids": up, "report_file": str(report)}), emulator=emulator)
    assert run.rc == 0, run.text
    written = json.loads(report.read_text())
    assert written["not_in_status"] == [] and written["no_status"] == [] and written["targeted"] == 2
    assert written["msg"] is None


@pytest.mark.parametrize("name", ["assert_status", "wait_for_status"])
def test_a_run_that_fails_reading_the_status_rewrites_a_stale_report_file(emulator, tmp_path, name):
    up = [i for i, s in emulator.true_status().items() if s == 0][:2]
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"not_in_status": [], "msg": None}))  # a previous run's, which passed
    emulator.queue_faults({"kind": "http", "status": 500, "path": "/open/v1/phone/status", "times": 50,
                           "headers": {"Retry-After": "0"}})
    given = {"phone_ids": up, "report_file": str(report), **({"wait_timeout": 0} if name == "wait_for_status" else {})}
    run = runbook(name, "-e", json.dumps(given), emulator=emulator)
    assert run.rc == 2, run.text
    written = json.loads(report.read_text())
    assert written["targeted"] == 2 and written["not_in_status"] == []
    assert written["msg"].startswith("The run failed before the status of every phone was known: ")
    assert "HTTP 500" in written["msg"]


@pytest.mark.parametrize("name, args", [("assert_status", []), ("wait_for_status", []),
                                        ("power", ["-e", "state=stopped"])])
def test_a_report_file_in_a_missing_directory_is_refused_before_any_request(emulator, tmp_path, name, args):
    up = [i for i, s in emulator.true_status().items() if s == 0][:2]
    report = tmp_path / "missing" / "report.json"
    run = runbook(name, *args, "-e", json.dumps({"phone_ids": up, "report_file": str(report)}), emulator=emulator)
    assert run.rc == 2, run.text
    assert "report_file %s is to be written in %s, which is not a directory: make it" % (report, report.parent) \
        in " ".join(run.out.split())
    assert emulator.stats()["total_requests"] == 0 and not report.parent.exists()
