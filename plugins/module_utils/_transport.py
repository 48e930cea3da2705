# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HTTP transport of the GeeLark client: one keep-alive session, signing, retries, pacing.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import random
import re
import socket
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
    RateLimitError,
    TransportError,
    UncertainWriteError,
    WINDOW_CODES,
    api_error,
)
from ._parallel import CLEAN, NEUTRAL, OVER_CAP, PUSHBACK, AdaptiveLimit
from ._ratelimit import SCOPE_MACHINE, WINDOW_SECONDS, RateLimiter
from ._settings import CREDENTIAL_VARIABLES, OPTIONS
from ._shared_budget import unshared_url_warning
from ._version import COLLECTION_NAME, COLLECTION_VERSION

# The adaptive limit of requests in flight starts here and grows towards the concurrency option.
START_PARALLELISM = 4
# GeeLark counts requests per API per minute.
API_WINDOW_SECONDS = 60.0
# A wait longer than this is announced once through the notice hook, so a run does not look hung.
NOTICE_AFTER_SECONDS = 5.0

_EXCERPT_CHARS = 200
# A live-view URL (the `url` of a start answer) shows the phone's screen to whoever holds it, and
# tokens ride in URLs' queries and user parts: quoted answers never show them. JSON may escape "/".
_URL_VALUE_RE = re.compile(r'("[A-Za-z_]*url"\s*:\s*")((?:[^"\\]|\\.)*)', re.IGNORECASE)
_URL_QUERY_RE = re.compile(r"(https?:(?:\\?/){2}[^\s\"'<>?#]*)[?#][^\s\"'<>]*", re.IGNORECASE)
_URL_USER_RE = re.compile(r"(https?:(?:\\?/){2})[^\s/\\\"'<>@]*@", re.IGNORECASE)
_MASK = "********"
# The attempt (a _Deadline) this thread is making, for the connection pools below.
_ATTEMPT = threading.local()


class Cancelled(GeeLarkError):
    """The run was interrupted (Ctrl-C) while a request waited for its turn."""


class _Retry(Exception):
    """One attempt failed in a way worth another attempt; `outcome` tells the adaptive limit why."""

    def __init__(self, error, retry_after=None, outcome=NEUTRAL):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after
        self.outcome = outcome


class _NoTurn(Exception):
    """The request's next slot in the rate budget is `wait` seconds away, beyond what rate_limit_wait leaves."""

    def __init__(self, wait, waited):
        super().__init__(wait)
        self.wait = wait
        self.waited = waited


