# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`make bench`: the inventory plugin against a plain sequential client, then geelark_app at 1,000 phones, in one run.

For each fleet size the emulator runs in its own process with a per-request latency (a far-away
API) and enforces GeeLark's documented 200 requests a minute per API while our plugin runs. Both
contenders must return every phone; the table shows wall times, their ratio, requests against the
floor of ceil(N/100) list + ceil(N/100) status calls, peak parallel requests, the busiest minute
per endpoint, 40007 and 47002 answers, and the plugin's own CPU time.

A last run puts a concurrency cap on the emulator (47002 above BENCH_CAP requests in flight) and
reads BENCH_CAP_PHONES phones: the plugin must find the cap with at most a handful of 47002.

Then geelark_app state=present version=36.5.4 on BENCH_APPS_PHONES started phones, twice, through
the client in this process (tools/bench_apps.py): requests per phone by endpoint on the first run
and on the second, and the elapsed time against the rate budget's floor. At GeeLark's 200 a minute
those two runs would take at least 26 minutes (one poll sweep of 1,000 phones is 1,000 requests), so
the client's rate_limit is BENCH_APPS_RATE and the emulator's limit is raised in the same proportion
(200/180 of it): the ratio to the floor is what the run measures.

Environment: BENCH_SIZES (default "1000 10000 50000"), BENCH_LATENCY (seconds, default 0.15),
BENCH_CONCURRENCY (plugin and client option, default: the option's default), BENCH_CAP (default 6;
0 skips the capped run), BENCH_CAP_PHONES (default 5000); BENCH_APPS_PHONES (default 1000; 0 skips
the apps runs), BENCH_APPS_RATE (the client's rate_limit, default 1800), BENCH_APPS_POLL
(poll_interval, default 5), BENCH_APPS_INSTALL_READS (the app/list read of a phone that shows its
install done, default 2: the first poll finds it installing, the second installed); BENCH_SHARED
(0 skips the four runs that share one budget through Redis, tools/bench_shared.py).

Then ansible.builtin.raw on BENCH_ADB_PHONES (default 200; 0 skips) started phones over the adb
connection, three playbook runs: one task, three tasks, and three tasks that drop the connections after
each (tools/bench_adb.py).

Then the power runbook's plan (--check) on a whole fleet of each of BENCH_RUNBOOK_SIZES (default
"1000 10000"; empty skips it) phones: the runbook's own CPU must grow with the fleet, not with its
square (tools/bench_runbooks.py).

Then ansible-inventory --graph from the inventory cache on a fleet of each of BENCH_KEYED_SIZES (default
"1000 10000"; empty skips it) phones, without and with the README's keyed_groups: the keyed groups may at
most double the CPU of building the inventory (tools/bench_keyed.py).

Last, four playbook runs at once with budget directories of their own, 300 IDs each at rate_limit 8:
sharing one budget through a Redis server, then with four machine budgets (tools/bench_shared.py).
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import uuid

import bench_apps  # tools/, this script's folder
import bench_adb
import bench_keyed
import bench_runbooks
import bench_shared
import emulator_process
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
import geelark_emulator

BIN = os.path.dirname(sys.executable)
TOKEN = "bench-token"  # noqa: S105 - the emulator's test token
SERVER_RATE_LIMIT = 200
# "At most a handful" of 47002 answers while the plugin finds the emulator's concurrency cap.
MAX_OVER_CAP = 5
CLIENT_RATE_LIMIT = 180  # the rate_limit option's default, what the plugin runs with here
HOLD_STILL_READS = 1_000_000  # status reads before a `starting` phone boots: more than any run makes
LIST_PATH = geelark_emulator.LIST_PATH
STATUS_PATH = geelark_emulator.STATUS_PATH


class Emulator:
    """The emulator of one run, started the one way tools/ starts it (tools/emulator_process.py)."""

    def __init__(self, phones, latency, workdir):
        try:
            self.process = emulator_process.start(workdir, "--phones", str(phones), "--token", TOKEN,
                                                  "--latency", str(latency))
        except RuntimeError as exc:
            raise SystemExit("bench: %s" % exc) from None
        self.url = self.process.url

    def control(self, name, payload=None):
        if payload is None:
            return requests.get(self.url + "/_emulator/" + name, timeout=30).json()
        return requests.post(self.url + "/_emulator/" + name, json=payload, timeout=30).json()

    def stop(self):
        self.process.stop()


