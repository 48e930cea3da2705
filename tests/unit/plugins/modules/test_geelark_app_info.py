# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import functools
import json

import pytest

from ansible.module_utils.common import warnings as module_warnings

from ansible_collections.geelark.cloudphone.plugins.module_utils._app_lists import (
    APP_LIST_PATH,
    INSTALLABLE_PATH,
    TEAM_APPS_PATH,
)
from ansible_collections.geelark.cloudphone.plugins.modules import geelark_app_info, geelark_phone_status

from .conftest import warning_texts

TIKTOK = "com.zhiliaoapp.musically"
TELEGRAM = "org.telegram.messenger"


@pytest.fixture
def run(run_module, monkeypatch):
    # Ansible keeps a module's warnings in a process-wide store: each run here starts with it empty,
    # as a module run by Ansible (one process per run) does.
    monkeypatch.setattr(module_warnings, "_global_warnings", type(module_warnings._global_warnings)())
    return functools.partial(run_module, geelark_app_info.main)


def running_and_stopped(emulator):
    status = emulator.true_status()
    return ([i for i, s in status.items() if s == 0], [i for i, s in status.items() if s == 2])


def packages(phone):
    return [(app["package"], app["version_name"], app["install_status_name"]) for app in phone["apps"]]


def test_returns_the_apps_of_every_phone_in_the_order_given_with_one_request_each(emulator, run):
    first, second, third = list(emulator.true_status())[:3]
    emulator.set_apps({first: {TIKTOK: {"versionName": "36.4.0"}, TELEGRAM: {"installStatus": 0}},
                       third: {TIKTOK: {"versionName": "36.5.4"}}})
    result = run(ids=[third, first, second])
    assert result["changed"] is False and "failed" not in result
    assert [p["id"] for p in result["phones"]] == [third, first, second]
    assert packages(result["phones"][1]) == [(TIKTOK, "36.4.0", "installed"), (TELEGRAM, "11.2.0", "installing")]
    assert result["phones"][2]["apps"] == [] and result["failures"] == []
    assert result["phones"][0]["apps"][0]["version_code"] == 2023605040
    assert "installable" not in result and "team_apps" not in result
    assert emulator.stats()["app_list_reads"] == {first: 1, second: 1, third: 1}
    assert result["api_calls"]["requests"] == 3


def test_package_keeps_only_that_app_and_every_phone(emulator, run):
    first, second = list(emulator.true_status())[:2]
    emulator.set_apps({first: {TIKTOK: {}, TELEGRAM: {}}, second: {TELEGRAM: {}}})
    result = run(ids=[first, second], package=TIKTOK)
    listed = [(p["id"], packages(p)) for p in result["phones"]]
    assert listed == [(first, [(TIKTOK, "36.5.4", "installed")]), (second, [])]


@pytest.mark.parametrize("package", ["", "  "])
def test_an_empty_package_is_refused_before_any_request(emulator, run, package):
    result = run(ids=list(emulator.true_status())[:1], package=package)
    assert result["failed"] is True and result["msg"].startswith("package is empty")
    assert emulator.stats()["total_requests"] == 0


def test_installable_lists_each_phones_versions_with_their_ids(emulator, run):
    first, second = list(emulator.true_status())[:2]
    emulator.set_apps({first: {TIKTOK: {"versionName": "36.4.0"}}})
    result = run(ids=[first, second], installable=True, package=TIKTOK)
    assert [p["id"] for p in result["installable"]] == [first, second]
    apps = result["installable"][0]["apps"]
    assert [app["package"] for app in apps] == [TIKTOK]  # TikTok Lite is another package
    assert [(v["id"], v["version_name"], v["install_status_name"]) for v in apps[0]["versions"]] == [
        ("1793552962140770305", "36.5.4", "not_installed"), ("1793552962140770304", "36.4.0", "installed"),
        ("1793552962140770303", "35.0.0", "not_installed")]
    assert emulator.stats()["installable_reads"] == {first: 1, second: 1}


