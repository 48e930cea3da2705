# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The read routes: phone/list (pages of phones, with filters) and phone/status (the true status per ID).

List items never show status 3 (only the status endpoint reports expired phones); more than 100 IDs get
40004, a page size outside 1..100 gets 40008, and the status endpoint answers in its own order.
"""

from __future__ import annotations

from typing import Any, Dict, List

from .api import ApiCall, ApiFailure, required_ids
from .fleet import Phone

MAX_IDS = 100
_FILTER_FIELDS = ("groupName", "serialName", "remark", "tags", "chargeMode", "openStatus", "ids", "serialNos")


def phone_status(call: ApiCall) -> Dict[str, Any]:
    state, fault = call.state, call.fault
    ids = required_ids(call.body, MAX_IDS)
    failing = {}
    if fault is not None and fault.get("kind") == "fail_detail":
        failing = dict.fromkeys(fault["ids"], (fault.get("code", 42001), fault.get("msg", "env not found")))
    successes, failures = [], []
    for phone_id in ids:
        state.count_status_read(phone_id)
        phone = state.phones.get(phone_id)
        if phone_id in failing:
            failures.append({"code": failing[phone_id][0], "id": phone_id, "msg": failing[phone_id][1]})
        elif phone is None:
            failures.append({"code": 42001, "id": phone_id, "msg": "env not found"})
        else:
            successes.append({"id": phone_id, "serialName": phone["serialName"], "status": phone["status"]})
    shuffled = list(successes)
    state.rng.shuffle(shuffled)
    if len(shuffled) > 1 and shuffled == successes:
        shuffled.reverse()
    return {"totalAmount": len(ids), "successAmount": len(successes), "failAmount": len(failures),
            "successDetails": shuffled, "failDetails": failures}


def phone_list(call: ApiCall) -> Dict[str, Any]:
    state, body, fault = call
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
        selected = [p for p in state.phones.values() if _matches(p, body)]
    else:
        selected = list(state.phones.values())
    first = 0 if state.pager_repeat else (page - 1) * size
    chunk = selected[first:first + size]
    if fault is not None and fault.get("kind") == "omit":
        chunk = [p for p in chunk if p["id"] not in fault["ids"]]
    total = len(selected) if state.pager_total is None else state.pager_total
    return {"total": total, "page": page, "pageSize": size, "items": [_list_item(p) for p in chunk]}


def _matches(phone: Phone, body: Dict[str, Any]) -> bool:
    # GeeLark sends null for empty fields: a phone may have "group": null, "tags": null, ...
    group: Dict[str, Any] = phone["group"] if isinstance(phone.get("group"), dict) else {}
    tags: List[Any] = phone["tags"] if isinstance(phone.get("tags"), list) else []
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


def _list_item(phone: Phone) -> Phone:
    item = dict(phone)
    item.pop("apps", None)  # the phone's app rows (apps.py): served by app/list, never part of a list item
    if item["status"] == 3:  # the list endpoint documents only 0-2; expiry shows on /phone/status
        item["status"] = 2
    return item