class _Tries:
    """The attempts of one request so far."""

    def __init__(self):
        self.attempt = 0
        self.failures = 0  # transient failures, for the backoff
        self.refusals = 0  # 47002 answers, for the backoff
        self.waited = 0.0  # seconds spent waiting for the API's limits, bounded by rate_limit_wait


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

    def __init__(self, settings, log=None, notice=None, session=None, wall_clock=time.time):
        """`settings` is a ClientSettings; `log` takes debug lines; `notice` is told once, in a sentence,
        when the run waits for the budget; `session` and `wall_clock` stand in for the network and the
        clock in tests.
        """
        if not HAS_REQUESTS and session is None:
            raise ConfigError("The Python library 'requests' is required",
                              advice="install it on the node that runs this: pip install requests")
        self.settings = settings
        self.credentials = settings.credentials
        self.api_url = settings.api_url
        self.api_url_setting = settings.api_url_setting
        self.timeout = settings.timeout
        self.validate_certs = settings.validate_certs
        if not self.validate_certs and HAS_REQUESTS:
            # The user turned verification off on purpose; a warning per request adds only noise.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self.retries = settings.retries
        self.retry_backoff = settings.retry_backoff
        self.retry_max_delay = settings.retry_max_delay
        self.rate_limit_wait = settings.rate_limit_wait
        self.stop_event = threading.Event()
        self._log = log
        self._notice = notice
        self._noticed = False
        self._wall_clock = wall_clock
        # The API's counting window; a setting so unit tests of the waiting can use a short one.
        self.rate_window = float(settings.rate_window or API_WINDOW_SECONDS)
        self._budget_window = self.rate_window * WINDOW_SECONDS / API_WINDOW_SECONDS
        self.limiter = RateLimiter(settings.rate_limit, scope=settings.rate_limit_scope,
                                   identity=self.credentials.identity, api_url=self.api_url,
                                   budget_dir=settings.budget_dir, wall_clock=wall_clock, warn=self._tell,
                                   window=self._budget_window, server=settings.budget_server,
                                   nodes=settings.rate_limit_nodes, log=self.debug)
        self._tell_budget(settings)
        self.parallelism = AdaptiveLimit(settings.concurrency, START_PARALLELISM, self.stop_event)
        self._session = session or _new_session(settings.concurrency)
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

    def _tell_budget(self, settings):
        """Say which rate budget this run keeps (debug), and warn of a server URL its scope does not use.

        The settings keep rate_limit_url only for scope shared; `sources` still says one was given
        (an empty value is not given, so AWX's blank field never warns).
        """
        self.debug("rate budget: %s" % self.limiter.describe())
        if self.limiter.server is None and settings.sources.get("rate_limit_url"):
            self._tell(unshared_url_warning(settings.rate_limit_scope, OPTIONS["rate_limit_scope"].env))

    def close(self):
        self._session.close()

    def stop(self):
        """Stop the run: requests waiting for their turn, and any not yet sent, end with Cancelled."""
        self.stop_event.set()

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
        failed = None
        while True:
            tries.attempt += 1
            try:
                tries.waited += self._wait_for_budget(path, tries)  # the budget mirrors the API's limits
            except _NoTurn as no_turn:
                raise self._no_turn_error(path, no_turn, tries, failed) from None
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
                self._ran_out(error)
            raise error
        if limited:
            tries.waited += delay
        self.debug("%s: %s; attempt %d, next in %.2fs" % (path, error.message, tries.attempt, delay))
        with self._stats_lock:
            self.retry_count += 1
        if code in WINDOW_CODES and delay > NOTICE_AFTER_SECONDS:
            self._warn_once("GeeLark answered %s (%s) on %s; waiting about %.0f s for its minute to roll over, "
                            "at most %s s in all (rate_limit_wait)"
                            % (code, "rate limited" if code == 40007 else "too many requests", path, delay,
                               _fmt(self.rate_limit_wait)))
        return delay

    def _wait_for_budget(self, path, tries):
        """Wait for this request's slot in the rate budget; return the seconds waited for it.

        The threads of this process take turns per endpoint to book a slot and wait for it, so a
        process killed while they wait leaves one unused slot, not one per thread. A slot lies at
        most one window ahead; when the next one is further (other processes hold those before it)
        the request asks again later. The waiting of a request stays within rate_limit_wait.
        """
        limiter = self.limiter
        turn = limiter.turn(path)
        self._take_turn(turn)
        try:
            waited = 0.0
            while True:
                allowance = max(0.0, self.rate_limit_wait - tries.waited - waited)
                booking = limiter.reserve(path, max_wait=allowance)
                if not booking.booked and booking.wait > allowance:
                    raise _NoTurn(booking.wait, waited)
                # Booked: wait for the slot. Not booked: ask again once the next slot is a window away.
                delay = max(0.0, booking.wait if booking.booked else booking.wait - limiter.window)
                if delay > NOTICE_AFTER_SECONDS:
                    # Said before the wait starts, so a run that waits never looks hung.
                    self._warn_once("Requests to %s wait about %.0f s for their turn in the rate budget (%d a minute "
                                    "for this account%s)" % (path, booking.wait, limiter.limit(path),
                                                             self._budget_sharing()))
                self._sleep(delay, counted=True)
                waited += delay
                if booking.booked:
                    return waited
        finally:
            turn.release()

    def _ran_out(self, error):
        # How often and how long are in the error's details; this names the two limits that ended it.
        error.message += ("; still refused when the wait allowed ran out (rate_limit_wait %s s, retries %d)"
                          % (_fmt(self.rate_limit_wait), self.retries))

    def _take_turn(self, turn):
        """Wait (Ctrl-C aware, counted as waiting for the budget) until this thread holds the endpoint's turn."""
        if turn.acquire(blocking=False):
            return
        with self._waiting_for_budget():
            while not turn.acquire(timeout=0.2):
                if self.stop_event.is_set():
                    raise Cancelled("The run was cancelled before all requests were sent")

    def _budget_sharing(self):
        limiter = self.limiter
        if limiter.server is not None and not limiter.server_down:
            return ", shared through %s" % limiter.server.label
        if limiter.scope == SCOPE_MACHINE and limiter.fallback_reason is None:
            return ", shared by every run on this machine"
        return ""

    def _no_turn_error(self, path, no_turn, tries, failed):
        """The error for a request whose next slot lies beyond what rate_limit_wait leaves of its waiting."""
        attempts = tries.attempt - 1 or None  # the attempts sent; this one was not
        waited = (tries.waited + no_turn.waited) or None
        if failed is not None and failed.error.code in REFUSED_CODES:
            # Refused by the API and out of time: the same error as when the refusals use the time up.
            error = failed.error
            error.attempts, error.waited = attempts, waited
            self._ran_out(error)
            return error
        return RateLimitError(
            "No turn in the rate budget within rate_limit_wait: the next free slot for %s is %.1f s away "
            "(%d requests a minute for this account%s; rate_limit_wait %s s)"
            % (path, no_turn.wait, self.limiter.limit(path), self._budget_sharing(), _fmt(self.rate_limit_wait)),
            endpoint=path, attempts=attempts, waited=waited,
            advice="raise rate_limit_wait, or run fewer jobs against this account at the same time")

    def _shrink_budget(self, path):
        """After a rate limit: this run allows itself what got through in the last window, at most."""
        with self._stats_lock:
            self.rate_limited_count += 1
        if self.limiter.per_minute:
            self.limiter.refused(path)
            self.debug("%s: rate limited; for the next minute this run allows itself %d requests a minute there"
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
            response = self._post_within_timeout(path, body, headers, trace_id, write)
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
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ConnectionError) as exc:
            if not _never_sent(exc):
                if isinstance(exc, requests.exceptions.Timeout):
                    raise _lost(write, "No answer within the %ss timeout" % _fmt(self.timeout), endpoint=path,
                                trace_id=trace_id, advice="raise timeout, or check the network") from None
                raise _lost(write, "Cannot reach %s: %s" % (self.api_url, _first_line(exc)), endpoint=path,
                            trace_id=trace_id, advice="check %s, DNS and the network" % self.api_url_setting) from None
            # No connection was made (name not resolved, refused, connect timed out): nothing was sent,
            # so even a write is certain; a read is tried again.
            error = TransportError("Cannot reach %s: %s; nothing was sent" % (self.api_url, _first_line(exc)),
                                   endpoint=path, trace_id=trace_id,
                                   advice="check %s, DNS and the network" % self.api_url_setting)
            if write:
                raise error from None
            raise _Retry(error, None) from None
        except requests.exceptions.Timeout:
            raise _lost(write, "No answer within the %ss timeout" % _fmt(self.timeout), endpoint=path,
                        trace_id=trace_id, advice="raise timeout, or check the network") from None
        except requests.exceptions.InvalidURL as exc:
            raise ConfigError("api_url %s is not usable: %s" % (self.api_url, _first_line(exc)),
                              endpoint=path) from None
        except requests.exceptions.RequestException as exc:
            raise _lost(write, "Cannot reach %s: %s" % (self.api_url, _first_line(exc)), endpoint=path,
                        trace_id=trace_id, advice="check %s, DNS and the network" % self.api_url_setting) from None
        self.debug("POST %s -> HTTP %s in %.3fs traceId %s"
                   % (path, response.status_code, time.monotonic() - started, trace_id))
        return self._read(path, response, trace_id, accept_codes, write)

    def _post_within_timeout(self, path, body, headers, trace_id, write):
        """POST, and cut the connection when the whole answer has not come within `timeout`.

        requests' timeout bounds each socket operation, not the answer: a server that sends a byte
        now and then would hold the call for ever. The cut answer counts as a timeout: a read is
        retried, a write's answer is lost.
        """
        deadline = _Deadline(self.timeout)
        try:
            with deadline:
                return self._session.post(
                    self.api_url + path, data=json.dumps(body), headers=headers,
                    timeout=self.timeout, verify=self.validate_certs, allow_redirects=False,
                )
        except Exception:
            if not deadline.expired:
                raise
            # Whatever broke off the answer, the deadline cut it.
            raise _lost(write, "No answer within the %ss timeout (it bounds the whole answer: connecting, headers "
                        "and body)" % _fmt(self.timeout), endpoint=path, trace_id=trace_id,
                        advice="raise timeout, or check the network") from None

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
        error = api_error(code, mask_urls(_text(envelope.get("msg"))), path, trace_id, credentials=self.credentials)
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

    def sleep(self, seconds):
        """Wait `seconds`, or raise Cancelled as soon as the run is cancelled (Ctrl-C): for the callers' polls."""
        self._sleep(seconds)

    def _sleep(self, seconds, counted=False):
        """Wait (Ctrl-C aware); `counted` waits add to seconds_waiting_for_budget, as wall time."""
        if self.stop_event.is_set():
            raise Cancelled("The run was cancelled before all requests were sent")
        if seconds <= 0:
            return
        with self._waiting_for_budget() if counted else contextlib.nullcontext():
            if self.stop_event.wait(seconds):
                raise Cancelled("The run was cancelled before all requests were sent")

    @contextlib.contextmanager
    def _waiting_for_budget(self):
        """Count the time inside as waiting for the budget (overlapping waits of threads count once)."""
        with self._stats_lock:
            if not self._waiting:
                self._waiting_since = time.monotonic()
            self._waiting += 1
        try:
            yield
        finally:
            with self._stats_lock:
                self._waiting -= 1
                if not self._waiting:
                    self._waited += time.monotonic() - self._waiting_since

    def _warn_once(self, sentence):
        """Tell the caller, once per run, that the run waits (or shares less) than it might expect."""
        with self._stats_lock:
            if self._noticed:
                self.debug(sentence)
                return
            self._noticed = True
        self._tell(sentence)

    def _tell(self, sentence):
        if self._notice:
            self._notice(sentence)
        else:
            self.debug(sentence)

    def _scrub(self, text):
        return mask_secrets(text, self.credentials.secrets)

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
        text = mask_urls(text)  # before cutting: a cut must not leave part of a token unmasked
        text = "".join(ch for ch in text if ch.isprintable())
        if len(text) > _EXCERPT_CHARS:
            text = text[:_EXCERPT_CHARS] + "..."
        return repr(text) if text else "(empty body)"

    def debug(self, line):
        """Pass a line to the run's debug log (the callers of the transport log through it too)."""
        if self._log:
            self._log(line)


