# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A GeeLark Open API emulator on 127.0.0.1, for tests, the demo and the benchmark.

It serves POST /open/v1/phone/list and /open/v1/phone/status the way the vendor documents them:
both auth schemes are verified (a bad token or signature gets 40003), more than 100 IDs get
40004, a page size outside 1..100 gets 40008, list items never show status 3 (only the status
endpoint reports expired phones), and the status endpoint answers in its own order.

Test switches live under /_emulator/ (no auth; loopback only):
  GET  /_emulator/stats            request counters, peak concurrency, busiest minute, leaks
  POST /_emulator/reset            zero the counters, drop queued faults and put the pager back
  POST /_emulator/config           {"latency": s, "rate_limit": per_minute, "max_in_flight": n}
  POST /_emulator/faults           {"faults": [{"kind": ...}, ...]} queued, one per API request
  POST /_emulator/phones/status    {"ids": [...], "status": n, "on_read": k} the phones answer status n from
                                   their k-th status read on (counted from now; k=1: the next read); or
                                   {"ids": [...], "status": n, "after": s} after s seconds (for people;
                                   tests move phones by read count, which does not depend on timing)
  POST /_emulator/phones/add       {"phones": [{...}, ...]}   add phones (fields default sensibly)
  POST /_emulator/phones/delete    {"ids": [...]}
  POST /_emulator/phones/rename    {"names": {"<id>": "<any text>"}} new serial names (text or null)
  POST /_emulator/pager            {"repeat": bool, "total": n or null} make the list endpoint lie until reset:
                                   repeat serves page 1's items for every page, total is claimed on every
                                   list answer (null: the true one); a setting not given stays as it is
  POST /_emulator/power            {"boot_reads": k, "stop_reads": k, "busy": [...], "idle": [...],
                                   "refuse": {"start" or "stop": {id: code}}}: how power writes behave

Power: /open/v1/phone/start and /stop take at most 200 IDs (40004 above). A start makes a shut-down
phone `starting` at once and `started` on its boot_reads-th status read after; a stop leaves a
running phone reading as before for stop_reads status reads, then `shut_down`. Expired phones get
43004 on start, busy phones 43005 on stop, unknown ones 42001. Each start success carries a
live-view `url` holding the emulator's secret (never to be seen in output). Timing is counted in
status reads, so nothing depends on the clock. A phone created or added `starting` (status 1)
boots like a started one: `started` on its boot_reads-th status read (boot_reads as set when it is
first read). A phone whose status the tests set (phones/status) or a power write moved follows that
script only.
  POST /_emulator/callbacks/send   {"payload": {...}, "url": optional (default: the URL set with callback/set),
                                   "auth": "key" | "token" | "none", "ts_offset_ms": n, "tamper": bool,
                                   "trace_id": s} send one GeeLark callback, signed like GeeLark signs them;
                                   answers {"status": HTTP status, "body": text, "trace_id": s}

Fault kinds: http (status, body, headers), reset (drop the connection), hang (seconds, then
answer), code (an API code with msg and data), raw (a body as is), mutate (add / delete phones,
then answer normally), lose_answer (apply the write, then drop the connection, or answer HTTP
"status" when one is given), fail_detail (status path: answer normally, except the phones "ids" come
back in failDetails with "code", default 42001, and "msg"), omit (list path: leave the phones "ids"
out of the page's items, total unchanged), drip (send the headers, then one byte of JSON whitespace
every "interval" seconds for "seconds", then the normal answer). A fault may name the "path" it
applies to, "skip": n (the next n requests of that path pass untouched, by later faults too, then it
plays) and "times": n (it plays on n such requests in a row; default 1). An unknown kind, key or path,
or a value of the wrong type, is refused with HTTP 400, as is any unknown key of a control request.
E.g. the 2nd start batch answered 403: {"kind": "http", "status": 403, "path": "/open/v1/phone/start",
"skip": 1}; status re-reads failing: {"kind": "http", "status": 502, "path": "/open/v1/phone/status",
"times": 50}.

An error inside the emulator is printed to stderr with its traceback and answered with HTTP 500
and a JSON {"error": ...}; it never becomes a silently dropped connection.

Run it by hand:  python tests/emulator/geelark_emulator.py --phones 300 --token demo-token
(--help lists every option and the control endpoints.)
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import http
import json
import random
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATUS_PATH = "/open/v1/phone/status"
LIST_PATH = "/open/v1/phone/list"
START_PATH = "/open/v1/phone/start"
STOP_PATH = "/open/v1/phone/stop"
MAX_POWER_IDS = 200
CONTROL_PREFIX = "/_emulator/"
CALLBACK_GET_PATH = "/open/v1/callback/get"
CALLBACK_SET_PATH = "/open/v1/callback/set"
API_PATHS = (LIST_PATH, STATUS_PATH, START_PATH, STOP_PATH, CALLBACK_GET_PATH, CALLBACK_SET_PATH)
MAX_IDS = 100

_GROUPS = [
    ("590711571886417453", "warmup", "accounts warming up"),
    ("590711571886417454", "tiktok-uk", "UK TikTok"),
    ("590711571886417455", "tiktok-us", "US TikTok"),
    ("590711571886417456", "reels", "Instagram reels"),
    ("590711571886417457", "support", "customer support"),
]
_TAGS = ["tiktok", "instagram", "uk", "us", "warm", "ads", "vip"]
_COUNTRIES = [
    ("United Kingdom", "+4477009", "Europe/London", "en-GB"),
    ("United States", "+1202555", "America/New_York", "en-US"),
    ("Germany", "+4915123", "Europe/Berlin", "de-DE"),
    ("Brazil", "+5511987", "America/Sao_Paulo", "pt-BR"),
]
_DEVICES = [("samsung", "Galaxy S23"), ("google", "Pixel 7"), ("xiaomi", "Redmi Note 12"), ("oneplus", "Nord 3")]
# True status weights: started, starting, shut down, expired.
_STATUS_WEIGHTS = [45, 5, 40, 10]


