# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ansible-rulebook event filter geelark.cloudphone.verify_callback: keep only genuine GeeLark callbacks."""

from __future__ import annotations

DOCUMENTATION = r"""
---
short_description: Verify GeeLark's webhook callbacks received by the webhook source, and drop the others
description:
  - For events of ansible-rulebook's webhook source (C(eda.builtin.webhook) or C(ansible.eda.webhook))
    that receive the callbacks GeeLark sends to the account's callback URL.
  - "With O(verify=key) (GeeLark's key scheme), the headers C(appId), C(traceId), C(ts), C(nonce) and
    C(sign) are checked: the signature is recomputed from O(app_id) and O(api_key) with the collection's
    signing code, C(appId) must be O(app_id), and C(ts) must lie within O(max_age) seconds of now."
  - GeeLark's signature covers the headers, not the body, so also serve the webhook over HTTPS.
  - Token-scheme callbacks (C(Authorization) header) are checked by the webhook source itself, with its
    C(token) option; use O(verify=none) there.
  - "A callback whose C(traceId) was already accepted is dropped while its C(ts) would still pass the
    check (until C(ts) + O(max_age)), and for at least O(max_age) seconds after it was accepted: a
    callback delivered twice, or replayed byte for byte, fires the rules once."
  - "The accepted traceIds are kept in memory only: after ansible-rulebook restarts, a callback accepted
    before the restart is accepted once more if it is replayed while its C(ts) is within O(max_age).
    Keep O(max_age) short, and make the actions safe to repeat (the C(power) runbook is: it starts only
    phones that are not running)."
  - "A dropped event is logged as a warning with the reason, and never reaches the rules. That includes
    malformed headers (a C(ts) that is not ASCII digits or is absurdly long, non-ASCII C(appId) or
    C(sign)), and anything that cannot be checked: the filter never fails on a callback."
  - "An accepted event gains C(geelark): C(type) (the callback type, an integer), C(type_name)
    (for example V(phone_started) for 1, V(phone_stopped) for 8), C(ids) (the phone IDs the callback
    names, as strings, each once, from C(id), C(items[].id) and C(envIds)), C(id) (the phone when the
    callback names exactly one, else null) and C(callback_ids) (every ID the callback names)."
  - "Phone IDs are digits: spaces around an ID are removed. A value that cannot name a phone is left out
    of C(ids) and logged as a warning that says where it is and what is wrong: a number with a decimal
    point or an exponent (such as C(6.01876382020031676e17): an 18-digit ID that went through a floating
    point number has lost its last digits), C(null), C(true), text that is not digits, an C(items) entry
    that is not an object with an C(id), an C(items) or C(envIds) that is not a list. The callback
    still reaches the rules, with the IDs that could be read (none, if none could), so a rule that checks
    C(event.geelark.id) against a watch list does not act on a phone it cannot name."
  - "With O(per_phone=true), a callback that names several phones becomes one event per phone: each
    has C(geelark.id) and C(geelark.ids) set to that one phone, while C(geelark.callback_ids) and
    C(payload) keep the whole callback. Rules then act on, and throttle by, C(event.geelark.id),
    whatever the shape of the callback."
options:
  verify:
    description: Which GeeLark authentication to check.
    type: str
    choices: [key, none]
    default: key
  app_id:
    description:
      - The team app ID the callbacks must carry.
      - If not set, the environment variable E(GEELARK_APP_ID) is used.
    type: str
  api_key:
    description:
      - The team API key the signatures are made with.
      - If not set, the environment variable E(GEELARK_API_KEY) is used.
    type: str
  max_age:
    description: Seconds a callback's C(ts) may differ from this machine's clock; also the de-duplication window.
    type: float
    default: 300
  per_phone:
    description: One event per phone the callback names, instead of one event per callback.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: GeeLark callbacks, key scheme
  hosts: localhost
  sources:
    - eda.builtin.webhook:
        host: 0.0.0.0
        port: 5000
        certfile: /etc/eda/tls.crt
        keyfile: /etc/eda/tls.key
      filters:
        - geelark.cloudphone.verify_callback:
            max_age: 300
            per_phone: true
  rules:
    - name: A phone stopped
      condition: event.geelark.type_name == "phone_stopped"
      throttle:
        once_within: 5 minutes
        group_by_attributes:
          - event.geelark.id
      action:
        debug:
          msg: "{{ event.geelark.id }} stopped"
"""

import logging
import os
import sys
import time


def _collection_importable():
    """Make ansible_collections.geelark.cloudphone importable from this file's own location.

    ansible-rulebook runs filters with runpy and without Ansible's collection loader.
    """
    path = os.path.dirname(os.path.abspath(__file__))
    for _level in range(6):  # event_filter, plugins, eda, extensions, cloudphone, geelark
        path = os.path.dirname(path)
    if os.path.basename(path) == "ansible_collections" and os.path.dirname(path) not in sys.path:
        sys.path.insert(0, os.path.dirname(path))


_collection_importable()

