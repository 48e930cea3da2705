# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The emulator as a tool: it refuses what it cannot do, shows its own errors, and documents itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

from ansible_collections.geelark.cloudphone.tests.emulator import geelark_emulator
from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import LIST_PATH

from .conftest import TOKEN

EMULATOR_SCRIPT = geelark_emulator.__file__


def control(emu, name, payload):
    return requests.post(emu.url + "/_emulator/" + name, data=json.dumps(payload), timeout=10)


def list_page(emu, **body):
    answer = requests.post(emu.url + LIST_PATH, json=dict({"page": 1, "pageSize": 100}, **body),
                           headers={"Authorization": "Bearer " + TOKEN, "traceId": "T" * 32}, timeout=10)
    return answer.json()


@pytest.mark.parametrize("fault, fragment", [
    ({"kind": "timeout"},
     "unknown fault kind 'timeout'; known kinds: code, drip, fail_detail, hang, http, lose_answer, mutate, omit, raw, "
     "reset"),
    ({"kind": "http", "stauts": 503}, "fault kind 'http' does not take stauts"),
    ({"kind": "code", "msg": "no code"}, "fault kind 'code' needs code"),
    ({"kind": "reset", "path": "/open/v1/phone/lists"}, "fault path '/open/v1/phone/lists' is not an API path"),
    ("reset", "a fault must be an object"),
])
def test_a_fault_the_emulator_cannot_play_is_refused_with_400(emulator, fault, fragment):
    answer = control(emulator, "faults", {"faults": [{"kind": "reset"}, fault]})
    assert answer.status_code == 400
    assert fragment in answer.json()["error"]
    assert len(emulator.state.faults) == 0  # nothing of a refused request is queued
    with pytest.raises(ValueError, match="fault"):
        emulator.queue_faults(fault)


@pytest.mark.parametrize("name, payload, fragment", [
    ("config", {"latency": 0.1, "ratelimit": 5},
     "config does not take ratelimit; it takes: latency, max_in_flight, rate_limit"),
    ("config", {"latency": -1}, "config latency must be a number of at least 0"),
    ("config", {"rate_limit": "fast"}, "config rate_limit must be a number of at least 0"),
    ("faults", {"fault": [{"kind": "reset"}]}, "faults does not take fault"),
    ("faults", {"faults": {"kind": "reset"}}, "faults must be a list"),
    ("reset", {"counters": True}, "reset does not take counters; it takes: nothing"),
    ("phones/status", {"ids": ["1"], "status": 0, "on_reads": 2}, "phones/status does not take on_reads"),
    ("phones/status", {"ids": ["1"]}, "phones/status needs status"),
    ("phones/add", {"phone": [{}]}, "phones/add does not take phone"),
    ("phones/delete", {"id": ["1"]}, "phones/delete does not take id"),
])
def test_an_unknown_control_key_is_refused_with_400_and_changes_nothing(emulator, name, payload, fragment):
    before = (emulator.state.latency, emulator.state.rate_limit, len(emulator.state.phones))
    answer = control(emulator, name, payload)
    assert answer.status_code == 400
    assert fragment in answer.json()["error"]
    assert (emulator.state.latency, emulator.state.rate_limit, len(emulator.state.phones)) == before


def test_a_control_body_that_is_not_json_is_refused_with_400(emulator):
    answer = requests.post(emulator.url + "/_emulator/config", data=b"latency=1", timeout=10)
    assert answer.status_code == 400 and "not JSON" in answer.json()["error"]


def test_known_control_requests_still_work(emulator):
    assert control(emulator, "config", {"latency": 0, "rate_limit": 0}).json() == {"ok": True}
    assert control(emulator, "faults", {"faults": [{"kind": "code", "code": 50000, "path": LIST_PATH}]}).json() == {
        "queued": 1}
    assert control(emulator, "reset", {}).json() == {"ok": True}


def test_phones_with_null_group_tags_and_names_do_not_break_list_filters(emulator):
    nulls = {"group": None, "tags": None, "serialName": None, "remark": None, "serialNo": None, "chargeMode": None}
    added = control(emulator, "phones/add", {"phones": [dict(nulls, id="700000000000000001"),
                                                        dict(nulls, id="700000000000000002", tags=[None])]})
    assert added.status_code == 200, added.text
    for filters, expected in [({"groupName": "reels"}, 50), ({"tags": ["vip"]}, None), ({"serialName": "reels"}, None),
                              ({"remark": "batch"}, 250), ({"serialNos": ["1"]}, 1), ({"chargeMode": 1}, 125)]:
        answer = list_page(emulator, **filters)
        assert answer["code"] == 0, (filters, answer)
        ids = [item["id"] for item in answer["data"]["items"]]
        assert "700000000000000001" not in ids and "700000000000000002" not in ids
        if expected is not None:
            assert answer["data"]["total"] == expected, filters
    everything = list_page(emulator, ids=["700000000000000001", "700000000000000002"])
    assert everything["data"]["total"] == 2