# Each fault kind and the keys it takes; "path" (the API path it applies to) goes with every kind.
FAULT_KEYS = {
    "http": {"status", "body", "headers", "content_type"},
    "reset": set(),
    "hang": {"seconds"},
    "code": {"code", "msg", "data"},
    "raw": {"body", "hex"},
    "mutate": {"add", "delete"},
    "lose_answer": {"status"},
    "fail_detail": {"ids", "code", "msg"},
    "omit": {"ids"},
    "drip": {"interval", "seconds"},
}
# Keys every kind takes: the API path it applies to, requests to let pass first, requests to play on.
FAULT_COMMON_KEYS = {"path", "skip", "times"}
FAULT_REQUIRED = {"code": {"code"}, "fail_detail": {"ids"}, "omit": {"ids"}}
# Kinds that shape one endpoint's answer play only there; their path defaults to it.
FAULT_ONLY_PATH = {"fail_detail": STATUS_PATH, "omit": LIST_PATH}
# Checks of fault values, each with what it asks for (a fault kind's own keys, e.g. http's status, go unchecked:
# the tests may want any value there).
FAULT_VALUE_CHECKS = {
    "skip": (lambda value: _is_whole(value) and value >= 0, "a whole number of at least 0"),
    "times": (lambda value: _is_whole(value) and value >= 1, "a whole number of at least 1"),
    "ids": (lambda value: isinstance(value, list) and all(isinstance(i, str) for i in value),
            "a list of phone ID strings"),
    "interval": (lambda value: _is_number(value) and value > 0, "a number above 0 (seconds)"),
    "seconds": (lambda value: _is_number(value) and value >= 0, "a number of at least 0 (seconds)"),
}
DRIP_DEFAULTS = {"interval": 1.0, "seconds": 60.0}
# The settings POST /_emulator/config may change, each with the check its value must pass.
CONFIG_CHECKS = {
    "latency": lambda value: _is_number(value) and value >= 0,
    "rate_limit": lambda value: _is_whole(value) and value >= 0,
    "max_in_flight": lambda value: _is_whole(value) and value >= 0,
}


KEEP = object()  # "not given": a control setting that stays as it is


class ControlError(ValueError):
    """A control request or fault the emulator refuses (answered with HTTP 400)."""


def check_fault(fault):
    """Refuse a fault the emulator could not play as written, naming what is wrong."""
    if not isinstance(fault, dict):
        raise ControlError("a fault must be an object, got %r" % (fault,))
    kind = fault.get("kind")
    if kind not in FAULT_KEYS:
        raise ControlError("unknown fault kind %r; known kinds: %s" % (kind, ", ".join(sorted(FAULT_KEYS))))
    unknown = set(fault) - FAULT_KEYS[kind] - FAULT_COMMON_KEYS - {"kind"}
    if unknown:
        takes = ", ".join(sorted(FAULT_KEYS[kind] | FAULT_COMMON_KEYS))
        raise ControlError("fault kind %r does not take %s; it takes: %s" % (kind, ", ".join(sorted(unknown)), takes))
    missing = FAULT_REQUIRED.get(kind, set()) - set(fault)
    if missing:
        raise ControlError("fault kind %r needs %s" % (kind, ", ".join(sorted(missing))))
    if "path" in fault and fault["path"] not in API_PATHS:
        raise ControlError("fault path %r is not an API path of the emulator (%s)"
                           % (fault["path"], ", ".join(API_PATHS)))
    only = FAULT_ONLY_PATH.get(kind)
    if only is not None and fault.get("path", only) != only:
        raise ControlError("fault kind %r plays only on path %s, got %r" % (kind, only, fault["path"]))
    for key, (check, wanted) in FAULT_VALUE_CHECKS.items():
        if key in fault and not check(fault[key]):
            raise ControlError("fault %s must be %s, got %r" % (key, wanted, fault[key]))
    if kind == "fail_detail" and "code" in fault and not _is_whole(fault["code"]):
        raise ControlError("fault code must be a whole number (an API code), got %r" % (fault["code"],))
    # A copy: the queue counts skip and times down in it, never in the caller's dict.
    checked = dict(fault)
    if only is not None:
        checked["path"] = only
    return checked


