# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Error types of the GeeLark client, and what each API code means.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

from ._settings import CREDENTIAL_VARIABLES

# What to do, where several codes call for the same thing.
_RETRY_THEN_SUPPORT = "retry later; if it persists, report the traceId to GeeLark support"
_OUR_BUG = "report this as a bug in geelark.cloudphone"
_READ_FAILURES = "read the failures in the result"
_RUN_LATER = "run later, or raise rate_limit_wait to wait longer"

# code -> (what it means, what the user should do). One table, used by every message.
API_CODES = {
    40000: ("unknown error", _RETRY_THEN_SUPPORT),
    40001: ("the request body could not be read", _OUR_BUG),
    40002: ("the traceId header is missing", _OUR_BUG),
    40003: (
        "signature verification failed, or the token is invalid or expired",
        "check token, or app_id and api_key (%s), and that the machine clock is correct" % CREDENTIAL_VARIABLES,
    ),
    40004: ("parameter validation failed", "check the IDs and filters given to the task"),
    40005: ("resource not found", "check the IDs given to the task"),
    40006: ("partial success", _READ_FAILURES),
    40007: (
        "rate limited; the limit lifts within a minute",
        "the budget is per account and API, shared with every other user of the account (other machines, the "
        "GeeLark client): run later, raise rate_limit_wait to wait longer, or lower rate_limit on every machine "
        "that uses the account",
    ),
    40008: ("pagination parameter out of range", _OUR_BUG),
    40009: ("every item of the batch failed", _READ_FAILURES),
    40011: ("only paid accounts may use this API", "upgrade the GeeLark plan"),
    40012: ("this API is deprecated", "upgrade geelark.cloudphone"),
    40013: ("user not found", "check the credentials"),
    40014: (
        "the hourly request limit was exceeded and the API is locked for 2 hours",
        "wait 2 hours before the next run; then lower rate_limit, use the inventory cache "
        "and check phones in one batched task instead of one task per host",
    ),
    40015: ("insufficient permissions", "give the API key or token the rights it needs in the GeeLark client"),
    40016: ("this machine's IP address is not in the API whitelist", "add it in the GeeLark client's API settings"),
    40017: ("too many requests", _RUN_LATER),
    42001: ("cloud phone not found", "check the ID; the phone may have been deleted"),
    42002: ("the cloud phone is not running", "start it first (geelark.cloudphone.geelark_phone_power)"),
    42003: ("the app is already being installed", "wait for that install to finish"),
    42004: ("a higher version of the app is installed; downgrades are refused",
            "remove the app first (state: absent), then install the version wanted"),
    42005: ("the app is not installed", "check the package name"),
    42006: ("the app version does not exist", "check version or version_id (geelark_app_info with installable: true)"),
    47002: (
        "too many concurrent requests or no free devices",
        "other runs on the account may be using GeeLark's concurrency allowance: " + _RUN_LATER,
    ),
    50000: ("internal server error", _RETRY_THEN_SUPPORT),
}

AUTH_CODES = frozenset((40003, 40013, 40015, 40016))
LOCKED_CODES = frozenset((40014,))
# Codes worth another attempt for a read: rate limits, the concurrency cap and server-side trouble.
RETRYABLE_CODES = frozenset((40007, 40017, 47002, 50000))
# Rate limits that lift with the API's minute: wait for the window, not a short backoff.
WINDOW_CODES = frozenset((40007, 40017))
# Over the concurrency cap: retried after a short backoff, with fewer requests in flight.
CONCURRENCY_CODES = frozenset((47002,))
# Refusals that mean nothing was done: the only codes a write is sent again for.
REFUSED_CODES = WINDOW_CODES | CONCURRENCY_CODES
# Codes whose envelope still carries per-item results of a batch.
PARTIAL_CODES = frozenset((40006, 40009))


def describe_code(code):
    """Return (meaning, advice) for an API code, with a fallback for codes nobody documented."""
    return API_CODES.get(code, ("undocumented code", "check the GeeLark API documentation for this code"))


