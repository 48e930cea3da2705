# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The GeeLark client shared by the modules and the inventory plugin.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

from ._app_lists import installable_apps as read_installable_apps
from ._app_lists import installed_rows, read_per_phone
from ._app_lists import team_apps as read_team_apps
from ._apps import DEFAULT_POLL_INTERVAL as APP_POLL_INTERVAL
from ._apps import DEFAULT_WAIT_TIMEOUT as APP_WAIT_TIMEOUT
from ._apps import AppRun
from ._errors import GeeLarkError
from ._phones import fleet_status, list_phones, query_status
from ._power import DEFAULT_POLL_INTERVAL, DEFAULT_WAIT_TIMEOUT, PowerRun
from ._settings import ClientSettings
from ._transport import Transport
from ._webhook import CallbackUrlChange, CallbackUrlWrite, get_callback_url
from ._write import Writer, carry

ADB_DATA_PATH = "/open/v1/adb/getData"
ADB_STATUS_PATH = "/open/v1/adb/setStatus"
SHELL_PATH = "/open/v1/shell/execute"
ADB_BATCH = 200  # adb/getData and adb/setStatus take at most 200 IDs


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

    def installed_apps(self, ids, package=None):
        """An AppsReport of the apps installed on each phone (only `package`'s rows when given).

        One request per phone per 100 apps, phones read in parallel; a phone the API refuses (42001,
        42002) is a failure of that phone.
        """
        def read(transport, phone_id):
            rows = installed_rows(transport, phone_id)
            return rows if package is None else [row for row in rows if row["package"] == package]

        return read_per_phone(self.transport, ids, self.concurrency, read)

    def installable_apps(self, ids, name=None):
        """An AppsReport of the apps installable on each phone, every version with its install status there."""
        return read_per_phone(self.transport, ids, self.concurrency,
                              lambda transport, phone_id: read_installable_apps(transport, phone_id, name))

    def set_app(self, ids, package, state, version=None, version_id=None, check_mode=False, wait=True,
                wait_timeout=APP_WAIT_TIMEOUT, poll_interval=APP_POLL_INTERVAL, max_changes=None):
        """Install or remove a package on the phones (installed apps read first); an AppResult accounts for every ID."""
        return AppRun(self.transport, self.concurrency, check_mode=check_mode, wait=wait, wait_timeout=wait_timeout,
                      poll_interval=poll_interval, max_changes=max_changes).run(ids, package, state, version=version,
                                                                                version_id=version_id)

    def team_apps(self):
        """The team's app library, every page."""
        return read_team_apps(self.transport)

    def adb_data(self, ids):
        """ADB connection info per phone: {id: {"code", "ip", "port", "pwd"}}, 200 IDs a request (a read).

        `pwd` is the phone's glogin code, a secret: the caller keeps it out of everything it shows.
        An ID the answer leaves out is missing from the result.
        """
        found = {}
        for start in range(0, len(ids), ADB_BATCH):
            envelope = self.transport.post(ADB_DATA_PATH, {"ids": list(ids[start:start + ADB_BATCH])})
            data = envelope.get("data") or {}
            for item in data.get("items") or []:
                if not isinstance(item, dict) or item.get("id") is None:
                    continue
                found[str(item["id"])] = item
        return found

    def adb_enable(self, ids):
        """Turn ADB on for the phones, 200 IDs a request (a write: the answer has no per-phone result)."""
        for start in range(0, len(ids), ADB_BATCH):
            self.transport.post(ADB_STATUS_PATH, {"ids": list(ids[start:start + ADB_BATCH]), "open": True},
                                write=True)

    def shell_execute(self, phone_id, cmd):
        """Run one command through the phone's shell API: the answer's data ({"status", "output"}).

        A write: never sent twice after a lost answer (the command may have run); the error says so.
        """
        return self.transport.post(SHELL_PATH, {"id": phone_id, "cmd": cmd}, write=True).get("data") or {}

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
