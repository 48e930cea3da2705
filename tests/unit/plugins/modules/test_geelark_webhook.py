# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import functools
import json

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._webhook import CALLBACK_GET_PATH, CALLBACK_SET_PATH
from ansible_collections.geelark.cloudphone.plugins.modules import geelark_webhook

from ...conftest import API_KEY, APP_ID

URL = "https://eda.example.com:5000/geelark"


@pytest.fixture
def run(run_module):
    return functools.partial(run_module, geelark_webhook.main)


def writes(emulator):
    return emulator.request_bodies(CALLBACK_SET_PATH)


def test_not_set_is_read_as_none_not_an_error(emulator, run):
    result = run()
    assert (result["changed"], result["url"], result["previous_url"]) == (False, None, None)
    assert emulator.stats()["codes"] == {"51001": 1}


def test_sets_the_url_once_then_changes_nothing(emulator, run):
    first = run(url=URL, _ansible_diff=True)
    assert (first["changed"], first["url"], first["previous_url"]) == (True, URL, None)
    assert first["diff"] == {"before": {"url": None}, "after": {"url": URL}}
    assert emulator.state.callback_url == URL
    second = run(url=URL)
    assert (second["changed"], second["url"], second["previous_url"]) == (False, URL, URL)
    assert writes(emulator) == [{"url": URL}]
    assert second["api_calls"]["requests"] == 1


def test_replaces_another_url(emulator, run):
    emulator.state.callback_url = "https://old.example.com/hook"
    result = run(url=URL)
    assert (result["changed"], result["previous_url"], result["url"]) == (True, "https://old.example.com/hook", URL)
    assert emulator.state.callback_url == URL


def test_check_mode_predicts_and_writes_nothing(emulator, run):
    result = run(url=URL, _ansible_check_mode=True, _ansible_diff=True)
    assert (result["changed"], result["url"]) == (True, URL)
    assert result["diff"]["after"] == {"url": URL}
    assert writes(emulator) == [] and emulator.state.callback_url is None


def test_a_write_whose_answer_is_lost_is_read_back_not_sent_again(emulator, run):
    # The connection drops before the emulator applies the write: the read-back finds no URL, so the
    # task fails on the lost answer, having sent the write once.
    emulator.queue_faults({"kind": "reset", "path": CALLBACK_SET_PATH})
    result = run(url=URL)
    assert result["failed"] and "Cannot reach" in result["msg"]
    assert len(writes(emulator)) == 1
    assert emulator.request_bodies(CALLBACK_GET_PATH) == [{}, {}]
    assert emulator.state.callback_url is None


def test_a_lost_answer_to_an_applied_write_counts_as_done(emulator, run):
    emulator.queue_faults({"kind": "lose_answer", "path": CALLBACK_SET_PATH})  # applied, then the connection drops
    result = run(url=URL)
    assert (result["changed"], result["url"], result["uncertain"]) == (True, URL, False)
    assert "failed" not in result
    assert len(writes(emulator)) == 1 and len(emulator.request_bodies(CALLBACK_GET_PATH)) == 2


def test_a_lost_answer_whose_read_back_fails_is_a_change_that_may_have_happened(emulator, run):
    emulator.queue_faults({"kind": "lose_answer", "path": CALLBACK_SET_PATH},
                          {"kind": "http", "status": 502, "path": CALLBACK_GET_PATH, "skip": 1, "times": 20})
    result = run(url=URL, retries=2)
    assert result["failed"] is True
    assert (result["changed"], result["uncertain"], result["url"], result["previous_url"]) == (True, True, URL, None)
    assert result["msg"].startswith("The callback URL may have been set to %s: the callback URL change may have been "
                                    "applied; the callback URL could not be read: " % URL)
    assert "HTTP 502" in result["msg"] and result["msg"].endswith("run the task again to read it")
    assert result["error"]["http_status"] == 502 and result["error"]["endpoint"] == CALLBACK_GET_PATH
    assert len(writes(emulator)) == 1 and emulator.state.callback_url == URL


def test_a_server_error_on_the_write_is_read_back_not_reported_unchanged(emulator, run):
    # 50000 on a write may mean it was applied before the server failed: read back, never sent again.
    emulator.queue_faults({"kind": "code", "code": 50000, "msg": "internal error", "path": CALLBACK_SET_PATH})
    result = run(url=URL)
    assert result["failed"] is True and result["changed"] is False and result["uncertain"] is False
    assert "code 50000" in result["msg"] and "the callback URL still reads as not set" in result["msg"]
    assert len(writes(emulator)) == 1 and len(emulator.request_bodies(CALLBACK_GET_PATH)) == 2


def test_signature_auth_and_the_action_group(emulator, run):
    result = run(url=URL, app_id=APP_ID, api_key=API_KEY)
    assert result["changed"] is True
    assert emulator.stats()["secret_leaks"] == 0


def test_a_url_that_is_not_http_is_refused_before_any_request(emulator, run):
    result = run(url="ftp://example.com/x")
    assert result["failed"] and "is not an http:// or https:// URL" in result["msg"]
    assert emulator.stats()["total_requests"] == 0


def test_plain_http_warns(emulator, run):
    result = run(url="http://eda.example.com/geelark")
    assert result["changed"] and "plain HTTP" in json.dumps(result["warnings"])


def test_api_errors_fail_with_code_and_trace_id(emulator, run):
    emulator.queue_faults({"kind": "code", "code": 40003, "msg": "sign"})
    result = run(url=URL)
    assert result["failed"] and result["error"]["code"] == 40003 and result["error"]["trace_id"]
    assert "40003" in result["msg"]
