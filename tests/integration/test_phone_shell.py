# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import collections
import json

import yaml

from ansible_collections.geelark.cloudphone.plugins.module_utils._client import SHELL_PATH
from ansible_collections.geelark.cloudphone.plugins.modules import geelark_phone_shell

from .conftest import TOKEN, ansible_env, local_play

STARTED, SHUT_DOWN = 0, 2
MODULE = "geelark.cloudphone.geelark_phone_shell"


def test_a_playbook_runs_a_command_on_300_phones_once_each(emulator, playbook, tmp_path):
    phones = list(emulator.true_status())
    assert len(phones) == 300
    stopped, no_shell = phones[10], phones[20]
    emulator.set_status([p for p in phones if p != stopped], STARTED)
    emulator.set_status([stopped], SHUT_DOWN)
    emulator.configure_adb(android=dict((p, 11 if p == no_shell else 12) for p in phones))
    emulator.queue_faults({"kind": "lose_answer", "path": SHELL_PATH, "skip": 150})  # the 151st call runs, unanswered
    out = tmp_path / "result.json"
    task = {"name": "serial numbers", "geelark.cloudphone.geelark_phone_shell": {
        "ids": phones, "cmd": "getprop ro.gl.serialno", "api_url": emulator.url, "rate_limit": 600},
        "register": "result", "ignore_errors": True}
    dump = {"name": "dump", "ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": "{{ out }}"}}
    run = playbook(local_play(task, dump), env=ansible_env(GEELARK_TOKEN=TOKEN), extra_vars={"out": str(out)})
    assert run.rc == 0, run.text
    assert TOKEN not in run.text
    result = json.loads(out.read_text())
    assert result["failed"] is True and result["changed"] is True and result["uncertain"] is True

    failures = dict((f["id"], f) for f in result["failures"])
    uncertain = [f["id"] for f in result["failures"] if f["uncertain"]]
    assert len(failures) == 3 and len(uncertain) == 1
    assert failures[stopped]["code"] == 42002
    assert failures[stopped]["msg"].startswith("phone %s is not running" % stopped)
    assert "geelark_phone_power" in failures[stopped]["msg"]
    assert failures[no_shell]["code"] == 50001 and "geelark.cloudphone.adb" in failures[no_shell]["msg"]
    assert "The command failed on 3 of 300 phones" in " ".join(run.text.split())

    # Every phone that answered, in the order given, with its own serial number.
    answered = [p for p in phones if p not in failures]
    assert [r["id"] for r in result["results"]] == answered
    assert all(r["status"] is True and r["output"].strip() == r["id"] for r in result["results"])

    # One call per phone, the lost one included: it ran on the phone and was not sent again.
    assert collections.Counter(b["id"] for b in emulator.request_bodies(SHELL_PATH)) == dict.fromkeys(phones, 1)
    assert emulator.stats()["shell_executes"][uncertain[0]] == 1


def test_the_documented_examples_run(emulator, playbook, tmp_path):
    phones = list(emulator.true_status())[:3]
    emulator.set_status(phones, STARTED)
    emulator.configure_adb(android=dict.fromkeys(phones, 13))
    emulator.set_apps(dict((p, {"com.zhiliaoapp.musically": {}}) for p in phones))
    emulator.put_device_file(phones[0], "/sdcard/Download/a b; c.txt", b"x")
    emulator.put_device_file(phones[1], "/sdcard/Download/config.json", b"{}")
    tasks = yaml.safe_load(geelark_phone_shell.EXAMPLES)
    tasks[0][MODULE]["ids"] = phones
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"status_started": {"hosts": dict(
        ("phone-%d" % n, {"geelark_id": p, "ansible_connection": "local"}) for n, p in enumerate(phones))}}}}))
    play = local_play(*tasks, module_defaults={MODULE: {"api_url": emulator.url}})
    run = playbook(play, "-i", str(inventory), env=ansible_env(GEELARK_TOKEN=TOKEN),
                   extra_vars={"phone_ids": phones, "file_name": "a b; c.txt"})
    assert run.rc == 0, run.text
    text = " ".join(run.text.split())
    assert '"%s": "13\\n"' % phones[0] in text  # each phone's Android version
    assert emulator.device_file(phones[0], "/sdcard/Download/a b; c.txt") is None  # quoted: one file name
    assert '"msg": [ "%s", "%s" ]' % (phones[0], phones[2]) in text  # the phones without the file
    assert "ok=%d " % len(tasks) in text and "failed=0" in text and "ignored=1" in text, run.text