def run_plugin(emulator, workdir, concurrency):
    """A cold `ansible-inventory --graph` (fetch and build every host), then `--list` from its cache."""
    cache_dir = os.path.join(workdir, "cache-%s" % uuid.uuid4().hex)
    config = os.path.join(workdir, "bench.geelark.yml")
    with open(config, "w") as handle:
        handle.write("plugin: geelark.cloudphone.geelark\napi_url: %s\nhostname: id\ncache: true\n"
                     "cache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n" % (emulator.url, cache_dir))
        if concurrency:
            handle.write("concurrency: %s\n" % concurrency)
    env = dict(os.environ, GEELARK_TOKEN=TOKEN, ANSIBLE_INVENTORY_UNPARSED_FAILED="1", ANSIBLE_NOCOLOR="1",
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
               GEELARK_RATE_BUDGET_DIR=os.path.join(workdir, "budget"))
    inventory = os.path.join(BIN, "ansible-inventory")

    def timed(*args):
        started = time.monotonic()
        proc = subprocess.run([inventory, "-i", config, *args], capture_output=True, text=True, env=env, check=False)
        if proc.returncode:
            raise SystemExit("ansible-inventory failed:\n" + proc.stdout[-3000:] + proc.stderr[-3000:])
        return time.monotonic() - started, proc.stdout + proc.stderr

    graph_wall, log = timed("--graph", "-vvv")
    fetch = re.search(r"fetched with (\d+) requests in ([\d.]+)s \(([\d.]+)s CPU\)", log)
    build = re.search(r"inventory built in ([\d.]+)s CPU", log)
    out = os.path.join(workdir, "inventory.json")
    list_wall, _log = timed("--list", "--output", out)
    with open(out) as handle:
        listing = json.load(handle, object_hook=_plain)
    statuses = dict((h["geelark_id"], h["geelark_status"]) for h in listing["_meta"]["hostvars"].values())
    return {"wall": graph_wall, "list_wall": list_wall, "statuses": statuses, "fetch_wall": float(fetch.group(2)),
            "cpu": float(fetch.group(3)) + float(build.group(1)), "build_cpu": float(build.group(1))}


def _plain(obj):
    """ansible-inventory marks untrusted strings as {"__ansible_unsafe": text}."""
    return obj["__ansible_unsafe"] if set(obj) == {"__ansible_unsafe"} else obj


def run_sequential(url):
    """What a careful script without concurrency does: page through the list, then status in 100s."""
    session = requests.Session()

    def call(path, body):
        headers = {"traceId": uuid.uuid4().hex.upper(), "Authorization": "Bearer " + TOKEN,
                   "Content-Type": "application/json"}
        answer = session.post(url + path, data=json.dumps(body), headers=headers, timeout=60).json()
        if answer["code"] != 0:
            raise SystemExit("sequential client: %s %s" % (answer["code"], answer["msg"]))
        return answer["data"]

    started = time.monotonic()
    items, page = [], 1
    while True:
        data = call(LIST_PATH, {"page": page, "pageSize": 100})
        items.extend(data["items"])
        if len(items) >= data["total"] or not data["items"]:
            break
        page += 1
    statuses = {}
    ids = [item["id"] for item in items]
    for start in range(0, len(ids), 100):
        for entry in call(STATUS_PATH, {"ids": ids[start:start + 100]})["successDetails"]:
            statuses[entry["id"]] = entry["status"]
    return {"wall": time.monotonic() - started, "statuses": statuses}


