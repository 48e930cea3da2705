# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""geelark_phone_power and the power runbook, run by ansible-playbook against the emulator."""

from __future__ import annotations

import json
import os
import re

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import STATUS_PATH
from ansible_collections.geelark.cloudphone.plugins.module_utils._power import START_PATH, STOP_PATH

from .conftest import BIN, TOKEN, ansible_env, local_play, run_command

PLAYBOOK = os.path.join(BIN, "ansible-playbook")


def with_status(emulator, status, count):
    ids = [i for i, s in emulator.true_status().items() if s == status][:count]
    assert len(ids) == count
    return ids


def power_task(**args):
    args.setdefault("poll_interval", 1)
    return {"name": "power", "geelark.cloudphone.geelark_phone_power": args, "register": "result"}


def dump_task():
    return {"name": "dump", "ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": "{{ out }}"}}


def runbook(emulator, *args):
    env = ansible_env(GEELARK_TOKEN=TOKEN, GEELARK_API_URL=emulator.url)
    return run_command([PLAYBOOK, "geelark.cloudphone.power", *args], env=env)


def test_start_at_vvvv_starts_each_shut_down_phone_once_and_never_shows_the_live_view_url(emulator, playbook,
                                                                                          tmp_path):
    emulator.configure_power(boot_reads=2)
    up, down = with_status(emulator, 0, 2), with_status(emulator, 2, 3)
    out = tmp_path / "result.json"
    play = local_play(power_task(ids=up + down, state="started", api_url=emulator.url), dump_task())
    run = playbook(play, "-vvvv", "--diff", env=ansible_env(GEELARK_TOKEN=TOKEN), extra_vars={"out": str(out)})
    assert run.rc == 0, run.text
    assert emulator.state.live_view_secret not in run.text and TOKEN not in run.text
    assert "live.geelark.invalid" not in run.text
    result = json.loads(out.read_text())
    assert result["changed_ids"] == down and result["failures"] == []
    assert [emulator.power_writes(i) for i in up + down] == [0, 0, 1, 1, 1]
    assert emulator.request_bodies(START_PATH) == [{"ids": down}]
    emulator.reset()
    again = playbook(local_play(power_task(ids=up + down, state="started", api_url=emulator.url)),
                     env=ansible_env(GEELARK_TOKEN=TOKEN))
    assert again.rc == 0 and "changed=0" in again.out
    assert emulator.stats()["power_writes"] == {} and emulator.request_bodies(START_PATH) == []


def test_check_mode_sends_no_write(emulator, playbook):
    up = with_status(emulator, 0, 3)
    run = playbook(local_play(power_task(ids=up, state="stopped", api_url=emulator.url)), "--check", "--diff",
                   env=ansible_env(GEELARK_TOKEN=TOKEN))
    assert run.rc == 0, run.text
    assert "changed=1" in run.out
    assert all('+    "%s": "shut_down"' % i in run.out for i in up), run.out  # the diff of each phone
    assert emulator.stats()["power_writes"] == {} and emulator.request_bodies(STOP_PATH) == []


def test_a_lost_start_answer_is_not_resent(emulator, playbook):
    emulator.configure_power(boot_reads=1)
    down = with_status(emulator, 2, 4)
    emulator.queue_faults({"kind": "lose_answer", "path": START_PATH})
    run = playbook(local_play(power_task(ids=down, state="started", api_url=emulator.url)),
                   env=ansible_env(GEELARK_TOKEN=TOKEN))
    assert run.rc == 0, run.text
    assert [emulator.power_writes(i) for i in down] == [1] * 4
    assert all(emulator.true_status()[i] == 0 for i in down)


def test_busy_phones_fail_with_43005_while_the_others_stop(emulator, playbook):
    emulator.configure_power(stop_reads=1)
    up = with_status(emulator, 0, 3)
    emulator.configure_power(busy=up[1:2])
    run = playbook(local_play(power_task(ids=up, state="stopped", api_url=emulator.url)),
                   env=ansible_env(GEELARK_TOKEN=TOKEN))
    assert run.rc == 2
    assert "1 of 3 phones did not reach shut_down: %s (43005 env is executing a task)" % up[1] in run.out
    truth = emulator.true_status()
    assert [truth[i] for i in up] == [2, 0, 2]


