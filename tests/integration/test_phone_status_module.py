# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import math

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import STATUS_PATH

from .conftest import API_KEY, APP_ID, TOKEN, ansible_env, local_play


def status_task(**args):
    return {"name": "status", "geelark.cloudphone.geelark_phone_status": args, "register": "result"}


def dump_task():
    return {"name": "dump", "ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": "{{ out }}"}}


def test_253_ids_come_back_complete_in_three_calls_in_request_order(emulator, playbook, tmp_path):
    real = list(emulator.true_status())[:245]
    ids = real[:100] + ["100000000000000001", "100000000000000002"] + real[100:] + ["100000000000000003"]
    ids += real[:5]  # five duplicates
    assert len(ids) == 253
    out = tmp_path / "result.json"
    run = playbook(local_play(status_task(ids=ids, api_url=emulator.url), dump_task()),
                   env=ansible_env(GEELARK_TOKEN=TOKEN), extra_vars={"out": str(out)})
    assert run.rc == 0, run.text
    import json
    result = json.loads(out.read_text())
    unique = list(dict.fromkeys(ids))
    answered = [i for i in unique if not i.startswith("1000000000000000")]
    assert [p["id"] for p in result["phones"]] == answered
    assert [f["id"] for f in result["failures"]] == ["100000000000000001", "100000000000000002", "100000000000000003"]
    assert (result["total_amount"], result["success_amount"], result["fail_amount"]) == (248, 245, 3)
    assert len(emulator.request_bodies(STATUS_PATH)) == math.ceil(248 / 100) == 3
    assert result["changed"] is False


def test_signature_auth_through_module_defaults(emulator, playbook):
    play = local_play(status_task(ids=list(emulator.true_status())[:3]),
                      {"ansible.builtin.assert": {"that": ["result.phones | length == 3"]}},
                      module_defaults={"group/geelark.cloudphone.all": {
                          "app_id": APP_ID, "api_key": API_KEY, "api_url": emulator.url}})
    run = playbook(play)
    assert run.rc == 0, run.text
    assert emulator.stats()["secret_leaks"] == 0


def test_fail_on_missing_fails_naming_the_id(emulator, playbook):
    run = playbook(local_play(status_task(ids=["404404404404404404"], fail_on_missing=True, api_url=emulator.url,
                                          token=TOKEN)))
    assert run.rc == 2
    assert "The API did not answer for 1 of 1 phones: 404404404404404404 (42001 env not found)" in run.text


@pytest.mark.parametrize("auth", [{"token": "wrong-but-secret-token"},
                                  {"app_id": APP_ID, "api_key": "wrong-but-secret-key"}])
def test_wrong_credentials_fail_with_40003_and_no_secret_even_at_vvvv(emulator, playbook, auth):
    args = dict(ids=list(emulator.true_status())[:1], api_url=emulator.url, **auth)
    run = playbook(local_play(status_task(**args)), "-vvvv")
    assert run.rc == 2
    assert "code 40003" in run.text and "traceId" in run.text
    assert "wrong-but-secret" not in run.text
    assert API_KEY not in run.text


def test_correct_secrets_never_show_at_vvvv(emulator, playbook):
    run = playbook(local_play(status_task(ids=list(emulator.true_status())[:1], api_url=emulator.url)), "-vvvv",
                   env=ansible_env(GEELARK_TOKEN=TOKEN))
    assert run.rc == 0, run.text
    assert TOKEN not in run.text


def test_wait_until_started_with_until_retries(emulator, playbook):
    ids = [i for i, s in emulator.true_status().items() if s == 2][:3]
    emulator.set_status(ids, 0, on_read=2)  # shut down on the first poll, started on the second
    task = status_task(ids=ids, api_url=emulator.url, token=TOKEN)
    task.update({"until": "result.by_status.started | length == 3", "retries": 10, "delay": 1})
    run = playbook(local_play(task))
    assert run.rc == 0, run.text
    assert run.text.count("FAILED - RETRYING") == 1
    assert [emulator.status_reads(i) for i in ids] == [2, 2, 2]


def test_a_bad_id_is_named_by_its_0_based_position_as_jinja_indexes_it(emulator, playbook):
    run = playbook(local_play(status_task(ids=["601876382020062634", 6.01876382020062634e17], api_url=emulator.url,
                                          token=TOKEN)))
    assert run.rc == 2
    assert "ids[1] is the number 6.018763820200626e+17" in run.text
    assert emulator.stats()["total_requests"] == 0


def test_wrong_credentials_name_where_they_came_from(emulator, playbook):
    args = dict(ids=list(emulator.true_status())[:1], api_url=emulator.url)
    run = playbook(local_play(status_task(**args)), env=ansible_env(GEELARK_TOKEN="wrong-but-secret-token"))
    assert run.rc == 2
    text = " ".join(run.text.split())
    assert "code 40003" in text and "check the token, which came from the environment variable GEELARK_TOKEN" in text
    assert "wrong-but-secret" not in run.text
