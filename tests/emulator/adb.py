# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ADB and shell routes: adb/setStatus, adb/getData and shell/execute.

Each phone has a Device (device.py): ADB off by default, a glogin code, its files. The Android version
comes from equipmentInfo.osVersion (the fleet has 11, 12 and 13; configure_adb(android=...) sets others).
ADB exists on Android 9 and 11-16, the shell API on 10 and 12-16.

- setStatus {ids (1-200, 40004 otherwise), open: bool (40004 otherwise)}: the bare envelope, no per-item
  result. Each named phone counts (adb_enables). A running phone (status 0) whose version has ADB
  changes; every other phone is skipped without a word, as GeeLark filters them. Turning ADB on gives a
  new glogin code and logs the phone out; the phone's next enable_reads getData reads (default 1) answer
  49001 while it "starts". Turning it on again while on changes nothing. Off logs it out and closes its
  ADB port and connections at once.
- getData {ids (1-200)}: data.items, one per ID in order: {code, id, ip, port (text), pwd}; each counts
  (adb_reads). Codes, checked in this order: 42001 not found, 42002 not running, 49002 the model has no
  ADB (Android 10), 49001 ADB off (or still enabling). A failed item has ip, port and pwd "". A ready
  item: ip "127.0.0.1", port the phone's ADB daemon port (the same each time while the port is free),
  pwd the glogin code.
- shell/execute {id, cmd}: both required text (40004); once id is text the call counts
  (shell_executes). Then 42001; a scripted code (configure_adb(shell_fail=...)); 42002 not running;
  50001 Android 9 and 11 (no shell API). Otherwise cmd runs in the device shell, without the glogin
  gate: data {status: exit status == 0, output: stdout and stderr as one text}.

ADB stays on across stop and start (the listener closes while the phone is not running, and the phone
boots logged out); the code changes only when ADB is turned on again or rotated (configure_adb).
"""

from __future__ import annotations

import time
from typing import Any, Dict

from .api import ApiCall, ApiFailure, required_ids
from .device import ADB_VERSIONS, SHELL_VERSIONS, run
from .state import EmulatorState

MAX_ADB_IDS = 200
ADB_HOST = "127.0.0.1"
REFUSED = "refused by the emulator's script"


def sync_listeners(state: EmulatorState) -> None:
    """Make the ADB listeners match the state now (the state's lock held)."""
    if state.adb_daemon is not None:
        state.adb_daemon.sync()


def adb_set_status(call: ApiCall) -> None:
    """Turn ADB on or off; phones not running or without ADB are skipped silently."""
    state = call.state
    ids = required_ids(call.body, MAX_ADB_IDS)
    turn_on = call.body.get("open")
    if not isinstance(turn_on, bool):
        raise ApiFailure(40004, "open is required and must be true or false")
    book = state.devices
    for phone_id in ids:
        state.adb_enables[phone_id] += 1
        phone = state.phones.get(phone_id)
        if phone is None or phone["status"] != 0:
            continue
        device = book.of(phone)
        if device.android not in ADB_VERSIONS:
            continue
        if turn_on:
            book.enable(device, book.enable_reads)
        else:
            book.disable(device)
    sync_listeners(state)


def adb_get_data(call: ApiCall) -> Dict[str, Any]:
    """The ADB connection info of up to 200 phones, one item each."""
    state = call.state
    ids = required_ids(call.body, MAX_ADB_IDS)
    sync_listeners(state)  # a phone stopped since the daemon last looked: its port is closed before any is given
    items = []
    for phone_id in ids:
        state.adb_reads[phone_id] += 1
        code = _adb_code(state, phone_id)
        port = state.adb_daemon.listen(phone_id) if not code and state.adb_daemon is not None else None
        if port is None:
            items.append({"code": code or 49001, "id": phone_id, "ip": "", "port": "", "pwd": ""})
        else:
            items.append({"code": 0, "id": phone_id, "ip": ADB_HOST, "port": str(port),
                          "pwd": state.devices.devices[phone_id].pwd})
    return {"items": items}


def _adb_code(state: EmulatorState, phone_id: str) -> int:
    """0 when the phone's ADB is ready, else its getData code (a read while enabling counts down)."""
    phone = state.phones.get(phone_id)
    if phone is None:
        return 42001
    if phone["status"] != 0:
        return 42002
    device = state.devices.of(phone)
    if device.android not in ADB_VERSIONS:
        return 49002
    if not device.adb_enabled:
        return 49001
    if device.enable_reads_left:
        device.enable_reads_left -= 1
        return 49001
    return 0


def shell_execute(call: ApiCall) -> Dict[str, Any]:
    """Run a command on one phone's shell and answer its output (no exit status: only whether it was 0)."""
    state = call.state
    phone_id = call.body.get("id")
    if not isinstance(phone_id, str) or not phone_id:
        raise ApiFailure(40004, "id is required and must be text")
    state.shell_executes[phone_id] += 1
    command = call.body.get("cmd")
    if not isinstance(command, str) or not command:
        raise ApiFailure(40004, "cmd is required and must be text")
    phone = state.phones.get(phone_id)
    if phone is None:
        raise ApiFailure(42001, "env not found")
    refused = state.devices.shell_fail.get(phone_id)
    if refused is not None:
        raise ApiFailure(refused, REFUSED)
    if phone["status"] != 0:
        raise ApiFailure(42002, "env is not running")
    device = state.devices.of(phone)
    if device.android not in SHELL_VERSIONS:
        raise ApiFailure(50001, "this phone model does not support shell commands")

    def wait_unlocked(seconds: float) -> None:  # `sleep N`: the other requests go on meanwhile
        state.lock.release()
        try:
            time.sleep(seconds)
        finally:
            state.lock.acquire()

    output, status = run(device, command, wait=wait_unlocked)
    return {"status": status == 0, "output": output.decode("utf-8", "replace")}
