# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The emulator's app routes: installed rows, the catalogue, the team library, install and uninstall."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from ansible_collections.geelark.cloudphone.tests.emulator import geelark_emulator as g

from .conftest import TOKEN

HEADERS = {"Authorization": "Bearer " + TOKEN, "traceId": "A" * 32}
TIKTOK = "com.zhiliaoapp.musically"
TELEGRAM = "org.telegram.messenger"
TIKTOK_NEWEST, TIKTOK_364, TIKTOK_OLDEST = "1793552962140770305", "1793552962140770304", "1793552962140770303"
TELEGRAM_NEWEST = "1800000000000000002"


def api(emu, path, body):
    return requests.post(emu.url + path, json=body, headers=HEADERS, timeout=10).json()


def control(emu, name, payload):
    return requests.post(emu.url + "/_emulator/" + name, data=json.dumps(payload), timeout=10)


def running(emu, count=1):
    phones = [i for i, status in emu.true_status().items() if status == 0][:count]
    return phones[0] if count == 1 else phones


def stopped(emu):
    return [i for i, status in emu.true_status().items() if status == 2][0]


def install(emu, phone, version):
    return api(emu, g.APP_INSTALL_PATH, {"envId": phone, "appVersionId": version})


def uninstall(emu, phone, package):
    return api(emu, g.APP_UNINSTALL_PATH, {"envId": phone, "packageName": package})


def app_list(emu, phone, page=1, size=100):
    return api(emu, g.APP_LIST_PATH, {"envId": phone, "page": page, "pageSize": size})


def statuses(emu, phone):
    """One app/list read: package -> installStatus."""
    answer = app_list(emu, phone)
    assert answer["code"] == 0, answer
    return {row["packageName"]: row["installStatus"] for row in answer["data"]["items"]}


def installable(emu, phone, **body):
    return api(emu, g.APP_INSTALLABLE_PATH, dict({"envId": phone, "page": 1, "pageSize": 100}, **body))


# The lists.

def test_installable_list_offers_the_default_catalogue_with_each_versions_status_on_the_phone(emulator):
    phone = running(emulator)
    assert install(emulator, phone, TIKTOK_364)["code"] == 0
    data = installable(emulator, phone)["data"]
    assert (data["total"], data["page"], data["pageSize"]) == (3, 1, 100)
    assert [(a["id"], a["appName"], a["packageName"]) for a in data["items"]] == [
        ("7001", "TikTok", TIKTOK), ("7002", "TikTok Lite", "com.zhiliaoapp.musically.go"),
        ("7003", "Telegram", TELEGRAM)]
    assert data["items"][0]["appVersionInfoList"] == [
        {"id": TIKTOK_NEWEST, "installStatus": -1, "versionCode": 2023605040, "versionName": "36.5.4"},
        {"id": TIKTOK_364, "installStatus": 0, "versionCode": 2023604000, "versionName": "36.4.0"},
        {"id": TIKTOK_OLDEST, "installStatus": -1, "versionCode": 2023500000, "versionName": "35.0.0"}]
    assert [v["id"] for v in data["items"][1]["appVersionInfoList"]] == ["1793552962140770401"]
    assert [v["id"] for v in data["items"][2]["appVersionInfoList"]] == [TELEGRAM_NEWEST, "1800000000000000001"]
    assert set(data["items"][0]) == {"id", "appName", "appIcon", "packageName", "appVersionInfoList"}


def test_installable_list_searches_app_names_without_case_and_never_finishes_an_install(emulator):
    phone = running(emulator)
    install(emulator, phone, TIKTOK_NEWEST)
    assert [a["appName"] for a in installable(emulator, phone, name="tiktok")["data"]["items"]] == [
        "TikTok", "TikTok Lite"]
    assert [a["appName"] for a in installable(emulator, phone, name="GRAM")["data"]["items"]] == ["Telegram"]
    assert installable(emulator, phone, name="nothing")["data"] == {"total": 0, "page": 1, "pageSize": 100,
                                                                    "items": []}
    assert emulator.apps_of(phone)[0]["installStatus"] == 0  # only app/list reads move rows
    assert emulator.stats()["installable_reads"] == {phone: 3}
    assert emulator.stats()["app_list_reads"] == {}


