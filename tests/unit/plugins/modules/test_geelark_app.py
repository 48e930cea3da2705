# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""geelark_app against the emulator: read first, write only where needed, wait, one result per phone."""

from __future__ import annotations

import functools

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._apps import INSTALL_PATH
from ansible_collections.geelark.cloudphone.plugins.modules import geelark_app

from .conftest import warning_texts

TIKTOK = "com.zhiliaoapp.musically"
V_NEW, V_MID, V_OLD = "1793552962140770305", "1793552962140770304", "1793552962140770303"
INSTALLABLE_PATH = "/open/v1/app/installable/list"


@pytest.fixture
def run(run_module):
    return functools.partial(run_module, geelark_app.main, poll_interval=1, package=TIKTOK)


def started(emulator, count, skip=0):
    ids = [i for i, s in emulator.true_status().items() if s == 0][skip:skip + count]
    assert len(ids) == count
    return ids


def installs(emulator):
    return emulator.stats()["app_installs"]


def by_id(result):
    return dict((app["id"], app) for app in result["apps"])


def test_installs_where_missing_or_older_and_leaves_the_rest_then_changes_nothing(emulator, run):
    missing, older, same = started(emulator, 3)
    emulator.set_apps({older: {TIKTOK: {"versionName": "35.0.0", "installStatus": 1}},
                       same: {TIKTOK: {"versionName": "36.5.4", "installStatus": 1}}})
    result = run(ids=[missing, older, same], version="36.5.4")
    assert result["changed"] is True and result["changed_ids"] == [missing, older]
    apps = by_id(result)
    assert [apps[i]["status"] for i in (missing, older, same)] == ["installed", "installed", "already"]
    assert (apps[older]["version_before"], apps[older]["version_after"]) == ("35.0.0", "36.5.4")
    assert (apps[missing]["version_before"], apps[missing]["version_after"]) == (None, "36.5.4")
    assert installs(emulator) == {missing: 1, older: 1}
    assert emulator.apps_of(missing)[0]["installStatus"] == 1
    assert len(emulator.request_bodies(INSTALLABLE_PATH)) == 1  # the name resolved once

    emulator.reset()
    again = run(ids=[missing, older, same], version="36.5.4")
    assert again["changed"] is False and again["changed_ids"] == [] and again["failures"] == []
    assert [a["status"] for a in again["apps"]] == ["already"] * 3
    assert installs(emulator) == {}
    assert emulator.stats()["total_requests"] == 3  # one /app/list per phone, nothing else


def test_a_higher_version_is_a_42004_failure_without_a_write(emulator, run):
    newer, fine = started(emulator, 2)
    emulator.set_apps({newer: {TIKTOK: {"versionName": "36.5.4", "installStatus": 1}}})
    result = run(ids=[newer, fine], version="36.4.0")
    assert result["failed"] is True and result["changed_ids"] == [fine]
    failure, = result["failures"]
    assert failure["id"] == newer and failure["code"] == 42004 and "downgrades" in failure["msg"]
    assert "state=absent" in failure["msg"]
    assert installs(emulator) == {fine: 1}
    assert by_id(result)[newer]["status"] == "failed"


def test_a_shut_down_phone_fails_naming_the_power_module_and_is_not_started(emulator, run):
    down = [i for i, s in emulator.true_status().items() if s == 2][0]
    result = run(ids=[down], version="36.5.4")
    assert result["failed"] is True and result["changed"] is False
    failure, = result["failures"]
    assert failure["code"] == 42002 and "geelark_phone_power" in failure["msg"] and "shut_down" in failure["msg"]
    assert installs(emulator) == {} and emulator.true_status()[down] == 2


def test_an_unknown_phone_fails_without_a_write(emulator, run):
    up, = started(emulator, 1)
    result = run(ids=[up, "404404404404404404"], version="36.5.4")
    assert result["failed"] is True and result["changed_ids"] == [up]
    assert [f["code"] for f in result["failures"]] == [42001]
    assert "404404404404404404" not in installs(emulator)


