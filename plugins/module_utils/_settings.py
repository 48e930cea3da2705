# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shared API options in one table, and what every entry point derives from it.

Private to this collection: the API of this file may change without notice.

API_OPTIONS is the one place an option's type, default, environment variable, no_log flag and
bounds are written. From it come the modules' argument spec (_module.api_argument_spec), the
inventory's and the event source's option reading (resolve), the checks of the values and the
client's defaults (ClientSettings), and the advice that names where a value came from. The doc
fragment (doc_fragments/api.py) and the event source's DOCUMENTATION are prose; a unit test
checks that they agree with this table.
"""

from __future__ import annotations

import math
import os
import re
import typing as t
from urllib.parse import urlsplit

from ._ratelimit import SCOPE_MACHINE, SCOPE_SHARED, SCOPES, canonical_api_url
from ._shared_budget import HAS_REDIS, BudgetServer, masked_url, url_problem


class Option(t.NamedTuple):
    """One option as the table writes it; `type` is the Ansible type name."""

    name: str
    type: str
    default: t.Any = None
    env: t.Optional[str] = None
    no_log: bool = False
    minimum: t.Optional[float] = None
    maximum: t.Optional[float] = None
    choices: tuple = ()


DEFAULT_API_URL = "https://openapi.geelark.com"

API_OPTIONS = (
    Option("api_url", "str", DEFAULT_API_URL, env="GEELARK_API_URL"),
    Option("token", "str", env="GEELARK_TOKEN", no_log=True),
    Option("app_id", "str", env="GEELARK_APP_ID"),
    Option("api_key", "str", env="GEELARK_API_KEY", no_log=True),
    Option("validate_certs", "bool", True),
    Option("timeout", "float", 30.0, minimum=0.001),
    Option("retries", "int", 5, minimum=0),
    Option("retry_backoff", "float", 1.0, minimum=0),
    Option("retry_max_delay", "float", 60.0, minimum=0),
    # GeeLark documents 200 requests a minute per API; stay clear of it by default.
    Option("rate_limit", "int", 180, minimum=0),
    Option("rate_limit_scope", "str", SCOPE_MACHINE, env="GEELARK_RATE_LIMIT_SCOPE", choices=SCOPES),
    # The Redis or Valkey server of scope shared; a password may be in the URL, so both are secret.
    Option("rate_limit_url", "str", env="GEELARK_RATE_LIMIT_URL", no_log=True),
    Option("rate_limit_password", "str", env="GEELARK_RATE_LIMIT_PASSWORD", no_log=True),
    # While that server cannot be used, each node keeps rate_limit // rate_limit_nodes a minute.
    Option("rate_limit_nodes", "int", 4, minimum=1),
    # Time one request may spend waiting for the API's limits (40007, 40017, 47002) before it fails:
    # enough for a few minute windows to roll over, far from the two-hour lock of 40014.
    Option("rate_limit_wait", "float", 300.0, minimum=0),
    # The most requests in flight at once; the adaptive limit starts lower and finds the API's cap.
    Option("concurrency", "int", 32, minimum=1, maximum=64),
)
OPTIONS = dict((option.name, option) for option in API_OPTIONS)

ENV_API_URL = OPTIONS["api_url"].env
ENV_TOKEN = OPTIONS["token"].env
ENV_APP_ID = OPTIONS["app_id"].env
ENV_API_KEY = OPTIONS["api_key"].env
ENV_RATE_LIMIT_URL = OPTIONS["rate_limit_url"].env
# The credentials' variables, as every piece of advice about credentials names them.
CREDENTIAL_VARIABLES = "%s, %s, %s" % (ENV_TOKEN, ENV_APP_ID, ENV_API_KEY)
CREDENTIAL_OPTIONS = ("token", "app_id", "api_key")
# The source of a credential given empty at a place with nothing found elsewhere: "empty in the inventory file".
EMPTY_IN = "empty in "

_URL_RE = re.compile(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", re.IGNORECASE)  # the scheme is case-insensitive


def is_unset(value):
    """None, or text that is empty or only blanks: an option given so counts as not given, everywhere."""
    return value is None or (isinstance(value, str) and not value.strip())


# The booleans YAML and Ansible agree on; any other text is refused, never read as false.
_TRUE_WORDS = frozenset(("true", "yes", "on", "1"))
_FALSE_WORDS = frozenset(("false", "no", "off", "0"))


def typed(option, value, place):
    """A value given at `place` as YAML or as text (a rendered template), converted to the option's type strictly.

    Bounds and choices are checked later (checked); here only the type: a bool is one of the
    YAML/Ansible booleans, a number parses whole. The value is quoted in the error only for
    options that are not secret (the secret ones are strings and never refused here).
    """
    if option.type == "bool":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower() if isinstance(value, (str, int)) else None
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            return word in _TRUE_WORDS
        raise _config_error("%s must be a boolean (true/false, yes/no, on/off, 1/0), got %r in %s"
                            % (option.name, _plain(value), place),
                            advice="set %s to true or false in %s" % (option.name, place))
    if option.type in ("int", "float") and isinstance(value, str):
        try:
            number = int(value.strip()) if option.type == "int" else float(value.strip())
        except ValueError:
            number = None
        if number is None or not math.isfinite(number):
            raise _config_error("%s must be a%s number, got %r in %s"
                                % (option.name, " whole" if option.type == "int" else "", _plain(value), place),
                                advice="set %s to a number in %s" % (option.name, place))
        return number
    if option.type == "str" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # as ansible-core would: `timeout`-like YAML numbers given to a text option
    return value


def _plain(value):
    """The value without ansible-core's tags (a str subclass), so messages quote it as the user wrote it."""
    return str(value) if isinstance(value, str) else value


