# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The account's app book: the catalogue, the team library, how app writes behave and what they left pending.

The rows of the apps installed on a phone live on the phone (phone["apps"], package -> row, created on
the first row); this book holds what is the same for every phone. apps.py serves the routes and says
how they behave. Every setter checks its whole input before it changes anything (ValueError names what
is wrong), so a refused control changes nothing.
"""

from __future__ import annotations

import collections
import copy
import time
from typing import Any, DefaultDict, Dict, List, Optional, Set

from .checks import is_whole

Row = Dict[str, Any]
# What the catalogue offers every phone (installable/list item shape, versions newest first).
DEFAULT_CATALOGUE: List[Dict[str, Any]] = [
    {"id": "7001", "appName": "TikTok", "appIcon": "", "packageName": "com.zhiliaoapp.musically",
     "appVersionInfoList": [
         {"id": "1793552962140770305", "versionName": "36.5.4", "versionCode": 2023605040},
         {"id": "1793552962140770304", "versionName": "36.4.0", "versionCode": 2023604000},
         {"id": "1793552962140770303", "versionName": "35.0.0", "versionCode": 2023500000}]},
    {"id": "7002", "appName": "TikTok Lite", "appIcon": "", "packageName": "com.zhiliaoapp.musically.go",
     "appVersionInfoList": [
         {"id": "1793552962140770401", "versionName": "36.5.4", "versionCode": 2023605041}]},
    {"id": "7003", "appName": "Telegram", "appIcon": "", "packageName": "org.telegram.messenger",
     "appVersionInfoList": [
         {"id": "1800000000000000002", "versionName": "11.2.0", "versionCode": 52020},
         {"id": "1800000000000000001", "versionName": "11.1.3", "versionCode": 51813}]},
]
DEFAULT_TEAM_APPS: List[Dict[str, Any]] = [
    {"id": "9001", "appName": "TikTok", "appIcon": "", "versionId": "1793552962140770305", "versionCode": 2023605040,
     "versionName": "36.5.4", "status": 0, "isUpload": False, "uploadStatus": 1, "appAuth": 0, "appRoot": 0,
     "envGroups": []},
]
ROW_FIELDS = ("appId", "appName", "appIcon", "appVersionId", "installStatus", "installTime", "packageName",
              "versionCode", "versionName")
WRITE_KINDS = ("install", "uninstall")
# A pending change of one row: [app reads left, package, installStatus it takes (None: the row goes), callback].
Pending = List[Any]


def install_time() -> str:
    """Now, as /app/list writes it (no zone is documented: the emulator uses UTC)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


def _check_version_code(value: Any, where: str) -> int:
    if is_whole(value) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ValueError("%s versionCode must be a whole number (or its digits as text), got %r" % (where, value))


def check_catalogue(apps: Any) -> List[Dict[str, Any]]:
    """The catalogue as the book keeps it (versionCode an int), or ValueError naming the first wrong entry."""
    if not isinstance(apps, list):
        raise ValueError("the catalogue must be a list of app objects, got %r" % (apps,))
    checked, version_ids = [], set()
    for app in apps:
        if not isinstance(app, dict):
            raise ValueError("a catalogue app must be an object, got %r" % (app,))
        for key in ("id", "appName", "packageName"):
            if not isinstance(app.get(key), str) or not app[key]:
                raise ValueError("catalogue app %r needs %s as non-empty text" % (app.get("id"), key))
        # One package may be offered twice (an uploaded build beside the shop's): the version IDs tell them apart.
        versions = app.get("appVersionInfoList")
        if not isinstance(versions, list) or not versions:
            raise ValueError("catalogue app %s needs appVersionInfoList, a non-empty list of versions" % app["id"])
        checked_versions = []
        for version in versions:
            shown = version.get("id") if isinstance(version, dict) else version
            where = "catalogue app %s version %r" % (app["id"], shown)
            if not isinstance(version, dict) or not isinstance(version.get("id"), str) or not version["id"]:
                raise ValueError("%s: a version must be an object with an id as non-empty text" % where)
            if not isinstance(version.get("versionName"), str):
                raise ValueError("%s needs versionName as text" % where)
            if version["id"] in version_ids:
                raise ValueError("%s: that version ID is in the catalogue twice" % where)
            version_ids.add(version["id"])
            checked_versions.append({"id": version["id"], "versionName": version["versionName"],
                                     "versionCode": _check_version_code(version.get("versionCode"), where)})
        checked.append({"id": app["id"], "appName": app["appName"], "appIcon": app.get("appIcon") or "",
                        "packageName": app["packageName"], "appVersionInfoList": checked_versions})
    return checked


def check_team_apps(items: Any) -> List[Dict[str, Any]]:
    if not isinstance(items, list) or not all(isinstance(item, dict) and isinstance(item.get("id"), str)
                                              for item in items):
        raise ValueError("the team library must be a list of objects, each with an id as text, got %r" % (items,))
    return copy.deepcopy(items)


