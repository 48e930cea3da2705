# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Power runs against the emulator: status first, batched writes, lost answers, waits by read count."""

from __future__ import annotations

import json

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import AuthError, ConfigError, GeeLarkError
from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import STATUS_PATH
from ansible_collections.geelark.cloudphone.plugins.module_utils._power import START_PATH, STOP_PATH, PowerRun

from .fake_clock import FakeClock


@pytest.fixture
def power(make_client):
    """Run a power change with a fake clock; returns the PowerResult (the run is on .run_info)."""

    def runner(ids, state, client=None, on_sleep=None, **options):
        client = client or make_client()
        clock = FakeClock()
        if on_sleep is not None:
            clock.hook = on_sleep
        options.setdefault("poll_interval", 1)
        options.setdefault("wait_timeout", 60)
        run = PowerRun(client.transport, client.concurrency, clock=clock, sleep=clock.sleep, **options)
        result = run.run(ids, state)
        result.clock = clock
        return result

    return runner


def shut_down(emulator, count):
    """`count` phones, all of them shut down now."""
    ids = list(emulator.true_status())[:count]
    emulator.set_status(ids, 2)
    return ids


def with_status(emulator, status, count):
    ids = [i for i, s in emulator.true_status().items() if s == status][:count]
    assert len(ids) == count
    return ids


def writes(emulator, path):
    return emulator.request_bodies(path)


def test_only_shut_down_phones_are_started_each_exactly_once(emulator, power):
    emulator.configure_power(boot_reads=2)
    down, up = with_status(emulator, 2, 5), with_status(emulator, 0, 3)
    ids = up[:1] + down + up[1:]
    result = power(ids, "started")
    assert result.as_dict()["changed_ids"] == down
    assert writes(emulator, START_PATH) == [{"ids": down}]
    assert writes(emulator, STOP_PATH) == []
    assert all(emulator.power_writes(i) == 1 for i in down) and not any(emulator.power_writes(i) for i in up)
    assert result.failure_list() == []
    assert [p["status_name"] for p in result.as_dict()["phones"]] == ["started"] * len(ids)
    assert sorted(result.as_dict()["by_status"]["started"]) == sorted(ids)
    assert len(result.clock.sleeps) == 2  # starting on the first poll, started on the second


def test_a_second_run_is_not_changed_and_sends_no_write(emulator, power):
    emulator.configure_power(boot_reads=1)
    ids = with_status(emulator, 2, 4)
    assert power(ids, "started").as_dict()["changed"] is True
    emulator.reset()
    again = power(ids, "started").as_dict()
    assert again["changed"] is False and again["changed_ids"] == []
    assert writes(emulator, START_PATH) == [] and len(writes(emulator, STATUS_PATH)) == 1


def test_check_mode_reads_only_and_reports_the_plan(emulator, power):
    down, up = with_status(emulator, 2, 3), with_status(emulator, 0, 2)
    result = power(up + down, "started", check_mode=True)
    assert result.as_dict()["changed_ids"] == down and result.as_dict()["changed"] is True
    assert emulator.stats()["power_writes"] == {}
    assert result.clock.sleeps == []
    assert result.diff() == {"before": dict.fromkeys(down, "shut_down"), "after": dict.fromkeys(down, "started")}
    stop_plan = power(up + down, "stopped", check_mode=True)
    assert stop_plan.as_dict()["changed_ids"] == up
    restart_plan = power(up + down, "restarted", check_mode=True)
    assert restart_plan.as_dict()["changed_ids"] == up + down
    assert emulator.stats()["power_writes"] == {} and emulator.true_status()[down[0]] == 2