def test_an_error_inside_a_handler_is_shown_and_answered_with_500(emulator, capsys):
    with emulator.state.lock:
        emulator.state.faults.append({"kind": "no-such-kind"})  # slipped past the checks: a bug to show
    answer = list_page(emulator)
    assert answer == {"error": "emulator error in POST %s: ValueError: unknown fault kind 'no-such-kind'" % LIST_PATH}
    err = capsys.readouterr().err
    assert "geelark emulator: error while handling POST %s" % LIST_PATH in err
    assert "Traceback (most recent call last)" in err and "ValueError: unknown fault kind" in err
    assert list_page(emulator)["code"] == 0  # and the emulator goes on serving


def test_an_error_answer_has_status_500(emulator):
    with emulator.state.lock:
        emulator.state.faults.append({"kind": "no-such-kind"})
    answer = requests.post(emulator.url + LIST_PATH, json={}, timeout=10)
    assert answer.status_code == 500


def test_help_documents_every_option_and_the_control_endpoints():
    for action in geelark_emulator.build_parser()._actions:
        assert action.help, "%s has no help text" % action.option_strings
    out = subprocess.run([sys.executable, EMULATOR_SCRIPT, "--help"], capture_output=True, text=True, check=True,
                         env=dict(os.environ, COLUMNS="200")).stdout
    for option in ("--phones", "--seed", "--port", "--token", "--app-id", "--api-key", "--latency", "--rate-limit",
                   "--url-file"):
        assert option in out
    for endpoint in ("stats", "reset", "config", "faults", "pager", "phones/status", "phones/add", "phones/delete",
                     "phones/rename"):
        assert "/_emulator/" + endpoint in out
    for kind in geelark_emulator.FAULT_KEYS:
        assert "  %s " % kind in out
    for key in geelark_emulator.FAULT_COMMON_KEYS:
        assert '"%s"' % key in out
    for key in geelark_emulator.CONFIG_CHECKS:
        assert '"%s"' % key in out


# The hostile controls: faults that wait or repeat, partial answers, a lying pager, any name, slow bodies.

STATUS = geelark_emulator.STATUS_PATH
START = geelark_emulator.START_PATH
HEADERS = {"Authorization": "Bearer " + TOKEN, "traceId": "T" * 32}


def api(emu, path, body):
    return requests.post(emu.url + path, json=body, headers=HEADERS, timeout=10)


def ids_of(emu, status=None):
    return [i for i, s in emu.true_status().items() if status is None or s == status]


def test_a_fault_with_skip_lets_that_many_matching_requests_pass_then_plays(emulator):
    shut = ids_of(emulator, 2)
    emulator.queue_faults({"kind": "http", "status": 403, "path": START, "skip": 1})
    assert list_page(emulator)["code"] == 0  # another path: neither skipped nor played
    assert api(emulator, START, {"ids": shut[:1]}).json()["code"] == 0
    assert api(emulator, START, {"ids": shut[1:2]}).status_code == 403
    assert api(emulator, START, {"ids": shut[2:3]}).json()["code"] == 0
    assert len(emulator.state.faults) == 0


def test_a_fault_with_times_plays_on_that_many_matching_requests_in_a_row(emulator):
    some = ids_of(emulator)[:3]
    control(emulator, "faults", {"faults": [{"kind": "http", "status": 502, "path": STATUS, "times": 3, "skip": 1},
                                            {"kind": "code", "code": 50000, "path": STATUS}]})
    answers = [api(emulator, STATUS, {"ids": some}) for dummy in range(6)]
    assert [a.status_code for a in answers] == [200, 502, 502, 502, 200, 200]
    assert [a.json()["code"] for a in answers if a.status_code == 200] == [0, 50000, 0]