def test_runbook_guard_refuses_before_any_write_then_runs_with_max_changes(emulator):
    emulator.configure_power(boot_reads=1)
    down = with_status(emulator, 2, 4)
    target = json.dumps({"phone_ids": down, "poll_interval": 1})
    refused = runbook(emulator, "-e", "state=started", "-e", target, "-e", "max_changes=3")
    assert refused.rc == 2
    assert "4 phones would start, more than max_changes=3; nothing was changed" in refused.out
    assert "allow it with -e max_changes=4" in refused.out
    assert emulator.stats()["power_writes"] == {} and emulator.request_bodies(START_PATH) == []
    run = runbook(emulator, "-e", "state=started", "-e", target, "-e", "max_changes=4")
    assert run.rc == 0, run.text
    assert "start 4 phones: 4 changed, 0 needed no change, 0 failed" in run.out
    assert [emulator.power_writes(i) for i in down] == [1] * 4
    assert len(emulator.request_bodies(START_PATH)) == 1  # one batched call, not one per phone


def test_runbook_phones_that_go_down_after_the_plan_cannot_pass_the_guard(emulator):
    down, up = with_status(emulator, 2, 1), with_status(emulator, 0, 1)
    emulator.set_status(up, 2, on_read=2)  # the plan reads it started; the change's own read finds it down
    run = runbook(emulator, "-e", "state=started", "-e", json.dumps({"phone_ids": down + up}), "-e", "max_changes=1")
    assert run.rc == 2
    assert "start 1 of 2 phones" in run.out
    assert "2 of 2 phones would start, more than max_changes=1; nothing was changed" in run.out
    assert emulator.stats()["power_writes"] == {} and emulator.status_reads(up[0]) == 2


def test_runbook_check_shows_the_plan_and_writes_nothing(emulator):
    up, down = with_status(emulator, 0, 2), with_status(emulator, 2, 1)
    run = runbook(emulator, "--check", "--diff", "-e", "state=restarted",
                  "-e", json.dumps({"phone_ids": ",".join(up + down)}))
    assert run.rc == 0, run.text
    assert '-    "%s": "shut_down"' % down[0] in run.out and '+    "%s": "started"' % down[0] in run.out  # --diff
    assert "changed=1" in run.out
    assert "Plan (check mode, nothing was changed): restart 3 phones: 3 would change" in run.out
    assert emulator.stats()["power_writes"] == {}


def test_runbook_stops_an_inventory_group_and_summarises_failures(emulator, inventory_file):
    emulator.configure_power(stop_reads=0)
    fleet = inventory_file(api_url=emulator.url, keyed_groups=[{"key": "geelark_group.name", "prefix": "group"}])
    reels = [p["id"] for p in emulator.state.phones.values() if p["group"]["name"] == "reels" and p["status"] in (0, 1)]
    busy = reels[0]
    emulator.configure_power(busy=[busy])
    run = runbook(emulator, "-i", fleet, "-e", "state=stopped", "-e", "phones=group_reels", "-e", "max_changes=100",
                  "-e", "poll_interval=1")
    assert run.rc == 2
    assert "%d changed" % (len(reels) - 1) in run.out
    assert "(%s): 43005 env is executing a task" % busy in run.out
    assert "1 of " in run.out and "phones did not stop" in run.out
    truth = emulator.true_status()
    assert [truth[i] for i in reels] == [0 if i == busy else 2 for i in reels]


def test_runbook_restart_is_a_stop_then_a_start(emulator):
    emulator.configure_power(boot_reads=1, stop_reads=1)
    up = with_status(emulator, 0, 2)
    run = runbook(emulator, "-e", "state=restarted", "-e", json.dumps({"phone_ids": up, "poll_interval": 1}))
    assert run.rc == 0, run.text
    assert emulator.request_bodies(STOP_PATH) == [{"ids": up}]
    assert emulator.request_bodies(START_PATH) == [{"ids": up}]
    assert all(emulator.true_status()[i] == 0 for i in up)


@pytest.mark.parametrize("args, message", [
    (["-e", "state=started"], "the geelark inventory did not load (there is no 'geelark' group)"),
    (["-e", "state=started", "-e", "phone_ids="], "No phones to act on: phone_ids is empty"),
    (["-e", "state=paused", "-e", "phone_ids=1"], "Give -e state=started, stopped or restarted"),
])
def test_runbook_fails_loudly_without_targets_or_state(emulator, args, message):
    run = runbook(emulator, *args)
    assert run.rc != 0
    assert message in run.out
    assert emulator.stats()["total_requests"] == 0


