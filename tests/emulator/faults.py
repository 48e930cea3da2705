# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Faults: scripted misbehaviour, queued by the tests and played one per API request.

A fault may name the "path" it applies to, "skip": n (the next n requests of that path pass untouched,
by later faults too, then it plays) and "times": n (it plays on n such requests in a row; default 1).
An unknown kind, key or path, or a value of the wrong type, is refused (ControlError, HTTP 400).
Adding a kind is one entry in FAULT_KINDS and one player.
"""

from __future__ import annotations

import http
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, FrozenSet, NamedTuple, Optional

from .checks import ControlError, is_number, is_whole
from .routes import API_ROUTES, LIST_PATH, STATUS_PATH
from .state import EmulatorState

if TYPE_CHECKING:
    from .server import Handler

Fault = Dict[str, Any]


class FaultKind(NamedTuple):
    keys: FrozenSet[str]  # the keys of its own it takes, beside FAULT_COMMON_KEYS
    # Plays the fault on the request `handler` serves; True when that answered (or dropped) the request.
    play: Callable[[Handler, Fault, str], bool]
    help: str  # its keys and what it does, for --help
    required: FrozenSet[str] = frozenset()
    only_path: Optional[str] = None  # a kind that shapes one endpoint's answer plays only there


def _answers_normally(handler: Handler, fault: Fault, trace_id: str) -> bool:
    return False  # fail_detail and omit shape the normal answer (see phones.py)


def _play_mutate(handler: Handler, fault: Fault, trace_id: str) -> bool:
    with handler.state.lock:
        handler.state.add_phones(fault.get("add", []))
        for phone_id in fault.get("delete", []):
            handler.state.phones.pop(phone_id, None)
    return False


def _play_hang(handler: Handler, fault: Fault, trace_id: str) -> bool:
    time.sleep(fault.get("seconds", 5))
    return False


def _play_reset(handler: Handler, fault: Fault, trace_id: str) -> bool:
    handler.drop_connection()
    return True


def _play_lose_answer(handler: Handler, fault: Fault, trace_id: str) -> bool:
    handler.lost_answer = fault  # the request is handled, then its envelope is lost (Handler.envelope)
    return False


def _play_drip(handler: Handler, fault: Fault, trace_id: str) -> bool:
    handler.drip = fault  # the answer goes out slowly (Handler.send_raw)
    return False


def _play_http(handler: Handler, fault: Fault, trace_id: str) -> bool:
    status = fault.get("status", 502)
    try:
        title = "%d %s" % (status, http.HTTPStatus(status).phrase)
    except ValueError:
        title = "%d Error" % status
    body = fault.get("body", "<html><body><h1>%s</h1></body></html>" % title).encode()
    handler.send_raw(status, body, fault.get("content_type", "text/html"), fault.get("headers", {}))
    return True


def _play_raw(handler: Handler, fault: Fault, trace_id: str) -> bool:
    body = bytes.fromhex(fault["hex"]) if "hex" in fault else fault.get("body", "").encode()
    handler.send_raw(200, body, "application/json")
    return True


def _play_code(handler: Handler, fault: Fault, trace_id: str) -> bool:
    handler.envelope(trace_id, fault["code"], fault.get("msg", "error"), fault.get("data"))
    return True


def _keys(*names: str) -> FrozenSet[str]:
    return frozenset(names)


FAULT_KINDS: Dict[str, FaultKind] = {
    "http": FaultKind(_keys("status", "body", "headers", "content_type"), _play_http,
                      "status, body, headers, content_type: an HTTP answer as is"),
    "reset": FaultKind(_keys(), _play_reset, "drop the connection"),
    "hang": FaultKind(_keys("seconds"), _play_hang, "seconds: wait, then answer normally"),
    "code": FaultKind(_keys("code", "msg", "data"), _play_code,
                      "code (required), msg, data: an API envelope with that code", required=_keys("code")),
    "raw": FaultKind(_keys("body", "hex"), _play_raw, "body or hex: a 200 answer with that body"),
    "mutate": FaultKind(_keys("add", "delete"), _play_mutate,
                        "add (phone objects), delete (IDs): change the fleet, then answer"),
    "lose_answer": FaultKind(_keys("status"), _play_lose_answer,
                             "status: apply the request (a start, stop, app install...), then drop the "
                             "connection (or answer that HTTP status): a write whose answer was lost"),
    "fail_detail": FaultKind(_keys("ids", "code", "msg"), _answers_normally,
                             'ids (required), code (default 42001), msg (default "env not found"): a normal status '
                             "answer, except those phones come back in failDetails with that code (status path "
                             "only)", required=_keys("ids"), only_path=STATUS_PATH),
    "omit": FaultKind(_keys("ids"), _answers_normally,
                      "ids (required): a normal list answer without those phones in its items; total unchanged "
                      "(list path only)", required=_keys("ids"), only_path=LIST_PATH),
    "drip": FaultKind(_keys("interval", "seconds"), _play_drip,
                      "interval (default 1), seconds (default 60): send the headers, then one byte of JSON "
                      "whitespace every interval seconds for seconds, then the normal answer"),
}
# Each fault kind and the keys it takes; "path" (the API path it applies to) goes with every kind.
FAULT_KEYS = {name: set(kind.keys) for name, kind in FAULT_KINDS.items()}
# Keys every kind takes: the API path it applies to, requests to let pass first, requests to play on.
FAULT_COMMON_KEYS = {"path", "skip", "times"}
FAULT_REQUIRED = {name: set(kind.required) for name, kind in FAULT_KINDS.items() if kind.required}
FAULT_ONLY_PATH = {name: kind.only_path for name, kind in FAULT_KINDS.items() if kind.only_path}
# Checks of fault values, each with what it asks for (a fault kind's own keys, e.g. http's status, go unchecked:
# the tests may want any value there).
FAULT_VALUE_CHECKS = {
    "skip": (lambda value: is_whole(value) and value >= 0, "a whole number of at least 0"),
    "times": (lambda value: is_whole(value) and value >= 1, "a whole number of at least 1"),
    "ids": (lambda value: isinstance(value, list) and all(isinstance(i, str) for i in value),
            "a list of phone ID strings"),
    "interval": (lambda value: is_number(value) and value > 0, "a number above 0 (seconds)"),
    "seconds": (lambda value: is_number(value) and value >= 0, "a number of at least 0 (seconds)"),
}
DRIP_DEFAULTS = {"interval": 1.0, "seconds": 60.0}


def check_fault(fault: Any) -> Fault:
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
    if "path" in fault and fault["path"] not in API_ROUTES:
        raise ControlError("fault path %r is not an API path of the emulator (%s)"
                           % (fault["path"], ", ".join(API_ROUTES)))
    only = FAULT_ONLY_PATH.get(kind)
    if only is not None and fault.get("path", only) != only:
        raise ControlError("fault kind %r plays only on path %s, got %r" % (kind, only, fault["path"]))
    for key, (check, wanted) in FAULT_VALUE_CHECKS.items():
        if key in fault and not check(fault[key]):
            raise ControlError("fault %s must be %s, got %r" % (key, wanted, fault[key]))
    if kind == "fail_detail" and "code" in fault and not is_whole(fault["code"]):
        raise ControlError("fault code must be a whole number (an API code), got %r" % (fault["code"],))
    # A copy: the queue counts skip and times down in it, never in the caller's dict.
    checked = dict(fault)
    if only is not None:
        checked["path"] = only
    return checked


def take_fault(state: EmulatorState, path: str) -> Optional[Fault]:
    """The fault a request of `path` plays: the first queued for its path, unless that one still skips."""
    for fault in state.faults:
        if fault.get("path") not in (None, path):
            continue
        if fault.get("skip", 0) > 0:
            fault["skip"] -= 1
            return None  # let through untouched, by later faults too: "the 2nd request fails" means that
        if fault.get("times", 1) > 1:
            fault["times"] -= 1
        else:
            state.faults.remove(fault)
        return fault
    return None


def play_fault(handler: Handler, fault: Fault, trace_id: str) -> bool:
    """Play one queued fault; return True when it answered (or dropped) the request."""
    name = fault.get("kind")
    kind = FAULT_KINDS.get(name) if isinstance(name, str) else None
    if kind is None:  # only a fault that skipped check_fault (a test reaching into the queue) gets here
        raise ValueError("unknown fault kind %r" % (name,))
    return kind.play(handler, fault, trace_id)
