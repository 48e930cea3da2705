# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""geelark_app run by ansible-playbook against the emulator's 300 phones."""

from __future__ import annotations

import json

from ansible_collections.geelark.cloudphone.plugins.module_utils._apps import INSTALL_PATH, UNINSTALL_PATH

from .conftest import TOKEN, ansible_env, local_play

TIKTOK = "com.zhiliaoapp.musically"
MID_VERSION_ID = "1793552962140770304"  # 36.4.0 in the emulator's catalogue
APP_LIST_PATH = "/open/v1/app/list"


def app_task(emulator, **args):
    # rate_limit 0: the budget is tested elsewhere; here 300 phones' reads would wait for it for minutes.
    args = dict(dict(package=TIKTOK, poll_interval=1, rate_limit=0, api_url=emulator.url), **args)
    return {"name": "app", "geelark.cloudphone.geelark_app": args, "register": "result", "ignore_errors": True}


def dump_task():
    return {"name": "dump", "ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": "{{ out }}"},
            "check_mode": False}


def run_app(emulator, playbook, tmp_path, *options, **args):
    out = tmp_path / "result.json"
    run = playbook(local_play(app_task(emulator, **args), dump_task()), *options,
                   env=ansible_env(GEELARK_TOKEN=TOKEN), extra_vars={"out": str(out)})
    assert run.rc == 0, run.text  # ignore_errors: the result is dumped either way
    assert TOKEN not in run.text
    return run, json.loads(out.read_text())


def fleet_mix(emulator):
    """The 300 phones split: started ones that have 36.4.0, an older, a newer version or none; the rest."""
    truth = emulator.true_status()
    emulator.set_status([i for i, s in truth.items() if s == 1], 1)  # scripted: they stay starting, not boot
    started = [i for i, s in truth.items() if s == 0]
    assert len(started) >= 100 and len(truth) - len(started) >= 50
    have, older, newer = started[:20], started[20:40], started[40:50]
    emulator.set_apps(dict([(i, {TIKTOK: {"versionName": "36.4.0"}}) for i in have]
                           + [(i, {TIKTOK: {"versionName": "35.0.0"}}) for i in older]
                           + [(i, {TIKTOK: {"versionName": "36.5.4"}}) for i in newer]))
    return truth, started, have, older, newer


def test_install_on_300_phones_writes_only_where_needed_and_a_second_run_sends_nothing(emulator, playbook,
                                                                                       tmp_path):
    truth, started, have, older, newer = fleet_mix(emulator)
    ids = list(truth)
    not_running = [i for i in ids if truth[i] != 0]
    missing = [i for i in started if i not in have + older + newer]
    _run, result = run_app(emulator, playbook, tmp_path, version="36.4.0", ids=ids)
    assert result["failed"] is True
    assert result["changed_ids"] == [i for i in ids if i in set(older + missing)]
    installs = emulator.stats()["app_installs"]
    assert sorted(installs) == sorted(older + missing) and set(installs.values()) == {1}
    failures = dict((f["id"], f) for f in result["failures"])
    assert sorted(failures) == sorted(newer + not_running)
    assert set(failures[i]["code"] for i in newer) == {42004}
    assert all(failures[i]["code"] == 42002 for i in not_running)
    advice = {1: "run again once it is started", 2: "geelark_phone_power", 3: "renew it in GeeLark"}
    assert all(advice[truth[i]] in failures[i]["msg"] for i in not_running)
    outcome = dict((a["id"], a["status"]) for a in result["apps"])
    assert set(outcome[i] for i in have) == {"already"} and set(outcome[i] for i in missing) == {"installed"}
    assert all(emulator.apps_of(i)[0]["versionName"] == "36.4.0" for i in older + missing)
    assert "%d of 300 phones were not given %s" % (len(failures), TIKTOK) in result["msg"]
    assert all(truth[i] == emulator.true_status()[i] for i in ids)  # no phone started behind the user's back

    emulator.reset()
    _again_run, again = run_app(emulator, playbook, tmp_path, version="36.4.0", ids=ids)
    assert again["changed"] is False and again["changed_ids"] == []
    assert emulator.stats()["app_installs"] == {} and emulator.request_bodies(INSTALL_PATH) == []
    assert sorted(f["id"] for f in again["failures"]) == sorted(newer + not_running)


def test_absent_removes_where_installed_and_check_mode_writes_nothing(emulator, playbook, tmp_path):
    _truth, started, have, older, newer = fleet_mix(emulator)
    ids = started[:60]
    planned_run, plan = run_app(emulator, playbook, tmp_path, "--check", "--diff", ids=ids, state="absent")
    assert plan["changed_ids"] == have + older + newer and plan.get("failed") is not True
    assert emulator.request_bodies(UNINSTALL_PATH) == [] and emulator.stats()["app_uninstalls"] == {}
    assert '-    "%s": "36.4.0"' % have[0] in planned_run.out  # the diff names the version that would go

    _run, result = run_app(emulator, playbook, tmp_path, ids=ids, state="absent")
    assert result["changed_ids"] == have + older + newer and result["failures"] == []
    assert all(emulator.apps_of(i) == [] for i in ids)
    assert set(emulator.stats()["app_uninstalls"].values()) == {1}


def test_a_lost_install_answer_is_read_back_and_never_sent_again(emulator, playbook, tmp_path):
    started = [i for i, s in emulator.true_status().items() if s == 0][:30]
    emulator.queue_faults({"kind": "lose_answer", "path": INSTALL_PATH, "skip": 5},
                          {"kind": "lose_answer", "status": 502, "path": INSTALL_PATH, "skip": 10})
    _run, result = run_app(emulator, playbook, tmp_path, version_id=MID_VERSION_ID, ids=started)
    assert result["failures"] == [] and result["changed_ids"] == started
    assert emulator.stats()["app_installs"] == dict((i, 1) for i in started)


def test_an_ambiguous_version_fails_before_any_write(emulator, playbook, tmp_path):
    emulator.set_catalogue([
        {"id": "1", "appName": "TikTok", "packageName": TIKTOK,
         "appVersionInfoList": [{"id": "11", "versionName": "36.5.4", "versionCode": 2023605040}]},
        {"id": "2", "appName": "TikTok", "packageName": TIKTOK,
         "appVersionInfoList": [{"id": "12", "versionName": "36.5.4", "versionCode": 2023605040}]},
    ])
    started = [i for i, s in emulator.true_status().items() if s == 0][:10]
    run, result = run_app(emulator, playbook, tmp_path, version="36.5.4", ids=started)
    assert result["failed"] is True and result["changed"] is False
    assert "matches 2 installable versions" in result["msg"] and "give version_id" in run.out
    assert emulator.stats()["app_installs"] == {}
    assert len(emulator.request_bodies(APP_LIST_PATH)) == 10  # read, then refused before any write
