# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import threading

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._app_lists import (
    APP_LIST_PATH,
    INSTALLABLE_PATH,
    INSTALL_STATUS_NAMES,
    MAX_LISTED_APPS,
    PER_PHONE_CODES,
    TEAM_APPS_PATH,
    install_status_name,
    installable_apps,
    installed_rows,
    read_per_phone,
    team_apps,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import (
    APIError,
    IncompleteResultError,
    MalformedResponseError,
    TransportError,
)

TIKTOK = "com.zhiliaoapp.musically"
TELEGRAM = "org.telegram.messenger"


def fleet_ids(emulator):
    return list(emulator.true_status())


def running_and_stopped(emulator):
    status = emulator.true_status()
    return ([i for i, s in status.items() if s == 0], [i for i, s in status.items() if s == 2])


def catalogue(count):
    """`count` catalogue apps of one version each, in installable/list's item shape."""
    return [{"id": str(8000 + n), "appName": "App %03d" % n, "appIcon": "", "packageName": "com.example.app%03d" % n,
             "appVersionInfoList": [{"id": str(1900000000000000000 + n), "versionName": "1.%d" % n,
                                     "versionCode": 1000 + n}]} for n in range(count)]


def answer(path, total, items, **fault):
    """A fault that answers one request of `path` with this page."""
    return dict({"kind": "code", "code": 0, "path": path, "data": {"total": total, "items": items}}, **fault)


def raw_row(package, **fields):
    row = {"appIcon": "", "appId": "7001", "appName": "TikTok", "appVersionId": "1793552962140770305",
           "installStatus": 1, "installTime": "2026-03-10 23:07:56", "packageName": package,
           "versionCode": "2023605040", "versionName": "36.5.4"}
    row.update(fields)
    return row


def test_install_status_names_cover_the_documented_codes_and_anything_else_is_not_installed():
    assert [install_status_name(c) for c in range(6)] == [
        "installing", "installed", "install_failed", "uninstalling", "uninstalled", "uninstall_failed"]
    assert set(INSTALL_STATUS_NAMES) == set(range(6))
    assert [install_status_name(c) for c in (-1, 6, None, True, "1")] == ["not_installed"] * 5


def test_installed_rows_are_normalised_with_the_version_code_as_an_integer(emulator, make_client):
    phone = fleet_ids(emulator)[0]
    emulator.set_apps({phone: {TIKTOK: {"versionName": "36.4.0", "installStatus": 1}}})
    rows = installed_rows(make_client().transport, phone)
    time = rows[0].pop("install_time")
    assert rows == [{"package": TIKTOK, "name": "TikTok", "app_id": "7001", "version_id": "1793552962140770304",
                     "version_name": "36.4.0", "version_code": 2023604000, "install_status": 1,
                     "install_status_name": "installed"}]
    assert isinstance(time, str) and len(time) == 19
    # /app/list writes versionCode as text: the integer came from "2023604000".
    assert emulator.apps_of(phone)[0]["versionCode"] == "2023604000"
    assert emulator.request_bodies(APP_LIST_PATH) == [{"envId": phone, "page": 1, "pageSize": 100}]


@pytest.mark.parametrize("code, expected", [
    (2023605040, 2023605040), ("2023605040", 2023605040), (" 42 ", 42), ("36.5.4", None), ("", None),
    (None, None), (True, None), (1.5, None), ([], None),
])
def test_a_version_code_of_either_type_is_an_integer_and_anything_else_null(emulator, make_client, code, expected):
    phone = fleet_ids(emulator)[0]
    version = {"id": "1793552962140770305", "versionName": "36.5.4", "versionCode": code, "installStatus": 1}
    emulator.queue_faults(answer(APP_LIST_PATH, 1, [raw_row(TIKTOK, versionCode=code)]),
                          answer(INSTALLABLE_PATH, 1, [{"id": 7001, "appName": "TikTok", "packageName": TIKTOK,
                                                        "appVersionInfoList": [version]}]))
    transport = make_client().transport
    assert installed_rows(transport, phone)[0]["version_code"] == expected
    assert installable_apps(transport, phone)[0]["versions"][0]["version_code"] == expected


def test_ids_given_as_numbers_become_their_exact_digits(emulator, make_client):
    phone = fleet_ids(emulator)[0]
    emulator.queue_faults(answer(APP_LIST_PATH, 1, [raw_row(TIKTOK, appId=7001, appVersionId=1793552962140770305,
                                                            installStatus="1")]))
    row = installed_rows(make_client().transport, phone)[0]
    assert (row["app_id"], row["version_id"], row["install_status"]) == ("7001", "1793552962140770305", 1)


def test_installed_rows_read_every_page(emulator, make_client):
    phone = fleet_ids(emulator)[0]
    apps = catalogue(150)
    emulator.set_catalogue(apps)
    emulator.set_apps({phone: dict((app["packageName"], {}) for app in apps)})
    rows = installed_rows(make_client().transport, phone)
    assert [row["package"] for row in rows] == [app["packageName"] for app in apps]
    assert [b["page"] for b in emulator.request_bodies(APP_LIST_PATH)] == [1, 2]
    assert emulator.stats()["app_list_reads"] == {phone: 2}


def test_installable_apps_page_over_250_catalogue_apps_with_every_version(emulator, make_client):
    phone = fleet_ids(emulator)[0]
    emulator.set_catalogue(catalogue(250))
    apps = installable_apps(make_client().transport, phone)
    assert len(apps) == 250 and len(set(app["id"] for app in apps)) == 250
    assert apps[249] == {"id": "8249", "name": "App 249", "package": "com.example.app249",
                         "versions": [{"id": "1900000000000000249", "version_name": "1.249", "version_code": 1249,
                                       "install_status": -1, "install_status_name": "not_installed"}]}
    pages = [(b["page"], b["pageSize"]) for b in emulator.request_bodies(INSTALLABLE_PATH)]
    assert pages == [(1, 100), (2, 100), (3, 100)]
    assert emulator.stats()["installable_reads"] == {phone: 3}


def test_installable_apps_show_the_install_status_of_the_version_on_that_phone(emulator, make_client):
    phone = fleet_ids(emulator)[0]
    emulator.set_apps({phone: {TIKTOK: {"versionName": "36.4.0", "installStatus": 1}}})
    tiktok = [a for a in installable_apps(make_client().transport, phone) if a["package"] == TIKTOK][0]
    assert [(v["version_name"], v["install_status_name"]) for v in tiktok["versions"]] == [
        ("36.5.4", "not_installed"), ("36.4.0", "installed"), ("35.0.0", "not_installed")]


def test_a_name_is_passed_as_the_api_search_which_finds_look_alikes(emulator, make_client):
    phone = fleet_ids(emulator)[0]
    apps = installable_apps(make_client().transport, phone, name="TikTok")
    assert [app["package"] for app in apps] == [TIKTOK, "com.zhiliaoapp.musically.go"]
    assert emulator.request_bodies(INSTALLABLE_PATH) == [{"envId": phone, "name": "TikTok", "page": 1,
                                                          "pageSize": 100}]


def test_team_apps_read_every_page_of_200_with_snake_case_keys(emulator, make_client):
    items = [{"id": str(9000 + n), "appName": "Team %d" % n, "appIcon": "", "versionId": str(1800 + n),
              "versionCode": str(n) if n % 2 else n, "versionName": "1.%d" % n, "status": n % 2,
              "isUpload": n % 3 == 0, "uploadStatus": 1, "appAuth": 0, "appRoot": 1, "envGroups": None}
             for n in range(450)]
    emulator.set_team_apps(items)
    apps = team_apps(make_client().transport)
    assert len(apps) == 450
    assert apps[3] == {"id": "9003", "name": "Team 3", "version_id": "1803", "version_name": "1.3", "version_code": 3,
                       "auto_install": True, "uploaded": True, "upload_status": 1, "app_auth": 0, "app_root": 1,
                       "env_groups": []}
    assert apps[4]["auto_install"] is False and apps[4]["uploaded"] is False and apps[4]["version_code"] == 4
    pages = [(b["page"], b["pageSize"]) for b in emulator.request_bodies(TEAM_APPS_PATH)]
    assert pages == [(1, 200), (2, 200), (3, 200)]


def test_a_pager_that_repeats_a_page_is_read_again_and_then_fails_loudly(emulator, make_client):
    phone = fleet_ids(emulator)[0]
    emulator.set_catalogue(catalogue(250))
    first = [dict(a, appVersionInfoList=[]) for a in catalogue(100)]
    # Every page 2 serves page 1 again: no reading adds up.
    emulator.queue_faults(answer(INSTALLABLE_PATH, 250, first, skip=1), answer(INSTALLABLE_PATH, 250, first, skip=1),
                          answer(INSTALLABLE_PATH, 250, first, skip=1))
    with pytest.raises(IncompleteResultError) as info:
        installable_apps(make_client().transport, phone)
    text = str(info.value)
    assert "The installable apps of phone %s did not add up in 3 readings" % phone in text
    assert "app 8000 appeared twice (page 2" in text and "What to do" in text
    # Each reading stops at the page that repeats: pages 1 and 2, three times, never a partial list.
    assert [b["page"] for b in emulator.request_bodies(INSTALLABLE_PATH)] == [1, 2] * 3


def test_a_list_that_changed_while_it_was_read_is_read_again(emulator, make_client):
    phone = fleet_ids(emulator)[0]
    apps = catalogue(150)
    emulator.set_catalogue(apps)
    emulator.set_apps({phone: dict((app["packageName"], {}) for app in apps)})
    # Page 2 of the first reading claims one app more (one was installed meanwhile): read again, all of it.
    emulator.queue_faults(answer(APP_LIST_PATH, 151, [raw_row("com.example.late")] * 51, skip=1))
    rows = installed_rows(make_client().transport, phone)
    assert len(rows) == 150
    assert [b["page"] for b in emulator.request_bodies(APP_LIST_PATH)] == [1, 2, 1, 2]


def test_a_short_page_is_never_returned_as_the_whole_list(emulator, make_client):
    phone = fleet_ids(emulator)[0]
    emulator.queue_faults(*[answer(APP_LIST_PATH, 3, [raw_row(TIKTOK)])] * 3)
    with pytest.raises(IncompleteResultError, match="page 1 of 1 held 1 apps, expected 3"):
        installed_rows(make_client().transport, phone)


def test_a_package_twice_on_one_page_is_a_repeat(emulator, make_client):
    phone = fleet_ids(emulator)[0]
    emulator.queue_faults(*[answer(APP_LIST_PATH, 2, [raw_row(TIKTOK), raw_row(TIKTOK)])] * 3)
    with pytest.raises(IncompleteResultError, match="package %s .* appeared twice" % TIKTOK):
        installed_rows(make_client().transport, phone)


@pytest.mark.parametrize("total", [MAX_LISTED_APPS + 1, 10 ** 12])
def test_an_absurd_total_fails_at_once_after_one_request(emulator, make_client, total):
    emulator.queue_faults(answer(TEAM_APPS_PATH, total, []))
    with pytest.raises(IncompleteResultError, match="claims %d apps, more than the %d" % (total, MAX_LISTED_APPS)):
        team_apps(make_client().transport)
    assert emulator.stats()["total_requests"] == 1


@pytest.mark.parametrize("path, data, fragment", [
    (APP_LIST_PATH, {"total": 2, "items": [raw_row(TIKTOK), None]}, "items[1] is null, not an object"),
    (APP_LIST_PATH, {"total": 1, "items": [raw_row(None)]}, "items[0] has no packageName"),
    (APP_LIST_PATH, {"total": 1, "items": [raw_row(TIKTOK, appVersionId=1.7935529621407703e18)]},
     "items[0] has appVersionId 1.79"),
    (APP_LIST_PATH, {"total": "many", "items": []}, "no valid 'total'"),
    (APP_LIST_PATH, {"total": 1, "items": {"a": 1}}, "items are a dict, not a list"),
    (APP_LIST_PATH, None, "no 'data' object"),
    (INSTALLABLE_PATH, {"total": 1, "items": [{"appName": "x"}]}, "items[0] has no 'id'"),
    (INSTALLABLE_PATH, {"total": 1, "items": [{"id": "1", "appVersionInfoList": [None]}]},
     "items[0] appVersionInfoList[0] is null"),
    (INSTALLABLE_PATH, {"total": 1, "items": [{"id": "1", "appVersionInfoList": [{"versionName": "1"}]}]},
     "items[0] appVersionInfoList[0] has no 'id'"),
    (INSTALLABLE_PATH, {"total": 1, "items": [{"id": "1", "appVersionInfoList": "1.0"}]},
     "appVersionInfoList is a str, not a list"),
])
def test_answers_that_cannot_be_read_safely_are_refused_naming_what_is_wrong(emulator, make_client, path, data,
                                                                             fragment):
    phone = fleet_ids(emulator)[0]
    emulator.queue_faults({"kind": "code", "code": 0, "path": path, "data": data})
    read = installed_rows if path == APP_LIST_PATH else installable_apps
    with pytest.raises(MalformedResponseError) as info:
        read(make_client().transport, phone)
    assert fragment in str(info.value)
    assert "traceId" in str(info.value) and "of phone %s" % phone in str(info.value)
    assert emulator.stats()["total_requests"] == 1  # refused at once, not read again


def test_null_lists_are_empty(emulator, make_client):
    phone = fleet_ids(emulator)[0]
    emulator.queue_faults(answer(APP_LIST_PATH, 0, None),
                          answer(INSTALLABLE_PATH, 1, [{"id": "1", "appVersionInfoList": None}]))
    transport = make_client().transport
    assert installed_rows(transport, phone) == []
    assert installable_apps(transport, phone) == [{"id": "1", "name": None, "package": None, "versions": []}]


def test_unknown_and_stopped_phones_are_failures_of_their_own_with_code_and_trace_id(emulator, make_client):
    running, stopped = running_and_stopped(emulator)
    emulator.configure_apps(list_needs_running=True)
    ids = [running[0], "999", stopped[0], running[1]]
    report = read_per_phone(make_client().transport, ids, 4, installed_rows)
    assert [p["id"] for p in report.phone_list()] == [running[0], running[1]]
    assert [(f["id"], f["code"]) for f in report.failure_list()] == [("999", 42001), (stopped[0], 42002)]
    missing, down = report.failure_list()
    assert missing["msg"].startswith("env not found (traceId ") and "the phone may have been deleted" in missing["msg"]
    assert down["msg"].startswith("env is not running (traceId ") and "geelark_phone_power" in down["msg"]
    assert report.errors["999"].trace_id in missing["msg"]
    assert {42001, 42002} == PER_PHONE_CODES


def test_any_other_api_error_fails_the_whole_read(emulator, make_client):
    ids = fleet_ids(emulator)[:3]
    emulator.queue_faults({"kind": "code", "code": 40004, "msg": "bad", "path": APP_LIST_PATH, "skip": 1})
    with pytest.raises(APIError) as info:
        read_per_phone(make_client().transport, ids, 1, installed_rows)
    assert info.value.code == 40004


def test_a_transport_error_after_the_retries_fails_the_whole_read(emulator, make_client):
    ids = fleet_ids(emulator)[:3]
    emulator.queue_faults({"kind": "http", "status": 503, "path": APP_LIST_PATH, "times": 4})
    with pytest.raises(TransportError) as info:
        read_per_phone(make_client(retries=3).transport, ids, 1, installed_rows)
    assert info.value.http_status == 503 and info.value.attempts == 4


def test_phones_are_read_in_parallel(emulator, make_client):
    # Every read waits until two are inside it at once: only a parallel read gets past the barrier.
    barrier = threading.Barrier(2, timeout=10)

    def read(transport, phone_id):
        barrier.wait()
        return installed_rows(transport, phone_id)

    report = read_per_phone(make_client(concurrency=2).transport, fleet_ids(emulator)[:4], 2, read)
    assert len(report.phone_list()) == 4


def test_duplicate_ids_are_read_once_and_reported_in_the_order_given(emulator, make_client):
    first, second = fleet_ids(emulator)[:2]
    report = read_per_phone(make_client().transport, [second, int(first), second], 4, installed_rows)
    assert [p["id"] for p in report.phone_list()] == [second, first]
    assert emulator.stats()["app_list_reads"] == {first: 1, second: 1}


def test_client_filters_installed_rows_to_the_package(emulator, make_client):
    first, second = fleet_ids(emulator)[:2]
    emulator.set_apps({first: {TIKTOK: {}, TELEGRAM: {}}, second: {TELEGRAM: {}}})
    report = make_client().installed_apps([first, second], package=TIKTOK)
    assert [(p["id"], [a["package"] for a in p["apps"]]) for p in report.phone_list()] == [
        (first, [TIKTOK]), (second, [])]


def test_client_reads_installable_apps_and_the_team_library(emulator, make_client):
    phone = fleet_ids(emulator)[0]
    client = make_client()
    report = client.installable_apps([phone, "999"], name="Telegram")
    assert [a["package"] for a in report.phone_list()[0]["apps"]] == [TELEGRAM]
    assert report.failure_list()[0]["code"] == 42001
    assert [app["id"] for app in client.team_apps()] == ["9001"]


def test_no_ids_send_no_request(emulator, make_client):
    report = make_client().installed_apps([])
    assert report.phone_list() == [] and report.failure_list() == []
    assert emulator.stats()["total_requests"] == 0