def test_runbook_fails_when_the_pattern_matches_no_phone(emulator, inventory_file):
    fleet = inventory_file(api_url=emulator.url)
    run = runbook(emulator, "-i", fleet, "-e", "state=stopped", "-e", "phones=no_such_group")
    assert run.rc != 0
    assert "'no_such_group' matches no group and no host of the inventory" in run.out
    assert emulator.stats()["power_writes"] == {}


@pytest.mark.parametrize("args, message", [
    (["-e", "state=started", "-e", "energy_saving=maybe"], "energy_saving must be true or false"),
    (["-e", "state=stopped", "-e", "energy_saving=true"], "goes with state=started or restarted only"),
    (["-e", "state=started", "-e", "poll_interval=0"], "poll_interval must be a whole number, 1 or more, not 0"),
])
def test_runbook_names_the_bad_value_before_any_request(emulator, args, message):
    run = runbook(emulator, *args, "-e", "phone_ids=601876382020000000", "--check")
    assert run.rc == 2
    assert message in run.out
    assert emulator.stats()["total_requests"] == 0


def test_runbook_output_stays_short_and_the_report_file_holds_every_phone(emulator, tmp_path):
    expired = with_status(emulator, 3, 25)
    down = with_status(emulator, 2, 2)
    report = tmp_path / "power.json"
    run = runbook(emulator, "-e", "state=started", "-e",
                  json.dumps({"phone_ids": down + expired, "poll_interval": 1, "report_file": str(report)}))
    assert run.rc == 2
    assert "... and 5 more: all of them are in %s" % report in run.out
    assert "25 of 27 phones did not start" in run.out and "see the summary above" in run.out
    assert "changed=2" in run.out  # the power change (and the report file) count although the run failed
    assert len(run.text) < 12000
    written = json.loads(report.read_text())
    assert sorted(f["id"] for f in written["failures"]) == sorted(expired)
    assert sorted(written["changed_ids"]) == sorted(down)


def test_runbook_with_a_later_batch_refused_names_the_started_phones_in_its_summary_and_report(emulator, tmp_path):
    emulator.configure_power(boot_reads=1)
    ids = list(emulator.true_status())[:150]
    emulator.set_status(ids, 2)
    emulator.queue_faults({"kind": "http", "status": 403, "path": START_PATH, "skip": 1})
    report = tmp_path / "power.json"
    run = runbook(emulator, "-e", "state=started", "-e",
                  json.dumps({"phone_ids": ids, "poll_interval": 1, "max_changes": 150, "report_file": str(report)}))
    assert run.rc == 2
    assert "start 150 phones: 100 changed, 0 needed no change, 50 failed" in run.out
    assert "50 of 150 phones did not start" in run.out
    written = json.loads(report.read_text())
    assert written["changed_ids"] == ids[:100]
    assert [f["id"] for f in written["failures"]] == ids[100:]
    assert all("403" in f["msg"] for f in written["failures"])


def failure_message(run):
    """The message the run failed with, as the last task printed it, on one line."""
    line = [line for line in run.out.splitlines() if line.startswith("fatal: [localhost]: FAILED!")][-1]
    return json.loads(line.split("=> ", 1)[1])["msg"]


def test_runbook_counts_phones_whose_start_may_have_been_applied_in_its_final_message(emulator, tmp_path):
    down = with_status(emulator, 2, 2)
    # The plan's read and the module's own read pass; the start is applied and its answer lost; then every
    # status read fails (Retry-After: 0, so that the retries do not wait).
    emulator.queue_faults({"kind": "lose_answer", "path": START_PATH},
                          {"kind": "http", "status": 500, "path": STATUS_PATH, "skip": 2, "times": 50,
                           "headers": {"Retry-After": "0"}})
    report = tmp_path / "power.json"
    run = runbook(emulator, "-e", "state=started", "-e",
                  json.dumps({"phone_ids": down, "poll_interval": 1, "report_file": str(report)}))
    assert run.rc == 2, run.text
    assert [emulator.power_writes(i) for i in down] == [1, 1]  # the server applied the start, once
    assert "start 2 phones: 0 changed, 0 needed no change, 2 failed (2 of them may have been started)" in run.out
    message = failure_message(run)
    # The start went out to both phones: the message never says that none was sent.
    assert message.startswith("2 of 2 phones did not start: the start was sent to all 2, and 2 may have been "
                              "started (uncertain: ")
    assert "check them before you run it again" in message
    assert "0 were sent" not in run.out
    written = json.loads(report.read_text())
    assert written["uncertain"] is True and written["msg"] == message


