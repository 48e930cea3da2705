# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import functools
import json
import socket

import pytest
import yaml

from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import STATUS_PATH
from ansible_collections.geelark.cloudphone.plugins.modules import geelark_phone_status

from .conftest import warning_texts
from ...conftest import API_KEY, APP_ID, TOKEN


@pytest.fixture
def run(run_module):
    return functools.partial(run_module, geelark_phone_status.main)


def ids_of(emulator, count):
    return list(emulator.true_status())[:count]


def test_returns_every_phone_in_request_order_with_names(emulator, run):
    ids = ids_of(emulator, 120)
    truth = emulator.true_status()
    result = run(ids=list(reversed(ids)))
    assert result["changed"] is False
    assert [p["id"] for p in result["phones"]] == list(reversed(ids))
    assert all(p["status"] == truth[p["id"]] for p in result["phones"])
    assert set(result["by_status"]) == {"started", "starting", "shut_down", "expired"}
    assert sorted(i for v in result["by_status"].values() for i in v) == sorted(ids)
    assert (result["total_amount"], result["success_amount"], result["fail_amount"]) == (120, 120, 0)
    assert len(emulator.request_bodies(STATUS_PATH)) == 2


def test_signature_auth_works(emulator, run):
    result = run(ids=ids_of(emulator, 2), app_id=APP_ID, api_key=API_KEY)
    assert len(result["phones"]) == 2
    assert emulator.stats()["secret_leaks"] == 0


def test_credentials_from_environment(emulator, run, monkeypatch):
    monkeypatch.setenv("GEELARK_APP_ID", APP_ID)
    monkeypatch.setenv("GEELARK_API_KEY", API_KEY)
    result = run(ids=ids_of(emulator, 1), app_id=None)
    assert len(result["phones"]) == 1


def test_an_empty_credential_from_the_task_counts_as_unset_and_the_environment_applies(emulator, run, monkeypatch):
    monkeypatch.setenv("GEELARK_TOKEN", TOKEN)
    monkeypatch.setenv("GEELARK_API_URL", emulator.url)
    result = run(ids=ids_of(emulator, 1), token="", api_url=" ")
    assert len(result["phones"]) == 1


def test_an_empty_credential_everywhere_says_none_was_given(emulator, run):
    result = run(ids=ids_of(emulator, 1), token="")
    assert result["failed"] is True
    assert "No GeeLark credentials were given" in result["msg"]


def test_integer_ids_become_exact_strings_and_duplicates_go(emulator, run):
    first, second = ids_of(emulator, 2)
    result = run(ids=[int(first), second, first])
    assert [p["id"] for p in result["phones"]] == [first, second]


def test_unknown_ids_are_reported_as_failures(emulator, run):
    result = run(ids=["999", ids_of(emulator, 1)[0]])
    assert result["failures"] == [{"id": "999", "code": 42001, "msg": "env not found"}]
    assert (result["total_amount"], result["success_amount"], result["fail_amount"]) == (2, 1, 1)
    assert "failed" not in result


def test_fail_on_missing_fails_naming_the_ids(emulator, run):
    result = run(ids=["999", ids_of(emulator, 1)[0]], fail_on_missing=True)
    assert result["failed"] is True
    assert result["msg"] == "The API did not answer for 1 of 2 phones: 999 (42001 env not found)"
    assert len(result["phones"]) == 1


def test_unknown_status_codes_get_their_own_group(emulator, run):
    phone = ids_of(emulator, 1)[0]
    emulator.set_status([phone], 7)
    result = run(ids=[phone])
    assert result["by_status"]["unknown"] == [phone]
    assert result["phones"][0]["status_name"] == "unknown"


def test_empty_ids_send_no_request(emulator, run):
    result = run(ids=[])
    assert result["phones"] == [] and result["by_status"]["started"] == []
    assert emulator.stats()["total_requests"] == 0


def test_check_mode_returns_the_same_answer(emulator, run):
    ids = ids_of(emulator, 3)
    assert run(ids=ids, _ansible_check_mode=True)["phones"] == run(ids=ids)["phones"]


def test_wrong_token_fails_with_code_and_trace_id_and_no_secret(emulator, run):
    result = run(ids=ids_of(emulator, 1), token="not-the-token")
    assert result["failed"] is True
    assert "40003" in result["msg"] and result["error"]["code"] == 40003
    assert result["error"]["trace_id"] in result["msg"]
    assert "not-the-token" not in json.dumps(result)
    # a runbook's user wrote no task: the message names the extra var the runbooks take the token from
    assert "check the token, which came from the task's options or module_defaults (geelark_token in the " \
           "runbooks)" in result["msg"]


@pytest.mark.parametrize("code, fragment", [
    (40014, "locked for 2 hours"),
    (40016, "whitelist"),
    (40004, "parameter validation failed"),
])
def test_api_errors_fail_clearly(emulator, run, code, fragment):
    emulator.queue_faults({"kind": "code", "code": code})
    result = run(ids=ids_of(emulator, 1))
    assert result["failed"] is True
    assert fragment in result["msg"] and "code %d" % code in result["msg"]
    assert "Traceback" not in json.dumps(result)