from ansible_collections.geelark.cloudphone.plugins.module_utils._auth import (
    ENV_API_KEY,
    ENV_APP_ID,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._webhook import (
    DEFAULT_MAX_AGE_SECONDS,
    ReplayGuard,
    check_key_signature,
    header,
    per_phone_summaries,
    read_callback,
    replay_deadline,
    shown,
)

logger = logging.getLogger(__name__)

OPTION_DEFAULTS = {"verify": "key", "app_id": None, "api_key": None, "max_age": float(DEFAULT_MAX_AGE_SECONDS),
                   "per_phone": False}

# One guard per max_age: the filter's module stays loaded for the whole run, so this outlives one call.
_GUARDS: dict = {}


class CallbackRejected(Exception):
    """Why a callback is not accepted."""


def _settings(kwargs):
    unknown = sorted(set(kwargs) - set(OPTION_DEFAULTS))
    if unknown:
        raise ValueError("geelark.cloudphone.verify_callback: unknown option(s) %s; known options: %s"
                         % (", ".join(unknown), ", ".join(sorted(OPTION_DEFAULTS))))
    settings = dict(OPTION_DEFAULTS)
    settings.update((k, v) for k, v in kwargs.items() if v is not None)
    if settings["verify"] not in ("key", "none"):
        raise ValueError("geelark.cloudphone.verify_callback: verify must be key or none, got %r"
                         % (settings["verify"],))
    max_age = settings["max_age"]
    if isinstance(max_age, bool) or not isinstance(max_age, (int, float)) or max_age <= 0:
        raise ValueError("geelark.cloudphone.verify_callback: max_age must be a number of seconds above 0, got %r"
                         % (max_age,))
    if not isinstance(settings["per_phone"], bool):
        raise ValueError("geelark.cloudphone.verify_callback: per_phone must be true or false, got %r"
                         % (settings["per_phone"],))
    if settings["verify"] == "key":
        settings["app_id"] = settings["app_id"] or os.environ.get(ENV_APP_ID)
        settings["api_key"] = settings["api_key"] or os.environ.get(ENV_API_KEY)
        if not settings["app_id"] or not settings["api_key"]:
            raise ValueError("geelark.cloudphone.verify_callback: verify=key needs app_id and api_key (or the "
                             "environment variables %s and %s)" % (ENV_APP_ID, ENV_API_KEY))
    return settings


def check(event, settings, now_ms=None):
    """The event with its `geelark` summary added (a list of events with per_phone); CallbackRejected
    when it must be dropped. `now_ms` is the wall clock, which both the ts check and the replay guard use."""
    meta = event.get("meta") if isinstance(event, dict) else None
    headers = meta.get("headers") if isinstance(meta, dict) else None
    payload = event.get("payload") if isinstance(event, dict) else None
    if not isinstance(headers, dict) or not isinstance(payload, dict):
        raise CallbackRejected("the event is not a webhook request with a JSON object body")
    trace_id = header(headers, "traceId")
    if not trace_id:
        raise CallbackRejected("the traceId header is missing")
    max_age_ms = float(settings["max_age"]) * 1000.0
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    ts_ms = None
    if settings["verify"] == "key":
        problem = check_key_signature(headers, settings["app_id"], settings["api_key"], now_ms, max_age_ms)
        if problem:
            raise CallbackRejected(problem)
        ts_ms = int(header(headers, "ts"))  # checked above: at most 16 ASCII digits
    guard = _GUARDS.setdefault(settings["max_age"], ReplayGuard())
    if not guard.first_time(trace_id, now_ms / 1000.0, replay_deadline(now_ms, ts_ms, max_age_ms)):
        raise CallbackRejected("traceId %s was already received (a repeated delivery)" % shown(trace_id))
    summary, problems = read_callback(payload)
    if problems:
        # A genuine callback whose phones cannot all be read: say so, and let the readable ones act.
        logger.warning("geelark.cloudphone.verify_callback: callback (traceId %s, type %s %s) names phones that "
                       "cannot be read: %s; it goes on to the rules with %s", shown(trace_id), summary["type"],
                       summary["type_name"], "; ".join(problems), ", ".join(summary["ids"]) or "no phone ID")
    if not settings["per_phone"]:
        return dict(event, geelark=summary)
    return [dict(event, geelark=one) for one in per_phone_summaries(summary)]


def main(event, **kwargs):
    settings = _settings(kwargs)
    try:
        return check(event, settings)
    except CallbackRejected as rejected:
        reason = str(rejected)
    except Exception as error:  # an unverifiable callback is dropped, never a crash of the source
        # Only the type: the message of an unforeseen failure may quote a header (or worse).
        reason = "it could not be checked (%s)" % type(error).__name__
    headers = (event.get("meta") or {}).get("headers") if isinstance(event, dict) else None
    trace_id = header(headers, "traceId") if isinstance(headers, dict) else None
    logger.warning("geelark.cloudphone.verify_callback: dropped a callback (traceId %s): %s",
                   shown(trace_id) if trace_id else None, reason)
    return []  # an empty list: ansible-rulebook puts no event on the queue