def test_an_ambiguous_version_fails_before_any_write_listing_what_was_found(emulator, run):
    emulator.set_catalogue([
        {"id": "1", "appName": "TikTok", "packageName": TIKTOK,
         "appVersionInfoList": [{"id": "11", "versionName": "36.5.4", "versionCode": 2023605040}]},
        {"id": "2", "appName": "TikTok (upload)", "packageName": TIKTOK,
         "appVersionInfoList": [{"id": "22", "versionName": "36.5.4", "versionCode": "2023605040"}]},
    ])
    ids = started(emulator, 2)
    result = run(ids=ids, version="36.5.4")
    assert result["failed"] is True and result["changed"] is False
    assert "matches 2 installable versions" in result["msg"] and "version_id 11" in result["msg"]
    assert "version_id 22" in result["msg"] and "give version_id" in result["msg"]
    assert installs(emulator) == {}
    named = run(ids=ids, version_id="22")
    assert named["changed_ids"] == ids and [r["appVersionId"] for r in emulator.apps_of(ids[0])] == ["22"]


def test_a_version_not_offered_fails_before_any_write(emulator, run):
    ids = started(emulator, 2)
    result = run(ids=ids, version="99.0")
    assert result["failed"] is True and "not installable" in result["msg"] and "36.5.4" in result["msg"]
    assert installs(emulator) == {}


def test_without_a_version_the_newest_goes_where_missing_and_any_installed_version_stays(emulator, run):
    missing, old = started(emulator, 2)
    emulator.set_apps({old: {TIKTOK: {"versionName": "35.0.0", "installStatus": 1}}})
    result = run(ids=[missing, old])
    assert result["changed_ids"] == [missing]
    assert [a["version_after"] for a in result["apps"]] == ["36.5.4", "35.0.0"]


def test_check_mode_reads_only_and_diff_shows_the_plan(emulator, run):
    missing, older = started(emulator, 2)
    emulator.set_apps({older: {TIKTOK: {"versionName": "36.4.0", "installStatus": 1}}})
    result = run(ids=[missing, older], version="36.5.4", _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] is True and result["changed_ids"] == [missing, older]
    assert result["diff"] == {"before": {missing: None, older: "36.4.0"},
                              "after": {missing: "36.5.4", older: "36.5.4"}}
    assert emulator.request_bodies(INSTALL_PATH) == [] and installs(emulator) == {}


def test_absent_uninstalls_where_installed_and_reports_absent_elsewhere(emulator, run):
    has, hasnt = started(emulator, 2)
    emulator.set_apps({has: {TIKTOK: {"versionName": "36.4.0", "installStatus": 1}}})
    result = run(ids=[has, hasnt], state="absent", _ansible_diff=True)
    assert result["changed_ids"] == [has] and result["failures"] == []
    assert [a["status"] for a in result["apps"]] == ["uninstalled", "absent"]
    assert result["diff"] == {"before": {has: "36.4.0"}, "after": {has: None}}
    assert emulator.apps_of(has) == [] and emulator.stats()["app_uninstalls"] == {has: 1}
    again = run(ids=[has, hasnt], state="absent")
    assert again["changed"] is False and emulator.stats()["app_uninstalls"] == {has: 1}


def test_an_install_under_way_is_waited_for_and_never_sent_twice(emulator, run):
    busy, = started(emulator, 1)
    emulator.set_apps({busy: {TIKTOK: {"versionName": "36.5.4", "installStatus": 0, "settleReads": 2}}})
    result = run(ids=[busy], version="36.5.4")
    assert result["failures"] == [] and result["changed_ids"] == [] and result["changed"] is False
    assert installs(emulator) == {} and by_id(result)[busy]["status"] == "installed"
    assert emulator.stats()["app_list_reads"] == {busy: 2}  # read, then polled until it finished


