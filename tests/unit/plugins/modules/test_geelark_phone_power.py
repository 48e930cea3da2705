# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import functools
import json

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import STATUS_PATH
from ansible_collections.geelark.cloudphone.plugins.module_utils._power import START_PATH, STOP_PATH
from ansible_collections.geelark.cloudphone.plugins.modules import geelark_phone_power

from .conftest import warning_texts


@pytest.fixture
def run(run_module):
    return functools.partial(run_module, geelark_phone_power.main, poll_interval=1)


def with_status(emulator, status, count):
    ids = [i for i, s in emulator.true_status().items() if s == status][:count]
    assert len(ids) == count
    return ids


def test_starts_the_shut_down_phones_and_waits(emulator, run):
    emulator.configure_power(boot_reads=1)
    up, down = with_status(emulator, 0, 1), with_status(emulator, 2, 2)
    result = run(ids=up + down, state="started")
    assert result["changed"] is True and result["changed_ids"] == down
    assert [p["status_name"] for p in result["phones"]] == ["started"] * 3
    assert result["failures"] == [] and sorted(result["by_status"]["started"]) == sorted(up + down)
    assert "diff" not in result
    again = run(ids=up + down, state="started")
    assert again["changed"] is False and len(emulator.request_bodies(START_PATH)) == 1


def test_check_mode_sends_no_write_and_diff_shows_before_and_after(emulator, run):
    up, down = with_status(emulator, 0, 2), with_status(emulator, 2, 1)
    result = run(ids=up + down, state="stopped", _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] is True and result["changed_ids"] == up
    assert result["diff"] == {"before": {up[0]: "started", up[1]: "started"},
                              "after": {up[0]: "shut_down", up[1]: "shut_down"}}
    assert emulator.request_bodies(STOP_PATH) == [] and emulator.stats()["power_writes"] == {}
    assert len(emulator.request_bodies(STATUS_PATH)) == 1


def test_failures_fail_the_task_naming_phones_and_codes_with_every_result_key(emulator, run):
    emulator.configure_power(stop_reads=0)
    up = with_status(emulator, 0, 3)
    emulator.configure_power(busy=up[:1])
    result = run(ids=up + ["404404404404404404"], state="stopped", _ansible_diff=True)
    assert result["failed"] is True
    assert result["msg"] == ("2 of 4 phones did not reach shut_down: %s (43005 env is executing a task), "
                             "404404404404404404 (42001 env not found)" % up[0])
    assert result["changed"] is True and result["changed_ids"] == up[1:]
    assert [p["id"] for p in result["phones"]] == up and set(result["by_status"]) >= {"started", "shut_down"}
    assert result["diff"]["after"] == {up[1]: "shut_down", up[2]: "shut_down"}


def test_an_api_error_fails_cleanly_with_its_code_and_trace_id(emulator, run):
    result = run(ids=with_status(emulator, 2, 1), state="started", token="wrong-power-token")
    assert result["failed"] is True and result["changed"] is False
    assert "code 40003" in result["msg"] and result["error"]["trace_id"]
    assert "wrong-power-token" not in json.dumps(result)


def test_max_changes_fails_with_nothing_changed_and_the_statuses_read(emulator, run):
    down = with_status(emulator, 2, 3)
    result = run(ids=down, state="started", max_changes=2)
    assert result["failed"] is True and result["changed"] is False and result["changed_ids"] == []
    assert result["msg"].startswith("3 of 3 phones would start, more than max_changes=2; nothing was changed")
    assert "raise max_changes to 3" in result["msg"]
    assert sorted(result["by_status"]["shut_down"]) == sorted(down) and result["api_calls"]["requests"] == 1
    assert emulator.stats()["power_writes"] == {}


@pytest.mark.parametrize("args, message", [
    ({"state": "stopped", "energy_saving": True}, "energy_saving applies to a start"),
    ({"state": "started", "poll_interval": 0}, "poll_interval must be a number of seconds of at least 1"),
    ({"state": "started", "ids": [6.018763820200626e17]}, "lose precision"),
    ({"state": "paused"}, "value of state must be one of"),
    ({"state": "started", "max_changes": -1}, "max_changes must be a whole number of phones, 0 or more"),
])
def test_bad_options_fail_before_any_request(emulator, run, args, message):
    args.setdefault("ids", ["601876382020000000"])
    result = run(**args)
    assert result["failed"] is True and message in result["msg"]
    assert emulator.stats()["total_requests"] == 0


def test_restart_is_a_stop_then_a_start_and_always_changed(emulator, run):
    emulator.configure_power(boot_reads=2, stop_reads=0)
    up = with_status(emulator, 0, 2)
    result = run(ids=up, state="restarted", wait=False)
    assert emulator.request_bodies(STOP_PATH) == [{"ids": up}]
    assert emulator.request_bodies(START_PATH) == [{"ids": up}]
    assert result["changed"] is True and result["changed_ids"] == up
    assert [p["status_name"] for p in result["phones"]] == ["starting", "starting"]


def test_a_refused_later_batch_fails_the_task_with_the_earlier_changes_in_the_result(emulator, run):
    emulator.configure_power(boot_reads=1)
    ids = list(emulator.true_status())[:150]
    emulator.set_status(ids, 2)
    emulator.queue_faults({"kind": "http", "status": 403, "path": START_PATH, "skip": 1})
    result = run(ids=ids, state="started", _ansible_diff=True)
    assert result["failed"] is True and result["changed"] is True and result["uncertain"] is False
    assert result["changed_ids"] == ids[:100] and [f["id"] for f in result["failures"]] == ids[100:]
    # The 50 phones share one reason: said once, after the first 20 IDs.
    assert result["msg"].startswith("50 of 150 phones did not reach started: %s and 30 more (Unexpected HTTP answer: "
                                    "'403 Forbidden'" % ", ".join(ids[100:120]))
    assert result["msg"].count("403 Forbidden") == 1
    assert sorted(result["by_status"]["started"]) == sorted(ids[:100]) and len(result["phones"]) == 150
    assert sorted(result["diff"]["after"]) == sorted(ids[:100]) and "error" not in result
    assert result["api_calls"]["requests"] >= 3


def test_an_error_that_ends_the_run_after_a_write_keeps_the_change(emulator, run):
    emulator.configure_power(boot_reads=3)
    ids = with_status(emulator, 2, 2)
    # The read before and the first poll pass; then the API refuses the credentials.
    emulator.queue_faults({"kind": "code", "code": 40003, "msg": "token invalid", "path": STATUS_PATH, "skip": 2})
    result = run(ids=ids, state="started", retries=0)
    assert result["failed"] is True and "code 40003" in result["msg"] and result["error"]["code"] == 40003
    assert result["changed"] is True and result["changed_ids"] == ids
    assert set(result) >= {"phones", "failures", "by_status", "uncertain", "api_calls"}


def test_an_empty_ids_list_changes_nothing_sends_nothing_and_warns(emulator, run):
    result = run(ids=[], state="started")
    assert result.get("failed") is not True and result["changed"] is False
    assert result["changed_ids"] == [] and result["phones"] == [] and result["failures"] == []
    assert "ids is empty: no phone was asked about, so nothing was checked or changed" in warning_texts(result)
    assert emulator.stats()["total_requests"] == 0
