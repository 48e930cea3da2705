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
    import urllib3
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised by the sanity import test
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

from ._errors import (
    ConfigError,
    GeeLarkError,
    MalformedResponseError,
    RETRYABLE_CODES,
    TransportError,
    UncertainWriteError,
    WRITE_RETRYABLE_CODES,
    api_error,
)
from ._ratelimit import RateLimiter
from ._version import COLLECTION_NAME, COLLECTION_VERSION

DEFAULT_API_URL = "https://openapi.geelark.com"
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 5
DEFAULT_RETRY_BACKOFF = 1.0
DEFAULT_RETRY_MAX_DELAY = 60.0
# GeeLark documents 200 requests a minute per API; stay clear of it by default.
DEFAULT_RATE_LIMIT = 180

_EXCERPT_CHARS = 200
_URL_RE = re.compile(r"^https?://[^/\s?#]+(/[^\s?#]*)?$")


class Cancelled(GeeLarkError):
    """The run was interrupted (Ctrl-C) while a request waited for its turn."""


class _Retry(Exception):
    """One attempt failed in a way worth another attempt."""

    def __init__(self, error, retry_after=None):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def normalize_api_url(api_url):
    """Validate the base URL up front, so a typo fails before any request is sent."""
    match = _URL_RE.match(api_url.strip()) if isinstance(api_url, str) else None
    if not match:
        raise ConfigError(
            "api_url %r is not an http(s) URL such as %s" % (api_url, DEFAULT_API_URL),
            advice="set api_url (env GEELARK_API_URL) to the API's base URL, without a path",
        )
    url = api_url.strip().rstrip("/")
    path = (match.group(1) or "").rstrip("/")
    if path:
        # Every endpoint path starts with /open/v1 already; a base URL holding it would double it.
        raise ConfigError(
            "api_url %r has a path (%s); it must be the API's base URL only" % (api_url, path),
            advice="set api_url (env GEELARK_API_URL) to %r" % url[:len(url) - len(path)],
        )
    return url


