# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The control routes under /_emulator/ (no auth; loopback only): one entry per route in CONTROLS.

Each takes a JSON object; an unknown key, a missing required one or a wrong value is refused with
HTTP 400 and changes nothing. A handler gets the state and the checked body (with the state's lock
held, unless the entry says otherwise) and returns the JSON answer.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple

from .adb import sync_listeners
from .callbacks import send_callback
from .checks import ControlError, check_keys, is_number, is_whole
from .faults import check_fault
from .state import EmulatorState

CONTROL_PREFIX = "/_emulator/"
OK = {"ok": True}
# The settings POST /_emulator/config may change, each with the check its value must pass.
CONFIG_CHECKS = {
    "latency": lambda value: is_number(value) and value >= 0,
    "rate_limit": lambda value: is_whole(value) and value >= 0,
    "max_in_flight": lambda value: is_whole(value) and value >= 0,
}
Body = Dict[str, Any]


class Control(NamedTuple):
    name: str  # the path below /_emulator/
    handler: Callable[[EmulatorState, Body], Any]
    usage: str  # the body it takes, for --help
    help: str  # what it does, for --help
    keys: Tuple[str, ...] = ()
    required: Tuple[str, ...] = ()
    one_of: Tuple[str, ...] = ()  # keys of which at most one may be given
    method: str = "POST"
    locked: bool = True  # run under the state's lock; a route that sends a request must not


def _stats(state: EmulatorState, body: Body) -> Any:
    return state.stats()


def _reset(state: EmulatorState, body: Body) -> Any:
    state.reset()
    return OK


def _config(state: EmulatorState, body: Body) -> Any:
    for key, value in body.items():
        if not CONFIG_CHECKS[key](value):
            raise ControlError("config %s must be a number of at least 0, got %r" % (key, value))
    for key, value in body.items():
        setattr(state, key, value)
    return OK


def _faults(state: EmulatorState, body: Body) -> Any:
    if not isinstance(body["faults"], list):
        raise ControlError("faults must be a list of fault objects")
    state.faults.extend([check_fault(fault) for fault in body["faults"]])
    return {"queued": len(state.faults)}


def _pager(state: EmulatorState, body: Body) -> Any:
    try:
        state.set_pager(**body)
    except ValueError as exc:
        raise ControlError("pager: %s" % exc) from None
    return OK


def _phones_status(state: EmulatorState, body: Body) -> Any:
    try:
        state.schedule(body["ids"], int(body["status"]), on_read=body.get("on_read"), after=body.get("after"))
    except (TypeError, ValueError) as exc:
        raise ControlError(str(exc)) from None
    return OK


def _phones_add(state: EmulatorState, body: Body) -> Any:
    if not isinstance(body["phones"], list) or not all(isinstance(p, dict) for p in body["phones"]):
        raise ControlError("phones must be a list of phone objects")
    return {"ids": state.add_phones(body["phones"])}


def _phones_delete(state: EmulatorState, body: Body) -> Any:
    if not isinstance(body["ids"], list):
        raise ControlError("ids must be a list of phone IDs")
    for phone_id in body["ids"]:
        state.phones.pop(phone_id, None)
    return OK


def _phones_rename(state: EmulatorState, body: Body) -> Any:
    try:
        state.rename(body["names"])
    except ValueError as exc:
        raise ControlError(str(exc)) from None
    return OK


def _callbacks_send(state: EmulatorState, body: Body) -> Any:
    try:
        return send_callback(state, **body)
    except (TypeError, ValueError) as exc:
        raise ControlError("callbacks/send: %s" % exc) from None


def _power(state: EmulatorState, body: Body) -> Any:
    try:
        state.configure_power(**body)
    except (KeyError, TypeError, ValueError) as exc:
        raise ControlError("power: %s" % exc) from None
    return OK


def _book_control(name: str, apply: Callable[[EmulatorState, Body], Any]) -> Callable[[EmulatorState, Body], Any]:
    """A control that changes the app book: a value it refuses is a 400 naming the control."""
    def control(state: EmulatorState, body: Body) -> Any:
        try:
            apply(state, body)
        except ValueError as exc:
            raise ControlError("%s: %s" % (name, exc)) from None
        return OK
    return control


_apps_set = _book_control("apps/set", lambda state, body: state.app_book.set_rows(state.phones, body["phones"]))
_apps_configure = _book_control("apps/configure", lambda state, body: state.app_book.configure(**body))
_apps_catalogue = _book_control("apps/catalogue", lambda state, body: state.app_book.set_catalogue(body["apps"]))
_apps_team = _book_control("apps/team", lambda state, body: state.app_book.set_team_apps(body["items"]))


