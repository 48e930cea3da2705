# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The runbooks in playbooks/, run by their FQCN against the emulator."""

from __future__ import annotations

import json
import os
import re

import pytest

from .conftest import BIN, TOKEN, ansible_env, run_command

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
    emulator.set_status(ids, 0, on_read=3)  # shut down for two polls, started from the third
    run = runbook("wait_for_status", "-e", json.dumps({"phone_ids": ids, "poll_interval": 1, "wait_timeout": 20}),
                  emulator=emulator)
    assert run.rc == 0, run.text
    assert "All 3 phones are started" in run.out
    polls = emulator.request_bodies("/open/v1/phone/status")
    assert [sorted(body["ids"]) for body in polls] == [sorted(ids)] * 3  # one batched call per poll


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