@pytest.mark.parametrize("state, verb, limit, planned", [
    ("started", "start", 2, 3), ("stopped", "stop", 1, 2), ("restarted", "restart", 4, 5),
])
def test_max_changes_refuses_before_any_write_and_keeps_the_statuses_read(emulator, power, state, verb, limit,
                                                                          planned):
    down, up = with_status(emulator, 2, 3), with_status(emulator, 0, 2)
    with pytest.raises(ConfigError) as info:
        power(up + down, state, max_changes=limit)
    assert "%d of 5 phones would %s, more than max_changes=%d; nothing was changed" % (
        planned, verb, limit) in str(info.value)
    assert "raise max_changes to %d" % planned in str(info.value)
    assert emulator.stats()["power_writes"] == {} and len(writes(emulator, STATUS_PATH)) == 1
    assert sorted(info.value.change_result.as_dict()["by_status"]["shut_down"]) == sorted(down)


def test_max_changes_counts_the_phones_as_read_just_before_the_write(emulator, power):
    down, up = with_status(emulator, 2, 1), with_status(emulator, 0, 1)
    assert power(down + up, "started", max_changes=1, check_mode=True).as_dict()["changed_ids"] == down  # the plan
    emulator.set_status(up, 2)  # then the other phone went down: two would start now
    with pytest.raises(ConfigError, match="2 of 2 phones would start, more than max_changes=1"):
        power(down + up, "started", max_changes=1)
    assert emulator.stats()["power_writes"] == {}
    emulator.set_status(down + up, 0)
    assert power(down + up, "started", max_changes=0).as_dict()["changed"] is False  # 0: none may change, none must


@pytest.mark.parametrize("value", [-1, True, "3"])
def test_a_bad_max_changes_fails_before_any_request(emulator, power, value):
    with pytest.raises(ConfigError, match="max_changes must be a whole number"):
        power(["1"], "started", max_changes=value)
    assert emulator.stats()["total_requests"] == 0


def test_writes_carry_at_most_100_ids_and_polls_one_call_per_100_waiting(emulator, power):
    emulator.configure_power(boot_reads=2)
    ids = shut_down(emulator, 150)
    result = power(ids, "started")
    assert [len(body["ids"]) for body in writes(emulator, START_PATH)] == [100, 50]
    assert emulator.stats()["largest_write_batch"] == 100
    # One read before the write, two polls; each of them one call per 100 phones (sent in parallel).
    polls = [len(body["ids"]) for body in writes(emulator, STATUS_PATH)]
    assert sorted(polls) == [50] * 3 + [100] * 3
    assert result.failure_list() == []


def test_unknown_phones_get_no_write_and_fail_with_42001(emulator, power):
    down = with_status(emulator, 2, 2)
    result = power(down + ["404404404404404404"], "started", wait=False)
    assert result.failure_list() == [{"id": "404404404404404404", "code": 42001, "msg": "env not found",
                                     "uncertain": False}]
    assert writes(emulator, START_PATH) == [{"ids": down}]
    assert "404404404404404404" in result.failure_message() and "42001" in result.failure_message()


def test_expired_phones_fail_to_start_without_a_write_but_are_unchanged_for_stopped(emulator, power):
    expired = with_status(emulator, 3, 2)
    for state, outcome in (("started", "did not reach started"), ("restarted", "were not restarted")):
        result = power(expired, state)
        assert result.failure_message().startswith("2 of 2 phones %s: %s and %s (expired" % (outcome, *expired))
        assert [f["id"] for f in result.failure_list()] == expired
        assert all(f["code"] is None and "expired" in f["msg"] for f in result.failure_list())
    stopped = power(expired, "stopped")
    assert stopped.failure_list() == [] and stopped.as_dict()["changed"] is False
    assert emulator.stats()["power_writes"] == {}


def test_busy_phones_fail_with_43005_while_the_others_stop(emulator, power):
    emulator.configure_power(stop_reads=1)
    up = with_status(emulator, 0, 4)
    emulator.configure_power(busy=up[1:2])
    result = power(up, "stopped")
    assert result.failure_list() == [{"id": up[1], "code": 43005, "msg": "env is executing a task",
                                     "uncertain": False}]
    assert result.as_dict()["changed_ids"] == [up[0]] + up[2:]
    truth = emulator.true_status()
    assert [truth[i] for i in up] == [2, 0, 2, 2]
    assert result.as_dict()["by_status"]["started"] == [up[1]]