def _check_keys(what, body, allowed, required=()):
    if not isinstance(body, dict):
        raise ControlError("%s takes a JSON object, got %r" % (what, body))
    unknown = set(body) - set(allowed)
    if unknown:
        raise ControlError("%s does not take %s; it takes: %s"
                           % (what, ", ".join(sorted(unknown)), ", ".join(sorted(allowed)) or "nothing"))
    missing = set(required) - set(body)
    if missing:
        raise ControlError("%s needs %s" % (what, ", ".join(sorted(missing))))


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def make_phone(index, rng, status=None):
    """One phone of a deterministic fleet, in the API's list-item shape plus its true status."""
    group_id, group_name, group_remark = _GROUPS[index % len(_GROUPS)]
    country, prefix, tz, lang = _COUNTRIES[index % len(_COUNTRIES)]
    brand, model = _DEVICES[index % len(_DEVICES)]
    # Serial names are not unique in GeeLark: every 40th phone reuses its predecessor's name.
    name_index = index - 1 if index % 40 == 39 else index
    return {
        "id": str(601876382020000000 + index * 7919),
        "serialName": "%s-%05d" % (_GROUPS[name_index % len(_GROUPS)][1], name_index),
        "serialNo": str(index + 1),
        "group": {"id": group_id, "name": group_name, "remark": group_remark},
        "remark": "batch %d" % (index // 100),
        "status": status if status is not None else rng.choices(range(4), _STATUS_WEIGHTS)[0],
        "tags": [{"name": t} for t in rng.sample(_TAGS, 2)],
        "equipmentInfo": {
            "countryName": country, "phoneNumber": "%s%04d" % (prefix, index % 10000), "enableSim": 1,
            "imei": "35693803%07d" % index, "osVersion": "Android %d.0" % (11 + index % 3),
            "wifiBssid": _mac(rng), "mac": _mac(rng), "bluetoothMac": _mac(rng), "timeZone": tz,
            "deviceBrand": brand, "deviceModel": model, "deviceName": "", "netType": index % 2,
            "language": lang, "province": "", "city": "",
        },
        "proxy": {"type": "socks5", "server": "203.0.113.%d" % (index % 250 + 1), "port": 1080 + index % 100,
                  "username": "user%d" % index, "password": "proxy-secret-%d" % index},
        "chargeMode": index % 2, "hasBind": index % 2 == 1,
        "monthlyExpire": 1790000000 + index if index % 2 else 0,
        "rpaStatus": 0, "createTime": 1750000000 + index * 60,
    }


def make_fleet(count, seed=1):
    rng = random.Random(seed)
    return [make_phone(i, rng) for i in range(count)]


def _mac(rng):
    return ":".join("%02X" % rng.randrange(256) for dummy in range(6))


def expected_signature(app_id, trace_id, ts, nonce, api_key):
    return hashlib.sha256((app_id + trace_id + ts + nonce + api_key).encode()).hexdigest().upper()


class ApiFailure(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code
        self.msg = msg


class EmulatorState:
    """Fleet, switches and counters, shared by the handler threads under one lock."""

    def __init__(self, phones, token=None, app_id=None, api_key=None, latency=0.0, rate_limit=0, seed=1,
                 max_in_flight=0):
        self.lock = threading.Lock()
        self.phones = collections.OrderedDict((p["id"], p) for p in phones)
        self.token = token
        self.app_id = app_id
        self.api_key = api_key
        self.latency = latency
        self.rate_limit = rate_limit
        self.max_in_flight = max_in_flight  # GeeLark's concurrency cap: above it, 47002 (0: none)
        self.rng = random.Random(seed)
        self.faults = collections.deque()
        # Pending status changes: timed ones [(when, id, status)], and per phone, read-counted ones
        # [[reads_left, status], ...] that fire on that phone's status reads.
        self.transitions = []
        self.read_transitions = collections.defaultdict(list)
        self.next_index = len(phones)
        # Power: how many status reads a boot and a stop take, busy phones, scripted refusals.
        self.boot_reads = 2
        self.stop_reads = 1
        self.busy = set()
        self.refuse = {"start": {}, "stop": {}}
        self.live_view_secret = "lv%032x" % random.Random(seed * 7 + 3).getrandbits(128)
        self.callback_url = None  # the account's one webhook URL (callback/set)
        # Phones created `starting` boot like started ones: counted from their first status read, so
        # a boot_reads set before that read applies (see count_status_read).
        self.cold_boot = set(phone_id for phone_id, phone in self.phones.items() if phone.get("status") == 1)
        self.reset()

    def reset(self):
        """Zero the counters, drop queued faults and put the pager back to telling the truth."""
        self.reset_stats()
        self.pager_repeat = False  # serve page 1's items for every page
        self.pager_total = None  # the total claimed on every list answer (None: the true one)

    def set_pager(self, repeat=KEEP, total=KEEP):
        """Make the list endpoint lie, until reset; a setting not given stays as it is (both checked first)."""
        if repeat is not KEEP and not isinstance(repeat, bool):
            raise ValueError("repeat must be true or false, got %r" % (repeat,))
        if total is not KEEP and total is not None and not (_is_whole(total) and total >= 0):
            raise ValueError("total must be a whole number of at least 0 or null, got %r" % (total,))
        if repeat is not KEEP:
            self.pager_repeat = repeat
        if total is not KEEP:
            self.pager_total = total

    def rename(self, names):
        """Give phones new serial names, any text (checked in full before any is changed)."""
        if not isinstance(names, dict) or not all(isinstance(n, str) or n is None for n in names.values()):
            raise ValueError("names must map phone IDs to text (or null), got %r" % (names,))
        missing = [phone_id for phone_id in names if phone_id not in self.phones]
        if missing:
            raise ValueError("no phone %s in the fleet" % ", ".join(missing))
        for phone_id, name in names.items():
            self.phones[phone_id]["serialName"] = name

    def reset_stats(self):
        self.requests = collections.Counter()
        self.codes = collections.Counter()
        self.arrivals = collections.defaultdict(collections.deque)
        self.busiest_minute = collections.Counter()
        self.status_reads = collections.Counter()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.over_cap = 0
        self.secret_leaks = 0
        self.user_agents = set()
        self.trace_ids = []
        self.bodies = []
        self.power_writes = collections.Counter()
        self.largest_write_batch = 0
        self.faults.clear()

    def stats(self):
        return {
            "requests": dict(self.requests),
            "total_requests": sum(self.requests.values()),
            "codes": {str(k): v for k, v in self.codes.items()},
            "peak_in_flight": self.peak_in_flight,
            "over_cap": self.over_cap,
            "busiest_minute": dict(self.busiest_minute),
            "status_reads": dict(self.status_reads),
            "secret_leaks": self.secret_leaks,
            "user_agents": sorted(self.user_agents),
            "trace_ids": list(self.trace_ids[-50:]),
            "phones": len(self.phones),
            "power_writes": dict(self.power_writes),
            "largest_write_batch": self.largest_write_batch,
        }

    def apply_transitions(self):
        now = time.monotonic()
        due = [t for t in self.transitions if t[0] <= now]
        self.transitions = [t for t in self.transitions if t[0] > now]
        for _when, phone_id, status in due:
            if phone_id in self.phones:
                self.phones[phone_id]["status"] = status

    def schedule(self, ids, status, on_read=None, after=None):
        """Change the status of `ids` on their `on_read`-th status read from now, or `after` seconds.

        A scripted phone moves only as scripted: a phone created `starting` no longer boots by itself.
        """
        if on_read is not None:
            if isinstance(on_read, bool) or not isinstance(on_read, int) or on_read < 1:
                raise ValueError("on_read must be a whole number of at least 1, got %r" % (on_read,))
            for phone_id in ids:
                self.read_transitions[phone_id].append([on_read, status])
            self.cold_boot.difference_update(ids)
        else:
            when = time.monotonic() + float(after or 0)
            self.transitions.extend((when, phone_id, status) for phone_id in ids)
            self.cold_boot.difference_update(ids)
            self.apply_transitions()

    def count_status_read(self, phone_id):
        """One status read of a phone: count it, and fire the read-counted changes now due."""
        self.status_reads[phone_id] += 1
        if phone_id in self.cold_boot:  # its first read: a phone created `starting` boots from now
            self.cold_boot.discard(phone_id)
            phone = self.phones.get(phone_id)
            if phone is not None and phone["status"] == 1 and not self.read_transitions.get(phone_id):
                self.read_transitions[phone_id].append([self.boot_reads, 0])
        steps = self.read_transitions.get(phone_id)
        if not steps:
            return
        for step in steps:
            step[0] -= 1
            if step[0] == 0 and phone_id in self.phones:
                self.phones[phone_id]["status"] = step[1]
        self.read_transitions[phone_id] = [step for step in steps if step[0] > 0]

    def configure_power(self, boot_reads=None, stop_reads=None, busy=(), idle=(), refuse=None):
        """Set how power writes behave: boot and stop length in status reads, busy phones, refusals."""
        if boot_reads is not None:
            self.boot_reads = max(1, int(boot_reads))
        if stop_reads is not None:
            self.stop_reads = max(0, int(stop_reads))
        self.busy.update(busy)
        self.busy.difference_update(idle)
        for kind, codes in (refuse or {}).items():
            self.refuse[kind].update((phone_id, int(code)) for phone_id, code in codes.items())

    def add_phones(self, specs):
        added = []
        for spec in specs:
            phone = make_phone(self.next_index, self.rng)
            self.next_index += 1
            phone.update(spec)
            self.phones[phone["id"]] = phone
            if phone.get("status") == 1:
                self.cold_boot.add(phone["id"])
            added.append(phone["id"])
        return added


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GeeLarkEmulator/1.0"

    def log_message(self, format, *args):  # noqa: A002 - the name is the base class's
        pass

    @property
    def state(self):
        return self.server.state

    def do_GET(self):
        self._answer_errors(self._get)

    def do_POST(self):
        self._answer_errors(self._post)

    def _answer_errors(self, handle):
        """Run a handler; an error in it is printed and answered with 500, not a dropped connection."""
        self._answered = False
        try:
            handle()
        except (ConnectionError, ssl.SSLError, socket.timeout):
            raise  # the client went away: nothing to answer
        except Exception as exc:
            sys.stderr.write("geelark emulator: error while handling %s %s:\n%s"
                             % (self.command, self.path, traceback.format_exc()))
            sys.stderr.flush()
            if self._answered:  # headers already sent: the connection cannot carry a second answer
                self.close_connection = True
                return
            self._send_json(500, {"error": "emulator error in %s %s: %s: %s"
                                  % (self.command, self.path, type(exc).__name__, exc)})

    def _get(self):
        if self.path == CONTROL_PREFIX + "stats":
            with self.state.lock:
                self._send_json(200, self.state.stats())
        else:
            self._send_json(404, {"error": "not found"})

    def _post(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.startswith(CONTROL_PREFIX):
            try:
                self._control(raw)
            except ControlError as exc:
                self._send_json(400, {"error": "%s: %s" % (self.path, exc)})
            return
        state = self.state
        with state.lock:
            state.in_flight += 1
            self._in_flight = True
            state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
            over_cap = bool(state.max_in_flight) and state.in_flight > state.max_in_flight
            if over_cap:
                state.over_cap += 1
                state.requests[self.path] += 1
                self._count_arrival()
            fault = None if over_cap else self._take_fault()
        try:
            if over_cap:  # refused at the door, at once, like a server shedding load
                self._envelope(self.headers.get("traceId") or "", 47002, "too many concurrent requests, try later")
                return
            if state.latency:
                time.sleep(state.latency)
            self._api(raw, fault)
        finally:
            self._leave()

    def _leave(self):
        """This request is no longer in flight: said before its answer is written, and once.

        A client may send its next request as soon as it has read an answer; counting the answered
        request until the write returned would make the cap depend on how fast this thread is
        scheduled, not on what the client did.
        """
        if getattr(self, "_in_flight", False):
            self._in_flight = False
            with self.state.lock:
                self.state.in_flight -= 1

    def _take_fault(self):
        """The fault this request plays: the first queued for its path, unless that one still skips."""
        for fault in self.state.faults:
            if fault.get("path") not in (None, self.path):
                continue
            if fault.get("skip", 0) > 0:
                fault["skip"] -= 1
                return None  # let through untouched, by later faults too: "the 2nd request fails" means that
            if fault.get("times", 1) > 1:
                fault["times"] -= 1
            else:
                self.state.faults.remove(fault)
            return fault
        return None

    def _api(self, raw, fault):
        state = self.state
        trace_id = self.headers.get("traceId") or ""
        with state.lock:
            state.requests[self.path] += 1
            self._count_arrival()
            self._check_leaks(raw)
            state.user_agents.add(self.headers.get("User-Agent", ""))
            state.trace_ids.append(trace_id)
            if len(state.bodies) < 20000:
                state.bodies.append((self.path, raw))
        if fault is not None and self._serve_fault(fault, trace_id):
            return
        try:
            if self.path not in API_PATHS:
                raise ApiFailure(40005, "resource not found")
            self._authenticate(trace_id)
            with state.lock:
                self._enforce_rate_limit()
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    raise ApiFailure(40001, "request body could not be read") from None
                if not isinstance(body, dict):
                    raise ApiFailure(40001, "request body could not be read")
                state.apply_transitions()
                if self.path in (START_PATH, STOP_PATH):
                    data = self._power(body)
                elif self.path in (CALLBACK_GET_PATH, CALLBACK_SET_PATH):
                    data = self._callback(body)
                else:
                    data = self._status(body, fault) if self.path == STATUS_PATH else self._list(body, fault)
        except ApiFailure as failure:
            self._envelope(trace_id, failure.code, failure.msg)
            return
        self._envelope(trace_id, 0, "success", data)

    def _count_arrival(self):
        now = time.monotonic()
        window = self.state.arrivals[self.path]
        window.append(now)
        while window and window[0] <= now - 60:
            window.popleft()
        self.state.busiest_minute[self.path] = max(self.state.busiest_minute[self.path], len(window))

    def _enforce_rate_limit(self):
        if self.state.rate_limit and len(self.state.arrivals[self.path]) > self.state.rate_limit:
            raise ApiFailure(40007, "request too frequent, the limit lifts within a minute")

    def _check_leaks(self, raw):
        secret = self.state.api_key
        if secret:
            header_text = "\n".join("%s: %s" % kv for kv in self.headers.items())
            if secret in header_text or secret.encode() in raw:
                self.state.secret_leaks += 1
        if self.state.token and self.state.token.encode() in raw:
            self.state.secret_leaks += 1

    def _authenticate(self, trace_id):
        state = self.state
        if not trace_id:
            raise ApiFailure(40002, "traceId is missing")
        authorization = self.headers.get("Authorization")
        if authorization is not None:
            if state.token and authorization == "Bearer " + state.token:
                return
            raise ApiFailure(40003, "token verification failed")
        app_id, ts, nonce, sign = (self.headers.get(h) for h in ("appId", "ts", "nonce", "sign"))
        if (state.app_id and state.api_key and app_id == state.app_id and ts and ts.isdigit()
                and nonce == trace_id[:6]
                and sign == expected_signature(app_id, trace_id, ts, nonce, state.api_key)):
            return
        raise ApiFailure(40003, "signature verification failed")

    def _status(self, body, fault=None):
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise ApiFailure(40004, "ids is required and must be a list of strings")
        if len(ids) > MAX_IDS:
            raise ApiFailure(40004, "ids must not hold more than %d entries" % MAX_IDS)
        failing = {}
        if fault is not None and fault.get("kind") == "fail_detail":
            failing = dict.fromkeys(fault["ids"], (fault.get("code", 42001), fault.get("msg", "env not found")))
        successes, failures = [], []
        for phone_id in ids:
            self.state.count_status_read(phone_id)
            phone = self.state.phones.get(phone_id)
            if phone_id in failing:
                failures.append({"code": failing[phone_id][0], "id": phone_id, "msg": failing[phone_id][1]})
            elif phone is None:
                failures.append({"code": 42001, "id": phone_id, "msg": "env not found"})
            else:
                successes.append({"id": phone_id, "serialName": phone["serialName"], "status": phone["status"]})
        shuffled = list(successes)
        self.state.rng.shuffle(shuffled)
        if len(shuffled) > 1 and shuffled == successes:
            shuffled.reverse()
        return {"totalAmount": len(ids), "successAmount": len(successes), "failAmount": len(failures),
                "successDetails": shuffled, "failDetails": failures}

    def _list(self, body, fault=None):
        ids = body.get("ids")
        page, size = body.get("page", 1), body.get("pageSize", 10)
        if ids:
            if not isinstance(ids, list) or len(ids) > MAX_IDS:
                raise ApiFailure(40004, "ids must be a list of at most %d entries" % MAX_IDS)
            page, size = 1, MAX_IDS
        for value in (page, size):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ApiFailure(40004, "page and pageSize must be integers")
        if page < 1 or not 1 <= size <= 100:
            raise ApiFailure(40008, "page or pageSize out of range")
        if any(body.get(key) not in (None, "", []) for key in _FILTER_FIELDS):
            selected = [p for p in self.state.phones.values() if _matches(p, body)]
        else:
            selected = list(self.state.phones.values())
        first = 0 if self.state.pager_repeat else (page - 1) * size
        chunk = selected[first:first + size]
        if fault is not None and fault.get("kind") == "omit":
            chunk = [p for p in chunk if p["id"] not in fault["ids"]]
        total = len(selected) if self.state.pager_total is None else self.state.pager_total
        return {"total": total, "page": page, "pageSize": size, "items": [_list_item(p) for p in chunk]}

    def _power(self, body):
        """Start or stop: validate, apply to each phone, answer per phone in successDetails / failDetails."""
        state = self.state
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise ApiFailure(40004, "ids is required and must be a list of strings")
        if len(ids) > MAX_POWER_IDS:
            raise ApiFailure(40004, "ids must not hold more than %d entries" % MAX_POWER_IDS)
        start = self.path == START_PATH
        if start and body.get("energySavingMode", 0) not in (0, 1):
            raise ApiFailure(40004, "energySavingMode must be 0 or 1")
        state.largest_write_batch = max(state.largest_write_batch, len(ids))
        successes, failures = [], []
        for phone_id in ids:
            state.power_writes[phone_id] += 1
            failure = self._power_one(phone_id, start)
            if failure is not None:
                failures.append({"code": failure[0], "id": phone_id, "msg": failure[1]})
            elif start:
                phone = state.phones[phone_id]
                successes.append({"id": phone_id, "chargingMethod": "Per-minute usage",
                                  "url": "https://live.geelark.invalid/open?token=%s%s&envName=%s"
                                         % (state.live_view_secret, phone_id[-6:], phone["serialName"])})
        data = {"totalAmount": len(ids), "successAmount": len(ids) - len(failures), "failAmount": len(failures),
                "failDetails": failures}
        if start:
            data["successDetails"] = successes
        return data

    def _power_one(self, phone_id, start):
        """Apply a start or stop to one phone; return (code, msg) when it is refused."""
        state = self.state
        phone = state.phones.get(phone_id)
        if phone is None:
            return 42001, "env not found"
        refused = state.refuse["start" if start else "stop"].get(phone_id)
        if refused is not None:
            return refused, "refused by the emulator's script"
        if start:
            if phone["status"] == 3:
                return 43004, "env is expired"
            if phone["status"] == 2:
                state.read_transitions.pop(phone_id, None)
                phone["status"] = 1
                state.schedule([phone_id], 0, on_read=state.boot_reads)
            return None
        if phone["status"] in (0, 1):
            if phone_id in state.busy:
                return 43005, "env is executing a task"
            state.read_transitions.pop(phone_id, None)
            state.schedule([phone_id], 2, on_read=state.stop_reads + 1)
        return None

    def _callback(self, body):
        """callback/set stores the one URL of the account; callback/get answers 51001 until one is set."""
        if self.path == CALLBACK_SET_PATH:
            url = body.get("url")
            if not isinstance(url, str) or not url:
                raise ApiFailure(40004, "url is required")
            self.state.callback_url = url
            return None
        if not self.state.callback_url:
            raise ApiFailure(51001, "callback url not set")
        return {"url": self.state.callback_url}

    def _serve_fault(self, fault, trace_id):
        """Play one scripted fault; return True when it answered (or dropped) the request."""
        kind = fault.get("kind")
        if kind == "mutate":
            with self.state.lock:
                self.state.add_phones(fault.get("add", []))
                for phone_id in fault.get("delete", []):
                    self.state.phones.pop(phone_id, None)
            return False
        if kind == "hang":
            time.sleep(fault.get("seconds", 5))
            return False
        if kind == "reset":
            self._drop_connection()
            return True
        if kind == "lose_answer":
            self._lost_answer = fault
            return False
        if kind in ("fail_detail", "omit"):  # shapes the normal answer (_status, _list)
            return False
        if kind == "drip":
            self._drip = fault
            return False
        if kind == "http":
            status = fault.get("status", 502)
            try:
                title = "%d %s" % (status, http.HTTPStatus(status).phrase)
            except ValueError:
                title = "%d Error" % status
            body = fault.get("body", "<html><body><h1>%s</h1></body></html>" % title).encode()
            self._send_raw(status, body, fault.get("content_type", "text/html"),
                           fault.get("headers", {}))
            return True
        if kind == "raw":
            body = bytes.fromhex(fault["hex"]) if "hex" in fault else fault.get("body", "").encode()
            self._send_raw(200, body, "application/json")
            return True
        if kind == "code":
            self._envelope(trace_id, fault["code"], fault.get("msg", "error"), fault.get("data"))
            return True
        raise ValueError("unknown fault kind %r" % kind)

    def _control(self, raw):
        state = self.state
        try:
            body = json.loads(raw.decode("utf-8") or "{}")
        except ValueError as exc:
            raise ControlError("the body is not JSON: %s" % exc) from None
        if self.path == CONTROL_PREFIX + "callbacks/send":  # sends a request: never under the lock
            _check_keys("callbacks/send", body, ("payload", "url", "auth", "ts_offset_ms", "tamper", "trace_id"),
                        required=("payload",))
            try:
                answer = send_callback(state, **body)
            except (TypeError, ValueError) as exc:
                raise ControlError("callbacks/send: %s" % exc) from None
            self._send_json(200, answer)
            return
        with state.lock:
            if self.path == CONTROL_PREFIX + "reset":
                _check_keys("reset", body, ())
                state.reset()
                answer = {"ok": True}
            elif self.path == CONTROL_PREFIX + "pager":
                _check_keys("pager", body, ("repeat", "total"))
                try:
                    state.set_pager(**body)
                except ValueError as exc:
                    raise ControlError("pager: %s" % exc) from None
                answer = {"ok": True}
            elif self.path == CONTROL_PREFIX + "phones/rename":
                _check_keys("phones/rename", body, ("names",), required=("names",))
                try:
                    state.rename(body["names"])
                except ValueError as exc:
                    raise ControlError(str(exc)) from None
                answer = {"ok": True}
            elif self.path == CONTROL_PREFIX + "config":
                _check_keys("config", body, CONFIG_CHECKS)
                for key, value in body.items():
                    if not CONFIG_CHECKS[key](value):
                        raise ControlError("config %s must be a number of at least 0, got %r" % (key, value))
                for key, value in body.items():
                    setattr(state, key, value)
                answer = {"ok": True}
            elif self.path == CONTROL_PREFIX + "faults":
                _check_keys("faults", body, ("faults",), required=("faults",))
                if not isinstance(body["faults"], list):
                    raise ControlError("faults must be a list of fault objects")
                state.faults.extend([check_fault(fault) for fault in body["faults"]])
                answer = {"queued": len(state.faults)}
            elif self.path == CONTROL_PREFIX + "phones/status":
                if not isinstance(body, dict) or ("on_read" in body and "after" in body):
                    raise ControlError("phones/status takes ids, status and one of on_read or after; got %s"
                                       % (sorted(body) if isinstance(body, dict) else body,))
                _check_keys("phones/status", body, ("ids", "status", "on_read", "after"), required=("ids", "status"))
                try:
                    state.schedule(body["ids"], int(body["status"]), on_read=body.get("on_read"),
                                   after=body.get("after"))
                except (TypeError, ValueError) as exc:
                    raise ControlError(str(exc)) from None
                answer = {"ok": True}
            elif self.path == CONTROL_PREFIX + "power":
                _check_keys("power", body, ("boot_reads", "stop_reads", "busy", "idle", "refuse"))
                try:
                    state.configure_power(**body)
                except (KeyError, TypeError, ValueError) as exc:
                    raise ControlError("power: %s" % exc) from None
                answer = {"ok": True}
            elif self.path == CONTROL_PREFIX + "phones/add":
                _check_keys("phones/add", body, ("phones",), required=("phones",))
                if not isinstance(body["phones"], list) or not all(isinstance(p, dict) for p in body["phones"]):
                    raise ControlError("phones must be a list of phone objects")
                answer = {"ids": state.add_phones(body["phones"])}
            elif self.path == CONTROL_PREFIX + "phones/delete":
                _check_keys("phones/delete", body, ("ids",), required=("ids",))
                if not isinstance(body["ids"], list):
                    raise ControlError("ids must be a list of phone IDs")
                for phone_id in body["ids"]:
                    state.phones.pop(phone_id, None)
                answer = {"ok": True}
            else:
                self._send_json(404, {"error": "not found"})
                return
        self._send_json(200, answer)

    def _drop_connection(self):
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _envelope(self, trace_id, code, msg, data=None):
        lost, self._lost_answer = getattr(self, "_lost_answer", None), None
        if lost is not None:  # the request was handled; its answer never reaches the client
            if "status" in lost:
                self._send_raw(lost["status"], b"<html><body>Bad Gateway</body></html>", "text/html")
            else:
                self._drop_connection()
            return
        with self.state.lock:
            self.state.codes[code] += 1
        envelope = {"traceId": trace_id, "code": code, "msg": msg}
        if data is not None:
            envelope["data"] = data
        self._send_json(200, envelope)

    def _send_json(self, status, payload):
        self._send_raw(status, json.dumps(payload).encode(), "application/json")

    def _send_raw(self, status, body, content_type, headers=None):
        drip, self._drip = getattr(self, "_drip", None), None
        self._answered = True
        self._leave()
        # A drip sends the answer behind JSON whitespace, one byte per interval, so the answer stays valid
        # and a client whose timeout only bounds each read waits the whole time.
        padding = 0
        if drip is not None:
            interval = drip.get("interval", DRIP_DEFAULTS["interval"])
            padding = int(drip.get("seconds", DRIP_DEFAULTS["seconds"]) / interval)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(padding + len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        for dummy in range(padding):
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(interval)
        self.wfile.write(body)


_FILTER_FIELDS = ("groupName", "serialName", "remark", "tags", "chargeMode", "openStatus", "ids", "serialNos")


def _matches(phone, body):
    # GeeLark sends null for empty fields: a phone may have "group": null, "tags": null, ...
    group = phone.get("group") if isinstance(phone.get("group"), dict) else {}
    tags = phone.get("tags") if isinstance(phone.get("tags"), list) else []
    if body.get("groupName") and group.get("name") != body["groupName"]:
        return False
    if body.get("serialName") and body["serialName"] not in (phone.get("serialName") or ""):
        return False
    if body.get("remark") and body["remark"] not in (phone.get("remark") or ""):
        return False
    if body.get("tags") and not set(body["tags"]) & set(t.get("name") for t in tags if isinstance(t, dict)):
        return False
    if body.get("chargeMode") is not None and phone.get("chargeMode") != body["chargeMode"]:
        return False
    if body.get("openStatus") is not None and (phone["status"] in (0, 1)) != (body["openStatus"] == 1):
        return False
    if body.get("ids") and phone["id"] not in body["ids"]:
        return False
    if body.get("serialNos") and phone.get("serialNo") not in body["serialNos"]:
        return False
    return True


def _list_item(phone):
    item = dict(phone)
    if item["status"] == 3:  # the list endpoint documents only 0-2; expiry shows on /phone/status
        item["status"] = 2
    return item


def send_callback(state, payload, url=None, auth="key", ts_offset_ms=0, tamper=False, trace_id=None, timeout=30):
    """POST one callback the way GeeLark does: JSON body, the key-scheme or token headers, nothing else."""
    with state.lock:
        url = url or state.callback_url
        token, app_id, api_key = state.token, state.app_id, state.api_key
    if not url:
        raise ValueError("no url given and no callback URL set")
    trace_id = trace_id or uuid.uuid4().hex.upper()
    headers = {"Content-Type": "application/json", "traceId": trace_id}
    if auth == "key":
        ts = str(int(time.time() * 1000) + int(ts_offset_ms))
        sign = expected_signature(app_id, trace_id, ts, trace_id[:6], api_key)
        if tamper:
            sign = sign[:-1] + ("0" if sign[-1] != "0" else "1")
        headers.update({"appId": app_id, "ts": ts, "nonce": trace_id[:6], "sign": sign})
    elif auth == "token":
        headers["Authorization"] = "Bearer " + (token + "x" if tamper else token)
    elif auth != "none":
        raise ValueError("auth must be key, token or none, got %r" % (auth,))
    if not url.startswith(("http://", "https://")):
        raise ValueError("url must be an http(s) URL, got %r" % (url,))
    request = urllib.request.Request(url, data=json.dumps(payload).encode(),  # noqa: S310 - checked just above
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - checked just above
            status, text = response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode("utf-8", "replace")
    return {"status": status, "body": text, "trace_id": trace_id}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that hangs up or refuses our certificate is part of the tests; anything else is shown.
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, socket.timeout)):
            super().handle_error(request, client_address)


class Emulator:
    """The emulator in a background thread of this process: `with Emulator(phones=10) as emu: emu.url`."""

    def __init__(self, phones=0, token=None, app_id=None, api_key=None, latency=0.0, rate_limit=0, seed=1,
                 host="127.0.0.1", port=0, fleet=None, ssl_context=None, max_in_flight=0):
        self.state = EmulatorState(fleet if fleet is not None else make_fleet(phones, seed), token=token,
                                   app_id=app_id, api_key=api_key, latency=latency, rate_limit=rate_limit, seed=seed,
                                   max_in_flight=max_in_flight)
        self.server = _Server((host, port), Handler)
        self.server.daemon_threads = True
        self.server.state = self.state
        self.scheme = "http"
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self._thread = None

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return "%s://%s:%d" % (self.scheme, host, port)

    def start(self):
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="geelark-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # Direct access for in-process tests; other processes use the /_emulator/ endpoints.
    def stats(self):
        with self.state.lock:
            return self.state.stats()

    def reset(self):
        """Zero the counters, drop queued faults, put the pager back (the fleet and power settings stay)."""
        with self.state.lock:
            self.state.reset()

    def set_pager(self, repeat=KEEP, total=KEEP):
        """Until reset: repeat=True serves page 1's items for every page; total=n claims n on every list answer
        (total=None: the true total again). A setting not given keeps its value."""
        with self.state.lock:
            self.state.set_pager(repeat=repeat, total=total)

    def rename(self, names):
        """Give phones new serial names: {id: any text}."""
        with self.state.lock:
            self.state.rename(names)

    def queue_faults(self, *faults):
        checked = [check_fault(fault) for fault in faults]
        with self.state.lock:
            self.state.faults.extend(checked)

    def request_bodies(self, path):
        """The JSON bodies of the API requests received for `path`, oldest first."""
        with self.state.lock:
            return [json.loads(raw) for p, raw in self.state.bodies if p == path]

    def set_status(self, ids, status, on_read=None):
        """Set the status now, or (on_read=k) from each phone's k-th status read on."""
        with self.state.lock:
            self.state.schedule(ids, status, on_read=on_read)

    def configure_power(self, **settings):
        """See EmulatorState.configure_power."""
        with self.state.lock:
            self.state.configure_power(**settings)

    def power_writes(self, phone_id):
        """How many start or stop calls have named this phone."""
        with self.state.lock:
            return self.state.power_writes[phone_id]

    def send_callback(self, payload, **options):
        """Send one GeeLark callback (see send_callback) and return its HTTP status, body and traceId."""
        return send_callback(self.state, payload, **options)

    def status_reads(self, phone_id):
        """How many times the status endpoint has been asked about this phone."""
        with self.state.lock:
            return self.state.status_reads[phone_id]

    def true_status(self):
        with self.state.lock:
            self.state.apply_transitions()
            return dict((i, p["status"]) for i, p in self.state.phones.items())


_CONTROL_HELP = """control endpoints (no auth, loopback only; JSON bodies; an unknown key is refused with 400):
  GET  /_emulator/stats          request counters per path, API codes answered, peak requests in
                                 flight, busiest minute per path, status reads per phone, secret leaks
  POST /_emulator/reset          {}  zero the counters, drop queued faults, put the pager back to the truth
  POST /_emulator/config         {"latency": seconds, "rate_limit": per_minute, "max_in_flight": n}
  POST /_emulator/faults         {"faults": [{"kind": KIND, ...}, ...]}  queued; each is played on one
                                 API request (of "path" only, when given). Every kind also takes
                                 "skip": n (let the next n requests of its path pass untouched, by
                                 later faults too, then play) and "times": n (play on n such requests
                                 in a row; default 1):
                                   http    status, body, headers, content_type: an HTTP answer as is
                                   reset   drop the connection
                                   hang    seconds: wait, then answer normally
                                   code    code (required), msg, data: an API envelope with that code
                                   raw     body or hex: a 200 answer with that body
                                   mutate  add (phone objects), delete (IDs): change the fleet, then answer
                                   lose_answer  status: apply a start or stop, then drop the connection
                                           (or answer that HTTP status): a write whose answer was lost
                                   fail_detail  ids (required), code (default 42001), msg (default "env not
                                           found"): a normal status answer, except those phones come back
                                           in failDetails with that code (status path only)
                                   omit    ids (required): a normal list answer without those phones in its
                                           items; total unchanged (list path only)
                                   drip    interval (default 1), seconds (default 60): send the headers, then
                                           one byte of JSON whitespace every interval seconds for seconds,
                                           then the normal answer
  POST /_emulator/pager          {"repeat": bool, "total": n or null}  until reset: repeat serves page 1's
                                 items for every page; total is claimed on every list answer (null: the
                                 true total); a setting not given stays as it is
  POST /_emulator/phones/status  {"ids": [...], "status": n, "on_read": k}  status n from each phone's
                                 k-th status read on; or {"ids": [...], "status": n, "after": s} after s seconds
  POST /_emulator/phones/add     {"phones": [{...}, ...]}  new phones; missing fields get sensible values
  POST /_emulator/phones/delete  {"ids": [...]}
  POST /_emulator/phones/rename  {"names": {"<id>": "<any text>"}}  new serial names (text or null)
  POST /_emulator/callbacks/send {"payload": {...}, "url", "auth": key|token|none, "ts_offset_ms", "tamper",
                                 "trace_id"}  send one GeeLark callback, signed as GeeLark signs them
  POST /_emulator/power          {"boot_reads": k, "stop_reads": k, "busy": [...], "idle": [...],
                                 "refuse": {"start" or "stop": {id: code}}}  how start and stop behave:
                                 boot and stop length in status reads, phones busy with a task (43005);
                                 phones added (or created) `starting` boot like started ones, counted
                                 from their first status read; a status set by phones/status stays as set

API endpoints (POST, authenticated like GeeLark's): /open/v1/phone/list, /open/v1/phone/status,
/open/v1/phone/start, /open/v1/phone/stop, /open/v1/callback/get, /open/v1/callback/set.
Example:  %(prog)s --phones 300 --token demo-token --url-file /tmp/geelark-url
"""


def build_parser():
    parser = argparse.ArgumentParser(
        description="A GeeLark Open API emulator on 127.0.0.1 for trying playbooks safely: a deterministic "
                    "fleet of phones behind /open/v1/phone/list, /status, /start and /stop.",
        epilog=_CONTROL_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phones", type=int, default=300, help="phones in the fleet (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1,
                        help="seed of the fleet's statuses, tags and device data (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--token", help="the Bearer token the API accepts (GEELARK_TOKEN)")
    parser.add_argument("--app-id", help="the app ID of key signature auth (GEELARK_APP_ID); goes with --api-key")
    parser.add_argument("--api-key", help="the API key of key signature auth (GEELARK_API_KEY)")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds added to every API answer (default: %(default)s)")
    parser.add_argument("--rate-limit", type=int, default=0,
                        help="requests per minute per API path before error 40007 (default: 0, no limit)")
    parser.add_argument("--max-in-flight", type=int, default=0,
                        help="answer 47002 (too many concurrent requests) above this many API requests in flight "
                             "(default: 0, no cap)")
    parser.add_argument("--url-file", help="write the base URL (http://127.0.0.1:PORT) to this file once listening")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    emulator = Emulator(phones=args.phones, token=args.token, app_id=args.app_id, api_key=args.api_key,
                        latency=args.latency, rate_limit=args.rate_limit, seed=args.seed, port=args.port,
                        max_in_flight=args.max_in_flight)
    if args.url_file:
        with open(args.url_file, "w") as handle:
            handle.write(emulator.url + "\n")
    print("GeeLark emulator with %d phones listening on %s" % (args.phones, emulator.url), flush=True)
    try:
        emulator.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.server.server_close()


if __name__ == "__main__":
    main()
