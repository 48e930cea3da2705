# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`make bench`, apps: geelark_app state=present version=36.5.4 on started phones, run twice.

tools/bench.py starts the emulator and calls `measure`. The phones are all started; half of them
have 36.4.0 of the package, half have nothing, so the first run installs everywhere and the second
finds the version on every phone. Both runs go through GeeLarkClient.set_app (what the module
runs) in this process, one after the other, sharing one rate budget as two runs on one machine do.

Requests are counted per path by the emulator (app/list, app/installable/list, phone/status,
app/install); the client's debug log, which names the path and the duration of every request,
splits app/list into the first read (sent before the first install) and the polls, and gives the
send times the second run's floor starts from.

Two floors for the elapsed time: requests / rate_limit (a minute per rate_limit requests), and the
least time the budget allows these very requests in this very order (`least_time`): an ideal client
(no latency, no limit on parallel requests) sends each phase (the read, installable/list, the status
calls, the installs, then each poll sweep after poll_interval) as soon as the one before has gone
and the endpoint's window has room. The sliding window lets a whole minute's budget go at once, so a
phase shorter than a minute can end before requests / rate_limit; the least time cannot be beaten.
The last column is that least time for the same run alone at rate_limit's default.

A run misses its goal, and the bench fails, unless the first sends one read and one install to each
phone, one installable/list, one status call per 100 phones and install_reads polls per phone, the
second one read per phone and nothing else, every phone ends installed (then already), no answer is
40007 and no path gets more than rate_limit requests in a minute.
"""

from __future__ import annotations

import collections
import math
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "emulator"))
import geelark_emulator

PACKAGE = "com.zhiliaoapp.musically"
VERSION = "36.5.4"
OLDER_VERSION = "36.4.0"  # on half the phones before the first run: an upgrade, not a first install
APP_LIST_PATH = geelark_emulator.APP_LIST_PATH
INSTALLABLE_PATH = geelark_emulator.APP_INSTALLABLE_PATH
INSTALL_PATH = geelark_emulator.APP_INSTALL_PATH
STATUS_PATH = geelark_emulator.STATUS_PATH
STATUS_BATCH = geelark_emulator.MAX_IDS  # IDs per status call
_ANSWERED = re.compile(r"^POST (\S+) -> HTTP \d+ in ([\d.]+)s")


class RequestLog:
    """The client's `log`: keeps (send time, path) of every request from its debug line, read when answered."""

    def __init__(self):
        self.sent = []
        self._lock = threading.Lock()

    def __call__(self, line):
        match = _ANSWERED.match(line)
        if match:
            with self._lock:
                self.sent.append((time.monotonic() - float(match.group(2)), match.group(1)))

    def times(self, path=None):
        with self._lock:
            return sorted(t for t, p in self.sent if path is None or p == path)


def least_time(phases, rate, window, held=()):
    """Seconds an ideal client needs for `phases` under a budget of `rate` requests per `window` s per endpoint.

    `phases` in order: (path, requests), or (None, seconds) for a pause; each phase starts once the
    one before has been sent. `held`: (seconds before the start, path) of requests already sent.
    """
    windows = collections.defaultdict(collections.deque)
    for when, path in sorted(held):
        windows[path].append(when)
    now = 0.0
    for path, amount in phases:
        if path is None:
            now += amount
            continue
        sent = windows[path]
        while amount:
            while sent and sent[0] <= now - window:
                sent.popleft()
            room = rate - len(sent)
            if room > 0:
                sent.extend([now] * min(room, amount))
                amount -= min(room, amount)
            else:
                now = sent[0] + window  # the oldest request leaves the window
    return now


def _counts(stats, before):
    """Per path requests, API codes and installs per phone since the `before` snapshot of the emulator's stats."""
    return {
        "requests": dict((p, stats["requests"].get(p, 0) - before["requests"].get(p, 0)) for p in stats["requests"]),
        "codes": dict((c, n - before["codes"].get(c, 0)) for c, n in stats["codes"].items()),
        "installs": dict((i, n - before["app_installs"].get(i, 0)) for i, n in stats["app_installs"].items()
                         if n - before["app_installs"].get(i, 0)),
    }