def resolve(given, place, environ=None):
    """(values, sources) of the shared options: the one rule every entry point follows.

    A value given at `place` (the task, the inventory file, the source's arguments), else the
    option's environment variable, else None (the table's default applies). An empty value counts
    as not given, so ``token: "{{ geelark_token }}"`` rendered empty never hides GEELARK_TOKEN.
    `sources` says where each option with an environment variable came from, for the advice of
    errors; an option left to its default has none, except a credential given empty at `place`
    (EMPTY_IN + place), so the error about missing credentials can say so.
    """
    environ = os.environ if environ is None else environ
    values: dict = {}
    sources: dict = {}
    for option in API_OPTIONS:
        value, where = given.get(option.name), place
        if is_unset(value):
            value = environ.get(option.env) if option.env else None
            where = "environment variable %s" % option.env
        if is_unset(value):
            value = where = None
            if option.name in CREDENTIAL_OPTIONS and given.get(option.name) is not None:
                where = EMPTY_IN + place  # so "No GeeLark credentials were given" can say which one was empty
        values[option.name] = value
        if option.env and where:
            sources[option.name] = where
    return values, sources


def api_url_setting(source=None):
    """How to name the api_url setting in advice: where its value came from, when that is known."""
    return "api_url (from %s)" % source if source else "api_url (env %s)" % ENV_API_URL


def normalize_api_url(api_url, source=None):
    """The base URL, checked and in its one normal form, so a typo fails before any request is sent.

    The normal form (canonical_api_url: scheme and host in lower case, no default port, no
    trailing dot or slash) is what the client calls, what the rate budget is keyed on and what
    the inventory's geelark_api_url holds, so every spelling of one API compares equal.
    `source` says where the value came from (for example "the inventory file"), for the advice.
    """
    setting = api_url_setting(source)
    text = api_url.strip() if isinstance(api_url, str) else ""
    base = re.split(r"[?#]", text, maxsplit=1)[0]
    match = _URL_RE.match(base)
    if not match or not _has_valid_port(base):
        raise _config_error(
            "api_url %r is not an http(s) URL such as %s" % (api_url, DEFAULT_API_URL),
            advice="set %s to the API's base URL, without a path" % setting,
        )
    path = (match.group(1) or "").rstrip("/")
    extra = text[len(base):]
    if path or extra:
        root = canonical_api_url(base[:len(base) - len(match.group(1) or "")])
        # Every endpoint path starts with /open/v1 already; a base URL holding it would double it.
        what = "a path (%s)" % path if path else "a query or fragment (%s)" % extra
        raise _config_error(
            "api_url %r has %s; it must be the API's base URL only" % (api_url, what),
            advice="set %s to %r" % (setting, root),
        )
    return canonical_api_url(base)


def _has_valid_port(url):
    try:
        port = urlsplit(url).port  # raises for a port that is not a number or is out of range
    except ValueError:
        return False
    return port is None or port > 0


