# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The app routes: app/list, app/installable/list, app/teamApp/list, app/install and app/uninstall.

Each phone carries its installed apps as rows, phone["apps"] (package -> row, in install order; made on
the first row, none by default): {appId, appName, appIcon, appVersionId, installStatus (int), installTime
("YYYY-MM-DD HH:MM:SS", UTC), packageName, versionCode (text, as the real /app/list has it), versionName}.
installStatus: 0 installing, 1 installed, 2 install failed, 3 uninstalling, 4 uninstalled, 5 uninstall failed.

The catalogue (installable/list, the same for every phone; replace it with set_catalogue), by default:
  app "7001" TikTok, com.zhiliaoapp.musically: versions (newest first) "1793552962140770305" 36.5.4
      (versionCode 2023605040), "1793552962140770304" 36.4.0 (2023604000), "1793552962140770303" 35.0.0
      (2023500000)
  app "7002" TikTok Lite, com.zhiliaoapp.musically.go: "1793552962140770401" 36.5.4 (2023605041)
  app "7003" Telegram, org.telegram.messenger: "1800000000000000002" 11.2.0 (52020),
      "1800000000000000001" 11.1.3 (51813)
The team library (teamApp/list; set_team_apps replaces it), by default one item: id "9001" TikTok,
versionId "1793552962140770305", versionCode 2023605040, versionName 36.5.4, status 0, isUpload false,
uploadStatus 1, appAuth 0, appRoot 0, envGroups [].

Lists take `page` (at least 1) and `pageSize` (1 to 100; teamApp/list 1 to 200), both required: a
missing or non-integer one gets 40004, one out of range 40008 (as phone/list answers). They answer
{total, page, pageSize, items}; the pager's lies (pager control) apply to phone/list only.

A write's envId and its other field (appVersionId, packageName) are required text (40004 otherwise).
Once envId is text, the request counts for that phone (app_installs, app_uninstalls), whatever
follows: a missing appVersionId too. Then, in order: an unknown phone 42001; a
scripted refusal (configure_apps(refuse=...)) that code; a phone not running (status other than 0)
42002; then:
- install: a version not in the catalogue 42006; the package's row installing (0) 42003; installed or
  uninstall-failed (1, 5) at a higher versionCode 42004. Otherwise (no row, a failed, uninstalling (3),
  uninstalled (4), older or the same version: the same version reinstalls) the row takes that version,
  installStatus 0 and installTime now, and becomes 1 (2 when the phone is in fail["install"]) on the
  phone's install_reads-th app/list read from now (default 1: the next read shows it done).
- uninstall: no row, or a row neither installing, installed, uninstalling nor uninstall-failed
  (not 0, 1, 3, 5) 42005; a row already uninstalling (3) answers 0 and changes nothing; otherwise the
  row becomes 3, then on the uninstall_reads-th app/list read is removed (or kept as 4 with
  keep_uninstalled; 5 when the phone is in fail["uninstall"]).
The fail sets, keep_uninstalled and the read counts are taken when the write is accepted. A newer
write (or set_apps) of a package replaces its pending change. Changes fire on app/list reads only,
never by time nor on installable/list reads.

app/list counts every request for a known phone (app_list_reads) and answers on any phone status,
unless configure_apps(list_needs_running=True): then a phone not running gets 42002 (counted, but it
fires no change). installable/list counts installable_reads and shows, per version, the phone's row
installStatus when that row holds that version, else -1.