def test_installable_without_package_lists_the_whole_catalogue(emulator, run):
    phone = list(emulator.true_status())[0]
    result = run(ids=[phone], installable=True)
    assert [app["package"] for app in result["installable"][0]["apps"]] == [TIKTOK, "com.zhiliaoapp.musically.go",
                                                                            TELEGRAM]


def test_installable_does_not_ask_again_about_a_phone_the_api_does_not_know(emulator, run):
    phone = list(emulator.true_status())[0]
    result = run(ids=["999", phone], installable=True)
    assert [f["id"] for f in result["failures"]] == ["999"]
    assert [p["id"] for p in result["installable"]] == [phone]
    assert [b["envId"] for b in emulator.request_bodies(INSTALLABLE_PATH)] == [phone]


def test_a_phone_whose_installable_apps_cannot_be_read_is_a_failure_that_says_so(emulator, run):
    first, second = list(emulator.true_status())[:2]
    emulator.queue_faults({"kind": "code", "code": 42002, "msg": "env is not running", "path": INSTALLABLE_PATH})
    result = run(ids=[first, second], installable=True, concurrency=1)
    assert [p["id"] for p in result["phones"]] == [first, second]
    assert [p["id"] for p in result["installable"]] == [second]
    failure, = result["failures"]
    assert (failure["id"], failure["code"]) == (first, 42002)
    assert failure["msg"].startswith("its installable apps could not be read: env is not running (traceId ")


def test_team_lists_the_library_and_needs_no_ids(emulator, run):
    result = run(team=True)
    assert result["phones"] == [] and result["failures"] == []
    assert [(app["id"], app["name"], app["version_id"], app["auto_install"]) for app in result["team_apps"]] == [
        ("9001", "TikTok", "1793552962140770305", False)]
    assert warning_texts(result) == []
    assert emulator.stats()["total_requests"] == 1 and len(emulator.request_bodies(TEAM_APPS_PATH)) == 1


def test_team_with_ids_reads_both(emulator, run):
    phone = list(emulator.true_status())[0]
    result = run(ids=[phone], team=True)
    assert [p["id"] for p in result["phones"]] == [phone] and len(result["team_apps"]) == 1


def test_ids_are_required_without_team(run):
    result = run()
    assert result["failed"] is True and "ids" in result["msg"] and "team" in result["msg"]


def test_empty_ids_send_no_request_and_warn(emulator, run):
    result = run(ids=[])
    assert result["phones"] == [] and result["failures"] == []
    assert any("ids is empty" in w for w in warning_texts(result))
    assert emulator.stats()["total_requests"] == 0


def test_unknown_and_stopped_phones_are_failures_with_a_warning(emulator, run):
    running, stopped = running_and_stopped(emulator)
    emulator.configure_apps(list_needs_running=True)
    result = run(ids=[running[0], "999", stopped[0]])
    assert "failed" not in result
    assert [p["id"] for p in result["phones"]] == [running[0]]
    assert [(f["id"], f["code"]) for f in result["failures"]] == [("999", 42001), (stopped[0], 42002)]
    assert "geelark_phone_power" in result["failures"][1]["msg"] and "traceId" in result["failures"][1]["msg"]
    warning, = [w for w in warning_texts(result) if "could not be read" in w]
    assert warning.startswith("The apps of 2 of 3 phones could not be read: 999 (42001 env not found (traceId ")
    assert warning.endswith("set fail_on_missing: true to fail the task instead")


def test_fail_on_missing_fails_naming_the_phones_and_still_returns_the_rest(emulator, run):
    phone = list(emulator.true_status())[0]
    result = run(ids=["999", phone], fail_on_missing=True)
    assert result["failed"] is True
    assert result["msg"].startswith("The apps of 1 of 2 phones could not be read: 999 (42001 env not found")
    assert [p["id"] for p in result["phones"]] == [phone] and result["failures"][0]["id"] == "999"


def test_check_mode_returns_the_same_answer(emulator, run):
    phone = list(emulator.true_status())[0]
    emulator.set_apps({phone: {TIKTOK: {}}})
    checked = run(ids=[phone], installable=True, team=True, _ansible_check_mode=True)
    normal = run(ids=[phone], installable=True, team=True)
    for key in ("phones", "failures", "installable", "team_apps"):
        assert checked[key] == normal[key]


