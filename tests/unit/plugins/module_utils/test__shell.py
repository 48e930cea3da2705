# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Commands on phones against a scripted client: every phone ends answered, refused, uncertain or not run."""

from __future__ import annotations

import threading

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import (
    APIError,
    AuthError,
    ConfigError,
    LockedError,
    MalformedResponseError,
    RateLimitError,
    TransportError,
    UncertainWriteError,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._shell import STATUS_FALSE, run_shell
from ansible_collections.geelark.cloudphone.plugins.module_utils._transport import Cancelled

PATH = "/open/v1/shell/execute"


def refused(code, msg="refused", trace_id="T42"):
    return APIError("GeeLark API error: %d" % code, endpoint=PATH, code=code, api_msg=msg, trace_id=trace_id)


class _Transport:
    def __init__(self):
        self.stop_event = threading.Event()


class ScriptedClient:
    """shell_execute answers each phone from a script: a data dict, an error to raise, or a callable."""

    def __init__(self, script=None, concurrency=1):
        self.script = dict(script or {})
        self.concurrency = concurrency
        self.transport = _Transport()
        self.calls = []
        self._lock = threading.Lock()

    def shell_execute(self, phone_id, cmd):
        with self._lock:
            self.calls.append((phone_id, cmd))
        answer = self.script.get(phone_id, {"status": True, "output": "out %s\n" % phone_id})
        if callable(answer):
            answer = answer(self)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def stop(self):
        self.transport.stop_event.set()

    def sent(self):
        return [phone_id for phone_id, _cmd in self.calls]


def by_id(result):
    return dict((f["id"], f) for f in result.failure_list())


def test_every_phone_is_asked_once_and_answers_come_back_in_the_order_given():
    client = ScriptedClient({"2": {"status": True, "output": "two"}}, concurrency=4)
    result = run_shell(client, ["3", "1", "2", "1", 3], "getprop ro.gl.serialno")
    assert sorted(client.sent()) == ["1", "2", "3"]  # duplicates (3 and "3" too) run once
    assert all(cmd == "getprop ro.gl.serialno" for _phone, cmd in client.calls)
    assert result.as_dict() == {
        "changed": True, "cmd": "getprop ro.gl.serialno", "failures": [], "uncertain": False,
        "results": [{"id": "3", "status": True, "output": "out 3\n"}, {"id": "1", "status": True, "output": "out 1\n"},
                    {"id": "2", "status": True, "output": "two"}]}


def test_status_false_keeps_the_output_and_is_a_failure_without_a_code():
    client = ScriptedClient({"1": {"status": False, "output": "sh: nope: not found\n"}})
    result = run_shell(client, ["1", "2"], "nope")
    assert result.result_list()[0] == {"id": "1", "status": False, "output": "sh: nope: not found\n"}
    assert result.failure_list() == [{"id": "1", "code": None, "msg": STATUS_FALSE, "uncertain": False}]
    assert result.is_changed  # it ran, as a failing ansible.builtin.command is changed
    assert result.failure_message() == "The command failed on 1 of 2 phones: 1 (%s)" % STATUS_FALSE


def test_a_missing_output_is_empty_text():
    result = run_shell(ScriptedClient({"1": {"status": True}}), ["1"], "true")
    assert result.result_list() == [{"id": "1", "status": True, "output": ""}]


@pytest.mark.parametrize("data", [{}, {"status": "true", "output": "x"}, {"status": True, "output": 3}, None])
def test_an_answer_the_api_does_not_document_ran_but_is_a_failure(data):
    result = run_shell(ScriptedClient({"1": data}), ["1"], "id")
    failure, = result.failure_list()
    assert failure["code"] is None and failure["uncertain"] is False
    assert failure["msg"].startswith("the command ran (code 0), but the answer is not what the API documents")
    assert result.result_list() == [] and result.is_changed


@pytest.mark.parametrize("code, start, advice", [
    (42001, "phone 7 was not found (msg 'env not found', traceId T42); check the ID", "may have been deleted"),
    (42002, "phone 7 is not running (msg 'env not found', traceId T42); start it",
     "start it first with geelark.cloudphone.geelark_phone_power (state: started)"),
    (50001, "the model of phone 7 has no shell API (it serves Android 10 and 12-16) (msg 'env not found'",
     "Android 9 and 11 phones take commands over ADB: run them with the connection plugin geelark.cloudphone.adb"),
])
def test_a_refused_phone_is_named_with_the_code_trace_id_and_what_to_do_and_the_others_run(code, start, advice):
    client = ScriptedClient({"7": refused(code, "env not found")})
    result = run_shell(client, ["7", "8"], "ls")
    assert client.sent() == ["7", "8"]
    failure = by_id(result)["7"]
    assert failure["code"] == code and failure["uncertain"] is False
    assert failure["msg"].startswith(start) and advice in failure["msg"]
    assert [r["id"] for r in result.result_list()] == ["8"]


def test_another_refusal_of_one_phone_keeps_the_clients_words_and_the_run_goes_on():
    client = ScriptedClient({"1": refused(43006, "under remote control")})
    result = run_shell(client, ["1", "2"], "ls")
    assert client.sent() == ["1", "2"]
    assert by_id(result)["1"]["code"] == 43006 and "under remote control" in by_id(result)["1"]["msg"]


@pytest.mark.parametrize("error", [
    UncertainWriteError("No answer within the 30s timeout; the write may or may not have been applied",
                        endpoint=PATH, trace_id="T9", advice="read the status of what the write was meant to change"),
    APIError("GeeLark API error: internal server error", endpoint=PATH, code=50000, trace_id="T9"),
], ids=["lost", "50000"])
def test_a_lost_answer_is_an_uncertain_failure_never_sent_again_and_the_others_still_run(error):
    if error.code == 50000:
        error.uncertain = True  # as the transport marks a server error on a write
    client = ScriptedClient({"1": error})
    result = run_shell(client, ["1", "2", "3"], "pm uninstall com.example")
    assert client.sent() == ["1", "2", "3"]
    failure = by_id(result)["1"]
    assert failure["uncertain"] is True and failure["code"] == error.code
    assert failure["msg"].startswith("the command may have run: its answer was lost, and it was not sent again")
    assert "T9" in failure["msg"]
    assert "read the status" not in failure["msg"]  # a write's advice, which does not fit a command
    assert result.uncertain and result.is_changed
    assert result.failure_message().endswith("It may have run on 1 of them, whose answer was lost; it was not sent "
                                             "to them again: check those phones before running it again")


@pytest.mark.parametrize("error", [
    AuthError("GeeLark API error: token", endpoint=PATH, code=40003, trace_id="T1"),
    LockedError("GeeLark API error: locked", endpoint=PATH, code=40014, trace_id="T1"),
    RateLimitError("GeeLark API error: rate limited", endpoint=PATH, code=40007, trace_id="T1"),
    TransportError("Unexpected HTTP answer: 403", endpoint=PATH, http_status=403),
], ids=["auth", "locked", "rate-limit", "http-403"])
def test_an_error_every_call_would_meet_stops_the_run_and_names_the_phones_not_run(error):
    client = ScriptedClient({"2": error})
    result = run_shell(client, ["1", "2", "3", "4"], "ls")
    assert client.sent() == ["1", "2"]
    failures = by_id(result)
    assert failures["2"]["code"] == error.code and failures["2"]["uncertain"] is False
    for phone in ("3", "4"):
        assert failures[phone]["code"] == error.code and failures[phone]["uncertain"] is False
        assert failures[phone]["msg"].startswith("not run: nothing was sent to this phone after phone 2 met an error")
    assert [r["id"] for r in result.result_list()] == ["1"]
    assert client.transport.stop_event.is_set()


def test_an_unreadable_answer_is_uncertain_and_stops_the_run():
    client = ScriptedClient({"1": MalformedResponseError("The answer has no integer 'code'", endpoint=PATH)})
    result = run_shell(client, ["1", "2"], "input tap 10 10")
    assert client.sent() == ["1"]
    failures = by_id(result)
    assert failures["1"]["uncertain"] is True and "could not be read" in failures["1"]["msg"]
    assert failures["2"]["msg"].startswith("not run:") and failures["2"]["uncertain"] is False


def test_calls_waiting_for_their_turn_when_the_run_stops_are_never_sent():
    all_called = threading.Event()

    def auth_error(client):
        all_called.wait(10)  # the other two are waiting for their turn by now
        return AuthError("GeeLark API error: token", endpoint=PATH, code=40003)

    def waits_for_turn(client):
        # As the transport does: wait for a turn until the run is stopped, then end unsent with Cancelled.
        if len(client.calls) == 3:
            all_called.set()
        if client.transport.stop_event.wait(10):
            return Cancelled("The run was cancelled before all requests were sent")
        return {"status": True, "output": "sent"}

    client = ScriptedClient({"1": auth_error, "2": waits_for_turn, "3": waits_for_turn}, concurrency=3)
    result = run_shell(client, ["1", "2", "3"], "ls")
    failures = by_id(result)
    assert failures["1"]["code"] == 40003
    for phone in ("2", "3"):
        assert failures[phone]["msg"].startswith("not run: nothing was sent to this phone after phone 1")
    assert result.result_list() == [] and not result.is_changed


def test_when_two_calls_meet_the_error_together_the_first_one_names_it_and_each_keeps_its_own():
    both_sent = threading.Barrier(2, timeout=10)

    def auth_error(client):
        both_sent.wait()
        return AuthError("GeeLark API error: token", endpoint=PATH, code=40003)

    client = ScriptedClient({"1": auth_error, "2": auth_error}, concurrency=2)
    result = run_shell(client, ["1", "2", "3"], "ls")
    failures = by_id(result)
    assert [failures[p]["code"] for p in ("1", "2", "3")] == [40003] * 3
    assert not failures["1"]["msg"].startswith("not run") and not failures["2"]["msg"].startswith("not run")
    assert failures["3"]["msg"].startswith("not run: nothing was sent to this phone after phone ")


def test_a_cancelled_run_names_every_phone_not_run():
    client = ScriptedClient({"2": Cancelled("The run was cancelled before all requests were sent")})
    result = run_shell(client, ["1", "2", "3"], "ls")
    failures = by_id(result)
    for phone in ("2", "3"):
        assert failures[phone]["msg"] == "not run: The run was cancelled before all requests were sent"
    assert client.sent() == ["1", "2"]


def test_check_mode_sends_nothing():
    client = ScriptedClient()
    result = run_shell(client, ["1", "2", "2"], "reboot", check_mode=True)
    assert client.calls == []
    assert result.as_dict() == {"changed": False, "cmd": "reboot", "results": [], "failures": [], "uncertain": False}
    assert result.skipped and result.message().startswith("Check mode: the command was not run on any of the 2 phones")


@pytest.mark.parametrize("cmd", ["", "   ", "\n\t", None])
def test_an_empty_command_is_refused_before_any_call(cmd):
    client = ScriptedClient()
    with pytest.raises(ConfigError, match="cmd is empty"):
        run_shell(client, ["1"], cmd)
    assert client.calls == []


def test_bad_ids_are_refused_before_any_call():
    client = ScriptedClient()
    with pytest.raises(ConfigError, match="floating point"):
        run_shell(client, ["1", 6.01876382020062634e17], "ls")
    assert client.calls == []


def test_the_failure_message_groups_phones_that_failed_alike():
    client = ScriptedClient(dict((str(n), {"status": False, "output": ""}) for n in range(3)))
    result = run_shell(client, ["0", "1", "2", "3"], "false")
    assert result.failure_message() == "The command failed on 3 of 4 phones: 0, 1 and 2 (%s)" % STATUS_FALSE


# Against the emulator, through the real client and transport.

def shell_phone(emulator, android=12):
    phone = list(emulator.true_status())[0]
    emulator.set_status([phone], 0)
    emulator.configure_adb(android={phone: android})
    return phone


def test_a_rate_limited_call_is_waited_out_and_sent_again_only_then(emulator, make_client):
    phone = shell_phone(emulator)
    emulator.queue_faults({"kind": "code", "code": 40007, "msg": "request too frequent", "path": PATH})
    client = make_client(rate_window=0.2)  # the API's minute, shrunk: the wait for it to roll over is short
    result = run_shell(client, [phone], "getprop ro.gl.serialno")
    assert [(r["id"], r["output"].strip()) for r in result.result_list()] == [(phone, phone)]
    assert len(emulator.request_bodies(PATH)) == 2 and emulator.stats()["shell_executes"] == {phone: 1}
    summary = client.summary()
    assert summary["rate_limited"] == 1 and summary["retries"] == 1 and summary["seconds_waiting_for_budget"] > 0


def test_a_server_error_is_never_sent_again(emulator, make_client):
    phone = shell_phone(emulator)
    emulator.queue_faults({"kind": "code", "code": 50000, "msg": "internal error", "path": PATH})
    result = run_shell(make_client(), [phone], "reboot")
    failure, = result.failure_list()
    assert failure["code"] == 50000 and failure["uncertain"] is True
    assert len(emulator.request_bodies(PATH)) == 1
