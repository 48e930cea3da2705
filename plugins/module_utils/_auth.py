# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Credentials and request signing for the GeeLark Open API.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

import hashlib
import time
import uuid

from ._errors import ConfigError
from ._settings import CREDENTIAL_OPTIONS, EMPTY_IN, ENV_API_KEY, ENV_APP_ID, ENV_TOKEN

_HOW_TO = (
    "Give either token (env %s), or both app_id (env %s) and api_key (env %s)"
    % (ENV_TOKEN, ENV_APP_ID, ENV_API_KEY)
)


def new_trace_id():
    """A request id as the vendor's own clients make it: a v4 UUID, 32 upper-case hex digits."""
    return uuid.uuid4().hex.upper()


def sign_request(app_id, api_key, trace_id, ts_ms):
    """Headers of the key scheme. The key only enters the hash; it is never sent."""
    ts = str(ts_ms)
    nonce = trace_id[:6]
    digest = hashlib.sha256((app_id + trace_id + ts + nonce + api_key).encode("utf-8")).hexdigest().upper()
    return {"appId": app_id, "traceId": trace_id, "ts": ts, "nonce": nonce, "sign": digest}


class Credentials:
    """Either a bearer token or an app ID with its API key; validated on creation.

    `sources` maps an option name to where its value came from (for example "environment variable
    GEELARK_TOKEN"), so an error about a mix of settings can say which came from where.
    """

    __slots__ = ("_token", "_app_id", "_api_key", "_sources")

    def __init__(self, token=None, app_id=None, api_key=None, sources=None):
        token, app_id, api_key = (_blank_to_none(v) for v in (token, app_id, api_key))
        sources = sources or {}

        def named(*names):
            return " and ".join("%s (%s)" % (n, sources[n]) if sources.get(n) else n for n in names)

        if token and (app_id or api_key):
            raise ConfigError(
                "Both auth schemes were given: %s, and %s. %s, not both: remove one of them"
                % (named("token"), named(*(n for n, v in (("app_id", app_id), ("api_key", api_key)) if v)), _HOW_TO)
            )
        if not token:
            if app_id and not api_key:
                raise ConfigError("%s was given without api_key. %s" % (named("app_id"), _HOW_TO))
            if api_key and not app_id:
                raise ConfigError("%s was given without app_id. %s" % (named("api_key"), _HOW_TO))
            if not app_id:
                raise ConfigError("No GeeLark credentials were given%s. %s" % (_empty_ones(sources), _HOW_TO))
        self._token = token
        self._app_id = app_id
        self._api_key = api_key
        self._sources = dict((n, w) for n, w in sources.items() if n in CREDENTIAL_OPTIONS)

    @property
    def origin(self):
        """Which credentials are in use and where they came from, for the advice of 40003 ('' when not known)."""
        names = ("token",) if self._token else ("app_id", "api_key")
        places = [self._sources.get(name) for name in names]
        if not all(places):
            return ""
        if len(set(places)) == 1:
            return "%s, which came from %s" % ("the token" if self._token else "app_id and api_key", _place(places[0]))
        return " and ".join("%s (from %s)" % (name, _place(where)) for name, where in zip(names, places))

    @property
    def scheme(self):
        return "token" if self._token else "key"

    @property
    def identity(self):
        """Who the API counts requests against: the token, or the app ID (the budget hashes it before any use)."""
        return "token:" + self._token if self._token else "app:" + (self._app_id or "")

    @property
    def secrets(self):
        """The values that must never be shown, for redaction."""
        return tuple(v for v in (self._token, self._api_key) if v)

    def headers(self, trace_id=None, now_ms=None):
        """Fresh auth headers for one attempt of one request."""
        trace_id = trace_id or new_trace_id()
        if self._token:
            return {"traceId": trace_id, "Authorization": "Bearer " + self._token}
        ts_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        return sign_request(self._app_id, self._api_key, trace_id, ts_ms)

    def __repr__(self):
        return "Credentials(scheme=%s)" % self.scheme


def _place(where):
    """A source as a sentence names it: "the environment variable X", "the inventory file"."""
    return "the " + where if where.startswith("environment variable") else where


def _empty_ones(sources):
    """': the token in the inventory file was empty' when a credential was given empty there, else ''."""
    empty: dict = {}
    for name in CREDENTIAL_OPTIONS:
        where = sources.get(name) or ""
        if where.startswith(EMPTY_IN):
            empty.setdefault(where[len(EMPTY_IN):], []).append(name)
    return "".join(": %s in %s %s empty" % ("the token" if names == ["token"] else " and ".join(names), place,
                                            "was" if len(names) == 1 else "were")
                   for place, names in empty.items())


def _blank_to_none(value):
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError("Credentials must be strings, got %s" % type(value).__name__)
    value = value.strip()
    return value or None
