# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HTTP transport of the GeeLark client: one keep-alive session, signing, retries, pacing.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

import email.utils
import json
import random
import re
import threading
import time
import traceback

try:
    import requests
    import requests.adapters
    import urllib3
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised by the sanity import test
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

from ._errors import (
    CONCURRENCY_CODES,
    ConfigError,
    GeeLarkError,
    MalformedResponseError,
    REFUSED_CODES,
    RETRYABLE_CODES,
    TransportError,
    UncertainWriteError,
    WINDOW_CODES,
    api_error,
)
from ._parallel import CLEAN, NEUTRAL, OVER_CAP, PUSHBACK, AdaptiveLimit
from ._ratelimit import SCOPE_MACHINE, SCOPES, WINDOW_SECONDS, RateLimiter
from ._version import COLLECTION_NAME, COLLECTION_VERSION

DEFAULT_API_URL = "https://openapi.geelark.com"
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 5
DEFAULT_RETRY_BACKOFF = 1.0
DEFAULT_RETRY_MAX_DELAY = 60.0
# GeeLark documents 200 requests a minute per API; stay clear of it by default.
DEFAULT_RATE_LIMIT = 180
DEFAULT_RATE_LIMIT_SCOPE = SCOPE_MACHINE
# Time one request may spend waiting for the API's limits (40007, 40017, 47002) before it fails:
# enough for a few minute windows to roll over, far from the two-hour lock of 40014.
DEFAULT_RATE_LIMIT_WAIT = 300.0
# The most requests in flight at once; the adaptive limit starts lower and finds the API's cap.
DEFAULT_CONCURRENCY = 32
MAX_CONCURRENCY = 64
START_PARALLELISM = 4
# GeeLark counts requests per API per minute.
API_WINDOW_SECONDS = 60.0
# A wait longer than this is announced once through the notice hook, so a run does not look hung.
NOTICE_AFTER_SECONDS = 5.0

_EXCERPT_CHARS = 200
_URL_RE = re.compile(r"^https?://[^/\s?#]+(/[^\s?#]*)?$")


class Cancelled(GeeLarkError):
    """The run was interrupted (Ctrl-C) while a request waited for its turn."""


class _Retry(Exception):
    """One attempt failed in a way worth another attempt; `outcome` tells the adaptive limit why."""

    def __init__(self, error, retry_after=None, outcome=NEUTRAL):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after
        self.outcome = outcome


class _Tries:
    """The attempts of one request so far."""

    def __init__(self):
        self.attempt = 0
        self.failures = 0  # transient failures, for the backoff
        self.refusals = 0  # 47002 answers, for the backoff
        self.waited = 0.0  # seconds spent waiting for the API's limits, bounded by rate_limit_wait


def api_url_setting(source=None):
    """How to name the api_url setting in advice: where its value came from, when that is known."""
    return "api_url (from %s)" % source if source else "api_url (env GEELARK_API_URL)"


def normalize_api_url(api_url, source=None):
    """Validate the base URL up front, so a typo fails before any request is sent.

    `source` says where the value came from (for example "the inventory file"), for the advice.
    """
    setting = api_url_setting(source)
    match = _URL_RE.match(api_url.strip()) if isinstance(api_url, str) else None
    if not match:
        raise ConfigError(
            "api_url %r is not an http(s) URL such as %s" % (api_url, DEFAULT_API_URL),
            advice="set %s to the API's base URL, without a path" % setting,
        )
    url = api_url.strip().rstrip("/")
    path = (match.group(1) or "").rstrip("/")
    if path:
        # Every endpoint path starts with /open/v1 already; a base URL holding it would double it.
        raise ConfigError(
            "api_url %r has a path (%s); it must be the API's base URL only" % (api_url, path),
            advice="set %s to %r" % (setting, url[:len(url) - len(path)]),
        )
    return url


