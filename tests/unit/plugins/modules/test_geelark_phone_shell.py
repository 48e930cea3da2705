# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""geelark_phone_shell run in this process against the emulator's shell API, as Ansible would run it."""

from __future__ import annotations

import collections
import functools
import json

import pytest

from ansible.module_utils.common import warnings as module_warnings

from ansible_collections.geelark.cloudphone.plugins.module_utils._client import SHELL_PATH
from ansible_collections.geelark.cloudphone.plugins.module_utils._shell import STATUS_FALSE
from ansible_collections.geelark.cloudphone.plugins.modules import geelark_phone_shell, geelark_phone_status

from .conftest import warning_texts

STARTED, SHUT_DOWN = 0, 2


@pytest.fixture
def run(run_module, monkeypatch):
    # Ansible keeps a module's warnings in a process-wide store: each run here starts with it empty,
    # as a module run by Ansible (one process per run) does.
    monkeypatch.setattr(module_warnings, "_global_warnings", type(module_warnings._global_warnings)())
    return functools.partial(run_module, geelark_phone_shell.main)


@pytest.fixture
def phones(emulator):
    """phones(n): n phones of the fleet, started and on Android 12 (which has the shell API)."""

    def pick(count, android=12):
        chosen = list(emulator.true_status())[:count]
        emulator.set_status(chosen, STARTED)
        emulator.configure_adb(android=dict((phone_id, android) for phone_id in chosen))
        return chosen

    return pick


def executes(emulator):
    """How many shell/execute requests named each phone (whatever their answer)."""
    return collections.Counter(body["id"] for body in emulator.request_bodies(SHELL_PATH))


def test_each_phone_answers_with_its_own_output_in_the_order_given(emulator, run, phones):
    first, second, third = phones(3)
    result = run(ids=[third, first, second], cmd="getprop ro.gl.serialno")
    assert "failed" not in result and result["changed"] is True
    assert [(r["id"], r["status"], r["output"].strip()) for r in result["results"]] == [
        (third, True, third), (first, True, first), (second, True, second)]
    assert result["failures"] == [] and result["uncertain"] is False
    assert result["cmd"] == "getprop ro.gl.serialno"
    assert result["msg"] == "The command ran on 3 phones"
    assert executes(emulator) == {first: 1, second: 1, third: 1}
    assert [body["cmd"] for body in emulator.request_bodies(SHELL_PATH)] == ["getprop ro.gl.serialno"] * 3
    assert result["api_calls"]["requests"] == 3


def test_duplicate_ids_run_once(emulator, run, phones):
    first, second = phones(2)
    result = run(ids=[first, second, first, int(second)], cmd="echo hi")
    assert [r["id"] for r in result["results"]] == [first, second]
    assert executes(emulator) == {first: 1, second: 1}


def test_a_command_that_fails_keeps_its_output_and_fails_the_task(emulator, run, phones):
    first, second = phones(2)
    result = run(ids=[first, second], cmd="echo went wrong; exit 3")
    assert result["failed"] is True and result["changed"] is True  # it ran, as ansible.builtin.command reports
    assert [(r["id"], r["status"], r["output"]) for r in result["results"]] == [
        (first, False, "went wrong\n"), (second, False, "went wrong\n")]
    assert [(f["id"], f["code"], f["msg"], f["uncertain"]) for f in result["failures"]] == [
        (first, None, STATUS_FALSE, False), (second, None, STATUS_FALSE, False)]
    assert result["msg"] == "The command failed on 2 of 2 phones: %s and %s (%s)" % (first, second, STATUS_FALSE)


def test_a_phone_that_is_not_running_is_named_with_what_to_do_and_the_others_still_run(emulator, run, phones):
    first, second = phones(2)
    emulator.set_status([first], SHUT_DOWN)
    result = run(ids=[first, second], cmd="getprop ro.gl.serialno")
    assert result["failed"] is True
    failure, = result["failures"]
    assert (failure["id"], failure["code"], failure["uncertain"]) == (first, 42002, False)
    assert failure["msg"].startswith("phone %s is not running (msg 'env is not running', traceId " % first)
    assert "traceId" in failure["msg"] and "geelark.cloudphone.geelark_phone_power" in failure["msg"]
    assert [r["id"] for r in result["results"]] == [second]
    assert result["msg"].startswith("The command failed on 1 of 2 phones: %s (42002 phone %s is not running"
                                    % (first, first))