def _setup(emulator, ids, server_rate, install_reads):
    """Every phone started, 36.4.0 on every other one, installs that take `install_reads` app/list reads."""
    emulator.control("phones/status", {"ids": ids, "status": 0})
    emulator.control("apps/set", {"phones": dict((i, {PACKAGE: {"versionName": OLDER_VERSION}}) for i in ids[::2])})
    emulator.control("apps/configure", {"install_reads": install_reads})
    emulator.control("config", {"rate_limit": server_rate, "max_in_flight": 0})
    emulator.control("reset", {})


def _run(emulator, ids, options, poll_interval, expected):
    """One geelark_app run through the client: its result, its elapsed time, the emulator's counts and the log."""
    from ansible_collections.geelark.cloudphone.plugins.module_utils._client import GeeLarkClient

    log = RequestLog()
    before = emulator.control("stats")
    with GeeLarkClient(log=log, **options) as client:
        started = time.monotonic()
        result = client.set_app(ids, PACKAGE, "present", version=VERSION, poll_interval=poll_interval)
        elapsed = time.monotonic() - started
        summary = client.summary()
    stats = emulator.control("stats")
    outcomes = collections.Counter(app["status"] for app in result.app_list())
    problems = []
    if result.failure_list() or outcomes != {expected: len(ids)}:
        problems.append("outcomes %s, failures %s" % (dict(outcomes), result.failure_list()[:3]))
    return {"elapsed": elapsed, "started": started, "counts": _counts(stats, before),
            "busiest": stats["busiest_minute"], "log": log, "summary": summary, "problems": problems}