@pytest.mark.parametrize("code", [43006, 43008, 47002])
def test_per_phone_refusals_are_reported_with_their_code(emulator, power, code):
    down = with_status(emulator, 2, 3)
    emulator.configure_power(refuse={"start": {down[0]: code}}, boot_reads=1)
    result = power(down, "started")
    assert [(f["id"], f["code"]) for f in result.failure_list()] == [(down[0], code)]
    assert result.as_dict()["changed_ids"] == down[1:]


@pytest.mark.parametrize("lost", [{"kind": "lose_answer"}, {"kind": "lose_answer", "status": 502}])
def test_a_start_whose_answer_was_lost_is_read_back_and_never_sent_twice(emulator, power, lost):
    emulator.configure_power(boot_reads=2)
    ids = shut_down(emulator, 150)
    emulator.queue_faults(dict(lost, path=START_PATH))
    result = power(ids, "started")
    assert all(emulator.power_writes(i) == 1 for i in ids)
    assert [len(body["ids"]) for body in writes(emulator, START_PATH)] == [100, 50]
    assert result.as_dict()["changed_ids"] == ids and result.failure_list() == []
    assert all(emulator.true_status()[i] == 0 for i in ids)


def test_a_write_lost_before_it_was_applied_is_sent_again_to_the_phones_that_did_not_move(emulator, power):
    emulator.configure_power(boot_reads=1)
    ids = with_status(emulator, 2, 3)
    emulator.queue_faults({"kind": "reset", "path": START_PATH})  # dropped before the server applied it
    result = power(ids, "started")
    assert writes(emulator, START_PATH) == [{"ids": ids}] * 2  # the dropped one was never applied
    assert all(emulator.power_writes(i) == 1 for i in ids)
    assert result.as_dict()["changed_ids"] == ids and result.failure_list() == []


def test_writes_lost_every_time_fail_with_the_last_status_and_stop_sending(emulator, power):
    ids = with_status(emulator, 2, 2)
    emulator.queue_faults(*[{"kind": "reset", "path": START_PATH}] * 5)
    result = power(ids, "started")
    assert len(result.failure_list()) == 2
    assert all("were lost" in f["msg"] and "shut_down" in f["msg"] for f in result.failure_list())
    assert emulator.stats()["power_writes"] == {}
    assert result.as_dict()["changed"] is False


def test_codes_meaning_nothing_was_done_are_retried(emulator, power, make_client):
    emulator.configure_power(boot_reads=1)
    ids = with_status(emulator, 2, 2)
    emulator.queue_faults({"kind": "code", "code": 47002, "msg": "busy", "path": START_PATH})
    result = power(ids, "started", client=make_client(retries=2))
    assert result.failure_list() == [] and all(emulator.power_writes(i) == 1 for i in ids)
    assert emulator.stats()["codes"].get("47002") == 1


def test_a_refused_batch_fails_its_phones_with_the_code(emulator, power):
    ids = with_status(emulator, 2, 2)
    emulator.queue_faults({"kind": "code", "code": 41001, "msg": "balance not enough", "path": START_PATH})
    result = power(ids, "started")
    assert [(f["id"], f["code"]) for f in result.failure_list()] == [(i, 41001) for i in ids]
    assert result.as_dict()["changed"] is False


def test_an_auth_error_on_a_write_stops_writing_and_accounts_for_every_phone(emulator, power):
    ids = shut_down(emulator, 150)
    emulator.queue_faults({"kind": "code", "code": 40003, "msg": "token invalid", "path": START_PATH})
    result = power(ids, "started")
    assert len(writes(emulator, START_PATH)) == 1
    assert [f["id"] for f in result.failure_list()] == ids and {f["code"] for f in result.failure_list()} == {40003}
    failures = result.failure_list()
    assert all("code 40003" in f["msg"] for f in failures[:100])  # refused, as the first batch was
    assert all(f["msg"].startswith("not sent: ") for f in failures[100:])  # the second batch was never sent