def test_runbook_gives_a_reason_shared_by_a_refused_batch_once_then_its_phones(emulator, tmp_path):
    emulator.configure_power(boot_reads=1)
    ids = list(emulator.true_status())[:150]
    emulator.set_status(ids, 2)
    emulator.queue_faults({"kind": "http", "status": 403, "path": START_PATH, "skip": 1})
    report = tmp_path / "power.json"
    run = runbook(emulator, "-e", "state=started", "-e",
                  json.dumps({"phone_ids": ids, "poll_interval": 1, "max_changes": 150, "report_file": str(report)}))
    assert run.rc == 2, run.text
    summary = run.out[run.out.index("TASK [Summarise]"):run.out.index("TASK [Fail when")]
    assert summary.count("whitelist") == 1 and summary.count("HTTP 403") == 1  # the reason, once
    assert re.search(r"\n +\"  50 phones: Unexpected HTTP answer: [^\n]*\(endpoint /open/v1/phone/start, HTTP 403, ",
                     summary)
    names = {p["id"]: p["serialName"] for p in emulator.state.phones.values()}
    for phone_id in ids[100:120]:
        assert "    %s (%s)" % (names[phone_id], phone_id) in summary
    assert ids[120] not in summary
    assert "... and 30 more: all of them are in %s" % report in summary
    message = failure_message(run)
    assert message == "50 of 150 phones did not start, and 100 were sent the start: see the summary above, " \
        "and every phone in %s." % report
    written = json.loads(report.read_text())
    assert written["msg"] == message and written["error"] is None


@pytest.mark.parametrize("reads_that_pass, where", [(0, "the plan"), (1, "the module's read before the write")])
def test_runbook_that_fails_before_any_write_rewrites_a_stale_report_file(emulator, tmp_path, reads_that_pass,
                                                                          where):
    down = with_status(emulator, 2, 2)
    report = tmp_path / "power.json"
    report.write_text(json.dumps({"state": "started", "changed_ids": ["1"], "msg": None}))  # a previous run's
    emulator.queue_faults({"kind": "http", "status": 500, "path": STATUS_PATH, "skip": reads_that_pass, "times": 50,
                           "headers": {"Retry-After": "0"}})
    run = runbook(emulator, "-e", "state=started", "-e",
                  json.dumps({"phone_ids": down, "poll_interval": 1, "report_file": str(report)}))
    assert run.rc == 2, run.text
    assert emulator.stats()["power_writes"] == {}, where
    written = json.loads(report.read_text())
    assert written["changed_ids"] == [] and written["failures"] == [] and written["uncertain"] is False
    assert written["msg"].startswith("Nothing was changed: the run stopped before any start was sent: ")
    assert "HTTP 500" in written["msg"] and failure_message(run) in written["msg"]
    assert TOKEN not in report.read_text()


def test_runbook_refused_by_its_guard_rewrites_a_stale_report_file(emulator, tmp_path):
    down = with_status(emulator, 2, 2)
    report = tmp_path / "power.json"
    report.write_text("{}")
    run = runbook(emulator, "-e", "state=started", "-e", "max_changes=1", "-e",
                  json.dumps({"phone_ids": down, "report_file": str(report)}))
    assert run.rc == 2, run.text
    written = json.loads(report.read_text())
    assert written["changed_ids"] == [] and "more than max_changes=1; nothing was changed" in written["msg"]
    assert emulator.stats()["power_writes"] == {}


def test_runbook_says_one_phone_not_one_phones(emulator):
    emulator.configure_power(boot_reads=1)
    down = with_status(emulator, 2, 1)
    run = runbook(emulator, "-e", "state=started", "-e", json.dumps({"phone_ids": down, "poll_interval": 1}))
    assert run.rc == 0, run.text
    assert "start 1 phone: 1 changed, 0 needed no change, 0 failed" in run.out
    assert "start 1 of 1 phone (0 need no change, 0 cannot change)" in run.out
    assert "1 phones" not in run.out
