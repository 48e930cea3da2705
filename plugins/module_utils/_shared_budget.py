# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The rate budget of scope `shared`: kept in a Redis or Valkey server that every node reaches.

Private to this collection: the API of this file may change without notice.

Jobs of AWX and Ansible Automation Platform run in containers of their own, on several nodes, so
no file is shared by them. A server is: each request books its slot with one Lua script, run
atomically by the server, with the server's clock (TIME), so nodes whose clocks differ still agree.
The script applies the machine budget's rule (_ratelimit.book_slot): the same burst and pacing,
per endpoint, refusals shared. One script call per request: one round trip.

Keys are named by the machine budget's hash of account, API URL and endpoint (no secret in a key),
and expire two windows after their last write, so an idle account leaves nothing behind.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from urllib.parse import parse_qsl, urlsplit

from ._ratelimit import Booking, budget_file_name

# Imported on first use only: importing redis-py costs about a tenth of a second, which every task
# of the other scopes would pay for nothing.
HAS_REDIS = importlib.util.find_spec("redis") is not None

URL_SCHEMES = ("redis", "rediss", "unix")
# Seconds one call to the server may take, connecting included, before it counts as down: a budget
# that waits for a lost server as long as for the API would stall every request behind it.
SERVER_TIMEOUT = 3.0
KEY_PREFIX = "geelark.cloudphone:budget:"
_MASK = "********"
# A scheme as written, to quote in a message: nothing after it (the user part may hold a password).
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,19}://")

# KEYS: grants, refusals (sorted sets of server times, in seconds). ARGV: operation ("book" or
# "refuse"), per_minute, window, max_wait (negative: none), then the ages in seconds of requests this
# client sent on a budget of its own while the server could not be reached (counted here from now on).
SCRIPT = r"""
if redis.replicate_commands then pcall(redis.replicate_commands) end
local grants, refusals = KEYS[1], KEYS[2]
local op, per_minute, window, max_wait = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local idle = math.ceil(2 * window * 1000)
local function at(t) return string.format('%.6f', t) end
local function add(key, t)
  local member = string.format('%.6f:%s.%06d:%d', t, clock[1], tonumber(clock[2]), redis.call('ZCARD', key))
  redis.call('ZADD', key, at(t), member)
end
-- Out of the window, or further ahead than one window (a server clock set back since): no longer counts.
redis.call('ZREMRANGEBYSCORE', grants, '-inf', at(now - window))
redis.call('ZREMRANGEBYSCORE', grants, '(' .. at(now + window + 0.01), '+inf')
for i = 5, #ARGV do
  local t = now - tonumber(ARGV[i])
  if t > now - window and t <= now + window then add(grants, t) end
end
if op == 'refuse' then
  redis.call('ZREMRANGEBYSCORE', refusals, '-inf', at(now - window))
  add(refusals, now)
  redis.call('PEXPIRE', refusals, idle)
  if #ARGV > 4 then redis.call('PEXPIRE', grants, idle) end
  local sent = redis.call('ZCOUNT', grants, '(' .. at(now - window), at(now))
  local refused = redis.call('ZCOUNT', refusals, '(' .. at(now - window), at(now))
  return {1, tostring(math.max(1, sent - refused))}
end
local count = redis.call('ZCARD', grants)
local slot = now
if count > 0 then
  slot = math.max(slot, tonumber(redis.call('ZRANGE', grants, -1, -1, 'WITHSCORES')[2]))
end
if count >= per_minute then
  slot = math.max(slot, tonumber(redis.call('ZRANGE', grants, -per_minute, -per_minute, 'WITHSCORES')[2]) + window)
end
local wait = slot - now
local booked = 0
if wait <= window and (max_wait < 0 or wait <= max_wait) then
  add(grants, slot)
  booked = 1
end
if booked == 1 or #ARGV > 4 then redis.call('PEXPIRE', grants, idle) end
return {booked, at(wait)}
"""


class BudgetServerError(OSError):
    """The server could not be used for the budget; the message names it with its password masked."""


def masked_url(url):
    """The URL with its user part and any password in its query masked, for every message that names it."""
    text = url.strip() if isinstance(url, str) else ""
    text = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^?#]*@", lambda m: m.group(1) + _MASK + "@", text)
    return re.sub(r"([?&]password=)[^&#]*", lambda m: m.group(1) + _MASK, text, flags=re.IGNORECASE)


def url_problem(url, password=None, source=None):
    """Why the URL cannot name a budget server, or None when it can.

    The sentence names the setting, and where its value came from when `source` says (as the
    settings' sources do), but never quotes the URL: past its scheme it may hold a password, and
    Ansible masks a secret option's whole value wherever it appears, so a quoted URL reads "********".
    """
    setting = "rate_limit_url (from %s)" % source if source else "rate_limit_url"
    if not isinstance(url, str):
        return "%s is not text: it must be a redis://, rediss:// or unix:// URL" % setting
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # such as an unclosed [ of an IPv6 address
        return "%s is not a URL: it must be a redis://, rediss:// or unix:// URL" % setting
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # a port that is not a number, or out of range
        port_ok = False
    scheme = parts.scheme.lower()
    if scheme not in URL_SCHEMES:
        written = _SCHEME_RE.match(url.strip())
        if written:
            return "%s starts with %r, not redis://, rediss:// or unix://" % (setting, written.group(0))
        return "%s does not start with redis://, rediss:// or unix://" % setting
    if not port_ok:
        return "%s has a port that is not a number from 1 to 65535" % setting
    if scheme == "unix" and not parts.path:
        return "%s is a unix:// URL that names no socket path (unix:///run/redis/redis.sock)" % setting
    if password and (parts.password or any(k.lower() == "password" for k, v in parse_qsl(parts.query))):
        return ("%s holds a password, and rate_limit_password is set too: give the password in one place only"
                % setting)
    return None


