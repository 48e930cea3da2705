# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The GeeLark client shared by the modules and the inventory plugin.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

from ._auth import Credentials
from ._errors import GeeLarkError
from ._phones import fleet_status, list_phones, query_status
from ._power import DEFAULT_POLL_INTERVAL, DEFAULT_WAIT_TIMEOUT, PowerRun
from ._transport import (
    API_WINDOW_SECONDS,
    DEFAULT_API_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RATE_LIMIT_SCOPE,
    DEFAULT_RATE_LIMIT_WAIT,
    DEFAULT_RETRIES,
    DEFAULT_RETRY_BACKOFF,
    DEFAULT_RETRY_MAX_DELAY,
    DEFAULT_TIMEOUT,
    Transport,
    check_concurrency,
)
from ._webhook import CALLBACK_SET_PATH, get_callback_url
from ._write import ChangeResult, WriteRules, Writer, carry

# The options every module and the inventory plugin share, with their defaults.
CLIENT_OPTION_DEFAULTS = {
    "api_url": DEFAULT_API_URL,
    "token": None,
    "app_id": None,
    "api_key": None,
    "validate_certs": True,
    "timeout": DEFAULT_TIMEOUT,
    "retries": DEFAULT_RETRIES,
    "retry_backoff": DEFAULT_RETRY_BACKOFF,
    "retry_max_delay": DEFAULT_RETRY_MAX_DELAY,
    "rate_limit": DEFAULT_RATE_LIMIT,
    "rate_limit_scope": DEFAULT_RATE_LIMIT_SCOPE,
    "rate_limit_wait": DEFAULT_RATE_LIMIT_WAIT,
    "concurrency": DEFAULT_CONCURRENCY,
}


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


class _CallbackUrlWrite(WriteRules):
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


class GeeLarkClient:
    """Phone status and phone listing for one run, over one keep-alive HTTP session."""

    def __init__(self, token=None, app_id=None, api_key=None, api_url=DEFAULT_API_URL,
                 timeout=DEFAULT_TIMEOUT, validate_certs=True, retries=DEFAULT_RETRIES,
                 retry_backoff=DEFAULT_RETRY_BACKOFF, retry_max_delay=DEFAULT_RETRY_MAX_DELAY,
                 rate_limit=DEFAULT_RATE_LIMIT, concurrency=DEFAULT_CONCURRENCY,
                 rate_limit_scope=DEFAULT_RATE_LIMIT_SCOPE, rate_limit_wait=DEFAULT_RATE_LIMIT_WAIT, log=None,
                 notice=None, session=None, budget_dir=None, rate_window=API_WINDOW_SECONDS, sources=None):
        """`log` takes debug lines; `notice` is told once, in a sentence, when the run waits for the budget."""
        check_concurrency(concurrency)
        self.concurrency = concurrency
        self.transport = Transport(
            Credentials(token=token, app_id=app_id, api_key=api_key, sources=sources), api_url=api_url, timeout=timeout,
            validate_certs=validate_certs, retries=retries, retry_backoff=retry_backoff,
            retry_max_delay=retry_max_delay, rate_limit=rate_limit, rate_limit_scope=rate_limit_scope,
            rate_limit_wait=rate_limit_wait, concurrency=concurrency, log=log, notice=notice, session=session,
            budget_dir=budget_dir, rate_window=rate_window, api_url_source=(sources or {}).get("api_url"),
        )

    @classmethod
    def from_options(cls, options, log=None, session=None, notice=None, sources=None):
        """Build a client from a mapping of the shared option names (missing ones take defaults).

        `sources` says where each credential option and api_url came from, for error messages.
        """
        kwargs = dict(CLIENT_OPTION_DEFAULTS)
        kwargs.update((k, v) for k, v in options.items() if k in CLIENT_OPTION_DEFAULTS and v is not None)
        return cls(log=log, session=session, notice=notice, sources=sources, **kwargs)

    def summary(self):
        """Requests, retries and seconds spent, for a module's result."""
        return self.transport.summary()

    @property
    def secrets(self):
        return self.transport.credentials.secrets

    def phone_status(self, ids):
        """A StatusReport for the IDs: every ID ends up in its phones or its failures."""
        return query_status(self.transport, ids, self.concurrency)

    def list_phones(self, filters=None):
        """Every phone the filters select (all pages), as raw API items."""
        return list_phones(self.transport, filters, self.concurrency)

    def fleet_status(self, filters=None):
        """(items, StatusReport) for every phone the filters select: the inventory's one call."""
        return fleet_status(self.transport, filters, self.concurrency)

    def set_power(self, ids, state, check_mode=False, wait=True, wait_timeout=DEFAULT_WAIT_TIMEOUT,
                  poll_interval=DEFAULT_POLL_INTERVAL, energy_saving=None, max_changes=None):
        """Start, stop or restart the phones (status first); a PowerResult accounts for every ID."""
        return PowerRun(self.transport, self.concurrency, check_mode=check_mode, wait=wait, wait_timeout=wait_timeout,
                        poll_interval=poll_interval, energy_saving=energy_saving,
                        max_changes=max_changes).run(ids, state)

    def callback_url(self):
        """The account's webhook callback URL, or None when none is set."""
        return get_callback_url(self.transport)

    def change_callback_url(self, url, check_mode=False):
        """Read the account's callback URL and set it to `url` when it differs: a CallbackUrlChange.

        The write goes through the shared write path: sent once, a lost answer is read back (never
        sent again), and a write that may have been applied is reported as a change.
        """
        change = CallbackUrlChange(self.callback_url(), url)
        if url is None or url == change.before:
            return change
        if check_mode:
            change.accept(change.ids)
            return change
        try:
            Writer(self.transport, _CallbackUrlWrite(self.transport, url), log=self.transport._debug).write(
                change, change.ids)
        except GeeLarkError as error:
            carry(error, change)  # the write may have gone out: the failed task still reports it
            raise
        return change

    def close(self):
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