def test_transport_failure_after_retries(emulator, run):
    emulator.queue_faults(*[{"kind": "http", "status": 503}] * 3)
    result = run(ids=ids_of(emulator, 1), retries=2)
    assert result["failed"] is True
    assert result["error"]["http_status"] == 503 and result["error"]["attempts"] == 3


def test_malformed_answer_fails_clearly(emulator, run):
    emulator.queue_faults({"kind": "code", "code": 0, "data": {"successDetails": [{"id": "1", "status": "on"}]}})
    result = run(ids=["1"])
    assert result["failed"] is True and "no integer status" in result["msg"]


def test_unreachable_api(run):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = run(ids=["1"], api_url="http://127.0.0.1:%d" % port, retries=0)
    assert result["failed"] is True and "Cannot reach" in result["msg"]


@pytest.mark.parametrize("args, fragment", [
    ({"token": None}, "No GeeLark credentials were given"),
    ({"app_id": APP_ID}, "app_id (the task's options or module_defaults (geelark_app_id in the runbooks)) was "
                         "given without api_key"),
    ({"ids": [6.01876382020062634e17]}, "lose precision"),
    ({"ids": [None]}, "not a phone ID"),
    ({"api_url": "openapi.geelark.com"}, "is not an http(s) URL"),
    ({"api_url": "https://openapi.geelark.com/open/v1"}, "has a path (/open/v1); it must be the API's base URL"),
    ({"concurrency": 0}, "concurrency must be"),
])
def test_bad_input_fails_before_any_request(emulator, run, args, fragment):
    args.setdefault("ids", ["1"])
    result = run(**args)
    assert result["failed"] is True and fragment in result["msg"]
    assert emulator.stats()["total_requests"] == 0


def test_a_bad_id_is_named_by_its_0_based_position(emulator, run):
    result = run(ids=["1", None])
    assert result["failed"] is True and result["msg"].startswith("ids[1] is None, not a phone ID")
    assert emulator.stats()["total_requests"] == 0


def test_an_api_url_with_a_path_names_where_it_was_set(emulator, run, monkeypatch):
    from_task = run(ids=["1"], api_url=emulator.url + "/open/v1")
    assert ("set api_url (from the task's options or module_defaults (geelark_api_url in the runbooks)) to '%s'"
            % emulator.url) in from_task["msg"]
    monkeypatch.setenv("GEELARK_API_URL", emulator.url + "/open/v1")
    from_env = run(ids=["1"], api_url=None)
    assert "set api_url (from environment variable GEELARK_API_URL) to '%s'" % emulator.url in from_env["msg"]
    assert emulator.stats()["total_requests"] == 0


def test_mixed_auth_schemes_say_which_came_from_where(emulator, run, monkeypatch):
    monkeypatch.setenv("GEELARK_TOKEN", TOKEN)
    result = run(ids=["1"], app_id=APP_ID, api_key=API_KEY)
    assert result["failed"] is True
    assert ("Both auth schemes were given: token (environment variable GEELARK_TOKEN), and app_id (the task's "
            "options or module_defaults (geelark_app_id in the runbooks)) and api_key (the task's options or "
            "module_defaults (geelark_api_key in the runbooks))") in result["msg"]
    assert emulator.stats()["total_requests"] == 0


def test_unanswered_ids_warn_with_their_count_and_the_first_of_them(emulator, run):
    known = ids_of(emulator, 2)
    unknown = ["40440440440440440%d" % i for i in range(7)]
    result = run(ids=known + unknown)
    assert result.get("failed") is not True
    warning = " ".join(warning_texts(result))
    assert "The API did not answer for 7 of 9 phones: 404404404404404400 (42001 env not found)" in warning
    assert "and 2 more (all of them are in failures); set fail_on_missing: true" in warning
    assert "404404404404404406" not in warning


def test_the_result_says_what_the_task_asked_of_the_api(emulator, run):
    emulator.queue_faults({"kind": "http", "status": 502})
    result = run(ids=ids_of(emulator, 150))
    assert result["api_calls"]["requests"] == 3 and result["api_calls"]["retries"] == 1
    assert result["api_calls"]["seconds"] > 0


def test_an_empty_ids_list_warns_that_nothing_was_checked(emulator, run):
    result = run(ids=[])
    assert result.get("failed") is not True and result["total_amount"] == 0
    assert "ids is empty: no phone was asked about, so nothing was checked or changed" in warning_texts(result)
    assert emulator.stats()["total_requests"] == 0


def test_the_keys_documented_as_absent_after_an_api_error_are_absent_then_and_present_otherwise(emulator, run):
    returns = yaml.safe_load(geelark_phone_status.RETURN)
    unless_error = sorted(k for k, v in returns.items() if v["returned"].startswith("unless an API error failed"))
    assert len(unless_error) == 6
    answered = run(ids=ids_of(emulator, 2))
    assert all(key in answered for key in unless_error) and "error" not in answered
    failed = run(ids=ids_of(emulator, 2), token="not-the-token")
    assert failed["failed"] is True and "error" in failed and "api_calls" in failed
    assert [key for key in unless_error if key in failed] == []
