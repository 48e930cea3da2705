# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The runbooks in playbooks/, run by their FQCN against the emulator."""

from __future__ import annotations

import collections
import json
import os
import re

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import STATUS_NAMES

from .conftest import BIN, TOKEN, ansible_env, run_command, status_after_first_answer

PLAYBOOK = os.path.join(BIN, "ansible-playbook")


@pytest.fixture
def fleet(emulator, inventory_file):
    return inventory_file(api_url=emulator.url, keyed_groups=[{"key": "geelark_group.name", "prefix": "group"}])


def runbook(name, *args, emulator=None):
    env = ansible_env(GEELARK_TOKEN=TOKEN, **({"GEELARK_API_URL": emulator.url} if emulator else {}))
    return run_command([PLAYBOOK, "geelark.cloudphone.%s" % name, *args], env=env)


def failure_ids(run):
    """The phone IDs listed in a runbook's failure message (ansible-core 2.19 prints it twice)."""
    return sorted(set(re.findall(r"\((\d{18})\): ", run.out)))


def test_status_report_numbers_equal_the_fleet(emulator, fleet, tmp_path):
    run = runbook("status_report", "-i", fleet, "-e", "report_dir=%s" % tmp_path, emulator=emulator)
    assert run.rc == 0, run.text
    phones = emulator.state.phones.values()
    truth = collections.Counter(STATUS_NAMES[p["status"]] for p in phones)
    by_group = collections.Counter((p["group"]["name"], STATUS_NAMES[p["status"]]) for p in phones)
    assert "GeeLark phones by status (geelark): 300 phones" in run.out
    for name, count in truth.items():
        assert re.search(r"%s\s+%d\s" % (name, count), run.out), (name, count)
    markdown = (tmp_path / "status_report.md").read_text()
    for name, count in truth.items():
        assert "| %s | %d |" % (name, count) in markdown
    for group in {p["group"]["name"] for p in phones}:
        counts = [by_group[(group, s)] for s in ("started", "starting", "shut_down", "expired")]
        total = sum(by_group[(group, s)] for s in STATUS_NAMES.values())
        row = "| %s | %s | %d |" % (group, " | ".join(str(c) for c in counts), total)
        assert row in markdown
    html = (tmp_path / "status_report.html").read_text()
    assert "<script" not in html and 'class="bar"' in html and ">%d<" % truth["expired"] in html


def test_status_report_for_part_of_the_fleet(emulator, fleet):
    run = runbook("status_report", "-i", fleet, "-e", "report_hosts=group_reels", emulator=emulator)
    assert run.rc == 0, run.text
    count = sum(1 for p in emulator.state.phones.values() if p["group"]["name"] == "reels")
    assert "GeeLark phones by status (group_reels): %d phones" % count in run.out


def test_assert_status_passes_when_every_phone_is_started(emulator, fleet):
    run = runbook("assert_status", "-i", fleet, "-e", "phones=status_started", emulator=emulator)
    assert run.rc == 0, run.text


def test_assert_status_fails_exactly_for_the_phones_not_started(emulator, fleet):
    run = runbook("assert_status", "-i", fleet, "-e", "phones=group_warmup", emulator=emulator)
    assert run.rc == 2
    warmup = [p for p in emulator.state.phones.values() if p["group"]["name"] == "warmup"]
    not_started = sorted(p["id"] for p in warmup if p["status"] != 0)
    assert failure_ids(run) == not_started
    assert "%d of %d phones are not started:" % (len(not_started), len(warmup)) in run.out
    expired = next(p for p in warmup if p["status"] == 3)
    assert "%s (%s): expired" % (expired["serialName"], expired["id"]) in run.out


def test_assert_status_with_ids_and_a_wanted_status(emulator):
    ids = [i for i, s in emulator.true_status().items() if s == 2][:4] + ["404404404404404404"]
    run = runbook("assert_status", "-e", json.dumps({"phone_ids": ids, "wanted_status": "shut_down"}),
                  emulator=emulator)
    assert run.rc == 2
    assert "1 of 5 phones are not shut_down" in run.out
    assert "(404404404404404404): no status from the API - 42001 env not found" in run.out


def test_wait_for_status_succeeds_when_the_phones_start(emulator):
    ids = [i for i, s in emulator.true_status().items() if s == 2][:3]
    with status_after_first_answer(emulator, ids, 0):
        run = runbook("wait_for_status", "-e", json.dumps({"phone_ids": ids, "poll_interval": 1, "wait_timeout": 20}),
                      emulator=emulator)
    assert run.rc == 0, run.text
    assert "All 3 phones are started" in run.out
    polls = len(emulator.request_bodies("/open/v1/phone/status"))
    assert 2 <= polls <= 5  # one batched call per poll, never one per phone


def test_wait_for_status_times_out_cleanly_naming_the_laggards(emulator):
    truth = emulator.true_status()
    late = [i for i, s in truth.items() if s == 2][:2]
    ready = [i for i, s in truth.items() if s == 0][:2]
    extra = {"phone_ids": ready + late, "poll_interval": 1, "wait_timeout": 2}
    run = runbook("wait_for_status", "-e", json.dumps(extra), emulator=emulator)
    assert run.rc == 2
    assert "2 of 4 phones are not started:" in run.out
    assert failure_ids(run) == sorted(late)


def test_runbooks_pass_on_api_errors(emulator):
    run = run_command([PLAYBOOK, "geelark.cloudphone.wait_for_status", "-e",
                       json.dumps({"phone_ids": ["1"], "geelark_api_url": emulator.url})],
                      env=ansible_env(GEELARK_TOKEN="wrong-runbook-token"))
    assert run.rc == 2
    assert "code 40003" in run.out and "wrong-runbook-token" not in run.text
