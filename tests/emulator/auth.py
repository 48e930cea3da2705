# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""GeeLark's two auth schemes (a Bearer token, or an app ID with a signed request), and a watch for leaks."""

from __future__ import annotations

import hashlib
from email.message import Message

from .api import ApiFailure
from .state import EmulatorState


def expected_signature(app_id: str, trace_id: str, ts: str, nonce: str, api_key: str) -> str:
    return hashlib.sha256((app_id + trace_id + ts + nonce + api_key).encode()).hexdigest().upper()


def authenticate(state: EmulatorState, headers: Message, trace_id: str) -> None:
    """Let a request through when its token or signature is right; refuse it with GeeLark's code otherwise."""
    if not trace_id:
        raise ApiFailure(40002, "traceId is missing")
    authorization = headers.get("Authorization")
    if authorization is not None:
        if state.token and authorization == "Bearer " + state.token:
            return
        raise ApiFailure(40003, "token verification failed")
    app_id, ts, nonce, sign = (headers.get(h) for h in ("appId", "ts", "nonce", "sign"))
    if (state.app_id and state.api_key and app_id == state.app_id and ts and ts.isdigit()
            and nonce == trace_id[:6]
            and sign == expected_signature(state.app_id, trace_id, ts, nonce, state.api_key)):
        return
    raise ApiFailure(40003, "signature verification failed")


def count_leaks(state: EmulatorState, headers: Message, raw: bytes) -> None:
    """Count a request that carries the API key in the clear (headers or body) or the token in its body."""
    secret = state.api_key
    if secret:
        header_text = "\n".join("%s: %s" % kv for kv in headers.items())
        if secret in header_text or secret.encode() in raw:
            state.secret_leaks += 1
    if state.token and state.token.encode() in raw:
        state.secret_leaks += 1
