# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The API route table: one entry per endpoint, naming its path, its handler and a line for --help.

Every route is a POST authenticated like GeeLark's (see auth.py). The server counts the request, plays
a queued fault, checks auth, the rate limit and the JSON body, then calls the handler with the state's
lock held; what the handler returns is the envelope's "data" (None: no data), an ApiFailure it raises
is the envelope's code and msg.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, NamedTuple

from .adb import adb_get_data, adb_set_status, shell_execute
from .api import ApiCall
from .apps import app_install, app_list, app_uninstall, installable_list, team_app_list
from .callbacks import callback_get, callback_set
from .phones import phone_list, phone_status
from .power import phone_start, phone_stop

LIST_PATH = "/open/v1/phone/list"
STATUS_PATH = "/open/v1/phone/status"
START_PATH = "/open/v1/phone/start"
STOP_PATH = "/open/v1/phone/stop"
CALLBACK_GET_PATH = "/open/v1/callback/get"
CALLBACK_SET_PATH = "/open/v1/callback/set"
APP_LIST_PATH = "/open/v1/app/list"
APP_INSTALLABLE_PATH = "/open/v1/app/installable/list"
APP_TEAM_PATH = "/open/v1/app/teamApp/list"
APP_INSTALL_PATH = "/open/v1/app/install"
APP_UNINSTALL_PATH = "/open/v1/app/uninstall"
ADB_SET_STATUS_PATH = "/open/v1/adb/setStatus"
ADB_GET_DATA_PATH = "/open/v1/adb/getData"
SHELL_EXECUTE_PATH = "/open/v1/shell/execute"


class Route(NamedTuple):
    path: str
    handler: Callable[[ApiCall], Any]
    summary: str  # what it does, for --help


PHONE_ROUTES = (
    Route(LIST_PATH, phone_list, "phones a page at a time (page, pageSize), filtered by group, name, tags, IDs..."),
    Route(STATUS_PATH, phone_status, "the true status of up to 100 phone IDs, in its own order"),
    Route(START_PATH, phone_start, "start up to 200 phones: starting at once, started after boot_reads reads"),
    Route(STOP_PATH, phone_stop, "stop up to 200 phones: shut down after stop_reads status reads"),
    Route(CALLBACK_GET_PATH, callback_get, "the account's callback URL (51001 until one is set)"),
    Route(CALLBACK_SET_PATH, callback_set, "set the account's one callback URL"),
)
APP_ROUTES = (
    Route(APP_LIST_PATH, app_list, "the apps installed on one phone (envId), a page at a time; each call is one app "
          "read, which finishes installs and uninstalls"),
    Route(APP_INSTALLABLE_PATH, installable_list, "the catalogue (name: search), each version's install status on "
          "one phone (-1: not installed)"),
    Route(APP_TEAM_PATH, team_app_list, "the team library, up to 200 items a page"),
    Route(APP_INSTALL_PATH, app_install, "install a catalogue version (appVersionId) on a running phone: installing "
          "(0), installed (1) or failed (2) after install_reads app/list reads"),
    Route(APP_UNINSTALL_PATH, app_uninstall, "uninstall a package from a running phone: uninstalling (3), removed "
          "(or 4, or failed 5) after uninstall_reads app/list reads"),
)
ADB_ROUTES = (
    Route(ADB_SET_STATUS_PATH, adb_set_status, "turn ADB on or off (open) for up to 200 phones; only running phones "
          "of a model with ADB (Android 9, 11-16) change, the rest are skipped silently; on: ready after "
          "enable_reads getData reads"),
    Route(ADB_GET_DATA_PATH, adb_get_data, "ADB connection info of up to 200 phones: items {code, id, ip, port, pwd}; "
          "42001, 42002, 49001 ADB off, 49002 no ADB (Android 10); ip and port are this machine's ADB daemon"),
    Route(SHELL_EXECUTE_PATH, shell_execute, "run cmd in one phone's shell (id): {status, output}; 42001, 42002, "
          "50001 no shell API (Android 9, 11)"),
)
ROUTES = PHONE_ROUTES + APP_ROUTES + ADB_ROUTES
# Every path served (and a fault may name) is a key of API_ROUTES. API_PATHS keeps the phone and
# callback paths it has always named; APP_PATHS names the app routes, ADB_PATHS the ADB and shell routes.
API_ROUTES: Dict[str, Route] = {route.path: route for route in ROUTES}
API_PATHS = tuple(route.path for route in PHONE_ROUTES)
APP_PATHS = tuple(route.path for route in APP_ROUTES)
ADB_PATHS = tuple(route.path for route in ADB_ROUTES)
