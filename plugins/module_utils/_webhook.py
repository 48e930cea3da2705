# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""GeeLark webhooks: the account's callback URL, and checking the callbacks GeeLark sends.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

import hmac
import re
import threading

from ._auth import sign_request
from ._errors import MalformedResponseError
from ._phones import FLOAT_TEXT
from ._write import ChangeResult, WriteRules

CALLBACK_GET_PATH = "/open/v1/callback/get"
CALLBACK_SET_PATH = "/open/v1/callback/set"
# The answer of callback/get when the account has no callback URL: "not set", not a failure.
NOT_SET_CODE = 51001

# Callback event types GeeLark documents, by the `type` field of the body.
CALLBACK_TYPES = {
    1: "phone_started",
    2: "patch_installed",
    4: "file_uploaded",
    5: "screenshot",
    6: "rpa_task_finished",
    7: "payment_completed",
    8: "phone_stopped",
    9: "phone_renamed",
    10: "phone_deleted",
    11: "tags_changed",
    12: "rpa_task_created",
    13: "rpa_task_cancelled",
    14: "contacts_imported",
    15: "app_installed",
}

# GeeLark documents no freshness window for `ts`; five minutes absorbs clock skew and slow delivery.
DEFAULT_MAX_AGE_SECONDS = 300
KEY_HEADERS = ("appId", "traceId", "ts", "nonce", "sign")
# A ts in milliseconds: ASCII digits only (str.isdigit also takes "²" and other scripts' digits, which
# int() refuses), and few enough of them that int() never meets Python's limit on long numbers.
TS_PATTERN = re.compile(r"[0-9]{1,16}")
# How much of a header value a rejection message quotes: a header can be kilobytes long.
SHOWN_CHARS = 40
# A phone ID as callbacks name it: ASCII digits (18 today; a few more are allowed for growth).
PHONE_ID_MAX_DIGITS = 32
CALLBACK_TYPE_TEXT = re.compile(r"[0-9]{1,9}")
PHONE_ID_PATTERN = re.compile(r"[0-9]{1,%d}" % PHONE_ID_MAX_DIGITS)
FLOAT_ID_LOST = ("a phone ID sent as a floating point number has lost its last digits and cannot name a phone "
                 "(GeeLark sends IDs as strings: check what sits between GeeLark and this webhook)")


def get_callback_url(transport):
    """The account's callback URL, or None when none is set (code 51001)."""
    envelope = transport.post(CALLBACK_GET_PATH, {}, accept_codes=frozenset((0, NOT_SET_CODE)))
    if envelope["code"] == NOT_SET_CODE:
        return None
    data = envelope.get("data")
    url = data.get("url") if isinstance(data, dict) else None
    if url is None or url == "":
        return None
    if not isinstance(url, str):
        raise MalformedResponseError("The callback/get answer's url is not a string", endpoint=CALLBACK_GET_PATH,
                                     trace_id=envelope["traceId"])
    return url


class CallbackUrlChange(ChangeResult):
    """The account's one callback URL, before and after a change (the target is the account)."""

    TARGET = "callback_url"

    def __init__(self, before, wanted):
        super().__init__([self.TARGET])
        self.before = before
        self.wanted = wanted

    @property
    def after(self):
        """The URL after the task; when uncertain, the URL that may have been set."""
        return self.wanted if self.is_changed else self.before

    def as_dict(self):
        return dict(changed=self.is_changed, url=self.after, previous_url=self.before, uncertain=self.uncertain)

    def diff(self):
        return dict(before=dict(url=self.before), after=dict(url=self.after))

    def failure_message(self):
        failure = self.failures[self.TARGET]
        verb = "may have been set" if failure["uncertain"] else "was not set"
        return "The callback URL %s to %s: %s%s" % (verb, self.wanted, failure["msg"],
                                                    "; run the task again to read it" if failure["uncertain"] else "")


class CallbackUrlWrite(WriteRules):
    """callback/set for the shared write path: one call; a lost answer is read back with callback/get."""

    path = CALLBACK_SET_PATH
    rounds = 1  # documented: the module reads the URL back instead of sending the write again
    action = "the callback URL change"
    reading = "the callback URL"

    def __init__(self, transport, url):
        self.transport = transport
        self.url = url
        self.now = None

    def body(self, batch):
        return {"url": self.url}

    def read_back(self, result, targets):
        self.now = get_callback_url(self.transport)
        return set(targets) if self.now == self.url else set()

    def where(self, result, target):
        return "the callback URL still reads %s" % (self.now if self.now is not None else "as not set")


def header(headers, name):
    """A header's value whatever the case of its name (proxies and HTTP/2 lower-case them), or None."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if isinstance(key, str) and key.lower() == wanted:
            return value if isinstance(value, str) else None
    return None


def check_key_signature(headers, app_id, api_key, now_ms, max_age_ms):
    """Why the key-scheme headers of a callback are not acceptable, or None when they are.

    The signature is recomputed with the shared signing code; `ts` must lie within max_age_ms of
    now, either way. The body is not covered by GeeLark's signature: only the headers are checked.
    """
    values = dict((name, header(headers, name)) for name in KEY_HEADERS)
    missing = [name for name, value in values.items() if not value]
    if missing:
        return "the key-signature headers %s are missing" % ", ".join(missing)
    # Compared as UTF-8 bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
    if not hmac.compare_digest(values["appId"].encode("utf-8"), app_id.encode("utf-8")):
        return "appId %s is not this account's app ID" % shown(values["appId"])
    if not TS_PATTERN.fullmatch(values["ts"]):
        return "ts %s is not a timestamp in milliseconds" % shown(values["ts"])
    age_ms = now_ms - int(values["ts"])
    if abs(age_ms) > max_age_ms:
        return "ts is %.0f s %s now, more than the %.0f s allowed" % (
            abs(age_ms) / 1000.0, "before" if age_ms > 0 else "after", max_age_ms / 1000.0)
    if values["nonce"] != values["traceId"][:6]:
        return "nonce is not the first 6 characters of traceId"
    expected = sign_request(app_id, api_key, values["traceId"], values["ts"])["sign"]
    if not hmac.compare_digest(values["sign"].upper().encode("utf-8"), expected.encode("utf-8")):
        return "the signature does not match this account's app ID and API key"
    return None


def shown(value):
    """A header value for a message: repr (control characters escaped), cut to SHOWN_CHARS characters."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "... (%d characters)" % len(value)