class AppBook:
    """The catalogue, the team library, the app write settings and the pending row changes, per phone."""

    def __init__(self) -> None:
        self.catalogue = check_catalogue(DEFAULT_CATALOGUE)
        self.team_apps = check_team_apps(DEFAULT_TEAM_APPS)
        self.install_reads = 1
        self.uninstall_reads = 1
        self.fail: Dict[str, Set[str]] = {kind: set() for kind in WRITE_KINDS}
        self.refuse: Dict[str, Dict[str, int]] = {kind: {} for kind in WRITE_KINDS}
        self.keep_uninstalled = False
        self.list_needs_running = False
        self.pending: DefaultDict[str, List[Pending]] = collections.defaultdict(list)

    # The catalogue, looked up two ways.
    def version(self, version_id: str) -> Optional[Dict[str, Any]]:
        """The catalogue app and version of a version ID: {"app": ..., "version": ...}, or None."""
        for app in self.catalogue:
            for version in app["appVersionInfoList"]:
                if version["id"] == version_id:
                    return {"app": app, "version": version}
        return None

    def app_of_package(self, package: str) -> Optional[Dict[str, Any]]:
        for app in self.catalogue:
            if app["packageName"] == package:
                return app
        return None

    def set_catalogue(self, apps: Any) -> None:
        self.catalogue = check_catalogue(apps)

    def set_team_apps(self, items: Any) -> None:
        self.team_apps = check_team_apps(items)

    def configure(self, install_reads: Any = None, uninstall_reads: Any = None, fail: Any = None, refuse: Any = None,
                  keep_uninstalled: Any = None, list_needs_running: Any = None) -> None:
        """Set how app writes behave; a setting not given (None) stays as it is. All checked before any is set.

        fail={"install" or "uninstall": [phone IDs]} replaces that kind's set (an empty list clears it);
        refuse={"install" or "uninstall": {phone ID: code, or None to stop refusing}} adds to that kind's script.
        """
        for name, reads in (("install_reads", install_reads), ("uninstall_reads", uninstall_reads)):
            if reads is not None and not (is_whole(reads) and reads >= 1):
                raise ValueError("%s must be a whole number of at least 1, got %r" % (name, reads))
        for name, flag in (("keep_uninstalled", keep_uninstalled), ("list_needs_running", list_needs_running)):
            if flag is not None and not isinstance(flag, bool):
                raise ValueError("%s must be true or false, got %r" % (name, flag))
        if fail is not None:
            if not isinstance(fail, dict) or set(fail) - set(WRITE_KINDS):
                raise ValueError("fail must map install or uninstall to phone IDs, got %r" % (fail,))
            if not all(isinstance(ids, list) and all(isinstance(i, str) for i in ids) for ids in fail.values()):
                raise ValueError("fail must map install or uninstall to a list of phone IDs, got %r" % (fail,))
        if refuse is not None:
            if not isinstance(refuse, dict) or set(refuse) - set(WRITE_KINDS):
                raise ValueError("refuse must map install or uninstall to {phone ID: code}, got %r" % (refuse,))
            for codes in refuse.values():
                if not isinstance(codes, dict) or not all(code is None or is_whole(code) for code in codes.values()):
                    raise ValueError("refuse must map install or uninstall to {phone ID: API code or null}, got %r"
                                     % (refuse,))
        if install_reads is not None:
            self.install_reads = install_reads
        if uninstall_reads is not None:
            self.uninstall_reads = uninstall_reads
        if keep_uninstalled is not None:
            self.keep_uninstalled = keep_uninstalled
        if list_needs_running is not None:
            self.list_needs_running = list_needs_running
        for kind, ids in (fail or {}).items():
            self.fail[kind] = set(ids)
        for kind, codes in (refuse or {}).items():
            for phone_id, code in codes.items():
                if code is None:
                    self.refuse[kind].pop(phone_id, None)
                else:
                    self.refuse[kind][phone_id] = code

    # Rows and their pending changes.
    def schedule(self, phone_id: str, package: str, reads: int, status: Optional[int], callback: bool) -> None:
        """Change a row on the phone's `reads`-th app list read from now; a newer write replaces an older one."""
        self.drop_pending(phone_id, package)
        self.pending[phone_id].append([reads, package, status, callback])

    def drop_pending(self, phone_id: str, package: str) -> None:
        steps = self.pending.get(phone_id)
        if steps:
            self.pending[phone_id] = [step for step in steps if step[1] != package]

    def fire(self, phone: Dict[str, Any]) -> List[Row]:
        """One app list read of the phone: apply the changes now due; return the installs that finished."""
        steps = self.pending.get(phone["id"])
        if not steps:
            return []
        finished = []
        rows = phone.setdefault("apps", collections.OrderedDict())
        for step in steps:
            step[0] -= 1
            reads, package, status, callback = step
            if reads or package not in rows:
                continue
            if status is None:
                del rows[package]
            else:
                rows[package]["installStatus"] = status
                if callback:
                    finished.append(dict(rows[package]))
        self.pending[phone["id"]] = [step for step in steps if step[0] > 0]
        return finished

    def build_row(self, package: str, spec: Dict[str, Any]) -> Row:
        """A row from a set_apps entry, filled from the catalogue; ValueError when it cannot be."""
        unknown = set(spec) - set(ROW_FIELDS) - {"settleReads"}
        if unknown:
            raise ValueError("an app row does not take %s; it takes: %s"
                             % (", ".join(sorted(unknown)), ", ".join(ROW_FIELDS)))
        if spec.get("packageName", package) != package:
            raise ValueError("row %s names another packageName, %r" % (package, spec["packageName"]))
        status = spec.get("installStatus", 1)
        if not is_whole(status):
            raise ValueError("row %s installStatus must be a whole number, got %r" % (package, status))
        if "settleReads" in spec:
            reads = spec["settleReads"]
            if isinstance(reads, bool) or not isinstance(reads, int) or reads < 1:
                raise ValueError("row %s settleReads must be a whole number of at least 1, got %r" % (package, reads))
            if status not in (0, 3):
                raise ValueError("row %s settleReads applies to a row installing (0) or uninstalling (3), got "
                                 "installStatus %r" % (package, status))
        app = self.app_of_package(package)
        version = None
        if app is not None:
            # The version named by versionName, else by appVersionId.
            field, wanted = ("versionName", spec["versionName"]) if "versionName" in spec else ("id", spec.get(
                "appVersionId"))
            for candidate in app["appVersionInfoList"]:
                if candidate[field] == wanted:
                    version = candidate
            if version is None and "versionName" not in spec and "appVersionId" not in spec:
                version = app["appVersionInfoList"][0]  # neither given: the newest
        if version is None and not ("appVersionId" in spec and "versionCode" in spec):
            raise ValueError("row %s: version %r is not in the catalogue for that package; give appVersionId and "
                             "versionCode for an app the catalogue does not offer"
                             % (package, spec.get("versionName", spec.get("appVersionId"))))
        row = {"appId": app["id"] if app else "", "appName": app["appName"] if app else package,
               "appIcon": app["appIcon"] if app else "", "installStatus": status, "installTime": install_time(),
               "packageName": package}
        if version is not None:
            row.update(appVersionId=version["id"], versionCode=str(version["versionCode"]),
                       versionName=version["versionName"])
        else:
            row["versionName"] = ""
        row.update((key, value) for key, value in spec.items() if key not in ("installStatus", "settleReads"))
        row["versionCode"] = str(_check_version_code(row["versionCode"], "row %s" % package))
        return dict((key, row[key]) for key in ROW_FIELDS)

    def set_rows(self, phones: Dict[str, Dict[str, Any]], rows_by_phone: Any) -> None:
        """Set rows directly ({phone ID: {package: row spec or None}}); a set row moves only when written again."""
        if not isinstance(rows_by_phone, dict):
            raise ValueError("apps must map phone IDs to {package: row or null}, got %r" % (rows_by_phone,))
        built: Dict[str, Dict[str, Optional[Row]]] = {}
        for phone_id, rows in rows_by_phone.items():
            if phone_id not in phones:
                raise ValueError("no phone %s in the fleet" % phone_id)
            if not isinstance(rows, dict):
                raise ValueError("the apps of phone %s must map packages to a row or null, got %r" % (phone_id, rows))
            built[phone_id] = {}
            for package, spec in rows.items():
                if spec is not None and not isinstance(spec, dict):
                    raise ValueError("row %s of phone %s must be an object or null, got %r" % (package, phone_id, spec))
                built[phone_id][package] = None if spec is None else self.build_row(package, spec)
        for phone_id, rows in built.items():
            table = phones[phone_id].setdefault("apps", collections.OrderedDict())
            for package, row in rows.items():
                self.drop_pending(phone_id, package)
                if row is None:
                    table.pop(package, None)
                elif package in table:
                    table[package].update(row)
                else:
                    table[package] = row
                settle = (rows_by_phone[phone_id][package] or {}).get("settleReads")
                if row is not None and settle is not None:
                    self._settle(phone_id, package, row, settle)

    def _settle(self, phone_id: str, package: str, row: Row, reads: int) -> None:
        """A row set mid-change (installing 0, uninstalling 3, with settleReads) finishes on the phone's
        reads-th app/list read: installed (1), or gone; as if another client's change were under way."""
        self.schedule(phone_id, package, reads, 1 if row["installStatus"] == 0 else None, False)