def test_a_wait_that_times_out_names_each_phone_with_its_last_status(emulator, power):
    emulator.configure_power(boot_reads=50)
    ids = with_status(emulator, 2, 2)
    result = power(ids, "started", wait_timeout=3)
    assert [(f["id"], f["code"]) for f in result.failure_list()] == [(i, None) for i in ids]
    assert all("still starting after the 3s wait_timeout" in f["msg"] for f in result.failure_list())
    assert result.clock.sleeps == [1, 1, 1]
    assert result.as_dict()["changed_ids"] == ids  # the starts went out; the wait failed


def test_without_wait_the_result_shows_the_status_after_the_write(emulator, power):
    emulator.configure_power(boot_reads=5)
    ids = with_status(emulator, 2, 2)
    result = power(ids, "started", wait=False)
    assert [p["status_name"] for p in result.as_dict()["phones"]] == ["starting", "starting"]
    assert result.clock.sleeps == [] and result.failure_list() == []


def test_restart_stops_waits_for_shut_down_then_starts(emulator, power):
    emulator.configure_power(boot_reads=1, stop_reads=2)
    up, down = with_status(emulator, 0, 2), with_status(emulator, 2, 1)
    result = power(up + down, "restarted")
    assert writes(emulator, STOP_PATH) == [{"ids": up}]
    assert writes(emulator, START_PATH) == [{"ids": up + down}]
    assert [emulator.power_writes(i) for i in up + down] == [2, 2, 1]
    assert result.as_dict()["changed_ids"] == up + down and result.failure_list() == []
    assert all(emulator.true_status()[i] == 0 for i in up + down)
    assert result.diff()["before"] == {up[0]: "started", up[1]: "started", down[0]: "shut_down"}


def test_restart_of_a_busy_phone_fails_and_does_not_start_it(emulator, power):
    emulator.configure_power(boot_reads=1, stop_reads=0)
    up = with_status(emulator, 0, 2)
    emulator.configure_power(busy=up[:1])
    result = power(up, "restarted")
    assert [(f["id"], f["code"]) for f in result.failure_list()] == [(up[0], 43005)]
    assert writes(emulator, START_PATH) == [{"ids": up[1:]}]


def test_energy_saving_is_sent_only_when_set(emulator, power):
    emulator.configure_power(boot_reads=1)
    first, second = with_status(emulator, 2, 2)
    power([first], "started", wait=False)
    power([second], "started", wait=False, energy_saving=True)
    assert writes(emulator, START_PATH) == [{"ids": [first]}, {"ids": [second], "energySavingMode": 1}]
    with pytest.raises(ConfigError, match="energy_saving"):
        power([first], "stopped", energy_saving=False)


def test_the_live_view_url_is_never_kept(emulator, power):
    emulator.configure_power(boot_reads=1)
    result = power(with_status(emulator, 2, 3), "started")
    secret = emulator.state.live_view_secret
    assert secret not in json.dumps([result.as_dict(), result.diff(), result.warnings, result.failure_message()])


@pytest.mark.parametrize("options, message", [
    ({"poll_interval": 0}, "poll_interval"),
    ({"wait_timeout": -1}, "wait_timeout"),
    ({"poll_interval": True}, "poll_interval"),
])
def test_bad_timing_options_fail_before_any_request(emulator, power, options, message):
    with pytest.raises(ConfigError, match=message):
        power(["1"], "started", **options)
    assert emulator.stats()["total_requests"] == 0


