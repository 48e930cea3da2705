# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Callbacks: the account's one webhook URL (callback/set, callback/get) and a sender signing like GeeLark."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, Optional

from .api import ApiCall, ApiFailure
from .auth import expected_signature
from .state import EmulatorState


def callback_set(call: ApiCall) -> None:
    """Store the one callback URL of the account."""
    url = call.body.get("url")
    if not isinstance(url, str) or not url:
        raise ApiFailure(40004, "url is required")
    call.state.callback_url = url


def callback_get(call: ApiCall) -> Dict[str, str]:
    """The stored callback URL; 51001 until one is set."""
    if not call.state.callback_url:
        raise ApiFailure(51001, "callback url not set")
    return {"url": call.state.callback_url}


def send_callback(state: EmulatorState, payload: Any, url: Optional[str] = None, auth: str = "key",
                  ts_offset_ms: int = 0, tamper: bool = False, trace_id: Optional[str] = None,
                  timeout: float = 30) -> Dict[str, Any]:
    """POST one callback the way GeeLark does: JSON body, the key-scheme or token headers, nothing else."""
    with state.lock:
        url = url or state.callback_url
        # Any: an unset one fails as a TypeError, which callbacks/send answers with 400 and the reason.
        token: Any = state.token
        app_id: Any = state.app_id
        api_key: Any = state.api_key
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