@pytest.mark.parametrize("fault, fragment", [
    ({"kind": "reset", "skip": -1}, "skip must be a whole number of at least 0, got -1"),
    ({"kind": "reset", "skip": "1"}, "skip must be a whole number of at least 0"),
    ({"kind": "reset", "times": 0}, "times must be a whole number of at least 1, got 0"),
    ({"kind": "reset", "times": True}, "times must be a whole number of at least 1"),
    ({"kind": "fail_detail", "code": 42001}, "fault kind 'fail_detail' needs ids"),
    ({"kind": "fail_detail", "ids": "601876382020000000"}, "ids must be a list of phone ID strings"),
    ({"kind": "fail_detail", "ids": [601876382020000000]}, "ids must be a list of phone ID strings"),
    ({"kind": "fail_detail", "ids": ["1"], "code": "42001"}, "code must be a whole number"),
    ({"kind": "fail_detail", "ids": ["1"], "path": LIST_PATH}, "fault kind 'fail_detail' plays only on path"),
    ({"kind": "omit", "ids": ["1"], "path": STATUS}, "fault kind 'omit' plays only on path"),
    ({"kind": "omit", "ids": ["1"], "code": 1}, "fault kind 'omit' does not take code"),
    ({"kind": "drip", "interval": 0}, "interval must be a number above 0"),
    ({"kind": "drip", "seconds": -1}, "seconds must be a number of at least 0"),
])
def test_a_new_fault_key_with_a_wrong_value_is_refused_with_400(emulator, fault, fragment):
    answer = control(emulator, "faults", {"faults": [fault]})
    assert answer.status_code == 400
    assert fragment in answer.json()["error"]
    assert len(emulator.state.faults) == 0
    with pytest.raises(ValueError, match="fault"):
        emulator.queue_faults(fault)


def test_fail_detail_answers_normally_except_the_named_phones_fail_with_that_code(emulator):
    some = ids_of(emulator)[:4]
    control(emulator, "faults", {"faults": [{"kind": "fail_detail", "ids": some[1:3], "code": 42001,
                                             "msg": "env not found"}]})
    assert list_page(emulator)["code"] == 0  # the status path is its own: a list request leaves it queued
    data = api(emulator, STATUS, {"ids": some}).json()["data"]
    assert sorted(d["id"] for d in data["successDetails"]) == sorted([some[0], some[3]])
    assert data["failDetails"] == [{"code": 42001, "id": i, "msg": "env not found"} for i in some[1:3]]
    assert (data["totalAmount"], data["successAmount"], data["failAmount"]) == (4, 2, 2)
    again = api(emulator, STATUS, {"ids": some}).json()["data"]
    assert again["failAmount"] == 0  # played once


def test_omit_leaves_the_phones_out_of_the_list_items_but_not_out_of_the_total(emulator):
    first = [item["id"] for item in list_page(emulator)["data"]["items"]]
    emulator.queue_faults({"kind": "omit", "ids": [first[0], first[57]]})
    api(emulator, STATUS, {"ids": first[:1]})  # the list path is its own
    data = list_page(emulator)["data"]
    assert [item["id"] for item in data["items"]] == [i for i in first if i not in (first[0], first[57])]
    assert data["total"] == 250
    assert len(list_page(emulator)["data"]["items"]) == 100


def test_the_pager_can_repeat_page_one_and_claim_a_total_until_reset(emulator):
    first = list_page(emulator)["data"]["items"]
    answer = control(emulator, "pager", {"repeat": True, "total": 7000})
    assert answer.json() == {"ok": True}
    for dummy in range(2):  # persistent: not used up by one request
        data = list_page(emulator, page=2)["data"]
        assert (data["items"], data["total"], data["page"]) == (first, 7000, 2)
    control(emulator, "pager", {"total": None})  # what is not given stays as set
    assert list_page(emulator, page=3)["data"]["total"] == 250
    assert list_page(emulator, page=3)["data"]["items"] == first
    emulator.reset()
    data = list_page(emulator, page=3)["data"]
    assert data["total"] == 250 and len(data["items"]) == 50 and data["items"][0] != first[0]
    emulator.set_pager(total=3)
    assert list_page(emulator)["data"]["total"] == 3 and len(list_page(emulator)["data"]["items"]) == 100
    control(emulator, "reset", {})
    assert list_page(emulator)["data"]["total"] == 250


@pytest.mark.parametrize("payload, fragment", [
    ({"repeat": "yes"}, "repeat must be true or false"),
    ({"total": -1}, "total must be a whole number of at least 0 or null"),
    ({"total": 1.5}, "total must be a whole number of at least 0 or null"),
    ({"pages": 2}, "pager does not take pages; it takes: repeat, total"),
])
def test_a_wrong_pager_setting_is_refused_with_400_and_changes_nothing(emulator, payload, fragment):
    answer = control(emulator, "pager", dict(payload, repeat=True) if "repeat" not in payload else payload)
    assert answer.status_code == 400
    assert fragment in answer.json()["error"]
    data = list_page(emulator, page=3)["data"]
    assert data["total"] == 250 and len(data["items"]) == 50


