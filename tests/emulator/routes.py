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

from .api import ApiCall
from .callbacks import callback_get, callback_set
from .phones import phone_list, phone_status
from .power import phone_start, phone_stop

LIST_PATH = "/open/v1/phone/list"
STATUS_PATH = "/open/v1/phone/status"
START_PATH = "/open/v1/phone/start"
STOP_PATH = "/open/v1/phone/stop"
CALLBACK_GET_PATH = "/open/v1/callback/get"
CALLBACK_SET_PATH = "/open/v1/callback/set"


class Route(NamedTuple):
    path: str
    handler: Callable[[ApiCall], Any]
    summary: str  # what it does, for --help


ROUTES = (
    Route(LIST_PATH, phone_list, "phones a page at a time (page, pageSize), filtered by group, name, tags, IDs..."),
    Route(STATUS_PATH, phone_status, "the true status of up to 100 phone IDs, in its own order"),
    Route(START_PATH, phone_start, "start up to 200 phones: starting at once, started after boot_reads reads"),
    Route(STOP_PATH, phone_stop, "stop up to 200 phones: shut down after stop_reads status reads"),
    Route(CALLBACK_GET_PATH, callback_get, "the account's callback URL (51001 until one is set)"),
    Route(CALLBACK_SET_PATH, callback_set, "set the account's one callback URL"),
)
API_ROUTES: Dict[str, Route] = {route.path: route for route in ROUTES}
API_PATHS = tuple(API_ROUTES)
