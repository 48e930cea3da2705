# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A write the server may have applied is never reported as unchanged: real ansible-playbook runs.

A later batch refused, an answer that is not an object, a lost answer whose read-back fails: the
failed task still names what changed, and what may have.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import STATUS_PATH
from ansible_collections.geelark.cloudphone.plugins.module_utils._power import START_PATH
from ansible_collections.geelark.cloudphone.plugins.module_utils._webhook import CALLBACK_GET_PATH, CALLBACK_SET_PATH

from .conftest import BIN, TOKEN, ansible_env, local_play, run_command

HOOK = "https://eda.example.com:5000/geelark"


def registered(module, args):
    """The task under test: its failure is ignored so the next task can save what it returned."""
    return {"name": "under test", module: args, "register": "result", "ignore_errors": True}


def saved(tmp_path):
    return {"name": "save the result", "ansible.builtin.copy": {"content": "{{ result | to_json }}",
                                                                "dest": str(tmp_path / "result.json")}}


def run_and_read(playbook, tmp_path, task):
    run = playbook(local_play(task, saved(tmp_path)), env=ansible_env(GEELARK_TOKEN=TOKEN))
    assert run.rc == 0 and "ignored=1" in run.out, run.text
    return run, json.loads((tmp_path / "result.json").read_text())


def power(emulator, ids, **args):
    return registered("geelark.cloudphone.geelark_phone_power",
                      dict(dict(ids=ids, state="started", api_url=emulator.url, poll_interval=1, retry_backoff=0.01),
                           **args))


@pytest.mark.parametrize("refusal, reason", [
    ({"kind": "http", "status": 403}, "Unexpected HTTP answer: '403 Forbidden'"),
    ({"kind": "raw", "body": "[1, 2]"}, "could not be read"),
])
def test_a_second_start_batch_refused_keeps_the_100_phones_the_first_one_started(emulator, playbook, tmp_path,
                                                                                 refusal, reason):
    emulator.configure_power(boot_reads=1)
    ids = list(emulator.true_status())[:150]
    emulator.set_status(ids, 2)
    emulator.queue_faults(dict(refusal, path=START_PATH, skip=1))
    run, result = run_and_read(playbook, tmp_path, power(emulator, ids))
    assert result["failed"] is True and result["changed"] is True and result["uncertain"] is False
    assert result["changed_ids"] == ids[:100]
    assert [f["id"] for f in result["failures"]] == ids[100:]
    assert all(reason in f["msg"] and not f["uncertain"] for f in result["failures"])
    assert sorted(result["by_status"]["started"]) == sorted(ids[:100])
    assert sorted(result["by_status"]["shut_down"]) == sorted(ids[100:])
    assert len(result["phones"]) == 150
    first_20 = ", ".join(ids[100:120])
    assert result["msg"].startswith("50 of 150 phones did not reach started: %s and 30 more (" % first_20)
    truth = emulator.true_status()
    assert [truth[i] for i in ids] == [0] * 100 + [2] * 50  # what the result says is what the server did
    assert emulator.state.live_view_secret not in run.text


def test_a_lost_start_whose_status_cannot_be_read_names_the_phones_as_possibly_started(emulator, playbook,
                                                                                       tmp_path):
    emulator.configure_power(boot_reads=1)
    ids = [i for i, s in emulator.true_status().items() if s == 2][:4]
    emulator.queue_faults({"kind": "lose_answer", "path": START_PATH},  # applied, then the answer is lost
                          {"kind": "http", "status": 502, "path": STATUS_PATH, "skip": 1, "times": 50})
    run, result = run_and_read(playbook, tmp_path, power(emulator, ids, retries=2))
    assert result["failed"] is True
    assert result["changed"] is True and result["uncertain"] is True and result["changed_ids"] == []
    assert [f["id"] for f in result["failures"]] == ids
    assert all(f["uncertain"] is True for f in result["failures"])
    assert all(f["msg"].startswith("the start may have been applied; status could not be read: ")
               for f in result["failures"])
    assert result["by_status"]["unknown"] == ids and result["by_status"]["shut_down"] == []
    assert "4 of them may have changed" in result["msg"] and "run the task again" in result["msg"]
    assert [emulator.power_writes(i) for i in ids] == [1] * 4  # started once by the server, never sent again
    assert all(emulator.true_status()[i] in (0, 1) for i in ids)  # running (booting: no read has succeeded)
    assert emulator.state.live_view_secret not in run.text