def _apps_of(state: EmulatorState, body: Body) -> Any:
    phone = state.phones.get(body["id"]) if isinstance(body["id"], str) else None
    if phone is None:
        raise ControlError("apps/of: no phone %r in the fleet" % (body["id"],))
    return {"apps": [dict(row) for row in phone.get("apps", {}).values()]}


APP_SETTINGS = ("install_reads", "uninstall_reads", "fail", "refuse", "keep_uninstalled", "list_needs_running")
ADB_SETTINGS = ("enabled", "disabled", "android", "enable_reads", "auth", "lapse", "rotate", "shell_fail")


def _adb(state: EmulatorState, body: Body) -> Any:
    try:
        state.devices.configure(state.phones, **body)
    except ValueError as exc:
        raise ControlError("adb: %s" % exc) from None
    sync_listeners(state)
    return OK


def _device_of(state: EmulatorState, name: str, body: Body) -> Any:
    phone = state.phones.get(body["id"]) if isinstance(body["id"], str) else None
    if phone is None:
        raise ControlError("%s: no phone %r in the fleet" % (name, body["id"]))
    if "path" in body and not (isinstance(body["path"], str) and body["path"].startswith("/")):
        raise ControlError("%s: path must be an absolute path on the phone, got %r" % (name, body["path"]))
    return state.devices.of(phone)


def _adb_of(state: EmulatorState, body: Body) -> Any:
    device = _device_of(state, "adb/of", body)
    return {"android": device.android, "enabled": device.adb_enabled, "port": device.port,
            "logged_in": device.logged_in, "pwd": device.pwd, "enable_reads_left": device.enable_reads_left}


def _adb_file(state: EmulatorState, body: Body) -> Any:
    node = _device_of(state, "adb/file", body).nodes.get(body["path"])
    if node is None or node.kind != "f":
        return {"data_base64": None, "mode": None}
    return {"data_base64": base64.b64encode(bytes(node.data)).decode("ascii"), "mode": node.mode}


def _adb_put(state: EmulatorState, body: Body) -> Any:
    device = _device_of(state, "adb/put", body)
    mode = body.get("mode", 0o644)
    if not (is_whole(mode) and 0 <= mode <= 0o7777):
        raise ControlError("adb/put: mode must be a whole number 0-4095 (e.g. 420 for 0644), got %r" % (mode,))
    try:
        data = base64.b64decode(body["data_base64"], validate=True)
        device.put_file(body["path"], data, mode)
    except (TypeError, ValueError, binascii.Error) as exc:
        raise ControlError("adb/put: %s" % exc) from None
    return OK