@pytest.mark.parametrize("android", [9, 11])
def test_a_model_without_the_shell_api_points_to_the_adb_connection(emulator, run, phones, android):
    phone, = phones(1, android=android)
    result = run(ids=[phone], cmd="id")
    failure, = result["failures"]
    assert failure["code"] == 50001 and result["results"] == []
    assert "has no shell API" in failure["msg"] and "connection plugin geelark.cloudphone.adb" in failure["msg"]
    assert result["changed"] is False


def test_an_unknown_phone_is_a_failure(emulator, run, phones):
    phone, = phones(1)
    result = run(ids=["404404404404404404", phone], cmd="true")
    assert [(f["id"], f["code"]) for f in result["failures"]] == [("404404404404404404", 42001)]
    assert "was not found" in result["failures"][0]["msg"]
    assert [r["id"] for r in result["results"]] == [phone]


def test_a_scripted_refusal_of_one_phone_is_that_phones_failure(emulator, run, phones):
    first, second = phones(2)
    emulator.configure_adb(shell_fail={first: 43006})
    result = run(ids=[first, second], cmd="true")
    assert [(f["id"], f["code"]) for f in result["failures"]] == [(first, 43006)]
    assert [r["id"] for r in result["results"]] == [second]


@pytest.mark.parametrize("fault", [
    pytest.param({"kind": "lose_answer"}, id="ran-then-dropped"),
    pytest.param({"kind": "reset"}, id="connection-dropped"),
    pytest.param({"kind": "http", "status": 502}, id="http-502"),
])
def test_a_lost_answer_is_uncertain_never_sent_again_and_the_others_still_run(emulator, run, phones, fault):
    first, second, third = phones(3)
    emulator.queue_faults(dict(fault, path=SHELL_PATH))
    result = run(ids=[first, second, third], cmd="echo done", concurrency=1)
    assert result["failed"] is True and result["changed"] is True and result["uncertain"] is True
    failure, = result["failures"]
    assert (failure["id"], failure["uncertain"]) == (first, True)
    assert failure["msg"].startswith("the command may have run: its answer was lost, and it was not sent again")
    assert [r["id"] for r in result["results"]] == [second, third]
    assert executes(emulator) == {first: 1, second: 1, third: 1}  # exactly one call each: no resend
    assert "It may have run on 1 of them, whose answer was lost" in result["msg"]


def test_a_lost_answer_leaves_the_command_run_exactly_once_on_the_phone(emulator, run, phones):
    phone, = phones(1)
    emulator.queue_faults({"kind": "lose_answer", "path": SHELL_PATH})
    result = run(ids=[phone], cmd="echo once >> /sdcard/count.txt")
    assert result["failures"][0]["uncertain"] is True
    assert emulator.device_file(phone, "/sdcard/count.txt") == b"once\n"
    assert emulator.stats()["shell_executes"] == {phone: 1}


def test_over_the_concurrency_cap_the_call_is_waited_out_and_sent_again(emulator, run, phones):
    phone, = phones(1)
    emulator.queue_faults({"kind": "code", "code": 47002, "msg": "too many concurrent requests", "path": SHELL_PATH})
    result = run(ids=[phone], cmd="getprop ro.gl.serialno")
    assert "failed" not in result and result["results"][0]["output"].strip() == phone
    assert executes(emulator) == {phone: 2}  # refused (nothing ran), then sent again
    assert emulator.stats()["shell_executes"] == {phone: 1}
    assert result["api_calls"]["over_concurrency_cap"] == 1


def test_refused_credentials_stop_the_run_and_name_every_phone_not_run(emulator, run, phones):
    ids = phones(4)
    emulator.queue_faults({"kind": "code", "code": 40003, "msg": "token invalid", "path": SHELL_PATH})
    result = run(ids=ids, cmd="true", concurrency=1)
    assert result["failed"] is True and result["changed"] is False and result["results"] == []
    assert [f["code"] for f in result["failures"]] == [40003] * 4
    assert "signature verification failed" in result["failures"][0]["msg"]
    for failure in result["failures"][1:]:
        assert failure["msg"].startswith("not run: nothing was sent to this phone after phone %s" % ids[0])
    assert executes(emulator) == {ids[0]: 1}


