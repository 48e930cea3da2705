# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`make bench`, runbooks: the power runbook's plan (`-e state=started --check`) on every phone that is not
expired (`-e phones=geelark:!status_expired`), at each of BENCH_RUNBOOK_SIZES (default "1000 10000") phones.

Before its first request a runbook works out the targeted phones from the inventory (tasks/targets.yml);
after the status read it compares the plan with the targets (the plan, the summary). That work must grow
with the fleet, not with its square. Each size runs in one `ansible-playbook` against an emulator of its
own, with no latency, so that the figures are the runbook's own work: the wall time, the CPU of
ansible-playbook and of every process it started (inventory, workers, modules), and that CPU per
1,000 phones. The last column divides the CPU ratio of a size to the smallest by their size ratio: 1.0
is linear growth; a cost that grew with the square of the fleet would give the size ratio itself (10
for 10,000 against 1,000).

The status requests the emulator counted are shown beside them. The bench fails unless each run exits
0 and its plan accounts for every targeted phone: the shut-down phones would change, the started and
starting ones need no change, none fails (an expired phone cannot start, so expired phones are left
out: with them the run would fail, as it should); and unless that last column stays under 2.
"""

from __future__ import annotations

import collections
import os
import re
import resource
import subprocess
import time

TOKEN = "bench-token"  # noqa: S105 - the emulator's test token
STATUS_PATH = "/open/v1/phone/status"
PLAN = re.compile(r"start ([\d,]+) phones: (\d+) would change, (\d+) needed no change, (\d+) failed")
MAX_GROWTH = 2.0


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_plan(emulator, size, workdir, env):
    """One power --check run on the fleet's phones that are not expired: its figures and the plan it printed."""
    inventory = os.path.join(workdir, "runbook-%d.geelark.yml" % size)
    with open(inventory, "w") as handle:
        handle.write("plugin: geelark.cloudphone.geelark\napi_url: %s\n" % emulator.url)
    env = dict(env, GEELARK_TOKEN=TOKEN, ANSIBLE_INVENTORY_UNPARSED_FAILED="1",
               GEELARK_RATE_BUDGET_DIR=os.path.join(workdir, "runbook-budget-%d" % size))
    command = ["ansible-playbook", "-i", inventory, "geelark.cloudphone.power",
               "-e", "state=started", "-e", "phones=geelark:!status_expired", "-e", "max_changes=%d" % size, "--check"]
    cpu, started = _children_cpu(), time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall, cpu = time.monotonic() - started, _children_cpu() - cpu
    plan = PLAN.search(proc.stdout)
    if proc.returncode or not plan:
        raise SystemExit("bench: power --check on %d phones exited %d:\n%s%s"
                         % (size, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return {"phones": size, "wall": wall, "cpu": cpu, "plan": tuple(int(n.replace(",", "")) for n in plan.groups())}


def measure(emulator_class, make_fleet, sizes, workdir, env):
    """The rows of the table, one per fleet size, each against a fresh emulator."""
    rows = []
    for size in sizes:
        statuses = collections.Counter(p["status"] for p in make_fleet(size))
        emulator = emulator_class(size, 0.0, workdir)
        try:
            emulator.control("power", {"boot_reads": 1_000_000})  # `starting` phones stay starting
            emulator.control("reset", {})
            row = run_plan(emulator, size, workdir, env)
            row["status_requests"] = emulator.control("stats")["requests"].get(STATUS_PATH, 0)
        finally:
            emulator.stop()
        row["expected_plan"] = (size - statuses[3], statuses[2], statuses[0] + statuses[1], 0)
        print("%6d phones: power --check %.1fs, %.1fs CPU" % (size, row["wall"], row["cpu"]), flush=True)
        rows.append(row)
    for row in rows:
        row["growth"] = (row["cpu"] / rows[0]["cpu"]) / (row["phones"] / rows[0]["phones"])
    return rows


def check(rows):
    problems = []
    for row in rows:
        if row["plan"] != row["expected_plan"]:
            problems.append("%d phones: the plan said (targets, would change, no change, failed) %s, the fleet %s"
                            % (row["phones"], row["plan"], row["expected_plan"]))
        if row["growth"] >= MAX_GROWTH:
            problems.append("%d phones: CPU grew %.2f times faster than the fleet" % (row["phones"], row["growth"]))
    return problems


def print_table(rows):
    print("\n| phones | wall | CPU | CPU per 1,000 phones | status requests | would change / no change / failed "
          "| CPU growth / fleet growth |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| %d | %.1f s | %.1f s | %.2f s | %d | %d / %d / %d | %.2f |"
              % (row["phones"], row["wall"], row["cpu"], 1000 * row["cpu"] / row["phones"], row["status_requests"],
                 row["plan"][1], row["plan"][2], row["plan"][3], row["growth"]))
