# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The rate budget and the transport under hostile conditions, in real ansible-playbook runs.

A link planted at the budget file's path, a process killed while its threads wait for the budget,
and a start answer that quotes the live-view URL. Nothing here waits on the clock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import STATUS_PATH
from ansible_collections.geelark.cloudphone.plugins.module_utils._power import START_PATH
from ansible_collections.geelark.cloudphone.plugins.module_utils._ratelimit import ENV_BUDGET_DIR, budget_file_name

from .conftest import BIN, TOKEN, Run, ansible_env, local_play

PLAYBOOK = os.path.join(BIN, "ansible-playbook")
# A regression that read /dev/zero without end must fail the run, not exhaust the machine's memory.
MEMORY_CAP = 3 << 30


def run_bounded(args, env):
    """Run a command with its address space capped (ulimit -v), so a regression fails instead of swapping."""
    capped = ["/bin/sh", "-c", 'ulimit -v %d && exec "$@"' % (MEMORY_CAP >> 10), "sh"] + list(args)
    proc = subprocess.run(capped, capture_output=True, text=True, env=env, check=False, timeout=300,
                          stdin=subprocess.DEVNULL)
    return Run(proc)


def status_play(emulator, ids, out):
    task = {"name": "status", "geelark.cloudphone.geelark_phone_status": {"ids": ids, "api_url": emulator.url},
            "register": "result"}
    dump = {"name": "dump", "ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(out)}}
    return local_play(task, dump)


@pytest.mark.parametrize("target", ["own_file", "/dev/zero"])
def test_a_link_planted_at_the_budget_file_is_not_followed_and_the_run_warns_and_succeeds(emulator, tmp_path,
                                                                                          target):
    budget_dir = tmp_path / "budget"
    budget_dir.mkdir(mode=0o700)
    link = budget_dir / budget_file_name("token:" + TOKEN, emulator.url, STATUS_PATH)
    precious = tmp_path / "precious.txt"
    precious.write_text("my notes\n")
    link.symlink_to(precious if target == "own_file" else target)
    ids = list(emulator.true_status())[:150]
    out = tmp_path / "result.json"
    play = tmp_path / "play.yml"
    play.write_text(json.dumps(status_play(emulator, ids, out)))
    run = run_bounded([PLAYBOOK, "-i", "localhost,", str(play)],
                      ansible_env(GEELARK_TOKEN=TOKEN, **{ENV_BUDGET_DIR: str(budget_dir)}))
    assert run.rc == 0, run.text
    assert precious.read_text() == "my notes\n" and os.path.islink(link)
    assert [p["id"] for p in json.loads(out.read_text())["phones"]] == ids
    text = " ".join(run.text.split())  # the warning is wrapped to the terminal's width
    assert "The rate budget cannot be shared with other processes on this machine" in text
    assert "is a symbolic link, not a budget file: remove it" in text


def test_a_process_killed_while_four_threads_wait_for_the_budget_leaves_one_unused_slot(emulator, tmp_path):
    budget_dir = tmp_path / "budget"
    waiter = subprocess.Popen([sys.executable, "-c", WAITER, emulator.url, TOKEN, str(budget_dir)],
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert waiter.stdout.readline().strip() == "waiting 4"  # every thread waits for the budget
    finally:
        os.killpg(waiter.pid, signal.SIGKILL)
        waiter.wait(timeout=60)
    booked = (budget_dir / budget_file_name("token:" + TOKEN, emulator.url, STATUS_PATH)).read_text().split()
    # The request that went, and one slot booked for the four that waited: one phantom, not four.
    assert len(booked) == 2
    assert emulator.stats()["requests"][STATUS_PATH] == 1


# Builds a transport with a budget of one request a minute, sends one, then lets four threads
# wait for the next slot, says so, and sleeps until it is killed.
WAITER = r"""
import os, sys, threading
url, token, budget_dir = sys.argv[1:4]
sys.path.insert(0, os.environ["GEELARK_TEST_COLLECTIONS_PATH"])
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
_AnsibleCollectionFinder(paths=[os.environ["GEELARK_TEST_COLLECTIONS_PATH"]])._install()
from ansible_collections.geelark.cloudphone.plugins.module_utils._settings import ClientSettings
from ansible_collections.geelark.cloudphone.plugins.module_utils._transport import Transport
transport = Transport(ClientSettings.of(token=token, api_url=url, rate_limit=1, budget_dir=budget_dir))
body = {"ids": ["none"]}
transport.post("/open/v1/phone/status", body)
for n in range(4):
    threading.Thread(target=transport.post, args=("/open/v1/phone/status", body), daemon=True).start()
while transport._waiting < 4:
    threading.Event().wait(0.01)
print("waiting", transport._waiting, flush=True)
threading.Event().wait(3600)
"""


def test_a_start_answer_quoting_the_live_view_url_never_shows_it_even_at_vvvv(emulator, playbook, tmp_path):
    emulator.configure_power(boot_reads=1)
    down = [i for i, s in emulator.true_status().items() if s == 2][:3]
    secret = emulator.state.live_view_secret
    live_url = "https://live.geelark.invalid/open?token=%s%s&envName=x" % (secret, down[0][-6:])
    # Every start answer is cut short: not JSON, with the live-view URL inside.
    body = '{"code": 0, "data": {"successDetails": [{"id": "%s", "url": "%s"' % (down[0], live_url)
    emulator.queue_faults({"kind": "raw", "body": body, "path": START_PATH, "times": 5})
    out = tmp_path / "result.json"
    play = local_play({"name": "power", "geelark.cloudphone.geelark_phone_power": {
        "ids": down, "state": "started", "api_url": emulator.url, "poll_interval": 1}, "register": "result",
        "ignore_errors": True}, {"name": "dump", "ansible.builtin.copy": {"content": "{{ result | to_json }}",
                                                                          "dest": str(out)}})
    run = playbook(play, "-vvvv", env=ansible_env(GEELARK_TOKEN=TOKEN))
    result = json.loads(out.read_text())
    assert "The answer is not JSON" in json.dumps(result), run.text  # the excerpt is there, masked
    assert secret not in run.text and secret not in out.read_text()
    assert "open?token=" not in run.text and TOKEN not in run.text