class GeeLarkError(Exception):
    """Any expected failure of the client. The message is complete and safe to show."""

    # True when a write's answer was lost or inconclusive: the write may have been applied.
    uncertain = False

    def __init__(self, message, endpoint=None, code=None, api_msg=None, trace_id=None,
                 http_status=None, attempts=None, advice=None, waited=None):
        self.message = message
        self.waited = waited
        self.endpoint = endpoint
        self.code = code
        self.api_msg = api_msg
        self.trace_id = trace_id
        self.http_status = http_status
        self.attempts = attempts
        self.advice = advice
        super().__init__(message)

    def __str__(self):
        return self.render()

    def render(self):
        parts = [self.message]
        details = []
        if self.endpoint:
            details.append("endpoint %s" % self.endpoint)
        if self.code is not None:
            details.append("code %s" % self.code)
        if self.api_msg:
            details.append("msg %r" % self.api_msg)
        if self.http_status is not None:
            details.append("HTTP %s" % self.http_status)
        if self.trace_id:
            details.append("traceId %s" % self.trace_id)
        if self.attempts:
            details.append("after %d attempt%s" % (self.attempts, "" if self.attempts == 1 else "s"))
        if self.waited:
            details.append("%.0f s spent waiting for the API's limits" % self.waited)
        if details:
            parts.append("(%s)" % ", ".join(details))
        text = " ".join(parts)
        if self.advice:
            text += ". What to do: %s" % self.advice
        return text

    def to_result(self):
        """The structured part of the error, for a module's failure result."""
        return {
            "endpoint": self.endpoint,
            "code": self.code,
            "api_msg": self.api_msg,
            "trace_id": self.trace_id,
            "http_status": self.http_status,
            "attempts": self.attempts,
            "waited": self.waited,
            "uncertain": self.uncertain,
        }


class ConfigError(GeeLarkError):
    """The options cannot work; raised before any request is sent."""


class TransportError(GeeLarkError):
    """No usable answer: connection failure, timeout, TLS failure, non-200 or non-JSON body."""


class UncertainWriteError(TransportError):
    """A write's answer was lost (timeout, reset, 5xx, non-JSON): it may or may not have been applied.

    Never retried: read the status and write again only where nothing changed.
    """

    uncertain = True


class MalformedResponseError(TransportError):
    """A JSON answer whose shape is not what the API documents."""


class APIError(GeeLarkError):
    """The API answered with a non-zero code."""


class AuthError(APIError):
    """Credentials refused (40003, 40013, 40015, 40016). Never retried."""


class LockedError(APIError):
    """The hourly limit was exceeded (40014): the API is locked for two hours. Never retried."""


class RateLimitError(APIError):
    """Still rate limited (40007, 40017) or over the concurrency cap (47002) when the waiting ran out."""


class IncompleteResultError(GeeLarkError):
    """The answers do not add up (pages short of total, IDs unanswered): refusing a partial result."""


def api_error(code, api_msg, endpoint, trace_id, attempts=None, credentials=None):
    """Build the typed error for a non-zero API code.

    `credentials` (the Credentials in use) lets the advice of a refused credential name where the
    credentials came from (the task, the inventory file, an environment variable ...).
    """
    meaning, advice = describe_code(code)
    origin = getattr(credentials, "origin", "")
    if origin and code == 40003:
        advice = "check %s, and that the machine clock is correct" % origin
    elif origin and code == 40013:
        advice = "check %s" % origin
    cls: type[APIError]
    if code in AUTH_CODES:
        cls = AuthError
    elif code in LOCKED_CODES:
        cls = LockedError
    elif code in REFUSED_CODES:
        cls = RateLimitError
    else:
        cls = APIError
    return cls("GeeLark API error: %s" % meaning, endpoint=endpoint, code=code, api_msg=api_msg,
               trace_id=trace_id, attempts=attempts, advice=advice)
