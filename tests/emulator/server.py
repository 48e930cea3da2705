# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The HTTP side: one Handler per connection, dispatching API requests by the route table and control
requests by the control table.

An API request is counted, may be refused at the door (max_in_flight: 47002), plays the fault queued
for its path, then passes auth, the rate limit (40007) and the JSON body check (40001) before its
route's handler runs. An error inside the emulator is printed to stderr with its traceback and
answered with HTTP 500 and a JSON {"error": ...}; it never becomes a silently dropped connection.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping, Optional

from .api import ApiCall, ApiFailure
from .auth import authenticate, count_leaks
from .checks import ControlError
from .control import CONTROL_PREFIX, control_for, run_control
from .faults import DRIP_DEFAULTS, Fault, play_fault, take_fault
from .routes import API_ROUTES
from .state import EmulatorState


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GeeLarkEmulator/1.0"
    # Set by a fault for the rest of this request (faults.py); they live on the handler, which serves
    # every request of one keep-alive connection, until the answer they shape is sent.
    lost_answer: Optional[Fault] = None
    drip: Optional[Fault] = None

    def log_message(self, format, *args):  # noqa: A002 - the name is the base class's
        pass

    @property
    def state(self) -> EmulatorState:
        return self.server.state  # type: ignore[attr-defined]

    def do_GET(self):
        self._answer_errors(self._get)

    def do_POST(self):
        self._answer_errors(self._post)

    def _answer_errors(self, handle: Callable[[], None]) -> None:
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
            self.send_json(500, {"error": "emulator error in %s %s: %s: %s"
                                 % (self.command, self.path, type(exc).__name__, exc)})

    def _get(self) -> None:
        control = control_for("GET", self.path)
        if control is None:
            self.send_json(404, {"error": "not found"})
            return
        self.send_json(200, run_control(control, self.state, {}))

    def _post(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.startswith(CONTROL_PREFIX):
            try:
                self._control(raw)
            except ControlError as exc:
                self.send_json(400, {"error": "%s: %s" % (self.path, exc)})
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
            fault = None if over_cap else take_fault(state, self.path)
        try:
            if over_cap:  # refused at the door, at once, like a server shedding load
                self.envelope(self.headers.get("traceId") or "", 47002, "too many concurrent requests, try later")
                return
            if state.latency:
                time.sleep(state.latency)
            self._api(raw, fault)
        finally:
            self._leave()

    def _control(self, raw: bytes) -> None:
        try:
            body = json.loads(raw.decode("utf-8") or "{}")
        except ValueError as exc:
            raise ControlError("the body is not JSON: %s" % exc) from None
        control = control_for("POST", self.path)
        if control is None:
            self.send_json(404, {"error": "not found"})
            return
        self.send_json(200, run_control(control, self.state, body))

    def _leave(self) -> None:
        """This request is no longer in flight: said before its answer is written, and once.

        A client may send its next request as soon as it has read an answer; counting the answered
        request until the write returned would make the cap depend on how fast this thread is
        scheduled, not on what the client did.
        """
        if getattr(self, "_in_flight", False):
            self._in_flight = False
            with self.state.lock:
                self.state.in_flight -= 1

    def _api(self, raw: bytes, fault: Optional[Fault]) -> None:
        state = self.state
        trace_id = self.headers.get("traceId") or ""
        with state.lock:
            state.requests[self.path] += 1
            self._count_arrival()
            count_leaks(state, self.headers, raw)
            state.user_agents.add(self.headers.get("User-Agent", ""))
            state.trace_ids.append(trace_id)
            if len(state.bodies) < 20000:
                state.bodies.append((self.path, raw))
        if fault is not None and play_fault(self, fault, trace_id):
            return
        try:
            route = API_ROUTES.get(self.path)
            if route is None:
                raise ApiFailure(40005, "resource not found")
            authenticate(state, self.headers, trace_id)
            with state.lock:
                self._enforce_rate_limit()
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    raise ApiFailure(40001, "request body could not be read") from None
                if not isinstance(body, dict):
                    raise ApiFailure(40001, "request body could not be read")
                state.apply_transitions()
                data = route.handler(ApiCall(state, body, fault))
        except ApiFailure as failure:
            self.envelope(trace_id, failure.code, failure.msg)
            return
        self.envelope(trace_id, 0, "success", data)

    def _count_arrival(self) -> None:
        now = time.monotonic()
        window = self.state.arrivals[self.path]
        window.append(now)
        while window and window[0] <= now - 60:
            window.popleft()
        self.state.busiest_minute[self.path] = max(self.state.busiest_minute[self.path], len(window))

    def _enforce_rate_limit(self) -> None:
        if self.state.rate_limit and len(self.state.arrivals[self.path]) > self.state.rate_limit:
            raise ApiFailure(40007, "request too frequent, the limit lifts within a minute")

    def drop_connection(self) -> None:
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def envelope(self, trace_id: str, code: int, msg: str, data: Any = None) -> None:
        """Answer in GeeLark's envelope, unless a lose_answer fault swallows it."""
        lost, self.lost_answer = self.lost_answer, None
        if lost is not None:  # the request was handled; its answer never reaches the client
            if "status" in lost:
                self.send_raw(lost["status"], b"<html><body>Bad Gateway</body></html>", "text/html")
            else:
                self.drop_connection()
            return
        with self.state.lock:
            self.state.codes[code] += 1
        envelope = {"traceId": trace_id, "code": code, "msg": msg}
        if data is not None:
            envelope["data"] = data
        self.send_json(200, envelope)

    def send_json(self, status: int, payload: Any) -> None:
        self.send_raw(status, json.dumps(payload).encode(), "application/json")

    def send_raw(self, status: int, body: bytes, content_type: str, headers: Optional[Mapping[str, Any]] = None
                 ) -> None:
        drip, self.drip = self.drip, None
        self._answered = True
        self._leave()
        # A drip sends the answer behind JSON whitespace, one byte per interval, so the answer stays valid
        # and a client whose timeout only bounds each read waits the whole time.
        padding = 0
        interval = DRIP_DEFAULTS["interval"]
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


class Server(ThreadingHTTPServer):
    """The threaded HTTP server carrying the state its handlers share."""

    daemon_threads = True
    # socketserver's default backlog of 5 overflows when a client opens its 32 connections at once on a
    # busy machine: the kernel then drops the handshake's last step and the client's request meets a
    # reset, a lost answer the API itself would not have caused.
    request_queue_size = 256

    def __init__(self, address: Any, state: EmulatorState) -> None:
        super().__init__(address, Handler)
        self.state = state

    def handle_error(self, request, client_address):
        # A client that hangs up or refuses our certificate is part of the tests; anything else is shown.
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, socket.timeout)):
            super().handle_error(request, client_address)