def checked(option, value, source=None):
    """The value of one option, checked against the table's type, bounds and choices (None: the default)."""
    if value is None:
        value = option.default
    if option.name == "api_url":
        return normalize_api_url(value, source)
    if option.choices and value not in option.choices:
        raise _config_error("%s must be one of %s, got %r" % (option.name, ", ".join(option.choices), value))
    if option.type == "bool":
        return bool(value)
    if option.type not in ("int", "float"):
        return value
    whole = option.type == "int"
    number = not isinstance(value, bool) and isinstance(value, (int,) if whole else (int, float))
    if option.maximum is not None:
        if not number or not option.minimum <= value <= option.maximum:
            raise _config_error("%s must be a whole number from %g to %g, got %r"
                                % (option.name, option.minimum, option.maximum, value))
    elif not number or (option.minimum is not None and value < option.minimum):
        raise _config_error("%s must be a%s number of at least %g, got %r"
                            % (option.name, " whole" if whole else "", option.minimum, value))
    return int(value) if whole else float(value)


class ClientSettings:
    """What one client runs with: the shared options, checked once, and where each came from.

    `values` maps option names to values (other keys are ignored, so a module's params can be
    given as they are; None takes the table's default); `sources` comes from resolve. Besides
    the options: `budget_dir` (where the shared rate budget lives, else ENV_BUDGET_DIR's or the
    default), `rate_window` (the API's counting window in seconds; None: the API's minute, a
    shorter one for tests of the waiting) and `credentials` (a Credentials made already; else
    made from token, app_id and api_key).

    Secrets are not options here: the credentials are kept by Credentials, rate_limit_url and
    rate_limit_password by `budget_server` (a BudgetServer with scope shared, else None).
    """

    def __init__(self, values=None, sources=None, budget_dir=None, rate_window=None, credentials=None):
        from ._auth import Credentials  # _auth reads its variable names from this table

        values = values or {}
        self.sources = dict(sources or {})
        self.budget_dir = budget_dir
        self.rate_window = rate_window
        if credentials is None:
            credentials = Credentials(token=values.get("token"), app_id=values.get("app_id"),
                                      api_key=values.get("api_key"), sources=self.sources)
        self.credentials = credentials
        # The credentials are checked and kept by Credentials, never here in plain text.
        self._values = dict((o.name, checked(o, values.get(o.name), self.sources.get(o.name)))
                            for o in API_OPTIONS if not (o.no_log or o.name in CREDENTIAL_OPTIONS))
        self.budget_server = None
        if self._values["rate_limit_scope"] == SCOPE_SHARED:
            self.budget_server = budget_server(values.get("rate_limit_url"), values.get("rate_limit_password"),
                                               self.sources.get("rate_limit_url"))

    def __getattr__(self, name) -> t.Any:
        """The checked value of an option: settings.timeout, settings.concurrency ..."""
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError("ClientSettings has no option %r" % name) from None

    @classmethod
    def of(cls, sources=None, budget_dir=None, rate_window=None, credentials=None, **options):
        """Settings from keyword options; a name the table does not have is a TypeError, as for a function."""
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise TypeError("unknown option%s: %s" % ("s" if len(unknown) > 1 else "", ", ".join(unknown)))
        return cls(options, sources, budget_dir, rate_window, credentials)

    @property
    def api_url_setting(self):
        """How advice names the api_url setting: with where its value came from."""
        return api_url_setting(self.sources.get("api_url"))

    def __repr__(self):
        return "ClientSettings(api_url=%r, credentials=%r)" % (self.api_url, self.credentials)


def budget_server(url, password=None, source=None):
    """The BudgetServer of scope shared, checked: a URL of a scheme redis-py speaks, and the library itself."""
    if is_unset(url):
        raise _config_error("rate_limit_scope is shared, but rate_limit_url is not set",
                            advice="set rate_limit_url (env %s) to the Redis or Valkey server every node reaches, "
                                   "such as redis://redis.example.com:6379/0, or choose rate_limit_scope: machine"
                                   % ENV_RATE_LIMIT_URL)
    password = None if is_unset(password) else password
    problem = url_problem(url, password, source)
    if problem:
        advice = ("set rate_limit_url (env %s) to redis://HOST:PORT/DB, rediss://HOST:PORT/DB (TLS) or "
                  "unix:///PATH/TO/SOCKET" % ENV_RATE_LIMIT_URL)
        raise _config_error(problem, advice=advice)
    if not HAS_REDIS:
        raise _config_error("The Python library 'redis' is required for rate_limit_scope: shared (server %s)"
                            % masked_url(url),
                            advice="install it on the node that runs this: pip install redis (in the execution "
                                   "environment, add it to its Python requirements), or choose "
                                   "rate_limit_scope: machine")
    return BudgetServer(url, password)


def _config_error(message, **details):
    # Imported here: _errors words its advice with this table's variable names, so it imports this file.
    from ._errors import ConfigError

    return ConfigError(message, **details)