def test_a_lost_install_answer_is_read_back_and_never_sent_again(emulator, run):
    phones = started(emulator, 3)
    emulator.queue_faults({"kind": "lose_answer", "path": INSTALL_PATH})
    result = run(ids=phones, version="36.5.4")
    assert result["failures"] == [] and result["changed_ids"] == phones
    assert installs(emulator) == dict((i, 1) for i in phones)


def test_a_lost_install_whose_read_back_fails_is_uncertain_and_changed(emulator, run):
    phone, = started(emulator, 1)
    emulator.queue_faults({"kind": "lose_answer", "path": INSTALL_PATH},
                          {"kind": "http", "status": 502, "path": "/open/v1/app/list", "skip": 1, "times": 50})
    result = run(ids=[phone], version="36.5.4", retries=1)
    assert result["failed"] is True and result["changed"] is True and result["uncertain"] is True
    failure, = result["failures"]
    assert failure["uncertain"] is True and "may have been applied" in failure["msg"]
    assert installs(emulator) == {phone: 1}


def test_an_install_that_fails_on_the_phone_is_a_failure(emulator, run):
    phone, = started(emulator, 1)
    emulator.configure_apps(fail={"install": [phone]})
    result = run(ids=[phone], version="36.5.4")
    assert result["failed"] is True
    assert "installStatus 2" in result["failures"][0]["msg"]


def test_max_changes_refuses_before_any_write(emulator, run):
    phones = started(emulator, 3)
    result = run(ids=phones, version="36.5.4", max_changes=2)
    assert result["failed"] is True and "max_changes=2" in result["msg"] and result["changed"] is False
    assert installs(emulator) == {}


def test_bad_options_are_refused_with_a_clear_message(emulator, run):
    phones = started(emulator, 1)
    both = run(ids=phones, version="36.5.4", version_id="1")
    assert both["failed"] is True and "mutually exclusive" in both["msg"]
    absent = run(ids=phones, version="36.5.4", state="absent")
    assert absent["failed"] is True and "state=absent removes every version" in absent["msg"]
    assert emulator.stats()["total_requests"] == 0


def test_without_wait_the_writes_are_reported_under_way(emulator, run):
    missing, has = started(emulator, 2)
    emulator.set_apps({has: {TIKTOK: {"versionName": "36.4.0"}}})
    result = run(ids=[missing], version="36.5.4", wait=False)
    assert result["changed_ids"] == [missing] and by_id(result)[missing]["status"] == "installing"
    assert emulator.stats()["app_list_reads"] == {missing: 1}  # read once, never polled
    removed = run(ids=[has], state="absent", wait=False)
    assert by_id(removed)[has]["status"] == "uninstalling"


def test_an_uninstall_that_fails_on_the_phone_and_one_found_under_way(emulator, run):
    failing, other = started(emulator, 2)
    emulator.set_apps({failing: {TIKTOK: {"versionName": "36.4.0"}},
                       other: {TIKTOK: {"versionName": "36.4.0", "installStatus": 3, "settleReads": 2}}})
    emulator.configure_apps(fail={"uninstall": [failing]})
    result = run(ids=[failing, other], state="absent")
    assert result["changed_ids"] == [failing] and emulator.stats()["app_uninstalls"] == {failing: 1}
    failure, = result["failures"]
    assert failure["id"] == failing and "installStatus 5" in failure["msg"]
    assert by_id(result)[other]["status"] == "uninstalled"


def test_phones_mid_change_the_other_way_fail_without_a_write(emulator, run):
    installing, uninstalling = started(emulator, 2)
    emulator.set_apps({installing: {TIKTOK: {"versionName": "36.4.0", "installStatus": 0}},
                       uninstalling: {TIKTOK: {"versionName": "36.4.0", "installStatus": 3}}})
    absent = run(ids=[installing], state="absent")
    assert "being installed" in absent["failures"][0]["msg"]
    present = run(ids=[uninstalling], version="36.5.4")
    assert "being uninstalled" in present["failures"][0]["msg"]
    assert emulator.stats()["app_installs"] == {} and emulator.stats()["app_uninstalls"] == {}