def test_check_mode_sends_nothing_and_says_so(emulator, run, phones):
    ids = phones(2)
    result = run(ids=ids, cmd="reboot", _ansible_check_mode=True)
    assert result["changed"] is False and result["skipped"] is True and "failed" not in result
    assert result["results"] == [] and result["failures"] == []
    assert result["msg"].startswith("Check mode: the command was not run on any of the 2 phones")
    assert emulator.stats()["total_requests"] == 0


@pytest.mark.parametrize("cmd", ["", "  \n"])
def test_an_empty_command_is_refused_before_any_request(emulator, run, phones, cmd):
    result = run(ids=phones(1), cmd=cmd)
    assert result["failed"] is True and result["msg"].startswith("cmd is empty")
    assert result["results"] == [] and result["failures"] == [] and result["changed"] is False
    assert emulator.stats()["total_requests"] == 0


def test_cmd_and_ids_are_required(run):
    result = run(ids=["1"])
    assert result["failed"] is True and "cmd" in result["msg"]
    result = run(cmd="true")
    assert result["failed"] is True and "ids" in result["msg"]


def test_empty_ids_send_no_request_and_warn(emulator, run):
    result = run(ids=[], cmd="true")
    assert result["results"] == [] and result["failures"] == [] and result["changed"] is False
    assert any("ids is empty" in w for w in warning_texts(result))
    assert emulator.stats()["total_requests"] == 0


def test_wrong_token_fails_every_phone_and_no_secret_is_returned(emulator, run, phones):
    result = run(ids=phones(2), cmd="true", token="not-the-token", concurrency=1)
    assert result["failed"] is True and [f["code"] for f in result["failures"]] == [40003, 40003]
    assert "not-the-token" not in json.dumps(result)


# The documentation, as ansible-doc reads it, against what the module returns.
CONTROLLER = "needs ansible-core's controller code"
# Keys every module result may carry, which Ansible documents.
STANDARD_KEYS = {"changed", "failed", "msg", "invocation", "warnings", "skipped"}


def documented(module):
    fragment_loader = pytest.importorskip("ansible.plugins.loader", reason=CONTROLLER).fragment_loader
    get_docstring = pytest.importorskip("ansible.utils.plugin_docs", reason=CONTROLLER).get_docstring
    docs = get_docstring(module.__file__, fragment_loader, collection_name="geelark.cloudphone", plugin_type="module")
    assert docs[1] and docs[2]
    return docs[0], docs[2]


def test_every_returned_key_is_documented(emulator, run, phones):
    first, second = phones(2)
    emulator.set_status([second], SHUT_DOWN)
    result = run(ids=[first, second], cmd="true")
    _documentation, returned = documented(geelark_phone_shell)
    assert set(result) - STANDARD_KEYS == set(returned) - {"error"}
    assert set(result["results"][0]) == set(returned["results"]["contains"])
    assert set(result["failures"][0]) == set(returned["failures"]["contains"])
    status_calls = set(documented(geelark_phone_status)[1]["api_calls"]["contains"])
    assert set(result["api_calls"]) == status_calls


def test_an_error_before_any_request_returns_the_documented_keys(emulator, run):
    result = run(ids=[6.01876382020062634e17], cmd="true")
    _documentation, returned = documented(geelark_phone_shell)
    assert result["failed"] is True and "floating point" in result["msg"]
    assert set(result) - STANDARD_KEYS == set(returned)
    assert set(result["error"]) >= {"endpoint", "code", "trace_id", "http_status", "attempts"}


def test_documented_options_match_the_argument_spec():
    documentation, _returned = documented(geelark_phone_shell)
    options = documentation["options"]
    assert options["ids"]["required"] is True and options["ids"]["description"][0].startswith("IDs of the phones")
    assert options["cmd"]["required"] is True and options["cmd"]["type"] == "str"
    assert "token" in options and "concurrency" in options
    description = " ".join(documentation["description"])
    assert "5.5 minutes" in description and "no exit code" in description
    assert documentation["attributes"]["action_group"]["membership"] == ["geelark.cloudphone.all"]
