# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The GeeLark client shared by the modules and the inventory plugin.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

from ._errors import GeeLarkError
from ._phones import fleet_status, list_phones, query_status
from ._power import DEFAULT_POLL_INTERVAL, DEFAULT_WAIT_TIMEOUT, PowerRun
from ._settings import ClientSettings
from ._transport import Transport
from ._webhook import CallbackUrlChange, CallbackUrlWrite, get_callback_url
from ._write import Writer, carry


class GeeLarkClient:
    """Phone status and phone listing for one run, over one keep-alive HTTP session."""

    def __init__(self, settings=None, log=None, notice=None, session=None, **options):
        """`settings` is a ClientSettings (or give its options as keywords, ClientSettings.of's).

        `log` takes debug lines; `notice` is told once, in a sentence, when the run waits for the budget.
        """
        if settings is None:
            settings = ClientSettings.of(**options)
        elif options:
            raise TypeError("GeeLarkClient takes a ClientSettings, or the options as keywords, not both")
        self.concurrency = settings.concurrency
        self.transport = Transport(settings, log=log, notice=notice, session=session)

    def summary(self):
        """What this run asked of the API: requests, retries, waits and seconds (for results and logs)."""
        return self.transport.summary()

    def stop(self):
        """Stop the run from another thread: what waits for its turn, and what is not sent yet, is cancelled."""
        self.transport.stop()

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
            Writer(self.transport, CallbackUrlWrite(self.transport, url), log=self.transport.debug).write(
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