The doors (Emulator methods; the same under /_emulator/apps/...): set_apps sets rows as given (a row
set to 0 or 3 stays so; it drops the package's pending change), filling appVersionId, versionCode, appName,
appId and appIcon from the catalogue by versionName, else by appVersionId, else the newest version;
installStatus defaults to 1 and installTime to now. configure_apps: fail={kind: [IDs]} replaces that
kind's set; refuse={kind: {ID: code}} adds to that kind's script (a null code removes the phone).
apps_of(id) gives copies of the rows (KeyError for an unknown phone). The apps, the catalogue, the team
library and these settings outlive reset(); the four counters do not.

When an install finishes and a callback URL is set (callback/set), callback type 15
{type, packageName, appVersionId, id (the phone), result 1 or 0} is sent from a background thread,
signed with the key scheme when the emulator has an app ID and key, else with its token; a failed
delivery is dropped (GeeLark's retries are undocumented).
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import threading
from typing import Any, Counter, Dict, List, Optional, Tuple

from .api import ApiCall, ApiFailure
from .app_state import Row, install_time
from .callbacks import send_callback
from .checks import is_whole
from .state import EmulatorState

MAX_APP_PAGE = 100
MAX_TEAM_APP_PAGE = 200
NOT_INSTALLED = -1  # installable/list's installStatus for a version the phone does not hold
REFUSED = "refused by the emulator's script"


def app_list(call: ApiCall) -> Dict[str, Any]:
    """The apps installed on one phone, a page at a time; each call is one app read of that phone."""
    state = call.state
    phone_id = _text(call.body, "envId")
    page, size = _paging(call.body, MAX_APP_PAGE)
    phone = _phone(state, phone_id)
    state.app_list_reads[phone_id] += 1
    if state.app_book.list_needs_running and phone["status"] != 0:
        raise ApiFailure(42002, "env is not running")
    for row in state.app_book.fire(phone):
        _send_install_callback(state, phone_id, row)
    rows = list(phone.get("apps", {}).values())
    return _page_of(rows, page, size)


def installable_list(call: ApiCall) -> Dict[str, Any]:
    """The catalogue (filtered by name), each version with its install status on one phone."""
    state = call.state
    phone_id = _text(call.body, "envId")
    page, size = _paging(call.body, MAX_APP_PAGE)
    name = call.body.get("name")
    if name is not None and not isinstance(name, str):
        raise ApiFailure(40004, "name must be text")
    phone = _phone(state, phone_id)
    state.installable_reads[phone_id] += 1
    rows = phone.get("apps", {})
    items = []
    for app in state.app_book.catalogue:
        if name and name.lower() not in app["appName"].lower():
            continue
        row = rows.get(app["packageName"])
        versions = [{"id": v["id"], "versionCode": v["versionCode"], "versionName": v["versionName"],
                     "installStatus": row["installStatus"] if row and row.get("appVersionId") == v["id"]
                     else NOT_INSTALLED} for v in app["appVersionInfoList"]]
        items.append({"id": app["id"], "appName": app["appName"], "appIcon": app["appIcon"],
                      "packageName": app["packageName"], "appVersionInfoList": versions})
    return _page_of(items, page, size)


def team_app_list(call: ApiCall) -> Dict[str, Any]:
    """The team library, a page at a time."""
    page, size = _paging(call.body, MAX_TEAM_APP_PAGE)
    return _page_of([dict(item) for item in call.state.app_book.team_apps], page, size)


def app_install(call: ApiCall) -> None:
    """Install one catalogue version on one phone: accepted as installing, finished by later app/list reads."""
    book = call.state.app_book
    phone_id, version_id, phone = _write_target(call, "install", "appVersionId", call.state.app_installs)
    found = book.version(version_id)
    if found is None:
        raise ApiFailure(42006, "app does not exist")
    app, version = found["app"], found["version"]
    package = app["packageName"]
    row = phone.get("apps", {}).get(package)
    if row is not None and row.get("installStatus") == 0:
        raise ApiFailure(42003, "app is being installed")
    if row is not None and row.get("installStatus") in (1, 5) and _code(row) > version["versionCode"]:
        raise ApiFailure(42004, "a higher version is installed")
    new_row = {"appId": app["id"], "appName": app["appName"], "appIcon": app["appIcon"], "appVersionId": version["id"],
               "installStatus": 0, "installTime": install_time(), "packageName": package,
               "versionCode": str(version["versionCode"]), "versionName": version["versionName"]}
    if row is None:
        phone.setdefault("apps", collections.OrderedDict())[package] = new_row
    else:
        row.update(new_row)  # in place: the row keeps its place in the list
    done = 2 if phone_id in book.fail["install"] else 1
    book.schedule(phone_id, package, book.install_reads, done, callback=True)


def app_uninstall(call: ApiCall) -> None:
    """Uninstall one package from one phone: uninstalling at once, gone after later app/list reads."""
    book = call.state.app_book
    phone_id, package, phone = _write_target(call, "uninstall", "packageName", call.state.app_uninstalls)
    row = phone.get("apps", {}).get(package)
    if row is None or row.get("installStatus") not in (0, 1, 3, 5):
        raise ApiFailure(42005, "app is not installed")
    if row["installStatus"] == 3:
        return  # already uninstalling: no code is documented for it, so it is accepted and changes nothing
    row["installStatus"] = 3
    if phone_id in book.fail["uninstall"]:
        done: Optional[int] = 5
    else:
        done = 4 if book.keep_uninstalled else None
    book.schedule(phone_id, package, book.uninstall_reads, done, callback=False)


def _text(body: Dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ApiFailure(40004, "%s is required and must be text" % key)
    return value


def _paging(body: Dict[str, Any], largest: int) -> Tuple[int, int]:
    page, size = body.get("page"), body.get("pageSize")
    if not (is_whole(page) and is_whole(size)):
        raise ApiFailure(40004, "page and pageSize are required and must be integers")
    assert isinstance(page, int) and isinstance(size, int)  # for the type checker: is_whole said so
    if page < 1 or not 1 <= size <= largest:
        raise ApiFailure(40008, "page or pageSize out of range (pageSize 1 to %d)" % largest)
    return page, size


def _page_of(items: List[Any], page: int, size: int) -> Dict[str, Any]:
    first = (page - 1) * size
    return {"total": len(items), "page": page, "pageSize": size, "items": [dict(i) for i in items[first:first + size]]}


def _phone(state: EmulatorState, phone_id: str) -> Dict[str, Any]:
    phone = state.phones.get(phone_id)
    if phone is None:
        raise ApiFailure(42001, "env not found")
    return phone


def _write_target(call: ApiCall, kind: str, field: str, counter: Counter[str]) -> Tuple[str, str, Dict[str, Any]]:
    """(phone ID, `field`'s text, the phone) of an app write, counted first, once it passed the checks every
    app write shares (42001, a scripted refusal, 42002)."""
    state = call.state
    phone_id = _text(call.body, "envId")
    counter[phone_id] += 1
    value = _text(call.body, field)
    phone = _phone(state, phone_id)
    refused = state.app_book.refuse[kind].get(phone_id)
    if refused is not None:
        raise ApiFailure(refused, REFUSED)
    if phone["status"] != 0:
        raise ApiFailure(42002, "env is not running")
    return phone_id, value, phone


def _code(row: Row) -> int:
    try:
        return int(row.get("versionCode") or 0)
    except (TypeError, ValueError):
        return 0  # a row set by hand with a code that is no number: never blocks an install


def _send_install_callback(state: EmulatorState, phone_id: str, row: Row) -> None:
    """Callback type 15 for a finished install, sent after this request lets go of the state's lock."""
    if not state.callback_url:
        return
    payload = {"type": 15, "packageName": row["packageName"], "appVersionId": row["appVersionId"], "id": phone_id,
               "result": 1 if row["installStatus"] == 1 else 0}
    auth = "key" if state.app_id and state.api_key else ("token" if state.token else "none")

    def deliver() -> None:
        # A receiver that is down or answers garbage is its own problem, as with GeeLark: nothing to report to.
        with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
            send_callback(state, payload, auth=auth, timeout=10)

    threading.Thread(target=deliver, name="geelark-emulator-callback", daemon=True).start()