def test_an_empty_list_calls_nothing(emulator, power):
    assert power([], "restarted").as_dict() == {"changed": False, "changed_ids": [], "phones": [], "failures": [],
                                                "by_status": {"started": [], "starting": [], "shut_down": [],
                                                              "expired": []}, "uncertain": False}
    assert emulator.stats()["total_requests"] == 0


def test_an_error_after_the_writes_carries_what_is_known(emulator, make_client):
    emulator.configure_power(boot_reads=3)
    ids = with_status(emulator, 2, 2)
    client = make_client(retries=0)
    clock = FakeClock()

    def sleep_then_refuse_the_poll(seconds):
        clock.sleep(seconds)
        emulator.queue_faults({"kind": "code", "code": 40003, "msg": "token invalid", "path": STATUS_PATH})

    run = PowerRun(client.transport, clock=clock, sleep=sleep_then_refuse_the_poll, poll_interval=1)
    with pytest.raises(AuthError) as info:
        run.run(ids, "started")
    partial = info.value.change_result.as_dict()
    assert partial["changed_ids"] == ids and partial["changed"] is True
    # Started, and never read since: their status before the start is no longer true.
    assert partial["by_status"]["unknown"] == ids and partial["by_status"]["shut_down"] == []


def test_a_stop_whose_answer_was_lost_is_sent_again_only_while_the_phone_still_reads_running(emulator, power):
    # The API shows a stop only once the phone is down: a phone still reading started after a lost
    # answer gets the stop again (harmless); one already down does not.
    up = with_status(emulator, 0, 4)
    emulator.configure_power(stop_reads=1)
    emulator.queue_faults({"kind": "lose_answer", "path": STOP_PATH})
    slow = power(up[:2], "stopped")
    assert [emulator.power_writes(i) for i in up[:2]] == [2, 2]
    assert slow.failure_list() == [] and slow.as_dict()["changed_ids"] == up[:2]
    emulator.configure_power(stop_reads=0)
    emulator.queue_faults({"kind": "lose_answer", "path": STOP_PATH})
    quick = power(up[2:], "stopped")
    assert [emulator.power_writes(i) for i in up[2:]] == [1, 1]
    assert quick.failure_list() == [] and quick.as_dict()["changed_ids"] == up[2:]


def test_unknown_status_codes_are_failures_without_a_write(emulator, power):
    ids = with_status(emulator, 0, 2)
    emulator.set_status(ids[:1], 7)
    started = power(ids, "started")
    stopped = power(ids, "stopped", check_mode=True)
    for result, verb in ((started, "started"), (stopped, "stopped")):
        assert [(f["id"], f["code"]) for f in result.failure_list()] == [(ids[0], None)]
        assert "status code 7 is unknown, so the phone was not %s" % verb in result.failure_list()[0]["msg"]
    assert started.as_dict()["by_status"]["unknown"] == ids[:1]
    assert emulator.stats()["power_writes"] == {}
    with pytest.raises(ConfigError, match="state must be one of"):
        power(ids, "paused")


def test_phones_deleted_or_expired_during_the_wait_fail_at_once(emulator, power):
    emulator.configure_power(boot_reads=1)
    gone, lapsed, fine = with_status(emulator, 2, 3)

    def meanwhile():
        with emulator.state.lock:
            del emulator.state.phones[gone]
            emulator.state.phones[lapsed]["status"] = 3
            emulator.state.read_transitions.pop(lapsed)  # its boot will not finish now

    result = power([gone, lapsed, fine], "started", on_sleep=meanwhile)
    failures = dict((f["id"], f) for f in result.failure_list())
    assert failures[gone]["code"] == 42001 and "lost while waiting for started" in failures[gone]["msg"]
    assert failures[lapsed]["code"] is None and failures[lapsed]["msg"] == "expired while waiting for started"
    assert fine not in failures and len(result.clock.sleeps) == 1
    assert result.as_dict()["changed_ids"] == [gone, lapsed, fine]  # all three starts were accepted


