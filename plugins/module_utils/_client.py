# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The GeeLark client shared by the modules and the inventory plugin.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

from ._auth import Credentials
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
from ._webhook import get_callback_url, set_callback_url

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

    def set_callback_url(self, url):
        """Set the account's webhook callback URL (one per account; a write, sent once)."""
        return set_callback_url(self.transport, url)

    def close(self):
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