def replay_deadline(now_ms, ts_ms, max_age_ms):
    """Until when, in seconds on the clock of now_ms, an accepted callback must be remembered.

    Its ts passes the freshness check until ts + max_age, so a byte-identical copy would be accepted
    until then; and a repeated delivery (same traceId, fresh ts) is refused for max_age after this one.
    """
    return (max(now_ms, ts_ms if ts_ms is not None else now_ms) + max_age_ms) / 1000.0


class ReplayGuard:
    """Remembers each accepted callback (by traceId) until a deadline, so a repeat before it is refused.

    In memory only: a restarted process has forgotten them (see the filter's documentation). The
    caller passes the time, on the same clock as the ts check, so what the check would still accept
    is never forgotten.
    """

    def __init__(self):
        self._until: dict = {}
        self._lock = threading.Lock()

    def first_time(self, trace_id, now, until):
        """True the first time a traceId is offered (it is then remembered until `until`); False for a repeat."""
        with self._lock:
            for key in [k for k, deadline in self._until.items() if deadline < now]:
                del self._until[key]
            if trace_id in self._until:
                return False
            self._until[trace_id] = until
            return True

    def remembered(self):
        with self._lock:
            return len(self._until)


def read_callback(body):
    """The parts of a callback body every rule needs, parsed defensively, and what in it could not be read.

    Returns (summary, problems). The summary is {"type", "type_name", "ids", "id", "callback_ids"}: the
    phone IDs come from `id`, `items[].id` or `envIds`, as strings of digits without padding, each once;
    `id` is the one phone when the callback names exactly one, else None; an unknown type is named
    "unknown" rather than refused. `problems` says, one text each, where the body names a phone
    that cannot be read (an ID that went through a float, an item that is not an object, ...).
    """
    kind = body.get("type") if isinstance(body, dict) else None
    if isinstance(kind, bool) or not isinstance(kind, int):
        # ASCII digits only: str.isdigit also takes "²", which int() refuses.
        kind = int(kind) if isinstance(kind, str) and CALLBACK_TYPE_TEXT.fullmatch(kind) else None
    ids: list[str] = []
    problems: list[str] = []

    def take(value, where):
        phone_id, problem = _callback_phone_id(value, where)
        if problem:
            problems.append(problem)
        elif phone_id not in ids:
            ids.append(phone_id)

    if isinstance(body, dict):
        if body.get("id") is not None:  # absent (or null) in callbacks that name phones otherwise or not at all
            take(body["id"], "id")
        items = body.get("items")
        if isinstance(items, list):
            for position, item in enumerate(items):
                if not isinstance(item, dict):
                    problems.append("items[%d] is %s, not an object with an id" % (position, _described(item)))
                elif item.get("id") is None:
                    problems.append("items[%d].id is missing" % position)
                else:
                    take(item["id"], "items[%d].id" % position)
        elif items is not None:
            problems.append("items is a %s, not a list of phones" % type(items).__name__)
        env_ids = body.get("envIds")
        if isinstance(env_ids, list):
            for position, value in enumerate(env_ids):
                take(value, "envIds[%d]" % position)
        elif env_ids is not None:
            problems.append("envIds is a %s, not a list of phone IDs" % type(env_ids).__name__)
    summary = {"type": kind, "type_name": CALLBACK_TYPES.get(kind, "unknown") if kind is not None else "unknown",
               "ids": ids, "id": ids[0] if len(ids) == 1 else None, "callback_ids": list(ids)}
    return summary, problems


def _callback_phone_id(value, where):
    """(the phone ID, None) for a value that names a phone, else (None, what is wrong with it)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10 ** PHONE_ID_MAX_DIGITS:
        return str(value), None
    if isinstance(value, float):
        return None, "%s is the number %s: %s" % (where, _described(value), FLOAT_ID_LOST)
    if not isinstance(value, str):
        return None, "%s is %s, not a phone ID" % (where, _described(value))
    text = value.strip()  # padding is no part of an ID
    if PHONE_ID_PATTERN.fullmatch(text):
        return text, None
    if FLOAT_TEXT.fullmatch(text):
        return None, "%s is %s, a number in floating point notation: %s" % (where, shown(value), FLOAT_ID_LOST)
    return None, "%s is %s, not a phone ID (a phone ID is digits)" % (where, shown(value))


def _described(value):
    """A JSON value for a message: scalars as written, long text cut, containers by their type alone."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** PHONE_ID_MAX_DIGITS:
        return "a number of more than %d digits" % PHONE_ID_MAX_DIGITS  # str() of a huge int can even fail
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    return "a %s" % type(value).__name__


def per_phone_summaries(summary):
    """One summary per phone the callback names (ids and id that phone alone); the summary itself if none."""
    if not summary["ids"]:
        return [summary]
    return [dict(summary, ids=[phone_id], id=phone_id) for phone_id in summary["ids"]]