def mask_urls(text):
    """The text with URLs' secrets masked: `"url": "..."` values whole, any URL's query and user part.

    For every quoted answer (excerpts, API messages): a live-view URL opens a phone's screen, and
    tokens travel in queries. The scheme, host and path stay, for diagnosis.
    """
    if not text:
        return text
    text = _URL_VALUE_RE.sub(lambda m: m.group(1) + _MASK, text)
    text = _URL_QUERY_RE.sub(lambda m: m.group(1) + "?" + _MASK, text)
    return _URL_USER_RE.sub(lambda m: m.group(1) + _MASK + "@", text)


class _Deadline:
    """The end of one attempt: `seconds` after it starts, the connection it holds is shut down.

    Used as a context manager around one request in one thread; the connection pools of
    _new_session tell it which connection the request holds, and when it gives it back.
    """

    def __init__(self, seconds):
        self.expired = False
        self._connection = None
        self._finished = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self):
        _ATTEMPT.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info):
        self._timer.cancel()
        with self._lock:
            self._finished = True
        _ATTEMPT.deadline = None
        return False

    def hold(self, connection):
        with self._lock:
            self._connection = connection
            connection._geelark_deadline = self
            if self.expired:  # the time ran out before the pool handed the connection over
                self._cut()

    def let_go(self, connection):
        """The pool takes the connection back: from now on it may serve another request."""
        with self._lock:
            if self._connection is connection:
                self._connection = None

    def _expire(self):
        with self._lock:
            if self._finished:
                return
            self.expired = True
            self._cut()

    def _cut(self):
        sock = getattr(self._connection, "sock", None)
        if isinstance(sock, socket.socket):
            # The plain socket's shutdown, also under TLS: it wakes the blocked read without
            # tearing the TLS object from under the reading thread.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _DeadlinePool:
    """Mixed into urllib3's connection pools: tells the current attempt's _Deadline which connection it holds."""

    def _get_conn(self, *args, **kwargs):
        connection = super()._get_conn(*args, **kwargs)  # type: ignore[misc]
        deadline = getattr(_ATTEMPT, "deadline", None)
        if deadline is not None and connection is not None:
            deadline.hold(connection)
        return connection

    def _put_conn(self, connection):
        deadline = getattr(connection, "_geelark_deadline", None)
        if deadline is not None:
            deadline.let_go(connection)
            connection._geelark_deadline = None
        return super()._put_conn(connection)  # type: ignore[misc]