def test_rename_gives_a_phone_any_text_as_its_name_in_list_and_status(emulator):
    first, second = ids_of(emulator)[:2]
    odd = "{{ lookup('env', 'HOME') }}\x1b[31m\n group_x;rm -rf / \u202e"
    assert control(emulator, "phones/rename", {"names": {first: odd}}).json() == {"ok": True}
    emulator.rename({second: ""})
    items = {item["id"]: item for item in list_page(emulator, ids=[first, second])["data"]["items"]}
    assert (items[first]["serialName"], items[second]["serialName"]) == (odd, "")
    details = {d["id"]: d for d in api(emulator, STATUS, {"ids": [first]}).json()["data"]["successDetails"]}
    assert details[first]["serialName"] == odd


@pytest.mark.parametrize("wrong, fragment", [
    ({"names": {"999": "x"}}, "phones/rename: no phone 999 in the fleet"),
    ({"names": {"SECOND": 5}}, "names must map phone IDs to text (or null)"),
    ({"name": {}}, "phones/rename does not take name"),
])
def test_a_wrong_rename_is_refused_with_400_and_renames_nothing(emulator, wrong, fragment):
    first, second = ids_of(emulator)[:2]
    payload = dict(wrong)
    if "names" in payload:  # one good entry beside the wrong one: neither is applied
        wrong_names = {second if k == "SECOND" else k: v for k, v in wrong["names"].items()}
        payload["names"] = dict({first: "renamed"}, **wrong_names)
    else:
        payload["names"] = {first: "renamed"}
    answer = control(emulator, "phones/rename", payload)
    assert answer.status_code == 400
    assert fragment in answer.json()["error"]
    assert emulator.state.phones[first]["serialName"] != "renamed"
    assert control(emulator, "phones/rename", {"names": ["x"]}).status_code == 400


def test_phones_that_start_out_starting_boot_after_boot_reads_status_reads(emulator):
    starting = ids_of(emulator, 1)
    assert starting  # the fleet holds some
    added = emulator.state.add_phones([{"id": "700000000000000010", "status": 1}])
    answer = control(emulator, "phones/add", {"phones": [{"id": "700000000000000011", "status": 1}]})
    assert answer.json() == {"ids": ["700000000000000011"]}
    everything = starting[:50] + added + ["700000000000000011"]
    reads = []
    for dummy in range(2):  # boot_reads is 2 by default: the second read finds them started
        details = api(emulator, STATUS, {"ids": everything}).json()["data"]["successDetails"]
        reads.append(set(d["status"] for d in details))
    assert reads == [{1}, {0}]
    assert all(emulator.status_reads(i) == 2 for i in everything)


def test_a_starting_phone_boots_by_the_boot_reads_set_before_its_first_read(emulator):
    phone = ids_of(emulator, 1)[0]
    emulator.configure_power(boot_reads=3)
    statuses = [api(emulator, STATUS, {"ids": [phone]}).json()["data"]["successDetails"][0]["status"]
                for dummy in range(3)]
    assert statuses == [1, 1, 0]


def test_a_status_set_by_the_tests_stays_as_set(emulator):
    phone = ids_of(emulator, 2)[0]
    emulator.set_status([phone], 1)
    statuses = [api(emulator, STATUS, {"ids": [phone]}).json()["data"]["successDetails"][0]["status"]
                for dummy in range(4)]
    assert statuses == [1, 1, 1, 1]  # scripted statuses move only as scripted


def read_head(sock):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "connection closed before the headers ended: %r" % head
        head += chunk
    return head.decode("latin-1")


def test_drip_sends_the_headers_then_the_body_one_byte_at_a_time(emulator):
    import socket

    emulator.queue_faults({"kind": "drip", "interval": 0.01, "seconds": 600})
    body = json.dumps({"page": 1, "pageSize": 1}).encode()
    host, port = emulator.server.server_address[:2]
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\ntraceId: %s\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                     % (LIST_PATH.encode(), TOKEN.encode(), b"T" * 32, len(body), body))
        head = read_head(sock)
        assert head.startswith("HTTP/1.1 200")
        length = int(head.lower().split("content-length:")[1].split("\r\n")[0])
        assert length > 60000  # 600 s of one byte per 0.01 s, then the answer
        assert sock.recv(1) == b" "  # the body has begun, and is far from done: hang up
    assert list_page(emulator)["code"] == 0  # the emulator serves on


