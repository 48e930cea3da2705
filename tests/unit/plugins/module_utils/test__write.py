# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shared write path against scripted answers: every target ends accepted, refused or uncertain."""

from __future__ import annotations

import threading

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import (
    APIError,
    AuthError,
    ConfigError,
    MalformedResponseError,
    TransportError,
    UncertainWriteError,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._transport import Cancelled
from ansible_collections.geelark.cloudphone.plugins.module_utils._write import (
    LOST,
    REFUSED,
    STOP,
    UNREADABLE,
    ChangeResult,
    Waiter,
    WaitRules,
    WriteRules,
    Writer,
    carry,
    check_max_changes,
    failures_by_reason,
    guard_max_changes,
    write_outcome,
)

from .fake_clock import FakeClock

PATH = "/open/v1/thing/set"


def ok(trace_id="T1"):
    return {"code": 0, "msg": "success", "traceId": trace_id}


class ScriptedTransport:
    """Answers each write with the next scripted envelope, or raises the next scripted error."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.bodies = []

    def post(self, path, body, write=False, accept_codes=frozenset((0,))):
        assert path == PATH and write is True
        self.bodies.append(body)
        answer = self.answers.pop(0) if self.answers else ok()
        if isinstance(answer, dict):
            return answer
        raise answer  # pylint: disable=raising-bad-type  # not a dict, so one of the scripted exceptions


class ThingWrite(WriteRules):
    """Targets are names; `moved` says which ones a read-back finds changed (or the error it raises)."""

    path = PATH
    batch_size = 2
    action = "the change"
    reading = "the things"

    def __init__(self, moved=(), read_error=None):
        self.moved = set(moved)
        self.read_error = read_error
        self.reads = []

    def body(self, batch):
        return {"ids": list(batch)}

    def read_back(self, result, targets):
        self.reads.append(list(targets))
        if self.read_error is not None:
            raise self.read_error
        return self.moved & set(targets)

    def where(self, result, target):
        return "%s still reads old" % target


def write(transport, rules, targets):
    result = ChangeResult(targets)
    accepted = Writer(transport, rules).write(result, targets)
    return result, accepted


def lost(msg="No answer within the 30s timeout"):
    return UncertainWriteError(msg + "; the write may or may not have been applied", endpoint=PATH)


@pytest.mark.parametrize("error, outcome", [
    (lost(), LOST),
    (APIError("GeeLark API error: internal server error", code=50000), REFUSED),
    (MalformedResponseError("The answer is JSON but not an object", endpoint=PATH), UNREADABLE),
    (TransportError("Unexpected HTTP answer: '403 Forbidden'", http_status=403), STOP),
    (AuthError("GeeLark API error: signature", code=40003), STOP),
    (APIError("GeeLark API error: balance", code=41001), REFUSED),
])
def test_each_write_error_has_one_meaning(error, outcome):
    assert write_outcome(error) == outcome


def test_a_server_error_flagged_uncertain_is_a_lost_answer():
    error = APIError("GeeLark API error: internal server error", code=50000)
    error.uncertain = True  # as the transport marks a 50000 on a write
    assert write_outcome(error) == LOST


def test_accepted_batches_are_kept_when_a_later_batch_stops_the_writing():
    transport = ScriptedTransport(ok(), TransportError("Unexpected HTTP answer: '403 Forbidden'", http_status=403))
    result, accepted = write(transport, ThingWrite(), ["a", "b", "c", "d", "e", "f"])
    assert accepted == ["a", "b"] and result.changed_ids() == ["a", "b"] and result.is_changed
    assert transport.bodies == [{"ids": ["a", "b"]}, {"ids": ["c", "d"]}]  # the third batch is never sent
    failures = result.failure_list()
    assert [f["id"] for f in failures] == ["c", "d", "e", "f"]
    assert all("403" in f["msg"] and f["uncertain"] is False for f in failures)
    assert [f["msg"].startswith("not sent: ") for f in failures] == [False, False, True, True]
    assert result.uncertain is False


class PerTargetTransport:
    """Answers a write to one target by its script: an envelope, an error, or a callable run first (to block)."""

    def __init__(self, script):
        self.script = script
        self.stop_event = threading.Event()
        self.sent = []
        self._lock = threading.Lock()

    def post(self, path, body, write=False, accept_codes=frozenset((0,))):
        target = body["ids"][0]
        with self._lock:
            self.sent.append(target)
        answer = self.script.get(target, ok())
        if callable(answer):
            answer = answer()
        if isinstance(answer, dict):
            return answer
        raise answer  # pylint: disable=raising-bad-type  # not a dict, so one of the scripted exceptions


class OneByOne(ThingWrite):
    batch_size = 1
    parallel = True


def test_one_call_per_target_writes_go_out_together_up_to_the_concurrency():
    together = threading.Barrier(3, timeout=30)  # broken (an error) unless three calls are in flight at once

    def meet():
        together.wait()
        return ok()

    transport = PerTargetTransport(dict((t, meet) for t in "abc"))
    result = ChangeResult(list("abcd"))
    accepted = Writer(transport, OneByOne(), concurrency=3).write(result, list("abcd"))
    assert accepted == list("abcd") and result.failure_list() == []
    assert sorted(transport.sent) == list("abcd")


def test_a_parallel_write_stopped_by_one_target_sends_nothing_more_and_keeps_what_was_in_flight():
    refused = threading.Event()

    def slow_ok():
        assert refused.wait(30)  # "a" is still in flight when "b" is refused
        return ok()

    def refuse():
        refused.set()
        return AuthError("GeeLark API error: signature", code=40003)

    transport = PerTargetTransport({"a": slow_ok, "b": refuse})
    result = ChangeResult(list("abcde"))
    accepted = Writer(transport, OneByOne(), concurrency=2).write(result, list("abcde"))
    assert accepted == ["a"] and result.changed_ids() == ["a"]
    assert sorted(transport.sent) == ["a", "b"]  # c, d and e are never sent
    failures = dict((f["id"], f) for f in result.failure_list())
    assert failures["b"]["code"] == 40003 and not failures["b"]["msg"].startswith("not sent")
    assert all(failures[t]["msg"].startswith("not sent: ") and failures[t]["code"] == 40003 for t in "cde")


def test_a_batch_refused_by_the_api_fails_alone_and_the_next_batches_go_out():
    transport = ScriptedTransport(APIError("GeeLark API error: balance", code=41001), ok())
    result, accepted = write(transport, ThingWrite(), ["a", "b", "c"])
    assert accepted == ["c"]
    assert [(f["id"], f["code"]) for f in result.failure_list()] == [("a", 41001), ("b", 41001)]


def test_a_lost_answer_is_read_back_and_only_the_targets_that_did_not_move_are_sent_again():
    transport = ScriptedTransport(lost(), ok())
    rules = ThingWrite(moved={"a"})
    result, accepted = write(transport, rules, ["a", "b"])
    assert rules.reads == [["a", "b"]]
    assert transport.bodies == [{"ids": ["a", "b"]}, {"ids": ["b"]}]
    assert accepted == ["a", "b"] and result.failure_list() == []


def test_answers_lost_every_round_fail_with_where_the_target_stands():
    transport = ScriptedTransport(lost(), lost(), lost())
    result, accepted = write(transport, ThingWrite(), ["a"])
    assert len(transport.bodies) == 3 and accepted == []
    assert result.failure_list() == [{
        "id": "a", "code": None, "uncertain": False,
        "msg": "the answers to 3 calls of %s were lost and a still reads old, so nothing more was sent; last: %s"
               % (PATH, lost())}]
    assert result.is_changed is False


def test_a_lost_answer_whose_read_back_fails_is_uncertain_and_never_unchanged():
    read_error = TransportError("Unexpected HTTP answer: '502 Bad Gateway'", endpoint="/read", http_status=502)
    transport = ScriptedTransport(ok(), lost())
    result, accepted = write(transport, ThingWrite(read_error=read_error), ["a", "b", "c"])
    assert accepted == ["a", "b"] and len(transport.bodies) == 2  # c is not sent again blindly
    assert result.failure_list() == [{
        "id": "c", "code": None, "uncertain": True,
        "msg": "the change may have been applied; the things could not be read: %s" % read_error}]
    assert result.uncertain is True and result.is_changed is True
    assert result.as_dict() == {"changed": True, "changed_ids": ["a", "b"], "failures": result.failure_list(),
                                "uncertain": True}
    assert result.first_error() is read_error
    assert "1 of them may have changed" in result.failure_message()


def test_only_uncertain_targets_still_make_a_change():
    transport = ScriptedTransport(lost())
    result, _accepted = write(transport, ThingWrite(read_error=TransportError("down")), ["a"])
    assert result.changed_ids() == [] and result.is_changed is True


def test_an_unreadable_answer_is_read_back_and_nothing_more_is_sent():
    bad = MalformedResponseError("The answer is JSON but not an object", endpoint=PATH)
    transport = ScriptedTransport(ok(), bad)
    rules = ThingWrite(moved={"c"})
    result, accepted = write(transport, rules, ["a", "b", "c", "d", "e"])
    assert rules.reads == [["c", "d"]] and len(transport.bodies) == 2
    assert accepted == ["a", "b", "c"]
    failures = dict((f["id"], f["msg"]) for f in result.failure_list())
    assert failures["d"].startswith("the answer to the change could not be read and d still reads old, so nothing "
                                    "more was sent: The answer is JSON but not an object")
    assert failures["e"].startswith("not sent: The answer is JSON but not an object")


def test_a_lost_answer_in_a_round_that_stopped_is_read_back_but_not_sent_again():
    transport = ScriptedTransport(lost(), AuthError("GeeLark API error: signature", code=40003))
    result, accepted = write(transport, ThingWrite(moved={"a"}), ["a", "b", "c"])
    assert accepted == ["a"] and len(transport.bodies) == 2
    failures = dict((f["id"], f) for f in result.failure_list())
    assert failures["b"]["msg"].startswith("the answer to the change was lost and b still reads old; nothing more "
                                           "was sent after: GeeLark API error: signature")
    assert failures["c"]["code"] == 40003


def test_a_cancelled_run_accounts_for_every_target_then_stops():
    transport = ScriptedTransport(ok(), lost(), Cancelled("The run was cancelled before all requests were sent"))
    result = ChangeResult(["a", "b", "c", "d", "e", "f", "g"])
    with pytest.raises(Cancelled):
        Writer(transport, ThingWrite()).write(result, result.ids)
    failures = dict((f["id"], f) for f in result.failure_list())
    assert result.changed_ids() == ["a", "b"]
    assert failures["c"]["uncertain"] and failures["d"]["uncertain"]  # lost, and never read back
    assert all(failures[i]["msg"].startswith("not sent: ") for i in "efg")


def test_an_answer_with_a_code_refuses_its_batch_by_default():
    transport = ScriptedTransport({"code": 40009, "msg": "all failed", "traceId": "T9"})
    result, accepted = write(transport, ThingWrite(), ["a"])
    assert accepted == [] and result.failure_list() == [{"id": "a", "code": 40009, "msg": "all failed (traceId T9)",
                                                         "uncertain": False}]


def test_carry_attaches_the_result_to_the_error():
    error = AuthError("GeeLark API error: signature", code=40003)
    result = ChangeResult(["a"])
    assert carry(error, result) is error and error.change_result is result


class ArrivalWait(WaitRules):
    """Each target arrives on its n-th poll; "gone" targets fail on the first poll they are in."""

    def __init__(self, arrives_on, gone=()):
        self.arrives_on = dict(arrives_on)
        self.gone = set(gone)
        self.polls = []

    def still_waiting(self, result, targets):
        return [t for t in targets if self.arrives_on.get(t, 0) > 0]

    def poll(self, result, targets):
        self.polls.append(list(targets))
        still = []
        for target in targets:
            if target in self.gone:
                result.fail(target, 42001, "gone while waiting")
            elif len(self.polls) < self.arrives_on[target]:
                still.append(target)
        return still

    def timed_out(self, result, target, wait_timeout):
        return "%s not there after %ss" % (target, wait_timeout)


def test_the_wait_polls_only_the_targets_still_waiting_until_each_arrives():
    clock = FakeClock()
    rules = ArrivalWait({"here": 0, "soon": 1, "later": 3, "gone": 5}, gone={"gone"})
    result = ChangeResult(["here", "soon", "later", "gone"])
    Waiter(rules, wait_timeout=60, poll_interval=2, clock=clock, sleep=clock.sleep).wait(result, result.ids)
    assert rules.polls == [["soon", "later", "gone"], ["later"], ["later"]]
    assert clock.sleeps == [2, 2, 2]
    assert [(f["id"], f["code"]) for f in result.failure_list()] == [("gone", 42001)]


def test_a_wait_that_times_out_fails_each_target_with_its_reason_and_never_oversleeps():
    clock = FakeClock()
    rules = ArrivalWait({"slow": 100})
    result = ChangeResult(["slow"])
    Waiter(rules, wait_timeout=5, poll_interval=2, clock=clock, sleep=clock.sleep).wait(result, result.ids)
    assert clock.sleeps == [2, 2, 1]  # the last sleep ends at the deadline
    assert result.failure_list() == [{"id": "slow", "code": None, "msg": "slow not there after 5s",
                                      "uncertain": False}]


def test_a_zero_wait_timeout_reads_nothing():
    clock = FakeClock()
    rules = ArrivalWait({"slow": 1})
    result = ChangeResult(["slow"])
    Waiter(rules, wait_timeout=0, poll_interval=2, clock=clock, sleep=clock.sleep).wait(result, result.ids)
    assert rules.polls == [] and [f["id"] for f in result.failure_list()] == ["slow"]


class FailingWait(ArrivalWait):
    """ArrivalWait whose poll number `fails_on` raises `error` instead of reading."""

    def __init__(self, arrives_on, fails_on, error, gone=()):
        super().__init__(arrives_on, gone)
        self.fails_on = fails_on
        self.error = error

    def poll(self, result, targets):
        if len(self.polls) + 1 == self.fails_on:
            self.polls.append(list(targets))
            raise self.error
        return super().poll(result, targets)


def test_a_read_that_fails_while_waiting_fails_every_target_still_waiting_and_ends_the_wait():
    clock = FakeClock()
    error = APIError("GeeLark API error: internal server error", code=50000, trace_id="T9")
    rules = FailingWait({"here": 0, "soon": 1, "later": 5, "gone": 5, "slow": 5}, fails_on=2, error=error,
                        gone={"gone"})
    result = ChangeResult(["here", "soon", "later", "gone", "slow"])
    result.accept(result.ids)
    with pytest.raises(APIError) as info:
        Waiter(rules, wait_timeout=60, poll_interval=2, clock=clock, sleep=clock.sleep).wait(result, result.ids)
    assert info.value is error  # the run still ends on the error, with its code and traceId
    assert rules.polls == [["soon", "later", "gone", "slow"], ["later", "slow"]]
    reason = "its progress could not be read while waiting: %s" % error
    assert result.failure_list() == [
        {"id": "later", "code": 50000, "msg": reason, "uncertain": False},
        {"id": "gone", "code": 42001, "msg": "gone while waiting", "uncertain": False},  # its own reason stays
        {"id": "slow", "code": 50000, "msg": reason, "uncertain": False},
    ]
    assert result.first_error() is error
    assert result.changed_ids() == ["here", "soon", "later", "gone", "slow"] and result.uncertain is False


def test_the_guard_refuses_more_changes_than_max_changes_and_carries_what_was_read():
    result = ChangeResult(["a", "b", "c"])
    guard_max_changes(result, 2, 2, "start")  # at the limit: allowed
    guard_max_changes(result, 3, None, "start")  # no limit
    with pytest.raises(ConfigError) as info:
        guard_max_changes(result, 3, 2, "start")
    assert str(info.value).startswith("3 of 3 phones would start, more than max_changes=2; nothing was changed")
    assert "raise max_changes to 3" in str(info.value) and info.value.change_result is result


@pytest.mark.parametrize("value", [-1, True, "3", 1.5])
def test_max_changes_must_be_a_whole_number(value):
    with pytest.raises(ConfigError, match="max_changes must be a whole number of phones, 0 or more"):
        check_max_changes(value)


def failure(target, code, msg):
    return {"id": target, "code": code, "msg": msg, "uncertain": False}


def test_failures_that_share_a_reason_are_named_together_with_the_reason_once():
    failures = ([failure("a", 43005, "busy")] + [failure("b%d" % n, None, "HTTP 403") for n in range(30)]
                + [failure("c", 42001, "env not found")])
    assert failures_by_reason(failures[:1]) == "a (43005 busy)"
    assert failures_by_reason(failures[:3]) == "a (43005 busy), b0 and b1 (HTTP 403)"
    text = failures_by_reason(failures, limit=4)
    assert text == "a (43005 busy), b0, b1, b2 and 27 more (HTTP 403), and 1 more (all of them are in failures)"
    assert text.count("HTTP 403") == 1
