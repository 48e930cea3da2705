# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading apps: the apps installed on a phone, the versions installable on it, the team's app library.

Each list is read page by page until the first page's total is accounted for; a reading whose
pages disagree is read again, and a list that never adds up fails rather than come back partial
or doubled. Per-phone reads run in parallel under the rate budget, and a phone the API refuses
(not found, not running) is a failure of that phone, not of the run.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

import math
import re

from ._errors import APIError, GeeLarkError, IncompleteResultError, MalformedResponseError, describe_code
from ._parallel import run_parallel
from ._phones import LISTING_ATTEMPTS, normalize_ids

APP_LIST_PATH = "/open/v1/app/list"
INSTALLABLE_PATH = "/open/v1/app/installable/list"
TEAM_APPS_PATH = "/open/v1/app/teamApp/list"

# The most items a page of each list may hold (documented): installed and installable 100, the team library 200.
APP_PAGE_SIZE = 100
TEAM_PAGE_SIZE = 200
# The most apps one listing reads: a larger total on page 1 is refused at once, so a pager that lies
# about its total never drives requests without bound (200 pages of 100).
MAX_LISTED_APPS = 20000

INSTALL_STATUS_NAMES = {0: "installing", 1: "installed", 2: "install_failed", 3: "uninstalling",
                        4: "uninstalled", 5: "uninstall_failed"}
NOT_INSTALLED = "not_installed"

# Codes that refuse one phone, not the run: the phone does not exist (42001), or is not running (42002).
PER_PHONE_CODES = frozenset((42001, 42002))

_WHOLE_TEXT = re.compile(r"[+-]?[0-9]+")


def install_status_name(code):
    """installing, installed, install_failed, uninstalling, uninstalled, uninstall_failed; else not_installed."""
    return INSTALL_STATUS_NAMES.get(code, NOT_INSTALLED) if _is_int(code) else NOT_INSTALLED


class AppsReport:
    """The answer of a per-phone read for every requested ID: each one is in `rows` or in `failures`."""

    def __init__(self, ids):
        self.ids = list(ids)
        self.rows: dict[str, list] = {}
        self.failures: dict[str, dict] = {}
        self.errors: dict[str, GeeLarkError] = {}
        self.warnings: list[str] = []

    def fail(self, phone_id, error):
        """Record a phone the API refused, with its code and a message that carries the traceId."""
        self.failures[phone_id] = {"id": phone_id, "code": error.code, "msg": per_phone_message(error)}
        self.errors[phone_id] = error

    def phone_list(self):
        return [{"id": i, "apps": self.rows[i]} for i in self.ids if i in self.rows]

    def failure_list(self):
        return [self.failures[i] for i in self.ids if i in self.failures]


def per_phone_message(error):
    """A refused phone's message: the API's, its traceId and what to do ("env not found (traceId ...); check ...")."""
    meaning, advice = describe_code(error.code)
    text = error.api_msg or meaning
    if error.trace_id:
        text += " (traceId %s)" % error.trace_id
    return "%s; %s" % (text, advice)


def read_per_phone(transport, ids, concurrency, read, stop_event=None):
    """An AppsReport of read(transport, phone_id) for every ID, up to `concurrency` phones at once.

    A phone refused with a code of PER_PHONE_CODES is a failure of that phone; any other error
    ends the whole read (the transport has retried what was worth retrying), and `stop_event`
    (the transport's by default) stops the reads not sent yet.
    """
    ids = normalize_ids(ids)

    def read_one(phone_id):
        try:
            return read(transport, phone_id), None
        except APIError as error:
            if error.code in PER_PHONE_CODES:
                return None, error
            raise

    answers = run_parallel(read_one, ids, concurrency, stop_event or transport.stop_event)
    report = AppsReport(ids)
    for phone_id, (rows, error) in zip(ids, answers):
        if error is not None:
            report.fail(phone_id, error)
        else:
            report.rows[phone_id] = rows
    return report


def installed_rows(transport, phone_id):
    """The apps installed on one phone (every page of /app/list), as normalised rows.

    Raises GeeLarkError when it cannot: an APIError with the code for 42001 (not found) and 42002 (not running).
    """
    return _Listing(transport, APP_LIST_PATH, {"envId": phone_id}, APP_PAGE_SIZE, _installed_row,
                    _installed_key, "the installed apps of phone %s" % phone_id).read()