def test_a_phone_the_api_says_is_not_running_names_the_power_module(emulator, run):
    phone, = started(emulator, 1)
    emulator.configure_apps(list_needs_running=True, refuse={"install": {phone: 42006}})
    down = [i for i, s in emulator.true_status().items() if s == 2][0]
    result = run(ids=[phone, down], version="36.5.4")
    failures = dict((f["id"], f) for f in result["failures"])
    assert failures[down]["code"] == 42002 and "geelark_phone_power" in failures[down]["msg"]
    assert failures[phone]["code"] == 42006  # refused by the API: that phone fails with the API's code
    assert emulator.stats()["app_installs"] == {phone: 1}


def test_a_phone_lost_while_waiting_fails_and_the_others_arrive(emulator, run):
    gone, stays = started(emulator, 2)
    emulator.configure_apps(install_reads=2)
    emulator.queue_faults({"kind": "code", "code": 42001, "path": "/open/v1/app/list", "skip": 3})
    result = run(ids=[gone, stays], version="36.5.4")
    assert result["changed_ids"] == [gone, stays]
    failure, = result["failures"]
    assert failure["code"] == 42001 and "lost while waiting" in failure["msg"]


@pytest.mark.parametrize("args, message", [
    ({"package": " com.x"}, "package must be a package name"),
    ({"version": " "}, "version must be a non-empty string"),
])
def test_bad_values_are_named(emulator, run, args, message):
    result = run(ids=started(emulator, 1), **args)
    assert result["failed"] is True and message in result["msg"]


def test_the_version_is_looked_up_on_the_next_phone_when_the_first_cannot_answer(emulator, run):
    first, second = started(emulator, 2)
    emulator.queue_faults({"kind": "code", "code": 42002, "path": INSTALLABLE_PATH})
    result = run(ids=[first, second], version="36.5.4")
    assert result["changed_ids"] == [second] and emulator.stats()["app_installs"] == {second: 1}
    failure, = result["failures"]
    assert failure["id"] == first and failure["code"] == 42002 and "geelark_phone_power" in failure["msg"]
    assert len(emulator.request_bodies(INSTALLABLE_PATH)) == 2


def test_a_version_read_as_a_number_is_refused_and_a_whole_number_id_is_taken_as_its_digits(emulator, run):
    phone, = started(emulator, 1)
    number = run(ids=[phone], version=36.1)
    assert number["failed"] is True and "version is the number 36.1" in number["msg"]
    assert 'version: "36.10"' in number["msg"] and emulator.stats()["total_requests"] == 0
    by_number = run(ids=[phone], version_id=int(V_MID))
    assert by_number["changed_ids"] == [phone] and emulator.apps_of(phone)[0]["appVersionId"] == V_MID


def test_a_mistyped_package_gets_a_suggestion(emulator, run):
    has, = started(emulator, 1)
    emulator.set_apps({has: {TIKTOK: {"versionName": "36.4.0"}}})
    absent = run(ids=[has], package="com.zhiliaoapp.musicaly", state="absent")
    assert absent["changed"] is False
    assert any("did you mean %s (1)?" % TIKTOK in w for w in warning_texts(absent)), absent
    present = run(ids=[has], package="TikTok", version="36.5.4")
    assert present["failed"] is True and "no app installable on phone" in present["msg"]
    assert "similar: %s (TikTok)" % TIKTOK in present["msg"] and "not the app's name" in present["msg"]


def test_an_expired_or_starting_phone_is_told_what_will_work(emulator, run):
    expired = [i for i, s in emulator.true_status().items() if s == 3][0]
    result = run(ids=[expired], version="36.5.4")
    assert "renew it in GeeLark" in result["failures"][0]["msg"] and "geelark_phone_power" not in result["msg"]
