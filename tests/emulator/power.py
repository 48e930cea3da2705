# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The write routes: phone/start and phone/stop, at most 200 IDs a call (40004 above).

A start makes a shut-down phone `starting` at once and `started` on its boot_reads-th status read
after; a stop leaves a running phone reading as before for stop_reads status reads, then `shut_down`.
Expired phones get 43004 on start, busy phones 43005 on stop, unknown ones 42001. Each start success
carries a live-view `url` holding the emulator's secret (never to be seen in output). Timing is
counted in status reads, so nothing depends on the clock.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from .api import ApiCall, ApiFailure, required_ids
from .state import EmulatorState

MAX_POWER_IDS = 200


def phone_start(call: ApiCall) -> Dict[str, Any]:
    return _power(call, start=True)


def phone_stop(call: ApiCall) -> Dict[str, Any]:
    return _power(call, start=False)


def _power(call: ApiCall, start: bool) -> Dict[str, Any]:
    """Validate, apply to each phone, answer per phone in successDetails (start only) / failDetails."""
    state = call.state
    ids = required_ids(call.body, MAX_POWER_IDS)
    if start and call.body.get("energySavingMode", 0) not in (0, 1):
        raise ApiFailure(40004, "energySavingMode must be 0 or 1")
    state.largest_write_batch = max(state.largest_write_batch, len(ids))
    successes, failures = [], []
    for phone_id in ids:
        state.power_writes[phone_id] += 1
        failure = _power_one(state, phone_id, start)
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


def _power_one(state: EmulatorState, phone_id: str, start: bool) -> Optional[Tuple[int, str]]:
    """Apply a start or stop to one phone; return (code, msg) when it is refused."""
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
