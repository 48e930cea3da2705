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
     "unknown fault kind 'timeout'; known kinds: code, hang, http, lose_answer, mutate, raw, reset"),
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
    for endpoint in ("stats", "reset", "config", "faults", "phones/status", "phones/add", "phones/delete"):
        assert "/_emulator/" + endpoint in out
    for kind in geelark_emulator.FAULT_KEYS:
        assert "  %s " % kind in out
    for key in geelark_emulator.CONFIG_CHECKS:
        assert '"%s"' % key in out