_DEADLINE_POOLS: dict = {}


def _with_deadlines(manager):
    """Make a urllib3 pool manager build pools that report their connections to _Deadline."""
    classes = {}
    for scheme, base in manager.pool_classes_by_scheme.items():
        if not issubclass(base, _DeadlinePool):
            if base not in _DEADLINE_POOLS:
                # urllib3's own class name: it is part of the messages users read ("HTTPConnectionPool(host=...").
                _DEADLINE_POOLS[base] = type(base.__name__, (_DeadlinePool, base), {})
            base = _DEADLINE_POOLS[base]
        classes[scheme] = base
    manager.pool_classes_by_scheme = classes
    return manager


if HAS_REQUESTS:
    class _DeadlineAdapter(requests.adapters.HTTPAdapter):
        """An HTTPAdapter whose connections the per-attempt deadline can cut, also through a proxy."""

        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            _with_deadlines(self.poolmanager)

        def proxy_manager_for(self, proxy, **proxy_kwargs):
            return _with_deadlines(super().proxy_manager_for(proxy, **proxy_kwargs))


def _forms(secret):
    """A secret as it appears in text and inside a JSON string."""
    return {secret, json.dumps(secret)[1:-1]}


def mask_secrets(text, secrets):
    """The text with every secret masked, also in its JSON-escaped form: answers and messages may quote them."""
    for secret in secrets:
        for form in _forms(secret):
            text = text.replace(form, "********")
    return text