class Transport:
    """POSTs JSON to the API and returns the envelope of a successful answer.

    Reads are retried on connection errors, timeouts, HTTP 429 and 5xx, non-JSON bodies and the
    API codes of RETRYABLE_CODES, with exponential backoff and full jitter; Retry-After wins when
    the server sends it. Every attempt is paced by the shared RateLimiter and signed afresh.
    """

    def __init__(self, credentials, api_url=DEFAULT_API_URL, timeout=DEFAULT_TIMEOUT, validate_certs=True,
                 retries=DEFAULT_RETRIES, retry_backoff=DEFAULT_RETRY_BACKOFF,
                 retry_max_delay=DEFAULT_RETRY_MAX_DELAY, rate_limit=DEFAULT_RATE_LIMIT,
                 log=None, session=None, stop_event=None):
        if not HAS_REQUESTS and session is None:
            raise ConfigError("The Python library 'requests' is required",
                              advice="install it on the node that runs this: pip install requests")
        self.api_url = normalize_api_url(api_url)
        _check_number("timeout", timeout, minimum=0.001)
        _check_number("retries", retries, minimum=0, integer=True)
        _check_number("retry_backoff", retry_backoff, minimum=0)
        _check_number("retry_max_delay", retry_max_delay, minimum=0)
        _check_number("rate_limit", rate_limit, minimum=0, integer=True)
        self.credentials = credentials
        self.timeout = float(timeout)
        self.validate_certs = bool(validate_certs)
        if not self.validate_certs and HAS_REQUESTS:
            # The user turned verification off on purpose; a warning per request adds only noise.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self.retries = int(retries)
        self.retry_backoff = float(retry_backoff)
        self.retry_max_delay = float(retry_max_delay)
        self.limiter = RateLimiter(int(rate_limit))
        self.stop_event = stop_event or threading.Event()
        self._log = log
        self._session = session or requests.Session()
        self._session.headers.update({
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "%s/%s" % (COLLECTION_NAME, COLLECTION_VERSION),
        })
        self._stats_lock = threading.Lock()
        self.request_count = 0
        self.retry_count = 0

    def close(self):
        self._session.close()

    def post(self, path, body, retry=True, accept_codes=frozenset((0,)), write=False):
        """Send one API call; return the envelope (a dict with code, msg, traceId, data).

        A write (write=True) is retried only on the codes that mean nothing was done; any other
        failure to get an answer raises UncertainWriteError at once, since it may have been applied.
        """
        attempts = self.retries + 1 if retry else 1
        for attempt in range(1, attempts + 1):
            self._sleep(self.limiter.reserve(path))
            try:
                return self._attempt(path, body, accept_codes, write)
            except _Retry as retry_signal:
                error = retry_signal.error
                if write and error.code not in WRITE_RETRYABLE_CODES:
                    raise UncertainWriteError(
                        "The answer to %s was lost, so the write may have been applied: %s" % (path, error.message),
                        endpoint=path, code=error.code, api_msg=error.api_msg, trace_id=error.trace_id,
                        http_status=error.http_status, attempts=attempt,
                        advice="read the phones' status before writing again") from None
                if attempt == attempts:
                    error.attempts = attempt
                    raise error from None
                delay = self._backoff(attempt, retry_signal.retry_after)
                self._debug("%s: %s; attempt %d of %d, next in %.2fs" % (path, error.message, attempt, attempts, delay))
                with self._stats_lock:
                    self.retry_count += 1
            except GeeLarkError as error:
                if attempt > 1:
                    error.attempts = attempt
                raise
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

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
                raise TransportError(
                    "The server at %s does not speak TLS: %s" % (self.api_url, _first_line(exc)), endpoint=path,
                    trace_id=trace_id,
                    advice="check that api_url (env GEELARK_API_URL) starts with http:// or https:// as the server "
                           "expects; the GeeLark API uses https://",
                ) from None
            raise TransportError(
                "TLS verification of %s failed: %s" % (self.api_url, _first_line(exc)), endpoint=path,
                trace_id=trace_id,
                advice="check the server certificate and CA bundle (REQUESTS_CA_BUNDLE); set validate_certs: false "
                       "only for a test server you trust",
            ) from None
        except requests.exceptions.Timeout:
            raise _Retry(TransportError("No answer within the %ss timeout" % _fmt(self.timeout), endpoint=path,
                                        trace_id=trace_id, advice="raise timeout, or check the network")) from None
        except requests.exceptions.InvalidURL as exc:
            raise ConfigError("api_url %s is not usable: %s" % (self.api_url, _first_line(exc)),
                              endpoint=path) from None
        except requests.exceptions.RequestException as exc:
            raise _Retry(TransportError("Cannot reach %s: %s" % (self.api_url, _first_line(exc)), endpoint=path,
                                        trace_id=trace_id,
                                        advice="check api_url (env GEELARK_API_URL), DNS and the network")) from None
        self._debug("POST %s -> HTTP %s in %.3fs traceId %s"
                    % (path, response.status_code, time.monotonic() - started, trace_id))
        return self._read(path, response, trace_id, accept_codes, write)

    def _read(self, path, response, trace_id, accept_codes, write=False):
        status = response.status_code
        if status != 200:
            error = TransportError("Unexpected HTTP answer: %s" % self._excerpt(response), endpoint=path,
                                   http_status=status, trace_id=trace_id, advice=_http_advice(status))
            if status == 429 or status >= 500:
                raise _Retry(error, _retry_after(response.headers.get("Retry-After")))
            raise error
        try:
            text = response.content.decode("utf-8")
            envelope = json.loads(text)
        except (UnicodeDecodeError, ValueError):
            raise _Retry(TransportError("The answer is not JSON: %s" % self._excerpt(response), endpoint=path,
                                        http_status=status, trace_id=trace_id,
                                        advice="check api_url (env GEELARK_API_URL); retry later")) from None
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
        if code in RETRYABLE_CODES or (write and code in WRITE_RETRYABLE_CODES):
            raise _Retry(error)
        raise error

    def _backoff(self, attempt, retry_after):
        if retry_after is not None:
            return min(retry_after, self.retry_max_delay)
        return random.uniform(0, min(  # noqa: S311 - jitter, not cryptography
            self.retry_max_delay, self.retry_backoff * (2 ** (attempt - 1))))

    def _sleep(self, seconds):
        if self.stop_event.is_set() or (seconds > 0 and self.stop_event.wait(seconds)):
            raise Cancelled("The run was cancelled before all requests were sent")

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


def _http_advice(status):
    """What to do about an HTTP status other than 200 (GeeLark documents none of them)."""
    if status in (401, 403):
        return ("the server refused this request: check token, or app_id and api_key (GEELARK_TOKEN, "
                "GEELARK_APP_ID, GEELARK_API_KEY), and that this machine's IP is in the API whitelist")
    if status == 429:
        return "the server asks for fewer requests: lower rate_limit, or run later"
    if status >= 500:
        return "the API is having trouble; retry later"
    return "check api_url (env GEELARK_API_URL): it must be the GeeLark API's base URL"


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