@pytest.mark.parametrize("code, fragment", [
    (40016, "whitelist"),
    (40004, "parameter validation failed"),
])
def test_api_errors_fail_clearly_with_code_and_trace_id(emulator, run, code, fragment):
    emulator.queue_faults({"kind": "code", "code": code, "path": APP_LIST_PATH})
    result = run(ids=list(emulator.true_status())[:1])
    assert result["failed"] is True and result["changed"] is False
    assert fragment in result["msg"] and "code %d" % code in result["msg"]
    assert result["error"]["code"] == code and result["error"]["trace_id"] in result["msg"]
    assert "Traceback" not in json.dumps(result)


def test_a_list_that_never_adds_up_fails_the_task(emulator, run):
    phone = list(emulator.true_status())[0]
    page = {"kind": "code", "code": 0, "path": APP_LIST_PATH, "data": {"total": 2, "items": []}}
    emulator.queue_faults(page, page, page)
    result = run(ids=[phone])
    assert result["failed"] is True and "did not add up in 3 readings" in result["msg"]


def test_wrong_token_fails_and_no_secret_is_returned(emulator, run):
    result = run(ids=list(emulator.true_status())[:1], token="not-the-token")
    assert result["failed"] is True and result["error"]["code"] == 40003
    assert "not-the-token" not in json.dumps(result)


# The documentation, as ansible-doc reads it, against what the module returns.
CONTROLLER = "needs ansible-core's controller code"


def documented_return():
    fragment_loader = pytest.importorskip("ansible.plugins.loader", reason=CONTROLLER).fragment_loader
    get_docstring = pytest.importorskip("ansible.utils.plugin_docs", reason=CONTROLLER).get_docstring
    docs = get_docstring(geelark_app_info.__file__, fragment_loader, collection_name="geelark.cloudphone",
                         plugin_type="module")
    assert docs[0]["module"] == "geelark_app_info" and docs[1] and docs[2]
    return docs[0], docs[2]


def test_every_returned_key_is_documented(emulator, run):
    phone = list(emulator.true_status())[0]
    emulator.set_apps({phone: {TIKTOK: {}}})
    result = run(ids=[phone, "999"], installable=True, team=True)
    _documentation, returned = documented_return()
    phones = returned["phones"]["contains"]
    assert set(result["phones"][0]) == set(phones)
    assert set(result["phones"][0]["apps"][0]) == set(phones["apps"]["contains"])
    assert set(result["failures"][0]) == set(returned["failures"]["contains"])
    app = returned["installable"]["contains"]["apps"]["contains"]
    assert set(result["installable"][0]["apps"][0]) == set(app)
    assert set(result["installable"][0]["apps"][0]["versions"][0]) == set(app["versions"]["contains"])
    assert set(result["team_apps"][0]) == set(returned["team_apps"]["contains"])
    status_calls = get_status_api_calls()
    assert set(result["api_calls"]) == status_calls
    assert "geelark.cloudphone.geelark_phone_status" in " ".join(returned["api_calls"]["description"])


def get_status_api_calls():
    fragment_loader = pytest.importorskip("ansible.plugins.loader", reason=CONTROLLER).fragment_loader
    get_docstring = pytest.importorskip("ansible.utils.plugin_docs", reason=CONTROLLER).get_docstring
    docs = get_docstring(geelark_phone_status.__file__, fragment_loader, collection_name="geelark.cloudphone",
                         plugin_type="module")
    return set(docs[2]["api_calls"]["contains"])


def test_documented_options_match_the_argument_spec():
    documentation, _returned = documented_return()
    options = documentation["options"]
    assert options["ids"]["required"] is False  # required unless team is true
    assert options["ids"]["description"][0].startswith("IDs of the phones")
    for name in ("package", "installable", "team", "fail_on_missing", "token", "api_url"):
        assert name in options
    assert "5.5 minutes" in " ".join(documentation["description"])
