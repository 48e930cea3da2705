# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`make bench`, keyed groups: what the README's keyed_groups (a group per GeeLark group, one per tag) add to
building the inventory, at each of BENCH_KEYED_SIZES (default "1000 10000") phones.

Two inventory files read one emulator of that size (no latency): the plain one, and the same with the
README's keyed_groups. Each fills its inventory cache once, untimed; then `ansible-inventory --graph` is
timed from that cache (no request), so that the CPU is the building of hosts, variables and groups
alone. The bench fails unless both hold every phone and the keyed one has the group and tag groups the
fleet's phones are in, and unless the keyed groups at most double the plain build's CPU (ansible-core
compiles a keyed group's expression again for every host: 5.6 times the plain build at 10,000 phones
before the inventory read plain variable references directly).
"""

from __future__ import annotations

import os
import re
import resource
import subprocess

TOKEN = "bench-token"  # noqa: S105 - the emulator's test token
KEYED_GROUPS = "keyed_groups:\n  - key: geelark_group.name\n    prefix: group\n  - key: geelark_tags\n    prefix: tag\n"
MAX_RATIO = 2.0


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _group_name(name):
    """A keyed group's name, as Constructable makes it: each character a group name cannot hold is _."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _graph(config, env):
    """`ansible-inventory --graph` of one inventory file: its CPU and the group and host lines it printed."""
    cpu = _children_cpu()
    proc = subprocess.run(["ansible-inventory", "-i", config, "--graph"], capture_output=True, text=True, env=env,
                          check=False)
    cpu = _children_cpu() - cpu
    if proc.returncode:
        raise SystemExit("bench: ansible-inventory -i %s --graph exited %d:\n%s%s"
                         % (config, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    lines = [line.rsplit("--", 1)[-1].strip() for line in proc.stdout.splitlines()]  # "  |  |--NAME"
    return cpu, set(n[1:-1] for n in lines if n.startswith("@")), set(n for n in lines if n and n[0] != "@")


def measure(emulator_class, make_fleet, sizes, workdir, env):
    """The rows of the table, one per fleet size: the plain build's CPU and the keyed one's, from the cache."""
    rows = []
    for size in sizes:
        fleet = make_fleet(size)
        wanted = set(_group_name("group_" + p["group"]["name"]) for p in fleet) | set(
            _group_name("tag_" + t["name"]) for p in fleet for t in p.get("tags") or ())
        emulator = emulator_class(size, 0.0, workdir)
        row = {"phones": size}
        try:
            for name, extra in (("plain", ""), ("keyed", KEYED_GROUPS)):
                config = os.path.join(workdir, "keyed-%d-%s.geelark.yml" % (size, name))
                with open(config, "w") as handle:
                    handle.write("plugin: geelark.cloudphone.geelark\napi_url: %s\nhostname: id\ncache: true\n"
                                 "cache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n%s"
                                 % (emulator.url, os.path.join(workdir, "keyed-cache-%d-%s" % (size, name)), extra))
                run_env = dict(env, GEELARK_TOKEN=TOKEN, ANSIBLE_INVENTORY_UNPARSED_FAILED="1",
                               GEELARK_RATE_BUDGET_DIR=os.path.join(workdir, "keyed-budget"))
                _graph(config, run_env)  # fills the cache
                requests = emulator.control("stats")["total_requests"]
                row[name], row[name + "_groups"], row[name + "_hosts"] = _graph(config, run_env)
                if emulator.control("stats")["total_requests"] != requests:
                    raise SystemExit("bench: the %s inventory of %d phones did not come from its cache" % (name, size))
        finally:
            emulator.stop()
        row["missing_groups"] = sorted(wanted - row["keyed_groups"])
        row["hosts_ok"] = row["plain_hosts"] == row["keyed_hosts"] == set(p["id"] for p in fleet)
        row["ratio"] = row["keyed"] / row["plain"]
        print("%6d phones: ansible-inventory --graph from the cache %.2fs CPU, with keyed groups %.2fs"
              % (size, row["plain"], row["keyed"]), flush=True)
        rows.append(row)
    return rows


def check(rows):
    problems = []
    for row in rows:
        if not row["hosts_ok"]:
            problems.append("%d phones: an inventory does not hold exactly the fleet's phones" % row["phones"])
        if row["missing_groups"]:
            problems.append("%d phones: keyed groups missing: %s" % (row["phones"], ", ".join(row["missing_groups"])))
        if row["ratio"] > MAX_RATIO:
            problems.append("%d phones: the keyed groups took the build from %.2f s to %.2f s of CPU, %.1f times"
                            % (row["phones"], row["plain"], row["keyed"], row["ratio"]))
    return problems


def print_table(rows):
    print("\n| phones | --graph from the cache, CPU | with the README's keyed_groups | keyed groups' own CPU "
          "| per 1,000 phones | with / without |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        own = row["keyed"] - row["plain"]
        print("| %d | %.2f s | %.2f s | %.2f s | %.3f s | %.2f |"
              % (row["phones"], row["plain"], row["keyed"], own, 1000 * own / row["phones"], row["ratio"]))
