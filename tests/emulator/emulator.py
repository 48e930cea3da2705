# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The emulator in a background thread of this process, with direct doors for in-process tests."""

from __future__ import annotations

import json
import threading

from .adb import sync_listeners
from .adb_daemon import AdbDaemon
from .callbacks import send_callback
from .faults import check_fault
from .fleet import make_fleet
from .server import Server
from .state import KEEP, EmulatorState


class Emulator:
    """The emulator in a background thread of this process: `with Emulator(phones=10) as emu: emu.url`.

    Its phones' ADB daemon (adb_daemon.py) starts and stops with it.
    """

    def __init__(self, phones=0, token=None, app_id=None, api_key=None, latency=0.0, rate_limit=0, seed=1,
                 host="127.0.0.1", port=0, fleet=None, ssl_context=None, max_in_flight=0):
        self.state = EmulatorState(fleet if fleet is not None else make_fleet(phones, seed), token=token,
                                   app_id=app_id, api_key=api_key, latency=latency, rate_limit=rate_limit, seed=seed,
                                   max_in_flight=max_in_flight)
        self.server = Server((host, port), self.state)
        self.scheme = "http"
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.adb = AdbDaemon(self.state)
        self._thread = None

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return "%s://%s:%d" % (self.scheme, host, port)

    def start(self):
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="geelark-emulator", daemon=True)
        self._thread.start()
        self.adb.start()
        return self

    def stop(self):
        self.adb.stop()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # Direct access for in-process tests; other processes use the /_emulator/ endpoints.
    def stats(self):
        with self.state.lock:
            return self.state.stats()

    def reset(self):
        """Zero the counters, drop queued faults, put the pager back (the fleet, apps, catalogue and settings stay)."""
        with self.state.lock:
            self.state.reset()

    def set_pager(self, repeat=KEEP, total=KEEP):
        """Until reset: repeat=True serves page 1's items for every page; total=n claims n on every list answer
        (total=None: the true total again). A setting not given keeps its value."""
        with self.state.lock:
            self.state.set_pager(repeat=repeat, total=total)

    def rename(self, names):
        """Give phones new serial names: {id: any text}."""
        with self.state.lock:
            self.state.rename(names)

    def queue_faults(self, *faults):
        checked = [check_fault(fault) for fault in faults]
        with self.state.lock:
            self.state.faults.extend(checked)

    def request_bodies(self, path):
        """The JSON bodies of the API requests received for `path`, oldest first."""
        with self.state.lock:
            return [json.loads(raw) for p, raw in self.state.bodies if p == path]

    def set_status(self, ids, status, on_read=None):
        """Set the status now, or (on_read=k) from each phone's k-th status read on."""
        with self.state.lock:
            self.state.schedule(ids, status, on_read=on_read)

    def configure_power(self, **settings):
        """See EmulatorState.configure_power."""
        with self.state.lock:
            self.state.configure_power(**settings)

    def power_writes(self, phone_id):
        """How many start or stop calls have named this phone."""
        with self.state.lock:
            return self.state.power_writes[phone_id]

    def send_callback(self, payload, **options):
        """Send one GeeLark callback (see send_callback) and return its HTTP status, body and traceId."""
        return send_callback(self.state, payload, **options)

    def status_reads(self, phone_id):
        """How many times the status endpoint has been asked about this phone."""
        with self.state.lock:
            return self.state.status_reads[phone_id]

    def set_apps(self, apps):
        """Set app rows directly: {phone_id: {package: {"versionName": "36.4.0", "installStatus": 1} or None}}.

        The catalogue fills appVersionId, versionCode, appName and appId for the versionName (or appVersionId;
        neither: the newest version); a version it does not offer needs appVersionId and versionCode in the
        row (ValueError otherwise); None removes the row. All is checked before anything changes.
        """
        with self.state.lock:
            self.state.app_book.set_rows(self.state.phones, apps)

    def configure_apps(self, install_reads=None, uninstall_reads=None, fail=None, refuse=None, keep_uninstalled=None,
                       list_needs_running=None):
        """How app writes behave; a setting left None stays as it is (see AppBook.configure and apps.py)."""
        with self.state.lock:
            self.state.app_book.configure(install_reads=install_reads, uninstall_reads=uninstall_reads, fail=fail,
                                          refuse=refuse, keep_uninstalled=keep_uninstalled,
                                          list_needs_running=list_needs_running)

    def set_catalogue(self, apps):
        """Replace the catalogue (installable/list item shape; versionCode an int or its digits as text)."""
        with self.state.lock:
            self.state.app_book.set_catalogue(apps)

    def set_team_apps(self, items):
        """Replace the team library teamApp/list serves."""
        with self.state.lock:
            self.state.app_book.set_team_apps(items)

    def apps_of(self, phone_id):
        """Copies of the phone's app rows, in install order (KeyError for a phone not in the fleet)."""
        with self.state.lock:
            return [dict(row) for row in self.state.phones[phone_id].get("apps", {}).values()]

    def configure_adb(self, enabled=None, disabled=None, android=None, enable_reads=None, auth=None, lapse=None,
                      rotate=None, shell_fail=None):
        """How ADB and the shell behave; a setting left None stays as it is (see DeviceBook.configure and adb.py).

        enabled=[ids] turns ADB on at once (ready for getData, a new glogin code when it was off), disabled=[ids]
        off; android={id: version}; enable_reads=k getData reads answer 49001 after setStatus turns ADB on;
        auth=False lets hosts connect without an RSA key; lapse=[ids] (or True: all) logs phones out of glogin;
        rotate=[ids] (or True) gives new codes; shell_fail={id: code or None} scripts shell/execute's answer.
        """
        with self.state.lock:
            self.state.devices.configure(self.state.phones, enabled=enabled, disabled=disabled, android=android,
                                         enable_reads=enable_reads, auth=auth, lapse=lapse, rotate=rotate,
                                         shell_fail=shell_fail)
            sync_listeners(self.state)

    def device_file(self, phone_id, path):
        """The bytes of a file on the phone, or None when there is no such file (KeyError: no such phone)."""
        with self.state.lock:
            node = self.state.devices.of(self.state.phones[phone_id]).nodes.get(path)
            return bytes(node.data) if node is not None and node.kind == "f" else None

    def put_device_file(self, phone_id, path, data, mode=0o644):
        """Write a file on the phone at an absolute path, anywhere, making its directories."""
        with self.state.lock:
            self.state.devices.of(self.state.phones[phone_id]).put_file(path, data, mode)

    def adb_pwd(self, phone_id):
        """The phone's current glogin code ("" before ADB was first turned on). For tests: the code is a secret."""
        with self.state.lock:
            return self.state.devices.of(self.state.phones[phone_id]).pwd

    def adb_port(self, phone_id):
        """The phone's ADB port on 127.0.0.1, opened now if needed; None while it takes no ADB connections."""
        with self.state.lock:
            self.adb.sync()
            return self.adb.listen(phone_id)

    def true_status(self):
        with self.state.lock:
            self.state.apply_transitions()
            return dict((i, p["status"]) for i, p in self.state.phones.items())
