# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`make bench`: the inventory plugin against a plain sequential client, side by side, in one run.

For each fleet size the emulator runs in its own process with a per-request latency (a far-away
API) and enforces GeeLark's documented 200 requests a minute per API while our plugin runs. Both
contenders must return every phone; the table shows wall times, their ratio, requests against the
floor of ceil(N/100) list + ceil(N/100) status calls, peak parallel requests, the busiest minute
per endpoint, and the plugin's own CPU time.

Environment: BENCH_SIZES (default "1000 10000 50000"), BENCH_LATENCY (seconds, default 0.15),
BENCH_CONCURRENCY (plugin option, default: the plugin's default).
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

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
import geelark_emulator

BIN = os.path.dirname(sys.executable)
TOKEN = "bench-token"  # noqa: S105 - the emulator's test token
SERVER_RATE_LIMIT = 200
LIST_PATH = geelark_emulator.LIST_PATH
STATUS_PATH = geelark_emulator.STATUS_PATH


class EmulatorProcess:
    def __init__(self, phones, latency, workdir):
        url_file = os.path.join(workdir, "url-%d" % phones)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "emulator", "geelark_emulator.py"), "--phones", str(phones),
             "--token", TOKEN, "--latency", str(latency), "--url-file", url_file],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not (os.path.exists(url_file) and os.path.getsize(url_file)):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("the emulator did not start")
            time.sleep(0.05)
        with open(url_file) as handle:
            self.url = handle.read().strip()

    def control(self, name, payload=None):
        if payload is None:
            return requests.get(self.url + "/_emulator/" + name, timeout=30).json()
        return requests.post(self.url + "/_emulator/" + name, json=payload, timeout=30).json()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


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
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
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
    print("machine: %s, %d cores, Python %s; emulator latency %.0f ms per request; server limit %d/min per API"
          % (platform.machine(), os.cpu_count(), platform.python_version(), latency * 1000, SERVER_RATE_LIMIT))
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        collections = os.path.join(workdir, "ansible_collections", "geelark")
        os.makedirs(collections)
        os.symlink(ROOT, os.path.join(collections, "cloudphone"))
        os.environ["ANSIBLE_COLLECTIONS_PATH"] = workdir
        for size in sizes:
            truth = dict((p["id"], p["status"]) for p in geelark_emulator.make_fleet(size))
            emulator = EmulatorProcess(size, latency, workdir)
            try:
                emulator.control("config", {"rate_limit": SERVER_RATE_LIMIT})
                emulator.control("reset", {})
                ours = run_plugin(emulator, workdir, concurrency)
                stats = emulator.control("stats")  # the --list run came from the cache: no request
                emulator.control("config", {"rate_limit": 0})  # the plain client does not pace itself
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
            rows.append({
                "phones": size, "plugin_s": ours["wall"], "plugin_fetch_s": ours["fetch_wall"],
                "list_s": ours["list_wall"],
                "sequential_s": plain["wall"], "ratio": ours["wall"] / plain["wall"],
                "requests": stats["total_requests"], "sequential_requests": plain_requests, "floor": floor,
                "peak_parallel": stats["peak_in_flight"], "busiest_minute": max(stats["busiest_minute"].values()),
                "rate_limited": stats["codes"].get("40007", 0), "cpu_s": ours["cpu"], "build_cpu_s": ours["build_cpu"],
            })
            ratio = ours["wall"] / plain["wall"]
            print("%6d phones: plugin %.2fs, sequential %.2fs, ratio %.3f" % (size, ours["wall"], plain["wall"], ratio),
                  flush=True)
    header = ("| phones | ansible-inventory --graph | of which API | sequential client | ratio "
              "| --list from the cache | requests (floor) "
              "| sequential requests | peak parallel | busiest minute per API | 40007 answers | plugin CPU "
              "| of which building hosts |")
    print()
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        print("| %d | %.2f s | %.2f s | %.2f s | %.3f | %.2f s | %d (%d) | %d | %d | %d | %d | %.2f s | %.2f s |" % (
            r["phones"], r["plugin_s"], r["plugin_fetch_s"], r["sequential_s"], r["ratio"], r["list_s"], r["requests"],
            r["floor"],
            r["sequential_requests"], r["peak_parallel"], r["busiest_minute"], r["rate_limited"], r["cpu_s"],
            r["build_cpu_s"]))
    failed = [r for r in rows if r["requests"] != r["floor"] or r["rate_limited"] or r["busiest_minute"] > 180]
    if failed:
        raise SystemExit("bench: requests above the floor, or the rate limit was exceeded: %s" % failed)


if __name__ == "__main__":
    main()