CONTROLS = (
    Control("stats", _stats, "", "request counters per path, API codes answered, peak requests in flight, busiest "
            "minute per path, status reads per phone, secret leaks", method="GET"),
    Control("reset", _reset, "{}", "zero the counters, drop queued faults, put the pager back to the truth"),
    Control("config", _config, '{"latency": seconds, "rate_limit": per_minute, "max_in_flight": n}',
            "", keys=tuple(CONFIG_CHECKS)),
    Control("faults", _faults, '{"faults": [{"kind": KIND, ...}, ...]}',
            'queued; each is played on one API request (of "path" only, when given). Every kind also takes '
            '"skip": n (let the next n requests of its path pass untouched, by later faults too, then play) and '
            '"times": n (play on n such requests in a row; default 1):', keys=("faults",), required=("faults",)),
    Control("pager", _pager, '{"repeat": bool, "total": n or null}',
            "until reset: repeat serves page 1's items for every page; total is claimed on every list answer "
            "(null: the true total); a setting not given stays as it is", keys=("repeat", "total")),
    Control("phones/status", _phones_status, '{"ids": [...], "status": n, "on_read": k}',
            'status n from each phone\'s k-th status read on (k=1: the next read); or {"ids": [...], "status": n, '
            '"after": s} after s seconds (for people; tests move phones by read count, which does not depend on '
            "timing)", keys=("ids", "status", "on_read", "after"), required=("ids", "status"),
            one_of=("on_read", "after")),
    Control("phones/add", _phones_add, '{"phones": [{...}, ...]}', "new phones; missing fields get sensible values",
            keys=("phones",), required=("phones",)),
    Control("phones/delete", _phones_delete, '{"ids": [...]}', "", keys=("ids",), required=("ids",)),
    Control("phones/rename", _phones_rename, '{"names": {"<id>": "<any text>"}}', "new serial names (text or null)",
            keys=("names",), required=("names",)),
    Control("callbacks/send", _callbacks_send,
            '{"payload": {...}, "url", "auth": key|token|none, "ts_offset_ms", "tamper", "trace_id"}',
            "send one GeeLark callback, signed as GeeLark signs them, to url (default: the URL set with "
            "callback/set); answers its HTTP status, body and traceId",
            keys=("payload", "url", "auth", "ts_offset_ms", "tamper", "trace_id"), required=("payload",), locked=False),
    Control("power", _power, '{"boot_reads": k, "stop_reads": k, "busy": [...], "idle": [...], '
            '"refuse": {"start" or "stop": {id: code}}}',
            "how start and stop behave: boot and stop length in status reads, phones busy with a task (43005); "
            "phones added (or created) `starting` boot like started ones, counted from their first status read; "
            "a status set by phones/status stays as set", keys=("boot_reads", "stop_reads", "busy", "idle", "refuse")),
    Control("apps/set", _apps_set, '{"phones": {"<id>": {"<package>": {"versionName": "36.4.0", "installStatus": 1} '
            "or null}}}", "set app rows directly (null removes one); the catalogue fills appVersionId, versionCode, "
            "appName and appId from versionName (or appVersionId; neither: the newest); an app it does not offer "
            "needs appVersionId and versionCode; a set row moves only when written again", keys=("phones",),
            required=("phones",)),
    Control("apps/configure", _apps_configure, '{"install_reads": k, "uninstall_reads": k, "fail": {"install" or '
            '"uninstall": [ids]}, "refuse": {"install" or "uninstall": {id: code or null}}, "keep_uninstalled": '
            'bool, "list_needs_running": bool}',
            "how app writes behave: an install or uninstall finishes on the k-th app/list read after it (default 1); "
            "fail lists the phones where they fail (2, 5; replaces that list); refuse scripts a code per phone; "
            "keep_uninstalled keeps uninstalled rows as 4; list_needs_running makes app/list answer 42002 for a "
            "phone not running", keys=APP_SETTINGS),
    Control("apps/catalogue", _apps_catalogue, '{"apps": [{"id", "appName", "appIcon", "packageName", '
            '"appVersionInfoList": [{"id", "versionCode", "versionName"}, ...]}, ...]}',
            "replace the catalogue installable/list offers and app/install takes version IDs from",
            keys=("apps",), required=("apps",)),
    Control("apps/team", _apps_team, '{"items": [{"id", "appName", "versionId", ...}, ...]}',
            "replace the team library teamApp/list serves", keys=("items",), required=("items",)),
    Control("apps/of", _apps_of, '{"id": "<phone id>"}', 'that phone\'s app rows: {"apps": [...]}, in install order',
            keys=("id",), required=("id",)),
    Control("adb", _adb, '{"enabled": [ids], "disabled": [ids], "android": {id: version}, "enable_reads": k, '
            '"auth": bool, "lapse": [ids] or true, "rotate": [ids] or true, "shell_fail": {id: code or null}}',
            "ADB and the shell: turn ADB on (ready at once) or off whatever the status; set Android versions "
            "(equipmentInfo.osVersion); getData reads answering 49001 after setStatus turns ADB on (default 1); "
            "whether the daemon asks for an RSA key; log phones out (the glogin lapse); give new glogin codes; "
            "script a shell/execute code per phone", keys=ADB_SETTINGS),
    Control("adb/of", _adb_of, '{"id": "<phone id>"}', 'that phone\'s ADB state: {"android", "enabled", "port", '
            '"logged_in", "pwd", "enable_reads_left"}', keys=("id",), required=("id",)),
    Control("adb/file", _adb_file, '{"id": "<phone id>", "path": "/sdcard/..."}',
            'a file on that phone: {"data_base64", "mode"} (both null: no such file)', keys=("id", "path"),
            required=("id", "path")),
    Control("adb/put", _adb_put, '{"id": "<phone id>", "path": "/...", "data_base64": "...", "mode": 420}',
            "write a file on that phone, anywhere (its directories are made); mode defaults to 0644",
            keys=("id", "path", "data_base64", "mode"), required=("id", "path", "data_base64")),
)
_BY_ROUTE = {(control.method, CONTROL_PREFIX + control.name): control for control in CONTROLS}


def control_for(method: str, path: str) -> Optional[Control]:
    """The control route a request names, or None (answered 404)."""
    return _BY_ROUTE.get((method, path))


def run_control(control: Control, state: EmulatorState, body: Any) -> Any:
    """Check the body against the entry, then run its handler; return the JSON answer."""
    if control.one_of and (not isinstance(body, dict) or all(key in body for key in control.one_of)):
        raise ControlError("%s takes %s and one of %s; got %s"
                           % (control.name, ", ".join(control.required), " or ".join(control.one_of),
                              sorted(body) if isinstance(body, dict) else body))
    check_keys(control.name, body, control.keys, control.required)
    if not control.locked:
        return control.handler(state, body)
    with state.lock:
        return control.handler(state, body)
