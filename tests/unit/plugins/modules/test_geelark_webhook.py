# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import contextlib
import json
import sys

import pytest

from ansible.module_utils import basic
from ansible_collections.geelark.cloudphone.plugins.module_utils._webhook import CALLBACK_GET_PATH, CALLBACK_SET_PATH
from ansible_collections.geelark.cloudphone.plugins.modules import geelark_webhook

from ...conftest import API_KEY, APP_ID, TOKEN

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    from unittest import mock

    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()):
            yield

URL = "https://eda.example.com:5000/geelark"


@pytest.fixture
def run(emulator, capsys, monkeypatch):
    for name in ("GEELARK_TOKEN", "GEELARK_APP_ID", "GEELARK_API_KEY", "GEELARK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    internal = sys.modules.get("ansible.module_utils._internal")
    if internal is not None and hasattr(internal, "is_controller"):
        monkeypatch.setattr(internal, "is_controller", False)

    def runner(**args):
        args.setdefault("api_url", emulator.url)
        args.setdefault("retry_backoff", 0.01)
        if "app_id" not in args:
            args.setdefault("token", TOKEN)
        args = dict((k, v) for k, v in args.items() if v is not None)
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exit_info:
                geelark_webhook.main()
        out = capsys.readouterr().out
        for secret in (TOKEN, API_KEY):
            assert secret not in out
        result = json.loads(out)
        assert (exit_info.value.code == 0) == (not result.get("failed"))
        return result

    return runner


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