def test_a_phone_deleted_before_a_lost_answer_is_read_back_fails_with_42001(emulator, power):
    ids = with_status(emulator, 2, 2)
    emulator.queue_faults({"kind": "mutate", "path": STATUS_PATH},  # the read before the write: unchanged
                          {"kind": "lose_answer", "path": START_PATH},
                          {"kind": "mutate", "delete": ids[:1], "path": STATUS_PATH})  # the read-back
    result = power(ids, "started", wait=False)
    assert [(f["id"], f["code"]) for f in result.failure_list()] == [(ids[0], 42001)]
    assert result.as_dict()["changed_ids"] == ids[1:]
    assert emulator.power_writes(ids[1]) == 1


@pytest.mark.parametrize("fault, accepted, code", [
    ({"kind": "code", "code": 0, "msg": "success"}, True, None),  # the bare envelope: accepted
    ({"kind": "code", "code": 40009, "msg": "all failed"}, False, 40009),
    ({"kind": "code", "code": 40006, "msg": "partial", "data": {"failDetails": []}}, False, 40006),
])
def test_answers_without_per_phone_details(emulator, power, fault, accepted, code):
    ids = with_status(emulator, 0, 2)
    emulator.queue_faults(dict(fault, path=STOP_PATH))
    result = power(ids, "stopped", wait=False)
    assert result.as_dict()["changed_ids"] == (ids if accepted else [])
    assert [f["code"] for f in result.failure_list()] == ([] if accepted else [code, code])


def test_a_failure_for_a_phone_not_asked_for_is_a_warning(emulator, power):
    ids = with_status(emulator, 0, 1)
    emulator.queue_faults({"kind": "code", "code": 0, "msg": "success", "path": STOP_PATH,
                           "data": {"failDetails": [{"id": "999", "code": 43005, "msg": "busy"}]}})
    result = power(ids, "stopped", wait=False)
    assert result.as_dict()["changed_ids"] == ids and result.failure_list() == []
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("The answer of /open/v1/phone/stop (traceId ")
    assert result.warnings[0].endswith("reported a failure for phone '999', which was not asked for; ignored")


def test_a_phone_already_starting_gets_no_start_but_is_waited_for(emulator, power):
    booting = with_status(emulator, 2, 1)
    emulator.set_status(booting, 1)
    emulator.set_status(booting, 0, on_read=3)  # the read before, then two polls
    result = power(booting, "started")
    assert result.as_dict()["changed"] is False and result.failure_list() == []
    assert result.as_dict()["by_status"]["started"] == booting and len(result.clock.sleeps) == 2
    assert emulator.stats()["power_writes"] == {}


# A write the server may have applied is never reported as unchanged (issue 21, items 1 and 2).

@pytest.mark.parametrize("refusal, reason", [
    ({"kind": "http", "status": 403}, "HTTP 403"),
    ({"kind": "raw", "body": "[]"}, "not an object"),
])
def test_a_later_batch_refused_keeps_the_starts_of_the_earlier_ones(emulator, power, refusal, reason):
    emulator.configure_power(boot_reads=1)
    ids = shut_down(emulator, 250)
    emulator.queue_faults(dict(refusal, path=START_PATH, skip=1))  # the first batch passes, the second is refused
    result = power(ids, "started")
    as_dict = result.as_dict()
    assert as_dict["changed"] is True and as_dict["changed_ids"] == ids[:100]
    assert as_dict["uncertain"] is False
    assert [len(body["ids"]) for body in writes(emulator, START_PATH)] == [100, 100]  # the third never went out
    failures = result.failure_list()
    assert [f["id"] for f in failures] == ids[100:]
    assert all(reason in f["msg"] and f["uncertain"] is False for f in failures[:100])
    assert all(f["msg"].startswith("not sent: ") and reason in f["msg"] for f in failures[100:])
    assert sorted(as_dict["by_status"]["started"]) == sorted(ids[:100])
    assert sorted(as_dict["by_status"]["shut_down"]) == sorted(ids[100:])
    truth = emulator.true_status()
    assert all(truth[i] == 0 for i in ids[:100]) and all(truth[i] == 2 for i in ids[100:])