def _http_advice(status, setting):
    """What to do about an HTTP status other than 200 (GeeLark documents none of them)."""
    if status in (401, 403):
        return ("the server refused this request: check token, or app_id and api_key (%s), and that this "
                "machine's IP is in the API whitelist" % CREDENTIAL_VARIABLES)
    if status == 429:
        return "the server asks for fewer requests: lower rate_limit, or run later"
    if status >= 500:
        return "the API is having trouble; retry later"
    return "check %s: it must be the GeeLark API's base URL" % setting


def _never_sent(exc):
    """True when requests failed before a connection to the server was made: the request never left."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return HAS_REQUESTS and isinstance(reason, urllib3.exceptions.NewConnectionError)


def _lost(write, message, retry_after=None, outcome=NEUTRAL, **details):
    """A failure where the answer was lost: retried for a read; for a write, the write may have happened."""
    if write:
        details["advice"] = "read the status of what the write was meant to change before sending it again"
        return UncertainWriteError(message + "; the write may or may not have been applied", **details)
    return _Retry(TransportError(message, **details), retry_after, outcome=outcome)


def _new_session(concurrency):
    """A keep-alive session whose pool holds a connection for every request that may be in flight."""
    session = requests.Session()
    adapter = _DeadlineAdapter(pool_connections=2, pool_maxsize=max(1, concurrency))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


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