def main():
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "1000 10000 50000").split()]
    latency = float(os.environ.get("BENCH_LATENCY", "0.15"))
    concurrency = os.environ.get("BENCH_CONCURRENCY")
    cap = int(os.environ.get("BENCH_CAP", "6"))
    cap_phones = int(os.environ.get("BENCH_CAP_PHONES", "5000"))
    apps = {"phones": int(os.environ.get("BENCH_APPS_PHONES", "1000")),
            "rate": int(os.environ.get("BENCH_APPS_RATE", "1800")),
            "poll_interval": float(os.environ.get("BENCH_APPS_POLL", "5")),
            "install_reads": int(os.environ.get("BENCH_APPS_INSTALL_READS", "2"))}
    apps["server_rate"] = math.ceil(apps["rate"] * SERVER_RATE_LIMIT / CLIENT_RATE_LIMIT)
    print("machine: %s, %d cores, Python %s; emulator latency %.0f ms per request; server limit %d/min per API"
          % (platform.machine(), os.cpu_count(), platform.python_version(), latency * 1000, SERVER_RATE_LIMIT))
    with tempfile.TemporaryDirectory() as workdir:
        collections = os.path.join(workdir, "ansible_collections", "geelark")
        os.makedirs(collections)
        os.symlink(ROOT, os.path.join(collections, "cloudphone"))
        os.environ["ANSIBLE_COLLECTIONS_PATH"] = workdir
        sys.path.insert(0, workdir)  # the apps runs import the client from the collection
        runs = [(size, 0) for size in sizes] + ([(cap_phones, cap)] if cap else [])
        rows = [bench_inventory(size, max_in_flight, latency, workdir, concurrency) for size, max_in_flight in runs]
        apps_rows = bench_app_runs(apps, latency, workdir, concurrency) if apps["phones"] else []
        adb_phones = int(os.environ.get("BENCH_ADB_PHONES", "200"))
        adb_rows = bench_adb_runs(adb_phones, workdir) if adb_phones else []
        fleet_cpu = bench_fleet_cpu(workdir)
        shared_runs = False
        if os.environ.get("BENCH_SHARED", "1") != "0":
            ids = [p["id"] for p in geelark_emulator.make_fleet(bench_shared.JOB_PHONES)]
            shared_runs = bench_shared.measure(Emulator, ids, TOKEN, STATUS_PATH, os.path.join(workdir, "shared-runs"))
    if rows:
        print_inventory_table(rows)
    if apps_rows:
        bench_apps.print_table(apps_rows, apps["rate"], apps["server_rate"], apps["poll_interval"],
                               apps["install_reads"], latency)
    failed = [r for r in rows if r["requests"] != r["floor"] + r["over_cap"] or r["rate_limited"]
              or max(r["busiest_list"], r["busiest_status"]) > CLIENT_RATE_LIMIT or r["over_cap"] > MAX_OVER_CAP
              or (not r["cap"] and r["over_cap"])]
    apps_failed = ["%s run: %s" % (r["run"], "; ".join(r["problems"])) for r in apps_rows if r["problems"]]
    if adb_rows:
        bench_adb.print_table(adb_rows, adb_phones)
    adb_failed = bench_adb.check(adb_rows, adb_phones) if adb_rows else []
    for _what, bench, rows_of_bench in fleet_cpu:
        bench.print_table(rows_of_bench)
    if failed:
        raise SystemExit("bench: requests above the floor, a limit exceeded, or more than %d 47002 answers: %s"
                         % (MAX_OVER_CAP, failed))
    if apps_failed:
        raise SystemExit("bench: geelark_app missed its request counts or exceeded a limit: " + " | ".join(apps_failed))
    if adb_failed:
        raise SystemExit("bench: the adb connection missed its counts: " + " | ".join(adb_failed))
    for what, bench, rows_of_bench in fleet_cpu:
        problems = bench.check(rows_of_bench)
        if problems:
            raise SystemExit("bench: %s: %s" % (what, " | ".join(problems)))
    if shared_runs is not False:
        bench_shared.report(shared_runs, STATUS_PATH)


