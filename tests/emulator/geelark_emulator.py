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
  POST /_emulator/reset            zero the counters and drop queued faults
  POST /_emulator/config           {"latency": s, "rate_limit": per_minute, "max_in_flight": n}
  POST /_emulator/faults           {"faults": [{"kind": ...}, ...]} queued, one per API request
  POST /_emulator/phones/status    {"ids": [...], "status": n, "after": s} change status later
  POST /_emulator/phones/add       {"phones": [{...}, ...]}   add phones (fields default sensibly)
  POST /_emulator/phones/delete    {"ids": [...]}

Fault kinds: http (status, body, headers), reset (drop the connection), hang (seconds, then
answer), code (an API code with msg and data), raw (a body as is), mutate (add / delete phones,
then answer normally). A fault may name the "path" it applies to.

Run it by hand:  python tests/emulator/geelark_emulator.py --phones 300 --token demo-token
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import random
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATUS_PATH = "/open/v1/phone/status"
LIST_PATH = "/open/v1/phone/list"
CONTROL_PREFIX = "/_emulator/"
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
        self.transitions = []
        self.next_index = len(phones)
        self.reset_stats()

    def reset_stats(self):
        self.requests = collections.Counter()
        self.codes = collections.Counter()
        self.arrivals = collections.defaultdict(collections.deque)
        self.busiest_minute = collections.Counter()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.over_cap = 0
        self.secret_leaks = 0
        self.user_agents = set()
        self.trace_ids = []
        self.bodies = []
        self.faults.clear()

    def stats(self):
        return {
            "requests": dict(self.requests),
            "total_requests": sum(self.requests.values()),
            "codes": {str(k): v for k, v in self.codes.items()},
            "peak_in_flight": self.peak_in_flight,
            "over_cap": self.over_cap,
            "busiest_minute": dict(self.busiest_minute),
            "secret_leaks": self.secret_leaks,
            "user_agents": sorted(self.user_agents),
            "trace_ids": list(self.trace_ids[-50:]),
            "phones": len(self.phones),
        }

    def apply_transitions(self):
        now = time.monotonic()
        due = [t for t in self.transitions if t[0] <= now]
        self.transitions = [t for t in self.transitions if t[0] > now]
        for _when, phone_id, status in due:
            if phone_id in self.phones:
                self.phones[phone_id]["status"] = status

    def add_phones(self, specs):
        added = []
        for spec in specs:
            phone = make_phone(self.next_index, self.rng)
            self.next_index += 1
            phone.update(spec)
            self.phones[phone["id"]] = phone
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
        if self.path == CONTROL_PREFIX + "stats":
            with self.state.lock:
                self._send_json(200, self.state.stats())
        else:
            self._send_json(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.startswith(CONTROL_PREFIX):
            self._control(raw)
            return
        state = self.state
        with state.lock:
            state.in_flight += 1
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
            with state.lock:
                state.in_flight -= 1

    def _take_fault(self):
        for fault in list(self.state.faults):
            if fault.get("path") in (None, self.path):
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
            if self.path not in (STATUS_PATH, LIST_PATH):
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
                data = self._status(body) if self.path == STATUS_PATH else self._list(body)
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

    def _status(self, body):
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise ApiFailure(40004, "ids is required and must be a list of strings")
        if len(ids) > MAX_IDS:
            raise ApiFailure(40004, "ids must not hold more than %d entries" % MAX_IDS)
        successes, failures = [], []
        for phone_id in ids:
            phone = self.state.phones.get(phone_id)
            if phone is None:
                failures.append({"code": 42001, "id": phone_id, "msg": "env not found"})
            else:
                successes.append({"id": phone_id, "serialName": phone["serialName"], "status": phone["status"]})
        shuffled = list(successes)
        self.state.rng.shuffle(shuffled)
        if len(shuffled) > 1 and shuffled == successes:
            shuffled.reverse()
        return {"totalAmount": len(ids), "successAmount": len(successes), "failAmount": len(failures),
                "successDetails": shuffled, "failDetails": failures}

    def _list(self, body):
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
        chunk = selected[(page - 1) * size:page * size]
        return {"total": len(selected), "page": page, "pageSize": size, "items": [_list_item(p) for p in chunk]}

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
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return True
        if kind == "http":
            body = fault.get("body", "<html><body><h1>502 Bad Gateway</h1></body></html>").encode()
            self._send_raw(fault.get("status", 502), body, fault.get("content_type", "text/html"),
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
        body = json.loads(raw.decode() or "{}")
        with state.lock:
            if self.path == CONTROL_PREFIX + "reset":
                state.reset_stats()
                answer = {"ok": True}
            elif self.path == CONTROL_PREFIX + "config":
                for key in ("latency", "rate_limit", "max_in_flight"):
                    if key in body:
                        setattr(state, key, body[key])
                answer = {"ok": True}
            elif self.path == CONTROL_PREFIX + "faults":
                state.faults.extend(body.get("faults", []))
                answer = {"queued": len(state.faults)}
            elif self.path == CONTROL_PREFIX + "phones/status":
                when = time.monotonic() + float(body.get("after", 0))
                state.transitions.extend((when, i, int(body["status"])) for i in body["ids"])
                state.apply_transitions()
                answer = {"ok": True}
            elif self.path == CONTROL_PREFIX + "phones/add":
                answer = {"ids": state.add_phones(body.get("phones", []))}
            elif self.path == CONTROL_PREFIX + "phones/delete":
                for phone_id in body.get("ids", []):
                    state.phones.pop(phone_id, None)
                answer = {"ok": True}
            else:
                self._send_json(404, {"error": "not found"})
                return
        self._send_json(200, answer)

    def _envelope(self, trace_id, code, msg, data=None):
        with self.state.lock:
            self.state.codes[code] += 1
        envelope = {"traceId": trace_id, "code": code, "msg": msg}
        if data is not None:
            envelope["data"] = data
        self._send_json(200, envelope)

    def _send_json(self, status, payload):
        self._send_raw(status, json.dumps(payload).encode(), "application/json")

    def _send_raw(self, status, body, content_type, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        self.wfile.write(body)


_FILTER_FIELDS = ("groupName", "serialName", "remark", "tags", "chargeMode", "openStatus", "ids", "serialNos")


def _matches(phone, body):
    if body.get("groupName") and phone["group"]["name"] != body["groupName"]:
        return False
    if body.get("serialName") and body["serialName"] not in phone["serialName"]:
        return False
    if body.get("remark") and body["remark"] not in phone["remark"]:
        return False
    if body.get("tags") and not set(body["tags"]) & set(t["name"] for t in phone["tags"]):
        return False
    if body.get("chargeMode") is not None and phone["chargeMode"] != body["chargeMode"]:
        return False
    if body.get("openStatus") is not None and (phone["status"] in (0, 1)) != (body["openStatus"] == 1):
        return False
    if body.get("ids") and phone["id"] not in body["ids"]:
        return False
    if body.get("serialNos") and phone["serialNo"] not in body["serialNos"]:
        return False
    return True


def _list_item(phone):
    item = dict(phone)
    if item["status"] == 3:  # the list endpoint documents only 0-2; expiry shows on /phone/status
        item["status"] = 2
    return item


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that hangs up or refuses our certificate is part of the tests


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
        with self.state.lock:
            self.state.reset_stats()

    def queue_faults(self, *faults):
        with self.state.lock:
            self.state.faults.extend(faults)

    def request_bodies(self, path):
        """The JSON bodies of the API requests received for `path`, oldest first."""
        with self.state.lock:
            return [json.loads(raw) for p, raw in self.state.bodies if p == path]

    def set_status(self, ids, status, after=0.0):
        with self.state.lock:
            when = time.monotonic() + after
            self.state.transitions.extend((when, i, status) for i in ids)
            self.state.apply_transitions()

    def true_status(self):
        with self.state.lock:
            self.state.apply_transitions()
            return dict((i, p["status"]) for i, p in self.state.phones.items())


def main(argv=None):
    parser = argparse.ArgumentParser(description="GeeLark Open API emulator (loopback only)")
    parser.add_argument("--phones", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token")
    parser.add_argument("--app-id")
    parser.add_argument("--api-key")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API answer")
    parser.add_argument("--rate-limit", type=int, default=0, help="requests per minute per API (0: none)")
    parser.add_argument("--max-in-flight", type=int, default=0,
                        help="answer 47002 above this many requests in flight (0: no cap)")
    parser.add_argument("--url-file", help="write the base URL here once listening")
    args = parser.parse_args(argv)
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
