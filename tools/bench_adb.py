# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`make bench`, commands on phones: ansible.builtin.raw on BENCH_ADB_PHONES started phones over the adb connection.

tools/bench.py starts the emulator (its ADB daemon serves every phone on 127.0.0.1) and calls
`measure`. Three playbook runs, side by side in one bench run, on the same phones:

- `1 task`: one raw task. The run's first task reads the connection info of the play's phones,
  connects to each phone, signs in with the ADB key and logs in with glogin.
- `3 tasks`: three raw tasks. The two after the first reuse the broker's connections, so
  (3 tasks - 1 task) / 2 is what one more task costs.
- `3 tasks, reset`: the same three tasks with `meta: reset_connection` after each, which drops each
  phone's connection and connection info: every task reads the play's info again and connects and
  logs in to every phone again, as a connection that kept nothing between tasks would.

Counted by the emulator: getData requests and phones read, ADB connections and glogins. The bench
fails unless the first two runs read the info in ceil(phones / 200) requests and log in once per
phone, and every command reaches every phone.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time

import yaml

GETDATA = "/open/v1/adb/getData"
RAW = {"ansible.builtin.raw": "getprop ro.gl.serialno", "changed_when": False}


def _play(tasks, key):
    return [{"name": "bench", "hosts": "status_started", "gather_facts": False,
             "vars": {"geelark_adb_key_file": key}, "tasks": tasks}]


def _run(emulator, workdir, inventory, plays, env):
    path = os.path.join(workdir, "adb-bench.yml")
    with open(path, "w") as handle:
        yaml.safe_dump(plays, handle)
    emulator.control("reset", {})
    started = time.monotonic()
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
                           path, "--forks", "20"], capture_output=True, text=True, env=env, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("bench: the adb playbook failed (rc %d): %s" % (proc.returncode, proc.stdout[-2000:]))
    stats = emulator.control("stats")
    return {"seconds": elapsed, "getdata": stats["requests"].get(GETDATA, 0),
            "read": sum(stats.get("adb_reads", {}).values()),
            "connections": sum(stats.get("adb_connections", {}).values()),
            "glogins": sum(stats.get("glogins", {}).values()),
            "commands": sum(stats.get("adb_commands", {}).values())}


def measure(emulator, ids, token, workdir, env):
    """The three runs on the started phones `ids` of `emulator` (ADB turned on here): rows for print_table."""
    emulator.control("phones/status", {"ids": ids, "status": 0})
    emulator.control("adb", {"enabled": ids})
    from adb_shell.auth.keygen import keygen

    key = os.path.join(tempfile.mkdtemp(dir=workdir), "adbkey")
    keygen(key)
    inventory = os.path.join(workdir, "adb.geelark.yml")
    with open(inventory, "w") as handle:
        yaml.safe_dump({"plugin": "geelark.cloudphone.geelark", "api_url": emulator.url,
                        "compose": {"ansible_connection": "'geelark.cloudphone.adb'"}}, handle)
    env = dict(env, GEELARK_TOKEN=token)
    reset = {"meta": "reset_connection"}
    runs = [("1 task", [dict(RAW)]), ("3 tasks", [dict(RAW), dict(RAW), dict(RAW)]),
            ("3 tasks, reset", [dict(RAW), reset, dict(RAW), reset, dict(RAW), reset])]
    rows = []
    for name, tasks in runs:
        row = _run(emulator, workdir, inventory, _play(tasks, key), env)
        row["run"] = name
        row["tasks"] = sum(1 for task in tasks if "meta" not in task)
        rows.append(row)
    return rows


def check(rows, phones):
    """What the runs must show; the bench fails on any of it."""
    floor = math.ceil(phones / 200)
    problems = []
    for row in rows:
        if row["commands"] < row["tasks"] * phones:
            problems.append("%s: %d commands for %d tasks on %d phones"
                            % (row["run"], row["commands"], row["tasks"], phones))
    for row in rows[:2]:
        if row["getdata"] != floor or row["glogins"] != phones:
            problems.append("%s: %d getData requests (want %d), %d glogins (want %d)"
                            % (row["run"], row["getdata"], floor, row["glogins"], phones))
    return problems


def print_table(rows, phones):
    one, three, reset = rows
    warm = (three["seconds"] - one["seconds"]) / 2
    cold = (reset["seconds"] - one["seconds"]) / 2
    print("\nCommands on %d phones over the adb connection (ansible-playbook --forks 20, raw getprop):" % phones)
    print("| run | seconds | getData requests | phones read | ADB connections | glogins | commands |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| %s | %.1f | %d | %d | %d | %d | %d |"
              % (row["run"], row["seconds"], row["getdata"], row["read"], row["connections"], row["glogins"],
                 row["commands"]))
    print("one more task: %.2f s with the run's connections kept, %.2f s reconnecting (%.1fx)"
          % (warm, cold, cold / warm if warm > 0 else float("inf")))