def bench_fleet_cpu(workdir):
    """The CPU benches, each at the fleet sizes of its variable: [(what, its module, its rows)] for those run."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", PATH=BIN + os.pathsep + os.environ.get("PATH", ""))  # ansible first
    results = []
    for what, bench, variable in (("the power runbook's plan", bench_runbooks, "BENCH_RUNBOOK_SIZES"),
                                  ("keyed groups", bench_keyed, "BENCH_KEYED_SIZES")):
        sizes = [int(s) for s in os.environ.get(variable, "1000 10000").split()]
        if sizes:
            results.append((what, bench, bench.measure(Emulator, geelark_emulator.make_fleet, sizes, workdir, env)))
    return results


def bench_adb_runs(phones, workdir):
    """raw on `phones` started phones over the adb connection, three runs (tools/bench_adb.py)."""
    emulator = Emulator(phones, 0.0, workdir)
    try:
        ids = [p["id"] for p in geelark_emulator.make_fleet(phones)]
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
        return bench_adb.measure(emulator, ids, TOKEN, workdir, env)
    finally:
        emulator.stop()


def bench_inventory(size, max_in_flight, latency, workdir, concurrency):
    """The plugin, then the sequential client, on one fleet: the table row."""
    truth = dict((p["id"], p["status"]) for p in geelark_emulator.make_fleet(size))
    emulator = Emulator(size, latency, workdir)
    try:
        emulator.control("config", {"rate_limit": SERVER_RATE_LIMIT, "max_in_flight": max_in_flight})
        # Phones created `starting` would boot on being read: both contenders must see one fleet.
        emulator.control("power", {"boot_reads": HOLD_STILL_READS})
        emulator.control("reset", {})
        ours = run_plugin(emulator, workdir, concurrency)
        stats = emulator.control("stats")  # the --list run came from the cache: no request
        emulator.control("config", {"rate_limit": 0, "max_in_flight": 0})  # no limits for the plain client
        emulator.control("reset", {})
        plain = run_sequential(emulator.url)
        plain_requests = emulator.control("stats")["total_requests"]
    finally:
        emulator.stop()
    for name, result in (("plugin", ours), ("sequential client", plain)):
        if result["statuses"] != truth:
            raise SystemExit("%s at %d phones: %d phones, %d wrong or missing" % (
                name, size, len(result["statuses"]),
                sum(1 for i in truth if result["statuses"].get(i) != truth[i])))
    floor = 2 * math.ceil(size / 100)
    busiest = stats["busiest_minute"]
    row = {
        "phones": size, "cap": max_in_flight, "plugin_s": ours["wall"], "plugin_fetch_s": ours["fetch_wall"],
        "list_s": ours["list_wall"],
        "sequential_s": plain["wall"], "ratio": ours["wall"] / plain["wall"],
        "requests": stats["total_requests"], "sequential_requests": plain_requests, "floor": floor,
        "peak_parallel": stats["peak_in_flight"],
        "busiest_list": busiest.get(LIST_PATH, 0), "busiest_status": busiest.get(STATUS_PATH, 0),
        "rate_limited": stats["codes"].get("40007", 0), "over_cap": stats["codes"].get("47002", 0),
        "cpu_s": ours["cpu"], "build_cpu_s": ours["build_cpu"],
    }
    print("%6d phones%s: plugin %.2fs, sequential %.2fs, ratio %.3f, %d requests, %d answered 47002"
          % (size, " (cap %d in flight)" % max_in_flight if max_in_flight else "", ours["wall"], plain["wall"],
             row["ratio"], stats["total_requests"], row["over_cap"]), flush=True)
    return row


def bench_app_runs(apps, latency, workdir, concurrency):
    """geelark_app's first and second run on apps["phones"] started phones (tools/bench_apps.py): two table rows."""
    ids = [p["id"] for p in geelark_emulator.make_fleet(apps["phones"])]
    emulator = Emulator(apps["phones"], latency, workdir)
    try:
        rows = bench_apps.measure(emulator, ids, TOKEN, apps["rate"], apps["server_rate"], apps["poll_interval"],
                                  apps["install_reads"], os.path.join(workdir, "apps-budget"), concurrency)
    finally:
        emulator.stop()
    for r in rows:
        print("%6d phones, geelark_app %s run: %.1fs, %d requests, %.3f per phone"
              % (apps["phones"], r["run"], r["elapsed"], r["total"], r["total"] / apps["phones"]), flush=True)
    return rows


def print_inventory_table(rows):
    header = ("| phones | server cap in flight | ansible-inventory --graph | of which API | sequential client | ratio "
              "| --list from the cache | requests (floor) "
              "| sequential requests | peak parallel | busiest minute list / status | 40007 | 47002 | plugin CPU "
              "| of which building hosts |")
    print()
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        print("| %d | %s | %.2f s | %.2f s | %.2f s | %.3f | %.2f s | %d (%d) | %d | %d | %d / %d | %d | %d | %.2f s "
              "| %.2f s |" % (
                  r["phones"], r["cap"] or "none", r["plugin_s"], r["plugin_fetch_s"], r["sequential_s"], r["ratio"],
                  r["list_s"], r["requests"], r["floor"], r["sequential_requests"], r["peak_parallel"],
                  r["busiest_list"], r["busiest_status"], r["rate_limited"], r["over_cap"], r["cpu_s"],
                  r["build_cpu_s"]))


if __name__ == "__main__":
    main()
