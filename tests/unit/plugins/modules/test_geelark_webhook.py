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


def test_a_lost_answer_to_an_applied_write_counts_as_done(emulator, run, monkeypatch):
    from ansible_collections.geelark.cloudphone.plugins.module_utils import _client
    from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import TransportError

    real_set = _client.set_callback_url

    def applied_but_unanswered(transport, url):
        real_set(transport, url)
        raise TransportError("No answer within the 30s timeout", endpoint=CALLBACK_SET_PATH)

    monkeypatch.setattr(_client, "set_callback_url", applied_but_unanswered)
    result = run(url=URL)
    assert (result["changed"], result["url"]) == (True, URL)
    assert len(writes(emulator)) == 1


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