def installable_apps(transport, phone_id, name=None):
    """The apps installable on one phone, each with its versions and their install status there (every page).

    `name` is passed to the API's search, which matches look-alikes too (TikTok finds TikTok Lite).
    """
    body = {"envId": phone_id}
    if name:
        body["name"] = name
    return _Listing(transport, INSTALLABLE_PATH, body, APP_PAGE_SIZE, _installable_app, _id_key,
                    "the installable apps of phone %s" % phone_id).read()


def team_apps(transport):
    """The team's app library (every page of teamApp/list), with snake_case keys."""
    return _Listing(transport, TEAM_APPS_PATH, {}, TEAM_PAGE_SIZE, _team_app, _id_key, "the team's app library").read()


class _Listing:
    """Every item of one paged list, each exactly once, or an error.

    Page 1's total fixes the number of pages. The reading holds only when every page repeats that
    total, holds the items its place allows and shows no item seen before (so the count is the
    total); otherwise the list is read again, at most LISTING_ATTEMPTS times.
    """

    def __init__(self, transport, path, body, page_size, normalise, key, what):
        self.transport = transport
        self.path = path
        self.body = body
        self.page_size = page_size
        self.normalise = normalise
        self.key = key
        self.what = what

    def read(self):
        problem = None
        for _attempt in range(LISTING_ATTEMPTS):
            items, problem = self._reading()
            if problem is None:
                return items
            self.transport.debug("%s did not add up (%s); reading it again" % (_capital(self.what), problem))
        # Never part of a list as if it were all of it: an app missed is an app installed twice, or never.
        raise IncompleteResultError(
            "%s did not add up in %d readings: %s" % (_capital(self.what), LISTING_ATTEMPTS, problem),
            endpoint=self.path,
            advice="apps were being installed or removed during the run, or the API's pages disagree with each "
                   "other: run again when nothing is changing; if it persists, report the traceId to GeeLark support",
        )

    def _reading(self):
        """(items, None) for a consistent reading, or (None, why it is not)."""
        first = self._page(1)
        total = first["total"]
        if total > MAX_LISTED_APPS:
            raise IncompleteResultError(
                "%s claims %d apps, more than the %d one listing reads" % (_capital(self.what), total, MAX_LISTED_APPS),
                endpoint=self.path, trace_id=first["traceId"],
                advice="the API's total is wrong: report the traceId to GeeLark support")
        page_count = max(1, math.ceil(total / self.page_size))
        seen: set = set()
        items = []
        for number in range(1, page_count + 1):
            page = first if number == 1 else self._page(number)
            if page["total"] != total:
                return None, "total was %d on page 1 and %d on page %d (traceId %s)" % (
                    total, page["total"], number, page["traceId"])
            expected = max(0, min(self.page_size, total - (number - 1) * self.page_size))
            if len(page["items"]) != expected:
                return None, "page %d of %d held %d apps, expected %d (traceId %s)" % (
                    number, page_count, len(page["items"]), expected, page["traceId"])
            for item in page["items"]:
                key = self.key(item)
                if key in seen:
                    return None, "%s appeared twice (page %d, traceId %s)" % (_key_text(key), number, page["traceId"])
                seen.add(key)
                items.append(item)
        return items, None

    def _page(self, number):
        envelope = self.transport.post(self.path, dict(self.body, page=number, pageSize=self.page_size))
        trace_id = envelope["traceId"]
        data = envelope.get("data")
        if not isinstance(data, dict):
            raise self._malformed("the answer has no 'data' object", trace_id)
        total = _whole(data.get("total"))
        if total is None or total < 0:
            raise self._malformed("the answer has no valid 'total' (%r)" % (data.get("total"),), trace_id)
        items = data.get("items")
        if items is None:
            items = []
        if not isinstance(items, list):
            raise self._malformed("the answer's items are a %s, not a list" % type(items).__name__, trace_id)
        if len(items) > self.page_size:
            raise self._malformed("the answer holds %d items, more than a page of %d" % (len(items), self.page_size),
                                  trace_id)
        rows = []
        for position, item in enumerate(items):
            if not isinstance(item, dict):
                # A null item cannot be skipped: no count would then name the app it hid.
                raise self._malformed("items[%d] is %s, not an object"
                                      % (position, "null" if item is None else "a %s" % type(item).__name__), trace_id)
            try:
                rows.append(self.normalise(item))
            except ValueError as exc:
                raise self._malformed("items[%d] %s" % (position, exc), trace_id) from None
        return {"total": total, "items": rows, "traceId": trace_id}

    def _malformed(self, what, trace_id):
        return MalformedResponseError("Reading %s: %s" % (self.what, what), endpoint=self.path, trace_id=trace_id,
                                      advice="report the traceId to GeeLark support")