def test_a_lost_webhook_write_whose_read_back_fails_is_a_change_that_may_have_happened(emulator, playbook,
                                                                                       tmp_path):
    emulator.queue_faults({"kind": "lose_answer", "path": CALLBACK_SET_PATH},
                          {"kind": "http", "status": 502, "path": CALLBACK_GET_PATH, "skip": 1, "times": 20})
    task = registered("geelark.cloudphone.geelark_webhook",
                      dict(url=HOOK, api_url=emulator.url, retries=2, retry_backoff=0.01))
    _run, result = run_and_read(playbook, tmp_path, task)
    assert result["failed"] is True and result["changed"] is True and result["uncertain"] is True
    assert result["msg"].startswith("The callback URL may have been set to %s: " % HOOK)
    assert result["error"]["http_status"] == 502
    assert emulator.request_bodies(CALLBACK_SET_PATH) == [{"url": HOOK}] and emulator.state.callback_url == HOOK


def test_a_status_read_that_fails_while_waiting_fails_every_phone_still_waiting(emulator, playbook, tmp_path):
    ids = list(emulator.true_status())[:120]
    emulator.set_status(ids[:100], 0)
    emulator.set_status(ids[100:], 2)  # already shut down: no change needed
    emulator.configure_power(stop_reads=3)
    # The stop is accepted; 2 status calls plan it, the wait's first 3 pass (the phones still read started), then
    # status answers 500 until the retries run out: the 4th poll, which would have read them shut down, fails.
    emulator.queue_faults({"kind": "http", "status": 500, "path": STATUS_PATH, "skip": 5, "times": 40})
    run, result = run_and_read(playbook, tmp_path, power(emulator, ids, state="stopped", retries=2))
    assert result["failed"] is True and result["changed"] is True and result["uncertain"] is False
    assert result["changed_ids"] == ids[:100]
    assert [f["id"] for f in result["failures"]] == ids[:100]
    assert all(f["msg"].startswith("the stop was accepted; its status could not be read while waiting for shut_down: ")
               and "500" in f["msg"] and f["uncertain"] is False for f in result["failures"])
    assert sorted(result["by_status"]["shut_down"]) == sorted(ids[100:])
    assert sorted(result["by_status"]["started"]) == sorted(ids[:100])  # the last status read, not a guess
    assert result["error"]["http_status"] == 500
    assert [emulator.power_writes(i) for i in ids] == [1] * 100 + [0] * 20  # each stop sent once, nothing else
    assert [emulator.status_reads(i) for i in ids[:100]] == [4] * 100  # the plan and three polls, no more
    assert emulator.state.live_view_secret not in run.text


def test_the_power_runbook_counts_phones_whose_wait_a_failed_read_ended_as_failed(emulator, tmp_path):
    ids = list(emulator.true_status())[:120]
    emulator.set_status(ids[:100], 0)
    emulator.set_status(ids[100:], 2)
    emulator.configure_power(stop_reads=3)
    # The plan's read (2 calls) and the module's own (2) pass, then 3 polls; the 4th poll's read fails.
    emulator.queue_faults({"kind": "http", "status": 500, "path": STATUS_PATH, "skip": 7, "times": 40})
    report = tmp_path / "power.json"
    env = ansible_env(GEELARK_TOKEN=TOKEN, GEELARK_API_URL=emulator.url)
    run = run_command([os.path.join(BIN, "ansible-playbook"), "geelark.cloudphone.power", "-e", "state=stopped", "-e",
                       json.dumps({"phone_ids": ids, "max_changes": 100, "poll_interval": 1,
                                   "report_file": str(report)})], env=env)
    assert run.rc == 2, run.text
    assert [emulator.status_reads(i) for i in ids[:100]] == [5] * 100, run.text
    written = json.loads(report.read_text())
    assert [f["id"] for f in written["failures"]] == ids[:100] and written["changed_ids"] == ids[:100]
    assert "0 changed, 20 needed no change, 100 failed (100 of them after the stop was sent)" in run.out
    assert written["msg"].startswith("100 of 120 phones did not stop")
    assert TOKEN not in run.text and emulator.state.live_view_secret not in run.text