def test_app_list_serves_the_phones_rows_in_install_order_with_text_version_codes(emulator):
    phone = running(emulator)
    assert app_list(emulator, phone)["data"] == {"total": 0, "page": 1, "pageSize": 100, "items": []}
    install(emulator, phone, "1800000000000000001")
    install(emulator, phone, TIKTOK_364)
    rows = app_list(emulator, phone)["data"]["items"]
    assert [row["packageName"] for row in rows] == [TELEGRAM, TIKTOK]
    assert rows[1] == {"appId": "7001", "appName": "TikTok", "appIcon": "", "appVersionId": TIKTOK_364,
                       "installStatus": 1, "installTime": rows[1]["installTime"], "packageName": TIKTOK,
                       "versionCode": "2023604000", "versionName": "36.4.0"}
    assert len(rows[1]["installTime"]) == 19 and rows[1]["installTime"][4] == "-" and rows[1]["installTime"][13] == ":"
    install(emulator, phone, TELEGRAM_NEWEST)  # an upgrade keeps the row's place
    assert [row["packageName"] for row in app_list(emulator, phone)["data"]["items"]] == [TELEGRAM, TIKTOK]
    assert emulator.apps_of(phone) == app_list(emulator, phone)["data"]["items"]


def test_team_app_list_serves_the_team_library_up_to_200_a_page(emulator):
    data = api(emulator, g.APP_TEAM_PATH, {"page": 1, "pageSize": 200})["data"]
    assert data == {"total": 1, "page": 1, "pageSize": 200, "items": [
        {"id": "9001", "appName": "TikTok", "appIcon": "", "versionId": TIKTOK_NEWEST, "versionCode": 2023605040,
         "versionName": "36.5.4", "status": 0, "isUpload": False, "uploadStatus": 1, "appAuth": 0, "appRoot": 0,
         "envGroups": []}]}
    emulator.set_team_apps([{"id": str(i), "appName": "app %d" % i} for i in range(450)])
    pages = [api(emulator, g.APP_TEAM_PATH, {"page": page, "pageSize": 200})["data"] for page in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [200, 200, 50] and {p["total"] for p in pages} == {450}
    assert pages[2]["items"][-1] == {"id": "449", "appName": "app 449"}
    assert api(emulator, g.APP_TEAM_PATH, {"page": 1, "pageSize": 201})["code"] == 40008


def test_a_250_app_catalogue_comes_in_three_pages_of_at_most_100(emulator):
    phone = running(emulator)
    emulator.set_catalogue([{"id": str(i), "appName": "App %03d" % i, "packageName": "com.example.a%d" % i,
                             "appVersionInfoList": [{"id": "v%d" % i, "versionName": "1.0", "versionCode": str(i)}]}
                            for i in range(250)])
    pages = [installable(emulator, phone, page=page)["data"] for page in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [100, 100, 50, 0] and {p["total"] for p in pages} == {250}
    ids = [a["id"] for p in pages for a in p["items"]]
    assert ids == [str(i) for i in range(250)]
    assert pages[2]["items"][-1]["appVersionInfoList"] == [
        {"id": "v249", "installStatus": -1, "versionCode": 249, "versionName": "1.0"}]  # given as text, served as int


@pytest.mark.parametrize("path", [g.APP_LIST_PATH, g.APP_INSTALLABLE_PATH, g.APP_TEAM_PATH])
@pytest.mark.parametrize("paging, code", [
    ({"page": 1}, 40004), ({"pageSize": 10}, 40004), ({"page": "1", "pageSize": 10}, 40004),
    ({"page": 1, "pageSize": True}, 40004), ({"page": 0, "pageSize": 10}, 40008), ({"page": 1, "pageSize": 0}, 40008),
    ({"page": 1, "pageSize": 101}, 40008),
])
def test_lists_refuse_missing_or_out_of_range_paging(emulator, path, paging, code):
    if path == g.APP_TEAM_PATH and paging.get("pageSize") == 101:
        paging, code = dict(paging, pageSize=201), 40008
    answer = api(emulator, path, dict(paging, envId=running(emulator)))
    assert answer["code"] == code, answer
    assert "data" not in answer


@pytest.mark.parametrize("path", [g.APP_LIST_PATH, g.APP_INSTALLABLE_PATH])
def test_per_phone_lists_refuse_an_unknown_phone_and_a_missing_env_id(emulator, path):
    answer = api(emulator, path, {"envId": "999", "page": 1, "pageSize": 10})
    assert (answer["code"], answer["msg"]) == (42001, "env not found")
    assert api(emulator, path, {"page": 1, "pageSize": 10})["code"] == 40004
    stats = emulator.stats()
    assert stats["app_list_reads"] == {} and stats["installable_reads"] == {}


def test_app_list_answers_on_a_stopped_phone_unless_told_it_needs_a_running_one(emulator):
    phone = stopped(emulator)
    emulator.set_apps({phone: {TIKTOK: {"versionName": "36.4.0"}}})
    assert statuses(emulator, phone) == {TIKTOK: 1}
    emulator.configure_apps(list_needs_running=True)
    answer = app_list(emulator, phone)
    assert (answer["code"], answer["msg"]) == (42002, "env is not running")
    assert statuses(emulator, running(emulator)) == {}
    assert emulator.stats()["app_list_reads"][phone] == 2  # the refused read is counted too
    control(emulator, "apps/configure", {"list_needs_running": False})
    assert statuses(emulator, phone) == {TIKTOK: 1}


# Install.

def test_an_install_is_installing_until_the_install_reads_th_app_list_read(emulator):
    first, second = running(emulator, 2)
    assert install(emulator, first, TIKTOK_NEWEST) == {"traceId": "A" * 32, "code": 0, "msg": "success"}
    assert [row["installStatus"] for row in emulator.apps_of(first)] == [0]
    assert statuses(emulator, first) == {TIKTOK: 1}  # default: the next read finds it installed
    emulator.configure_apps(install_reads=3)
    install(emulator, second, TELEGRAM_NEWEST)
    statuses(emulator, first)  # another phone's reads do not count
    seen = [statuses(emulator, second) for dummy in range(4)]
    assert seen == [{TELEGRAM: 0}, {TELEGRAM: 0}, {TELEGRAM: 1}, {TELEGRAM: 1}]


def test_an_install_never_finishes_by_time_or_by_other_reads(emulator):
    phone = running(emulator)
    install(emulator, phone, TIKTOK_NEWEST)
    installable(emulator, phone)
    api(emulator, g.STATUS_PATH, {"ids": [phone]})
    api(emulator, g.APP_TEAM_PATH, {"page": 1, "pageSize": 10})
    emulator.true_status()  # applies timed status changes: none for apps
    assert emulator.apps_of(phone)[0]["installStatus"] == 0


def test_an_install_on_a_phone_in_the_fail_set_fails(emulator):
    failing, fine = running(emulator, 2)
    emulator.configure_apps(fail={"install": [failing]})
    install(emulator, failing, TIKTOK_NEWEST)
    install(emulator, fine, TIKTOK_NEWEST)
    assert (statuses(emulator, failing), statuses(emulator, fine)) == ({TIKTOK: 2}, {TIKTOK: 1})
    assert install(emulator, failing, TIKTOK_NEWEST)["code"] == 0  # a failed row may be installed again
    emulator.configure_apps(fail={"install": []})
    assert statuses(emulator, failing) == {TIKTOK: 2}  # taken when the install was accepted
    install(emulator, failing, TIKTOK_NEWEST)
    assert statuses(emulator, failing) == {TIKTOK: 1}


@pytest.mark.parametrize("row, version, code, msg", [
    (None, "1793552962140779999", 42006, "app does not exist"),
    ({"versionName": "36.4.0", "installStatus": 0}, TIKTOK_NEWEST, 42003, "app is being installed"),
    ({"versionName": "36.4.0", "installStatus": 1}, TIKTOK_OLDEST, 42004, "a higher version is installed"),
    ({"versionName": "36.4.0", "installStatus": 5}, TIKTOK_OLDEST, 42004, "a higher version is installed"),
])
def test_an_install_is_refused_with_the_documented_codes(emulator, row, version, code, msg):
    phone = running(emulator)
    if row is not None:
        emulator.set_apps({phone: {TIKTOK: row}})
    before = emulator.apps_of(phone)
    answer = install(emulator, phone, version)
    assert (answer["code"], answer["msg"]) == (code, msg)
    assert emulator.apps_of(phone) == before
    assert emulator.stats()["app_installs"] == {phone: 1}


@pytest.mark.parametrize("status", [1, 2, 3, 4, 5])
def test_the_same_or_an_older_installed_version_installs_again(emulator, status):
    phone = running(emulator)
    emulator.set_apps({phone: {TIKTOK: {"versionName": "36.4.0", "installStatus": status}}})
    target = TIKTOK_364 if status in (1, 5) else TIKTOK_OLDEST  # (1, 5): same version; else a downgrade is fine
    assert install(emulator, phone, target)["code"] == 0
    assert [(r["appVersionId"], r["installStatus"]) for r in emulator.apps_of(phone)] == [(target, 0)]
    assert statuses(emulator, phone) == {TIKTOK: 1}
    assert install(emulator, phone, TIKTOK_NEWEST)["code"] == 0  # an upgrade
    assert emulator.apps_of(phone)[0]["versionCode"] == "2023605040"


def test_an_install_checks_the_phone_first_then_the_script_then_running(emulator):
    phone, off = running(emulator), stopped(emulator)
    assert install(emulator, "999", TIKTOK_NEWEST)["code"] == 42001
    assert install(emulator, off, TIKTOK_NEWEST)["code"] == 42002
    assert install(emulator, off, "no-such-version")["code"] == 42002  # running is checked before the version
    emulator.configure_apps(refuse={"install": {phone: 43005, off: 43004, "999": 41001}})
    answer = install(emulator, phone, TIKTOK_NEWEST)
    assert (answer["code"], answer["msg"]) == (43005, "refused by the emulator's script")
    assert install(emulator, off, TIKTOK_NEWEST)["code"] == 43004
    assert install(emulator, "999", TIKTOK_NEWEST)["code"] == 42001
    assert emulator.apps_of(phone) == []
    assert uninstall(emulator, phone, TIKTOK)["code"] == 42005  # the script is per kind of write
    emulator.configure_apps(refuse={"install": {phone: None}})
    assert install(emulator, phone, TIKTOK_NEWEST)["code"] == 0
    assert emulator.stats()["app_installs"] == {"999": 2, off: 3, phone: 2}


@pytest.mark.parametrize("body, counted", [
    ({"appVersionId": TIKTOK_NEWEST}, False),
    ({"envId": 5, "appVersionId": TIKTOK_NEWEST}, False),
    ({"envId": "PHONE"}, True),
    ({"envId": "PHONE", "appVersionId": 1793552962140770305}, True),
])
def test_an_install_without_its_two_text_fields_is_refused_with_40004(emulator, body, counted):
    phone = running(emulator)
    body = dict(body, envId=phone) if body.get("envId") == "PHONE" else body
    assert api(emulator, g.APP_INSTALL_PATH, body)["code"] == 40004
    assert emulator.stats()["app_installs"] == ({phone: 1} if counted else {})
    assert emulator.apps_of(phone) == []


def test_a_lost_install_answer_still_installs_and_counts(emulator):
    phone = running(emulator)
    emulator.queue_faults({"kind": "lose_answer", "path": g.APP_INSTALL_PATH})
    with pytest.raises(requests.ConnectionError):
        requests.post(emulator.url + g.APP_INSTALL_PATH, json={"envId": phone, "appVersionId": TIKTOK_NEWEST},
                      headers=HEADERS, timeout=10)
    assert [(r["appVersionId"], r["installStatus"]) for r in emulator.apps_of(phone)] == [(TIKTOK_NEWEST, 0)]
    assert emulator.stats()["app_installs"] == {phone: 1}
    control(emulator, "faults", {"faults": [{"kind": "lose_answer", "path": g.APP_INSTALL_PATH, "status": 502}]})
    lost = requests.post(emulator.url + g.APP_INSTALL_PATH, json={"envId": phone, "appVersionId": TIKTOK_NEWEST},
                         headers=HEADERS, timeout=10)
    assert lost.status_code == 502
    assert install(emulator, phone, TIKTOK_NEWEST)["code"] == 42003  # the lost one was applied: still installing
    assert emulator.stats()["app_installs"] == {phone: 3}


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((json.loads(body), self.headers))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        self.server.arrived.release()  # type: ignore[attr-defined]

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received, server.arrived = [], threading.Semaphore(0)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_finished_install_sends_callback_15_signed_with_the_key(emulator, receiver):
    done, failing = running(emulator, 2)
    assert install(emulator, done, TIKTOK_NEWEST)["code"] == 0
    statuses(emulator, done)  # finished before any callback URL was set: nothing is sent
    api(emulator, g.CALLBACK_SET_PATH, {"url": "http://127.0.0.1:%d/hook" % receiver.server_address[1]})
    emulator.configure_apps(fail={"install": [failing]})
    install(emulator, failing, TELEGRAM_NEWEST)
    install(emulator, done, TIKTOK_NEWEST)
    uninstall(emulator, done, TIKTOK)
    statuses(emulator, done)  # the reinstall was replaced by the uninstall: no callback for it
    statuses(emulator, failing)
    assert receiver.arrived.acquire(timeout=10)
    payload, headers = receiver.received[0]
    assert payload == {"type": 15, "packageName": TELEGRAM, "appVersionId": TELEGRAM_NEWEST, "id": failing,
                       "result": 0}
    assert headers["appId"] == emulator.state.app_id and len(headers["sign"]) == 64
    install(emulator, done, TIKTOK_364)
    statuses(emulator, done)
    assert receiver.arrived.acquire(timeout=10)
    assert receiver.received[1][0] == {"type": 15, "packageName": TIKTOK, "appVersionId": TIKTOK_364, "id": done,
                                       "result": 1}
    assert len(receiver.received) == 2


# Uninstall.

def test_an_uninstall_is_uninstalling_until_the_uninstall_reads_th_read_then_the_row_goes(emulator):
    phone = running(emulator)
    emulator.set_apps({phone: {TIKTOK: {}, TELEGRAM: {"installStatus": 5}}})
    assert uninstall(emulator, phone, TIKTOK) == {"traceId": "A" * 32, "code": 0, "msg": "success"}
    assert [r["installStatus"] for r in emulator.apps_of(phone)] == [3, 5]
    assert statuses(emulator, phone) == {TELEGRAM: 5}
    emulator.configure_apps(uninstall_reads=2)
    assert uninstall(emulator, phone, TELEGRAM)["code"] == 0  # an uninstall that failed may be tried again
    assert [statuses(emulator, phone) for dummy in range(3)] == [{TELEGRAM: 3}, {}, {}]
    assert emulator.stats()["app_uninstalls"] == {phone: 2}


def test_uninstalled_rows_can_be_kept_as_4_and_failing_phones_end_at_5(emulator):
    kept, failing = running(emulator, 2)
    emulator.set_apps({kept: {TIKTOK: {}}, failing: {TIKTOK: {}}})
    emulator.configure_apps(keep_uninstalled=True, fail={"uninstall": [failing]})
    uninstall(emulator, kept, TIKTOK)
    uninstall(emulator, failing, TIKTOK)
    assert (statuses(emulator, kept), statuses(emulator, failing)) == ({TIKTOK: 4}, {TIKTOK: 5})
    assert uninstall(emulator, kept, TIKTOK)["code"] == 42005
    assert installable(emulator, kept)["data"]["items"][0]["appVersionInfoList"][0]["installStatus"] == 4
    assert install(emulator, kept, TIKTOK_OLDEST)["code"] == 0  # an uninstalled row installs again


def test_an_uninstall_while_installing_replaces_the_pending_install(emulator):
    phone = running(emulator)
    install(emulator, phone, TIKTOK_NEWEST)
    assert uninstall(emulator, phone, TIKTOK)["code"] == 0
    assert statuses(emulator, phone) == {}


@pytest.mark.parametrize("row, code", [(None, 42005), ({"installStatus": 2}, 42005), ({"installStatus": 4}, 42005),
                                       ({"installStatus": 7}, 42005), ({"installStatus": 3}, 0)])
def test_an_uninstall_of_what_is_not_installed_is_refused_and_a_second_one_changes_nothing(emulator, row, code):
    phone = running(emulator)
    if row is not None:
        emulator.set_apps({phone: {TIKTOK: row}})
    before = emulator.apps_of(phone)
    answer = uninstall(emulator, phone, TIKTOK)
    assert answer["code"] == code
    if code:
        assert answer["msg"] == "app is not installed"
    assert emulator.apps_of(phone) == before
    assert statuses(emulator, phone) == ({TIKTOK: row["installStatus"]} if row else {})  # nothing pending either


def test_an_uninstall_checks_the_phone_the_script_and_running_and_counts_every_request(emulator):
    phone, off = running(emulator), stopped(emulator)
    emulator.set_apps({phone: {TIKTOK: {}}, off: {TIKTOK: {}}})
    assert uninstall(emulator, "999", TIKTOK)["code"] == 42001
    answer = uninstall(emulator, off, TIKTOK)
    assert (answer["code"], answer["msg"]) == (42002, "env is not running")
    control(emulator, "apps/configure", {"refuse": {"uninstall": {phone: 50000}}})
    answer = uninstall(emulator, phone, TIKTOK)
    assert (answer["code"], answer["msg"]) == (50000, "refused by the emulator's script")
    assert api(emulator, g.APP_UNINSTALL_PATH, {"envId": phone})["code"] == 40004
    assert [r["installStatus"] for r in emulator.apps_of(phone) + emulator.apps_of(off)] == [1, 1]
    assert emulator.stats()["app_uninstalls"] == {"999": 1, off: 1, phone: 2}


# The doors and controls.

def test_set_apps_fills_rows_from_the_catalogue_and_none_removes_one(emulator):
    phone = running(emulator)
    emulator.set_apps({phone: {TIKTOK: {"versionName": "36.4.0", "installStatus": 1}, TELEGRAM: {},
                               "com.example.own": {"appVersionId": "77", "versionCode": 12, "appName": "Own"}}})
    rows = emulator.apps_of(phone)
    assert [(r["packageName"], r["appVersionId"], r["versionCode"], r["appId"], r["installStatus"]) for r in rows] == [
        (TIKTOK, TIKTOK_364, "2023604000", "7001", 1), (TELEGRAM, TELEGRAM_NEWEST, "52020", "7003", 1),
        ("com.example.own", "77", "12", "", 1)]
    assert rows[2]["appName"] == "Own"
    answer = control(emulator, "apps/set", {"phones": {phone: {TELEGRAM: None,
                                                               TIKTOK: {"appVersionId": TIKTOK_OLDEST}}}})
    assert answer.json() == {"ok": True}
    assert [(r["packageName"], r["versionName"]) for r in emulator.apps_of(phone)] == [
        (TIKTOK, "35.0.0"), ("com.example.own", "")]
    assert control(emulator, "apps/of", {"id": phone}).json() == {"apps": emulator.apps_of(phone)}


def test_a_row_set_by_hand_stays_as_set_and_drops_a_pending_change(emulator):
    phone = running(emulator)
    install(emulator, phone, TIKTOK_NEWEST)
    emulator.set_apps({phone: {TIKTOK: {"versionName": "36.5.4", "installStatus": 0}}})
    assert [statuses(emulator, phone) for dummy in range(2)] == [{TIKTOK: 0}, {TIKTOK: 0}]


@pytest.mark.parametrize("apps, fragment", [
    ({"999": {}}, "no phone 999 in the fleet"),
    ({"PHONE": {TIKTOK: {"versionName": "1.0"}}}, "version '1.0' is not in the catalogue"),
    ({"PHONE": {"com.example.own": {"versionName": "1.0"}}}, "give appVersionId and versionCode"),
    ({"PHONE": {TIKTOK: {"installStatus": "1"}}}, "installStatus must be a whole number"),
    ({"PHONE": {TIKTOK: {"status": 1}}}, "an app row does not take status"),
    ({"PHONE": {TIKTOK: {"packageName": TELEGRAM}}}, "names another packageName"),
    ({"PHONE": {TIKTOK: {"appVersionId": "1", "versionCode": "x1"}}}, "versionCode must be a whole number"),
    ({"PHONE": {TIKTOK: 1}}, "must be an object or null"),
    ({"PHONE": [TIKTOK]}, "must map packages to a row or null"),
])
def test_a_wrong_set_apps_is_refused_whole_by_the_door_and_with_400_by_the_control(emulator, apps, fragment):
    phone = running(emulator)
    emulator.set_apps({phone: {TELEGRAM: {}}})
    apps = dict(apps)
    if "PHONE" in apps:
        apps[phone] = apps.pop("PHONE")
    good = {running(emulator, 2)[1]: {TIKTOK: {}}}  # a good entry beside the wrong one: not applied either
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(")):
        emulator.set_apps(dict(good, **apps))
    answer = control(emulator, "apps/set", {"phones": dict(good, **apps)})
    assert answer.status_code == 400 and fragment in answer.json()["error"]
    assert emulator.apps_of(phone)[0]["packageName"] == TELEGRAM and emulator.apps_of(list(good)[0]) == []


@pytest.mark.parametrize("settings, fragment", [
    ({"install_reads": 0}, "install_reads must be a whole number of at least 1"),
    ({"uninstall_reads": 1.5}, "uninstall_reads must be a whole number of at least 1"),
    ({"keep_uninstalled": "yes"}, "keep_uninstalled must be true or false"),
    ({"list_needs_running": 1}, "list_needs_running must be true or false"),
    ({"fail": {"start": []}}, "fail must map install or uninstall to phone IDs"),
    ({"fail": {"install": "601876382020000000"}}, "fail must map install or uninstall to a list of phone IDs"),
    ({"refuse": {"install": {"1": "42002"}}}, "refuse must map install or uninstall to {phone ID: API code or null}"),
    ({"refuse": {"stop": {}}}, "refuse must map install or uninstall"),
])
def test_a_wrong_app_setting_is_refused_and_changes_nothing(emulator, settings, fragment):
    good = {"install_reads": 5, "fail": {"uninstall": ["1"]}}
    with pytest.raises(ValueError, match=fragment.replace("{", r"\{")):
        emulator.configure_apps(**dict(good, **settings))
    answer = control(emulator, "apps/configure", dict(good, **settings))
    assert answer.status_code == 400 and fragment in answer.json()["error"]
    book = emulator.state.app_book
    assert (book.install_reads, book.fail["uninstall"], book.keep_uninstalled) == (1, set(), False)


@pytest.mark.parametrize("name, payload, fragment", [
    ("apps/set", {"phone": {}}, "apps/set does not take phone"),
    ("apps/set", {}, "apps/set needs phones"),
    ("apps/configure", {"install_read": 2}, "apps/configure does not take install_read; it takes: fail, "
                                            "install_reads, keep_uninstalled, list_needs_running, refuse, "
                                            "uninstall_reads"),
    ("apps/catalogue", {"items": []}, "apps/catalogue does not take items"),
    ("apps/catalogue", {"apps": {}}, "the catalogue must be a list"),
    ("apps/catalogue", {"apps": [{"id": "1", "appName": "A", "packageName": "p", "appVersionInfoList": []}]},
     "needs appVersionInfoList, a non-empty list"),
    ("apps/catalogue", {"apps": [{"id": "1", "appName": "A", "packageName": "p",
                                  "appVersionInfoList": [{"id": "v", "versionName": "1", "versionCode": 1.5}]}]},
     "versionCode must be a whole number"),
    ("apps/catalogue", {"apps": [{"id": "1", "appName": "A", "packageName": "p",
                                  "appVersionInfoList": [{"id": "v", "versionName": "1", "versionCode": 1},
                                                         {"id": "v", "versionName": "2", "versionCode": 2}]}]},
     "that version ID is in the catalogue twice"),
    ("apps/catalogue", {"apps": [{"id": "1", "packageName": "p"}]}, "needs appName as non-empty text"),
    ("apps/team", {"items": [{"appName": "no id"}]}, "the team library must be a list of objects"),
    ("apps/of", {"id": "999"}, "apps/of: no phone '999' in the fleet"),
    ("apps/of", {}, "apps/of needs id"),
])
def test_a_bad_app_control_body_is_refused_with_400_and_changes_nothing(emulator, name, payload, fragment):
    answer = control(emulator, name, payload)
    assert answer.status_code == 400
    assert fragment in answer.json()["error"]
    book = emulator.state.app_book
    assert [a["id"] for a in book.catalogue] == ["7001", "7002", "7003"] and book.team_apps[0]["id"] == "9001"


def test_the_catalogue_and_team_controls_replace_what_is_served(emulator):
    phone = running(emulator)
    catalogue = [{"id": "1", "appName": "Own", "appIcon": "https://icon.invalid/1.png", "packageName": "com.own",
                  "appVersionInfoList": [{"id": "v2", "versionName": "2.0", "versionCode": "20", "installStatus": 9},
                                         {"id": "v1", "versionName": "1.0", "versionCode": 10}]}]
    assert control(emulator, "apps/catalogue", {"apps": catalogue}).json() == {"ok": True}
    assert control(emulator, "apps/team", {"items": [{"id": "5", "appName": "Own"}]}).json() == {"ok": True}
    assert install(emulator, phone, TIKTOK_NEWEST)["code"] == 42006  # gone with the old catalogue
    assert install(emulator, phone, "v2")["code"] == 0
    assert install(emulator, phone, "v1")["code"] == 42003
    statuses(emulator, phone)
    assert install(emulator, phone, "v1")["code"] == 42004
    item = installable(emulator, phone)["data"]["items"][0]
    assert item["appIcon"] == "https://icon.invalid/1.png"
    assert item["appVersionInfoList"] == [{"id": "v2", "installStatus": 1, "versionCode": 20, "versionName": "2.0"},
                                          {"id": "v1", "installStatus": -1, "versionCode": 10, "versionName": "1.0"}]
    assert api(emulator, g.APP_TEAM_PATH, {"page": 1, "pageSize": 10})["data"]["items"] == [
        {"id": "5", "appName": "Own"}]


def test_the_app_counters_are_in_stats_and_reset_leaves_the_apps(emulator):
    phone = running(emulator)
    install(emulator, phone, TIKTOK_NEWEST)
    uninstall(emulator, phone, TELEGRAM)
    statuses(emulator, phone)
    installable(emulator, phone)
    emulator.set_catalogue(g.DEFAULT_CATALOGUE + [{"id": "8", "appName": "X", "packageName": "x",
                                                   "appVersionInfoList": [{"id": "x1", "versionName": "1",
                                                                           "versionCode": 1}]}])
    emulator.configure_apps(install_reads=2)
    stats = requests.get(emulator.url + "/_emulator/stats", timeout=10)
    counters = {key: stats.json()[key] for key in ("app_installs", "app_uninstalls", "app_list_reads",
                                                   "installable_reads")}
    assert counters == {"app_installs": {phone: 1}, "app_uninstalls": {phone: 1}, "app_list_reads": {phone: 1},
                        "installable_reads": {phone: 1}}
    assert control(emulator, "reset", {}).json() == {"ok": True}
    stats = emulator.stats()
    assert all(stats[key] == {} for key in counters)
    assert [r["installStatus"] for r in emulator.apps_of(phone)] == [1]
    assert len(emulator.state.app_book.catalogue) == 4 and emulator.state.app_book.install_reads == 2


def test_apps_never_show_in_the_door_s_copies_as_live_rows(emulator):
    phone = running(emulator)
    emulator.set_apps({phone: {TIKTOK: {}}})
    emulator.apps_of(phone)[0]["installStatus"] = 9
    assert emulator.apps_of(phone)[0]["installStatus"] == 1
    with pytest.raises(KeyError):
        emulator.apps_of("999")


def test_faults_may_name_the_app_paths(emulator):
    phone = running(emulator)
    control(emulator, "faults", {"faults": [{"kind": "code", "code": 50000, "path": g.APP_LIST_PATH}]})
    assert install(emulator, phone, TIKTOK_NEWEST)["code"] == 0
    assert app_list(emulator, phone)["code"] == 50000
    assert emulator.apps_of(phone)[0]["installStatus"] == 0  # the fault answered: the read never happened
    assert emulator.stats()["app_list_reads"] == {}


def test_help_lists_the_app_routes_and_controls():
    out = subprocess.run([sys.executable, g.__file__, "--help"], capture_output=True, text=True, check=True,
                         env=dict(os.environ, COLUMNS="200")).stdout
    for path in g.APP_PATHS:
        assert "  %s " % path in out
    for name in ("apps/set", "apps/configure", "apps/catalogue", "apps/team", "apps/of"):
        assert "POST /_emulator/%s " % name in out
    for key in g.APP_SETTINGS:
        assert '"%s"' % key in out
    assert g.APP_PATHS == (g.APP_LIST_PATH, g.APP_INSTALLABLE_PATH, g.APP_TEAM_PATH, g.APP_INSTALL_PATH,
                           g.APP_UNINSTALL_PATH)
    assert set(g.API_ROUTES) == set(g.API_PATHS) | set(g.APP_PATHS) | set(g.ADB_PATHS)


def test_a_phones_app_rows_never_show_in_its_phone_list_item(emulator):
    phone = running(emulator)
    emulator.set_apps({phone: {TIKTOK: {}}})
    item = api(emulator, g.LIST_PATH, {"ids": [phone]})["data"]["items"][0]
    assert item["id"] == phone and "apps" not in item
    assert emulator.apps_of(phone)[0]["packageName"] == TIKTOK