def unshared_url_warning(scope, scope_variable):
    """The warning for a server URL that scope `scope` ignores: the user meant to share the budget, and does not."""
    return ("rate_limit_url is set but rate_limit_scope is %s: the budget is not shared across machines; set "
            "rate_limit_scope: shared (%s)" % (scope, scope_variable))


class BudgetServer:
    """The Redis or Valkey server the settings name: one connection pool, shared by the client's threads.

    Connects on first use. `run` makes one script call and raises BudgetServerError, with the
    password masked, for anything that goes wrong: the caller keeps a budget of its own meanwhile.
    """

    def __init__(self, url, password=None, timeout=SERVER_TIMEOUT):
        self.url = url.strip()
        self._password = password or None
        self._timeout = timeout
        self._client = None
        self._script = None
        self._lock = threading.Lock()

    @property
    def name(self):
        """The URL as messages show it: the password masked."""
        return masked_url(self.url)

    @property
    def label(self):
        """The server in words for the debug log, such as "redis server h:6379 db 0 over TLS, password hidden".

        Never the URL as written: Ansible masks a secret option's whole value wherever it appears.
        """
        try:
            parts = urlsplit(self.url)
            port = parts.port
        except ValueError:  # url_problem refuses such a URL first; a BudgetServer made directly may hold one
            return "redis server (URL not readable), password hidden"
        query = dict((k.lower(), v) for k, v in parse_qsl(parts.query))
        secret = self._password or parts.password or query.get("password")
        db = query.get("db") or parts.path.strip("/") or "0"
        scheme = parts.scheme.lower()
        if scheme == "unix":
            where = "redis socket %s db %s" % (parts.path, query.get("db") or "0")
        else:
            host = parts.hostname or "localhost"
            where = "redis server %s:%d db %s%s" % ("[%s]" % host if ":" in host else host, port or 6379, db,
                                                    " over TLS" if scheme == "rediss" else "")
        return where + (", password hidden" if secret else ", no password")

    def __repr__(self):
        return "BudgetServer(%r)" % self.name

    def budget(self, identity, api_url, endpoint, per_minute, window):
        """The budget of one account, API URL and endpoint in this server."""
        return ServerBudget(self, budget_keys(identity, api_url, endpoint), per_minute, window)

    def run(self, keys, args):
        """One call of the script: its answer, or BudgetServerError."""
        try:
            return self._connected()(keys=keys, args=args)
        except Exception as exc:  # redis-py, socket, TLS and URL errors alike: the budget falls back
            raise BudgetServerError("%s: %s" % (self.name, self._scrub(_first_line(exc)))) from None

    def _connected(self):
        with self._lock:
            if self._script is None:
                import redis
                from redis.backoff import NoBackoff
                from redis.retry import Retry

                options = dict(socket_timeout=self._timeout, retry=Retry(NoBackoff(), 0), health_check_interval=0)
                if not self.url.lower().startswith("unix:"):  # redis-py before 4.5 takes none for a socket file
                    options["socket_connect_timeout"] = self._timeout
                if self._password:
                    options["password"] = self._password
                self._client = redis.Redis.from_url(self.url, **options)
                # EVAL every time, never EVALSHA then EVAL: one round trip per request, also after a restart.
                self._script = _Eval(self._client)
            return self._script

    def _scrub(self, text):
        """The text with the password masked wherever it is: redis-py's messages may quote the URL."""
        secrets = [self._password]
        try:
            parts = urlsplit(self.url)
            secrets += [parts.password] + [v for k, v in parse_qsl(parts.query) if k.lower() == "password"]
        except ValueError:  # a URL that does not parse: the user part is masked below, with the URL
            pass
        for secret in filter(None, secrets):
            text = text.replace(secret, _MASK)
        return text.replace(self.url, self.name)


class _Eval:
    """The script, sent whole with EVAL; the server caches its compiled form by the script's hash."""

    def __init__(self, client):
        self._client = client

    def __call__(self, keys, args):
        return self._client.eval(SCRIPT, len(keys), *(list(keys) + list(args)))


class ServerBudget:
    """The machine budget's rule for one endpoint, kept in the server: reserve and refuse, as SharedBudget."""

    def __init__(self, server, keys, per_minute, window):
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.server = server
        self.keys = keys
        self.per_minute = int(per_minute)
        self._window = window
        self._carry: tuple = ()

    def carry(self, ages):
        """Count these requests too at the next call: sent `ages` seconds ago (negative: booked ahead)."""
        self._carry = tuple(ages)

    def reserve(self, per_minute=None, max_wait=None):
        booked, wait = self._call("book", per_minute or self.per_minute, -1 if max_wait is None else max_wait)
        return Booking(float(wait), bool(int(booked)))

    def refuse(self):
        """Note a refusal for every node; return what got through in the window, fleet-wide."""
        return int(self._call("refuse", self.per_minute, -1)[1])

    def _call(self, operation, per_minute, max_wait):
        args = [operation, int(per_minute), "%.6f" % self._window, "%.6f" % max_wait]
        args += ["%.6f" % age for age in self._carry]
        answer = self.server.run(self.keys, args)
        self._carry = ()  # counted by the server now
        return [_text(value) for value in answer]


def budget_keys(identity, api_url, endpoint):
    """(grants, refusals) keys: the machine budget's file name, in braces so a cluster keeps both on one node."""
    base = "%s{%s}" % (KEY_PREFIX, budget_file_name(identity, api_url, endpoint))
    return (base + ":grants", base + ":refusals")


def _text(value):
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def _first_line(exc):
    text = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