def _installed_row(item):
    package = item.get("packageName")
    if not isinstance(package, str) or not package.strip():
        raise ValueError("has no packageName")
    status = _whole(item.get("installStatus"))
    return {
        "package": package,
        "name": _text(item.get("appName")),
        "app_id": _id_text(item, "appId"),
        "version_id": _id_text(item, "appVersionId"),
        "version_name": _text(item.get("versionName")),
        "version_code": _whole(item.get("versionCode")),
        "install_status": status,
        "install_status_name": install_status_name(status),
        "install_time": _text(item.get("installTime")),
    }


def _installed_key(row):
    # One version of one package is one row; the same again is a page served twice.
    return ("package", row["package"], row["version_id"])


def _installable_app(item):
    versions = item.get("appVersionInfoList")
    if versions is None:
        versions = []
    if not isinstance(versions, list):
        raise ValueError("appVersionInfoList is a %s, not a list" % type(versions).__name__)
    return {
        "id": _required_id(item, "id"),
        "name": _text(item.get("appName")),
        "package": _text(item.get("packageName")),
        "versions": [_installable_version(version, position) for position, version in enumerate(versions)],
    }


def _installable_version(version, position):
    if not isinstance(version, dict):
        raise ValueError("appVersionInfoList[%d] is %s, not an object"
                         % (position, "null" if version is None else "a %s" % type(version).__name__))
    try:
        version_id = _required_id(version, "id")
    except ValueError as exc:
        raise ValueError("appVersionInfoList[%d] %s" % (position, exc)) from None
    status = _whole(version.get("installStatus"))
    return {
        "id": version_id,
        "version_name": _text(version.get("versionName")),
        "version_code": _whole(version.get("versionCode")),
        "install_status": status,
        "install_status_name": install_status_name(status),
    }


def _team_app(item):
    env_groups = item.get("envGroups")
    return {
        "id": _required_id(item, "id"),
        "name": _text(item.get("appName")),
        "version_id": _id_text(item, "versionId"),
        "version_name": _text(item.get("versionName")),
        "version_code": _whole(item.get("versionCode")),
        "auto_install": _whole(item.get("status")) == 1,
        "uploaded": item.get("isUpload") is True or _whole(item.get("isUpload")) == 1,
        "upload_status": _whole(item.get("uploadStatus")),
        "app_auth": _whole(item.get("appAuth")),
        "app_root": _whole(item.get("appRoot")),
        "env_groups": env_groups if isinstance(env_groups, list) else [],
    }


def _id_key(item):
    return ("id", item["id"])


def _key_text(key):
    if key[0] == "package":
        return "package %s (version ID %s)" % (key[1], key[2])
    return "app %s" % key[1]


def _required_id(item, field):
    value = _id_text(item, field)
    if value is None:
        raise ValueError("has no %r" % field)
    return value


def _id_text(item, field):
    """An ID as the API's text: a string, or an integer turned into its exact digits; None when absent.

    A floating point number is refused: its digits are gone, and a wrong version ID installs the wrong app.
    """
    value = item.get(field)
    if value is None or value == "":
        return None
    if _is_int(value):
        return str(value)
    if isinstance(value, str):
        return value
    raise ValueError("has %s %r, not an ID (a string or an integer)" % (field, value))


def _whole(value):
    """An integer from an integer or a whole number written as text ("2023605040"); None for anything else."""
    if _is_int(value):
        return value
    if isinstance(value, str) and _WHOLE_TEXT.fullmatch(value.strip()):
        return int(value)
    return None


def _text(value):
    return value if isinstance(value, str) else None


def _capital(text):
    return text[:1].upper() + text[1:]


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)