class Transport:
    """POSTs JSON to the API and returns the envelope of a successful answer.

    Reads are retried on connection errors, timeouts, HTTP 429 and 5xx, non-JSON bodies and the
    API codes of RETRYABLE_CODES, with exponential backoff and full jitter; Retry-After wins when
    the server sends it. A rate limit (40007, 40017) waits for the API's minute to roll over and
    shrinks this run's budget; over the concurrency cap (47002) the limit of requests in flight
    halves. Writes (`write=True`) are sent again only after those refusals, which mean nothing
    was done. Every attempt is paced by the RateLimiter (shared by this user's processes, by
    default), let in by the AdaptiveLimit, and signed afresh.
    """

    # Added to the rest of the minute after a 40007, so waiting clients do not all return at once.
    window_jitter = (1.0, 4.0)

    def __init__(self, credentials, api_url=DEFAULT_API_URL, timeout=DEFAULT_TIMEOUT, validate_certs=True,
                 retries=DEFAULT_RETRIES, retry_backoff=DEFAULT_RETRY_BACKOFF,
                 retry_max_delay=DEFAULT_RETRY_MAX_DELAY, rate_limit=DEFAULT_RATE_LIMIT,
                 rate_limit_scope=DEFAULT_RATE_LIMIT_SCOPE, rate_limit_wait=DEFAULT_RATE_LIMIT_WAIT,
                 concurrency=DEFAULT_CONCURRENCY, log=None, notice=None, session=None, stop_event=None,
                 budget_dir=None, wall_clock=time.time, rate_window=API_WINDOW_SECONDS, api_url_source=None):
        if not HAS_REQUESTS and session is None:
            raise ConfigError("The Python library 'requests' is required",
                              advice="install it on the node that runs this: pip install requests")
        self.api_url = normalize_api_url(api_url, api_url_source)
        self.api_url_setting = api_url_setting(api_url_source)
        _check_number("timeout", timeout, minimum=0.001)
        _check_number("retries", retries, minimum=0, integer=True)
        _check_number("retry_backoff", retry_backoff, minimum=0)
        _check_number("retry_max_delay", retry_max_delay, minimum=0)
        _check_number("rate_limit", rate_limit, minimum=0, integer=True)
        _check_number("rate_limit_wait", rate_limit_wait, minimum=0)
        check_concurrency(concurrency)
        if rate_limit_scope not in SCOPES:
            raise ConfigError("rate_limit_scope must be one of %s, got %r" % (", ".join(SCOPES), rate_limit_scope))
        self.credentials = credentials
        self.timeout = float(timeout)
        self.validate_certs = bool(validate_certs)
        if not self.validate_certs and HAS_REQUESTS:
            # The user turned verification off on purpose; a warning per request adds only noise.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self.retries = int(retries)
        self.retry_backoff = float(retry_backoff)
        self.retry_max_delay = float(retry_max_delay)
        self.rate_limit_wait = float(rate_limit_wait)
        self.stop_event = stop_event or threading.Event()
        self._log = log
        self._notice = notice
        self._noticed = False
        self._wall_clock = wall_clock
        # The API's counting window; a parameter so unit tests of the waiting can use a short one.
        self.rate_window = float(rate_window)
        self._budget_window = self.rate_window * WINDOW_SECONDS / API_WINDOW_SECONDS
        self.limiter = RateLimiter(int(rate_limit), scope=rate_limit_scope, identity=_account_identity(credentials),
                                   api_url=self.api_url, budget_dir=budget_dir, wall_clock=wall_clock,
                                   warn=self._tell, window=self._budget_window)
        self.parallelism = AdaptiveLimit(concurrency, START_PARALLELISM, self.stop_event)
        self._session = session or _new_session(concurrency)
        self._session.headers.update({
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "%s/%s" % (COLLECTION_NAME, COLLECTION_VERSION),
        })
        self._stats_lock = threading.Lock()
        self.request_count = 0
        self.retry_count = 0
        self.rate_limited_count = 0
        self.over_cap_count = 0
        self._started = time.monotonic()
        self._waiting = 0
        self._waiting_since = 0.0
        self._waited = 0.0

    def close(self):
        self._session.close()

    def summary(self):
        """What this transport did, for a module's result: counts and seconds."""
        with self._stats_lock:
            waited = self._waited + (time.monotonic() - self._waiting_since if self._waiting else 0.0)
            return {
                "requests": self.request_count,
                "retries": self.retry_count,
                "rate_limited": self.rate_limited_count,
                "over_concurrency_cap": self.over_cap_count,
                "peak_parallel": self.parallelism.peak,
                "seconds_waiting_for_budget": round(waited, 3),
                "seconds": round(time.monotonic() - self._started, 3),
            }

    def post(self, path, body, retry=True, accept_codes=frozenset((0,)), write=False):
        """Send one API call; return the envelope (a dict with code, msg, traceId, data).

        `write=True` marks a call that changes something: it is sent again only after an answer
        that says nothing was done (40007, 40017, 47002); a lost or inconclusive answer raises an
        error whose `uncertain` is True at once. `retry=False` sends it exactly once.
        """
        tries = _Tries()
        while True:
            tries.attempt += 1
            budget_delay = self._wait_for_budget(path)
            if tries.attempt > 1:
                tries.waited += budget_delay  # after a refusal, pacing is part of waiting for the API's limits
            ticket = self.parallelism.acquire()
            if ticket is None:
                raise Cancelled("The run was cancelled before all requests were sent")
            try:
                envelope = self._attempt(path, body, accept_codes, write)
            except _Retry as retry_signal:
                self.parallelism.release(ticket, retry_signal.outcome)
                failed = retry_signal
            except GeeLarkError as error:
                self.parallelism.release(ticket, NEUTRAL)
                if tries.attempt > 1:
                    error.attempts = tries.attempt
                    error.waited = tries.waited or None
                raise
            except BaseException:
                self.parallelism.release(ticket, NEUTRAL)
                raise
            else:
                self.parallelism.release(ticket, CLEAN)
                return envelope
            delay = self._next_try(path, failed, tries, retry)
            self._sleep(delay, counted=failed.error.code in WINDOW_CODES)

    def _next_try(self, path, failed, tries, retry):
        """Seconds to wait before the next attempt; raises the error when there is none to make."""
        error = failed.error
        code = error.code
        if code in WINDOW_CODES:
            self._shrink_budget(path)
            delay = self._window_delay()
        elif code in CONCURRENCY_CODES:
            tries.refusals += 1
            delay = self._backoff(tries.refusals, None)
        else:
            tries.failures += 1
            delay = self._backoff(tries.failures, failed.retry_after)
        limited = code in REFUSED_CODES
        if not retry or tries.attempt > self.retries or (limited and tries.waited + delay > self.rate_limit_wait):
            error.attempts = tries.attempt
            error.waited = tries.waited or None
            if limited and retry:
                # How often and how long are in the error's details; this names the two limits that ended it.
                error.message += ("; still refused when the wait allowed ran out (rate_limit_wait %s s, retries %d)"
                                  % (_fmt(self.rate_limit_wait), self.retries))
            raise error
        if limited:
            tries.waited += delay
        self._debug("%s: %s; attempt %d, next in %.2fs" % (path, error.message, tries.attempt, delay))
        with self._stats_lock:
            self.retry_count += 1
        if code in WINDOW_CODES and delay > NOTICE_AFTER_SECONDS:
            self._warn_once("GeeLark answered %s (%s) on %s; waiting about %.0f s for its minute to roll over, "
                            "at most %s s in all (rate_limit_wait)"
                            % (code, "rate limited" if code == 40007 else "too many requests", path, delay,
                               _fmt(self.rate_limit_wait)))
        return delay

    def _wait_for_budget(self, path):
        delay = self.limiter.reserve(path)
        if delay > NOTICE_AFTER_SECONDS:
            self._warn_once("Requests to %s wait about %.0f s for their turn in the rate budget (%d a minute for this "
                            "account%s)" % (path, delay, self.limiter.limit(path),
                                            ", shared by every run on this machine" if self.limiter.scope ==
                                            SCOPE_MACHINE and self.limiter.fallback_reason is None else ""))
        self._sleep(delay, counted=True)
        return max(0.0, delay)

    def _shrink_budget(self, path):
        """After a rate limit: this run allows itself what got through in the last window, at most."""
        with self._stats_lock:
            self.rate_limited_count += 1
        if self.limiter.per_minute:
            self.limiter.refused(path)
            self._debug("%s: rate limited; this run now allows itself %d requests a minute there"
                        % (path, self.limiter.limit(path)))

    def _window_delay(self):
        """Seconds until the API's minute can have rolled over: the rest of this minute, plus jitter."""
        rest = self.rate_window - (self._wall_clock() % self.rate_window)
        jitter = random.uniform(*self.window_jitter)  # noqa: S311 - jitter, not cryptography
        return rest + jitter * self.rate_window / API_WINDOW_SECONDS

    def _attempt(self, path, body, accept_codes, write=False):
        headers = self.credentials.headers()  # signed right before sending, fresh on every retry
        trace_id = headers["traceId"]
        with self._stats_lock:
            self.request_count += 1
        started = time.monotonic()
        try:
            response = self._session.post(
                self.api_url + path, data=json.dumps(body), headers=headers,
                timeout=self.timeout, verify=self.validate_certs, allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            if "WRONG_VERSION_NUMBER" in str(exc).upper().replace(" ", "_"):
                # The server answered in plain HTTP: no certificate setting can help.
                what, advice = "The server at %s does not speak TLS", (
                    "check that %s starts with http:// or https:// as the server expects; "
                    "the GeeLark API uses https://" % self.api_url_setting)
            else:
                what, advice = "TLS verification of %s failed", (
                    "check the server certificate and CA bundle (REQUESTS_CA_BUNDLE); set validate_certs: false "
                    "only for a test server you trust")
            raise TransportError("%s: %s" % (what % self.api_url, _first_line(exc)), endpoint=path,
                                 trace_id=trace_id, advice=advice) from None
        except requests.exceptions.Timeout:
            raise _lost(write, "No answer within the %ss timeout" % _fmt(self.timeout), endpoint=path,
                        trace_id=trace_id, advice="raise timeout, or check the network") from None
        except requests.exceptions.InvalidURL as exc:
            raise ConfigError("api_url %s is not usable: %s" % (self.api_url, _first_line(exc)),
                              endpoint=path) from None
        except requests.exceptions.RequestException as exc:
            raise _lost(write, "Cannot reach %s: %s" % (self.api_url, _first_line(exc)), endpoint=path,
                        trace_id=trace_id, advice="check %s, DNS and the network" % self.api_url_setting) from None
        self._debug("POST %s -> HTTP %s in %.3fs traceId %s"
                    % (path, response.status_code, time.monotonic() - started, trace_id))
        return self._read(path, response, trace_id, accept_codes, write)

    def _read(self, path, response, trace_id, accept_codes, write=False):
        status = response.status_code
        if status != 200:
            message = "Unexpected HTTP answer: %s" % self._excerpt(response)
            advice = _http_advice(status, self.api_url_setting)
            if status >= 500:
                raise _lost(write, message, endpoint=path, http_status=status, trace_id=trace_id, advice=advice,
                            retry_after=_retry_after(response.headers.get("Retry-After")), outcome=PUSHBACK)
            error = TransportError(message, endpoint=path, http_status=status, trace_id=trace_id, advice=advice)
            if status == 429 and not write:  # refused: for a write, the caller decides
                raise _Retry(error, _retry_after(response.headers.get("Retry-After")), outcome=PUSHBACK)
            raise error
        try:
            text = response.content.decode("utf-8")
            envelope = json.loads(text)
        except (UnicodeDecodeError, ValueError):
            raise _lost(write, "The answer is not JSON: %s" % self._excerpt(response), endpoint=path,
                        http_status=status, trace_id=trace_id,
                        advice="check %s; retry later" % self.api_url_setting) from None
        if not isinstance(envelope, dict):
            raise MalformedResponseError("The answer is JSON but not an object", endpoint=path, trace_id=trace_id)
        if any(form in text for secret in self.credentials.secrets for form in _forms(secret)):
            envelope = self._scrub_value(envelope)  # the answer quotes a credential: mask it wherever it is
        trace_id = _text(envelope.get("traceId")) or trace_id
        code = envelope.get("code")
        if not _is_int(code):
            raise MalformedResponseError("The answer has no integer 'code'", endpoint=path, trace_id=trace_id)
        if code == 0 or code in accept_codes:
            envelope["traceId"] = trace_id
            return envelope
        error = api_error(code, _text(envelope.get("msg")), path, trace_id)
        if code in CONCURRENCY_CODES:
            with self._stats_lock:
                self.over_cap_count += 1
            raise _Retry(error, outcome=OVER_CAP)
        if code in REFUSED_CODES:
            raise _Retry(error, outcome=PUSHBACK)
        if code in RETRYABLE_CODES:
            if write:
                error.uncertain = True  # a server error on a write: it may have been applied
                raise error
            raise _Retry(error, outcome=PUSHBACK)
        raise error

    def _backoff(self, attempt, retry_after):
        if retry_after is not None:
            return min(retry_after, self.retry_max_delay)
        return random.uniform(0, min(  # noqa: S311 - jitter, not cryptography
            self.retry_max_delay, self.retry_backoff * (2 ** (attempt - 1))))

    def _sleep(self, seconds, counted=False):
        """Wait (Ctrl-C aware); `counted` waits add to seconds_waiting_for_budget, as wall time."""
        if self.stop_event.is_set():
            raise Cancelled("The run was cancelled before all requests were sent")
        if seconds <= 0:
            return
        if counted:
            with self._stats_lock:
                if not self._waiting:
                    self._waiting_since = time.monotonic()
                self._waiting += 1
        try:
            if self.stop_event.wait(seconds):
                raise Cancelled("The run was cancelled before all requests were sent")
        finally:
            if counted:
                with self._stats_lock:
                    self._waiting -= 1
                    if not self._waiting:
                        self._waited += time.monotonic() - self._waiting_since

    def _warn_once(self, sentence):
        """Tell the caller, once per run, that the run waits (or shares less) than it might expect."""
        with self._stats_lock:
            if self._noticed:
                self._debug(sentence)
                return
            self._noticed = True
        self._tell(sentence)

    def _tell(self, sentence):
        if self._notice:
            self._notice(sentence)
        else:
            self._debug(sentence)

    def _scrub(self, text):
        """The text with every credential masked, also in its JSON-escaped form: answers may quote them."""
        for secret in self.credentials.secrets:
            for form in _forms(secret):
                text = text.replace(form, "********")
        return text

    def _scrub_value(self, value):
        """A parsed answer with every credential masked in its string values (keys are the API's own)."""
        if isinstance(value, str):
            return self._scrub(value)
        if isinstance(value, list):
            return [self._scrub_value(v) for v in value]
        if isinstance(value, dict):
            return dict((k, self._scrub_value(v)) for k, v in value.items())
        return value

    def _excerpt(self, response):
        text = response.content[:_EXCERPT_CHARS * 4].decode("utf-8", "replace")
        text = self._scrub(re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", text)).strip())
        text = "".join(ch for ch in text if ch.isprintable())
        if len(text) > _EXCERPT_CHARS:
            text = text[:_EXCERPT_CHARS] + "..."
        return repr(text) if text else "(empty body)"

    def _debug(self, line):
        if self._log:
            self._log(line)


def _forms(secret):
    """A secret as it appears in text and inside a JSON string."""
    return {secret, json.dumps(secret)[1:-1]}


def _http_advice(status, setting):
    """What to do about an HTTP status other than 200 (GeeLark documents none of them)."""
    if status in (401, 403):
        return ("the server refused this request: check token, or app_id and api_key (GEELARK_TOKEN, "
                "GEELARK_APP_ID, GEELARK_API_KEY), and that this machine's IP is in the API whitelist")
    if status == 429:
        return "the server asks for fewer requests: lower rate_limit, or run later"
    if status >= 500:
        return "the API is having trouble; retry later"
    return "check %s: it must be the GeeLark API's base URL" % setting


def _lost(write, message, retry_after=None, outcome=NEUTRAL, **details):
    """A failure where the answer was lost: retried for a read; for a write, the write may have happened."""
    if write:
        details["advice"] = "read the status of what the write was meant to change before sending it again"
        return UncertainWriteError(message + "; the write may or may not have been applied", **details)
    return _Retry(TransportError(message, **details), retry_after, outcome=outcome)


def _new_session(concurrency):
    """A keep-alive session whose pool holds a connection for every request that may be in flight."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=max(1, concurrency))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _account_identity(credentials):
    """Who the API counts requests against: the token, or the app ID (hashed before any use)."""
    token = getattr(credentials, "_token", None)
    if token:
        return "token:" + token
    return "app:" + str(getattr(credentials, "_app_id", None) or "")


def check_concurrency(concurrency):
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ConfigError("concurrency must be a whole number from 1 to %d, got %r" % (MAX_CONCURRENCY, concurrency))


def _retry_after(value):
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value):
    return value if isinstance(value, str) else None


def _first_line(exc):
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def _fmt(number):
    return ("%g" % number)


def _check_number(name, value, minimum, integer=False):
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
        raise ConfigError("%s must be a%s number of at least %s, got %r"
                          % (name, " whole" if integer else "", _fmt(minimum), value))