@pytest.mark.parametrize("state, up, verb", [("started", False, "start"), ("stopped", True, "stop")])
def test_a_lost_write_whose_read_back_fails_names_the_phones_as_possibly_changed(emulator, power, make_client,
                                                                                 state, up, verb):
    emulator.configure_power(boot_reads=1, stop_reads=0)
    ids = with_status(emulator, 0 if up else 2, 3)
    emulator.queue_faults({"kind": "lose_answer", "path": START_PATH if verb == "start" else STOP_PATH},
                          {"kind": "http", "status": 502, "path": STATUS_PATH, "skip": 1, "times": 50})
    result = power(ids, state, client=make_client(retries=2))
    as_dict = result.as_dict()
    assert [emulator.power_writes(i) for i in ids] == [1, 1, 1]  # applied by the server, never sent again
    assert as_dict["changed"] is True and as_dict["uncertain"] is True and as_dict["changed_ids"] == []
    assert [f["id"] for f in as_dict["failures"]] == ids
    assert all(f["uncertain"] is True for f in as_dict["failures"])
    assert all(f["msg"].startswith("the %s may have been applied; status could not be read: " % verb)
               for f in as_dict["failures"])
    assert "HTTP 502" in as_dict["failures"][0]["msg"]
    assert as_dict["by_status"]["unknown"] == ids and as_dict["by_status"]["shut_down" if up else "started"] == []
    assert "may have" in result.failure_message()


def test_a_poll_that_fails_fails_each_phone_still_waiting_saying_whether_it_was_sent_the_start(emulator, make_client):
    emulator.configure_power(boot_reads=3)
    down = with_status(emulator, 2, 1)
    booting = with_status(emulator, 2, 2)[1:]
    emulator.set_status(booting, 1)  # starting already: waited for, never sent a start
    emulator.queue_faults({"kind": "code", "code": 40003, "msg": "token invalid", "path": STATUS_PATH, "skip": 1})
    client = make_client(retries=0)
    clock = FakeClock()
    run = PowerRun(client.transport, clock=clock, sleep=clock.sleep, poll_interval=1)
    with pytest.raises(AuthError) as info:
        run.run(down + booting, "started")
    partial = info.value.change_result
    failures = dict((f["id"], f) for f in partial.failure_list())
    assert failures[down[0]]["msg"] == "the start was accepted; its status could not be read while waiting for " \
        "started: %s" % info.value
    assert failures[booting[0]]["msg"] == "its status could not be read while waiting for started: %s" % info.value
    assert all(f["code"] == 40003 and f["uncertain"] is False for f in failures.values())
    by_status = partial.as_dict()["by_status"]
    assert by_status["unknown"] == down and by_status["starting"] == booting  # never read since / last read


def test_a_restart_whose_stop_wait_cannot_be_read_fails_each_phone_and_starts_none(emulator, make_client):
    emulator.configure_power(stop_reads=2)
    up = with_status(emulator, 0, 2)
    emulator.queue_faults({"kind": "http", "status": 502, "path": STATUS_PATH, "skip": 2})
    client = make_client(retries=0)
    clock = FakeClock()
    run = PowerRun(client.transport, clock=clock, sleep=clock.sleep, poll_interval=1)
    with pytest.raises(GeeLarkError) as info:
        run.run(up, "restarted")
    partial = info.value.change_result.as_dict()
    assert partial["changed_ids"] == up and [f["id"] for f in partial["failures"]] == up
    assert all(f["msg"].startswith("the stop was accepted; its status could not be read while waiting for shut_down "
                                   "before the restart's start; not started: ") for f in partial["failures"])
    assert partial["by_status"]["started"] == up  # the last status read: the first poll's
    assert writes(emulator, START_PATH) == []