def _row(name, run, phones, rate, window, poll_interval, default_rate, held=()):
    """The figures of one run, and what in them misses the goal."""
    requests = run["counts"]["requests"]
    first_install = min(run["log"].times(INSTALL_PATH), default=math.inf)
    app_lists = run["log"].times(APP_LIST_PATH)
    reads = sum(1 for t in app_lists if t < first_install)
    polls = len(app_lists) - reads
    total = sum(requests.values())
    sweeps = [phones] * (polls // phones) + ([polls % phones] if polls % phones else [])
    phases = [(APP_LIST_PATH, reads), (INSTALLABLE_PATH, requests.get(INSTALLABLE_PATH, 0)),
              (STATUS_PATH, requests.get(STATUS_PATH, 0)), (INSTALL_PATH, requests.get(INSTALL_PATH, 0))]
    for sweep in sweeps:
        phases += [(None, poll_interval), (APP_LIST_PATH, sweep)]
    floor = total * 60.0 / rate
    least = least_time(phases, rate, window, [(t - run["started"], p) for t, p in held])
    at_default = least_time(phases, default_rate, window)  # the same run alone, at rate_limit's default
    row = {"run": name, "phones": phones, "reads": reads, "installable": requests.get(INSTALLABLE_PATH, 0),
           "status": requests.get(STATUS_PATH, 0), "installs": requests.get(INSTALL_PATH, 0), "polls": polls,
           "sweeps": polls / phones, "total": total, "elapsed": run["elapsed"], "floor": floor,
           "ratio": run["elapsed"] / floor, "least": least, "least_ratio": run["elapsed"] / least if least else None,
           "at_default": at_default, "default_rate": default_rate,
           "rate_limited": run["counts"]["codes"].get("40007", 0), "busiest": max(run["busiest"].values()),
           "waited": run["summary"]["seconds_waiting_for_budget"], "problems": list(run["problems"])}
    if len(app_lists) != requests.get(APP_LIST_PATH, 0) or total != len(run["log"].times()):
        row["problems"].append("the client logged %d requests (%d app/list), the emulator counted %d (%d)"
                               % (len(run["log"].times()), len(app_lists), total, requests.get(APP_LIST_PATH, 0)))
    if row["rate_limited"] or row["busiest"] > rate:
        row["problems"].append("%d answers 40007, %d requests in the busiest minute of one path (budget %d)"
                               % (row["rate_limited"], row["busiest"], rate))
    return row


def measure(emulator, ids, token, rate, server_rate, poll_interval, install_reads, budget_dir, concurrency=None):
    """The first and the second run on a started emulator holding `ids`: two table rows."""
    from ansible_collections.geelark.cloudphone.plugins.module_utils._ratelimit import WINDOW_SECONDS
    from ansible_collections.geelark.cloudphone.plugins.module_utils._settings import OPTIONS

    _setup(emulator, ids, server_rate, install_reads)
    options = dict(api_url=emulator.url, token=token, rate_limit=rate, budget_dir=budget_dir)
    if concurrency:
        options["concurrency"] = int(concurrency)
    phones = len(ids)
    first = _run(emulator, ids, options, poll_interval, "installed")
    second = _run(emulator, ids, options, poll_interval, "already")
    default_rate = OPTIONS["rate_limit"].default
    rows = [_row("first", first, phones, rate, WINDOW_SECONDS, poll_interval, default_rate),
            _row("second", second, phones, rate, WINDOW_SECONDS, poll_interval, default_rate,
                 held=first["log"].sent)]
    one, again = rows
    if first["counts"]["installs"] != dict((i, 1) for i in ids):
        one["problems"].append("installs per phone: not exactly one on each of the %d phones" % phones)
    expected = {"reads": phones, "installable": 1, "status": math.ceil(phones / STATUS_BATCH), "installs": phones,
                "polls": install_reads * phones}
    one["problems"] += ["%s: %d, expected %d" % (k, one[k], v) for k, v in expected.items() if one[k] != v]
    if second["counts"]["installs"] or again["total"] != phones or again["reads"] != phones:
        again["problems"].append("%d requests (%d app/list reads, %d installs), expected %d app/list reads only"
                                 % (again["total"], again["reads"], again["installs"], phones))
    return rows


def print_table(rows, rate, server_rate, poll_interval, install_reads, latency):
    print()
    print("geelark_app state=present version=%s, %d started phones (36.4.0 on half): client rate_limit %d/min, "
          "emulator limit %d/min per path, poll_interval %gs, an install done on the %s app/list read after it, "
          "latency %.0f ms" % (VERSION, rows[0]["phones"], rate, server_rate, poll_interval,
                               _nth(install_reads), latency * 1000))
    print()
    header = ("| run | app/list reads | installable/list | phone/status | app/install | app/list polls (sweeps) "
              "| requests | per phone | per phone without polls | elapsed | requests / rate_limit | ratio "
              "| least time the budget allows | ratio | waiting for the budget | 40007 "
              "| busiest minute of a path, both runs | least time at %d/min, the run alone |" % rows[0]["default_rate"])
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        phones = float(r["phones"])
        print("| %s | %d | %d | %d | %d | %d (%g) | %d | %.3f | %.3f | %.1f s | %.1f s | %.2f | %.1f s | %s | %.1f s "
              "| %d | %d | %.1f min |" % (
                  r["run"], r["reads"], r["installable"], r["status"], r["installs"], r["polls"], r["sweeps"],
                  r["total"], r["total"] / phones, (r["total"] - r["polls"]) / phones, r["elapsed"], r["floor"],
                  r["ratio"], r["least"], "%.2f" % r["least_ratio"] if r["least_ratio"] else "-", r["waited"],
                  r["rate_limited"], r["busiest"], r["at_default"] / 60))


def _nth(number):
    return "%d%s" % (number, {1: "st", 2: "nd", 3: "rd"}.get(number if number < 20 else number % 10, "th"))