def test_a_short_drip_ends_with_the_normal_answer(emulator):
    emulator.queue_faults({"kind": "drip", "interval": 0.01, "seconds": 0.05})
    answer = requests.post(emulator.url + LIST_PATH, json={"page": 1, "pageSize": 1}, headers=HEADERS, timeout=30)
    assert answer.text.startswith("     {")  # five bytes of JSON whitespace, then the answer
    assert answer.json()["code"] == 0 and answer.json()["data"]["total"] == 250


# The emulator as a package: routes and controls in tables, one public face, three ways to run it.

EMULATOR_DIR = os.path.dirname(EMULATOR_SCRIPT)


def help_text(*command):
    return subprocess.run([sys.executable, *command, "--help"], capture_output=True, text=True, check=True,
                          env=dict(os.environ, COLUMNS="200", PYTHONPATH=os.pathsep.join(p for p in sys.path if p)),
                          cwd=EMULATOR_DIR).stdout


def test_help_lists_every_api_route_and_control_route_from_their_tables():
    out = help_text(EMULATOR_SCRIPT)
    for route in geelark_emulator.ROUTES:
        assert "  %s " % route.path in out and route.summary[:40] in out
    for control in geelark_emulator.CONTROLS:
        assert "%-4s /_emulator/%s " % (control.method, control.name) in out
    assert "Example:  geelark_emulator.py --phones 300" in out


def test_a_route_added_to_the_table_is_served_authenticated_and_counted(emulator, monkeypatch):
    # The example of the package docstring: one handler and one entry.
    def phone_detail(call):
        phone = call.state.phones.get(call.body.get("id"))
        if phone is None:
            raise geelark_emulator.ApiFailure(42001, "env not found")
        return {"id": phone["id"], "serialName": phone["serialName"]}

    path = "/open/v1/phone/detail"
    monkeypatch.setitem(geelark_emulator.API_ROUTES, path, geelark_emulator.Route(path, phone_detail, "one phone"))
    first = ids_of(emulator)[0]
    assert api(emulator, path, {"id": first}).json()["data"] == {
        "id": first, "serialName": emulator.state.phones[first]["serialName"]}
    assert api(emulator, path, {"id": "nope"}).json()["code"] == 42001
    refused = requests.post(emulator.url + path, json={"id": first}, headers=dict(HEADERS, Authorization="Bearer x"),
                            timeout=10)
    assert refused.json()["code"] == 40003
    assert emulator.stats()["requests"][path] == 3


@pytest.mark.parametrize("command", [
    ["-m", "ansible_collections.geelark.cloudphone.tests.emulator"],
    [EMULATOR_DIR],
])
def test_the_emulator_runs_as_a_module_and_as_its_folder(command):
    out = help_text(*command)
    assert "/_emulator/faults" in out and geelark_emulator.STATUS_PATH in out


def test_the_emulator_imports_from_its_own_folder_as_the_tools_do():
    # tools/bench.py and tools/build-smoke.sh put tests/emulator on sys.path and import geelark_emulator.
    script = ("import json, sys; sys.path.insert(0, sys.argv[1]); import geelark_emulator as g\n"
              "with g.Emulator(phones=3, token='t') as emu:\n"
              "    print(json.dumps([p['id'] for p in g.make_fleet(3)] + [emu.stats()['phones']]))\n")
    out = subprocess.run([sys.executable, "-c", script, EMULATOR_DIR], capture_output=True, text=True, check=True,
                         cwd="/").stdout
    assert json.loads(out) == [p["id"] for p in geelark_emulator.make_fleet(3)] + [3]


def test_the_public_face_keeps_every_name_it_offered():
    names = ("Emulator EmulatorState Handler ApiFailure ControlError KEEP STATUS_PATH LIST_PATH START_PATH STOP_PATH "
             "CALLBACK_GET_PATH CALLBACK_SET_PATH API_PATHS CONTROL_PREFIX MAX_IDS MAX_POWER_IDS FAULT_KEYS "
             "FAULT_COMMON_KEYS FAULT_REQUIRED FAULT_ONLY_PATH FAULT_VALUE_CHECKS DRIP_DEFAULTS CONFIG_CHECKS "
             "check_fault make_phone make_fleet expected_signature send_callback build_parser main")
    for name in names.split():
        assert hasattr(geelark_emulator, name), name
    assert geelark_emulator.API_PATHS == (LIST_PATH, STATUS, START, geelark_emulator.STOP_PATH,
                                          geelark_emulator.CALLBACK_GET_PATH, geelark_emulator.CALLBACK_SET_PATH)
