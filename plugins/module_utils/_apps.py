# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Apps: install or remove one app on many phones. Read what is installed, decide, write, wait, report per phone.

The API installs by app version ID only, one phone a call, and answers before the install is
done: progress shows as the row's installStatus in /app/list. So a run reads each phone's
installed apps first, resolves a version name to its version ID once (installable/list of one
phone that needs it), reads the status of the phones it will write to (one call per 100), sends
an install or an uninstall only where one is needed, in parallel under the rate budget, and polls
/app/list of the phones still on their way. The writes, the lost-answer rule and the wait are the
shared ones (_write.py); this file holds only what apps need.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

import difflib
import time

from ._app_lists import PER_PHONE_CODES, installable_apps, installed_rows, per_phone_message, read_per_phone
from ._errors import APIError, ConfigError, GeeLarkError
from ._phones import normalize_ids, query_status, status_name
from ._write import ChangeResult, ChangeRun, WaitRules, WriteRules, carry, failures_by_reason, uncertain_advice

INSTALL_PATH = "/open/v1/app/install"
UNINSTALL_PATH = "/open/v1/app/uninstall"

APP_STATES = ("present", "absent")
DEFAULT_WAIT_TIMEOUT = 900
DEFAULT_POLL_INTERVAL = 10

# installStatus of an /app/list row.
INSTALLING, INSTALLED, INSTALL_FAILED, UNINSTALLING, UNINSTALLED, UNINSTALL_FAILED = range(6)
ON_PHONE = (INSTALLED, UNINSTALL_FAILED)  # the app is there and usable

NOT_FOUND, NOT_RUNNING, BUSY, HIGHER_INSTALLED, NOT_INSTALLED = 42001, 42002, 42003, 42004, 42005
STARTED = 0
POWER_MODULE = "geelark.cloudphone.geelark_phone_power"
# What to do about a phone that is not started, by its status.
NOT_STARTED_ADVICE = {
    1: "it is starting: run again once it is started (geelark.cloudphone.geelark_phone_status)",
    3: "an expired phone cannot start: renew it in GeeLark, or leave it out of the target "
       "(for example with the inventory pattern !status_expired)",
    None: "start it first with %s (state: started)" % POWER_MODULE,
}


class WantedVersion:
    """The version a `present` run installs: given by the user, resolved to an ID and a code by a read."""

    def __init__(self, name=None, version_id=None):
        self.name = name
        self.id = version_id
        self.code = None
        self.given = name is not None or version_id is not None  # by the user (not found by a read)

    def describe(self):
        if self.name is not None:
            return "version %s" % self.name
        if self.id is not None:
            return "version_id %s" % self.id
        return "the newest version"

    def matches(self, row):
        """True when an installed row is this very version (by ID, or by name when no ID is known)."""
        if self.id is not None and row.get("version_id") == self.id:
            return True
        return self.name is not None and self.id is None and row.get("version_name") == self.name


class AppResult(ChangeResult):
    """Where the app stands on every requested phone: its row before and after, and what the run did."""

    def __init__(self, ids, package, state):
        super().__init__(ids)
        self.package = package
        self.state = state
        self.rows: dict[str, dict | None] = {}  # the package's row in the last read of each phone (None: absent)
        self.before: dict[str, str | None] = {}  # the installed version at the first read
        self.outcome: dict[str, str] = {}
        self.others: set = set()  # phones found mid-install or mid-uninstall: waited for, no write of ours
        self.planned: set = set()  # check mode: the phones a write would go to
        self.planned_version: str | None = None  # what `present` installs, for check mode and --diff
        self.seen_packages: dict[str, int] = {}  # every package the reads found, with the phones that have it

    def take(self, phone_id, rows):
        """Keep a phone's newest reading of the package's row."""
        for package in set(row.get("package") for row in rows if row.get("install_status") in ON_PHONE):
            self.seen_packages[package] = self.seen_packages.get(package, 0) + 1
        mine = [row for row in rows if row.get("package") == self.package]
        row = None
        if mine:
            usable = [r for r in mine if r.get("install_status") in ON_PHONE]
            row = (usable or mine)[0]
            if len(mine) > 1:
                self.warnings.append("Phone %s lists %d rows for %s; the %s one is used"
                                     % (phone_id, len(mine), self.package, row.get("install_status_name")))
        self.rows[phone_id] = row
        self.before.setdefault(phone_id, installed_version(row))

    def take_report(self, report):
        """Keep every answered phone's row; each phone the read could not answer for becomes a failure."""
        for phone_id, rows in report.rows.items():
            self.take(phone_id, rows)
        self.warnings.extend(report.warnings)
        for failure in report.failure_list():
            self.fail(failure["id"], failure["code"], _read_failure(failure), error=report.errors.get(failure["id"]))

    def status_of(self, phone_id):
        row = self.rows.get(phone_id)
        return None if row is None else row.get("install_status")

    def version_after(self, phone_id):
        """The version on the phone at the last read; in check mode, what the planned write would leave."""
        if phone_id in self.planned:
            return self.planned_version if self.state == "present" else None
        return installed_version(self.rows.get(phone_id))

    def app_list(self):
        return [{"id": phone_id, "package": self.package, "version_before": self.before.get(phone_id),
                 "version_after": self.version_after(phone_id),
                 "status": "failed" if phone_id in self.failures else self.outcome.get(phone_id, "failed")}
                for phone_id in self.ids]

    def as_dict(self):
        return dict(changed=self.is_changed, changed_ids=self.changed_ids(), failures=self.failure_list(),
                    uncertain=self.uncertain, apps=self.app_list())

    def diff(self):
        """The version before and after on each phone that changes or may have (after: the plan, in check mode)."""
        ids = [i for i in self.ids if i in self.changed or i in self.uncertain_ids()]
        apps = dict((app["id"], app) for app in self.app_list())
        return {"before": dict((i, apps[i]["version_before"]) for i in ids),
                "after": dict((i, apps[i]["version_after"]) for i in ids)}

    def failure_message(self):
        failures = self.failure_list()
        what = "were not given" if self.state == "present" else "could not be cleared of"
        return "%d of %d phones %s %s: %s%s" % (len(failures), len(self.ids), what, self.package,
                                                failures_by_reason(failures), uncertain_advice(self))


def installed_version(row):
    """The version name of an installed row; None when the app is not (or not yet) on the phone."""
    if row is None or row.get("install_status") not in ON_PHONE:
        return None
    return row.get("version_name")


def _read_failure(failure):
    if failure["code"] == NOT_RUNNING:
        return "not running, so its apps cannot be read or changed: %s; start it first with %s" % (
            failure["msg"], POWER_MODULE)
    return "its apps could not be read: %s" % failure["msg"]


class AppRun(ChangeRun):
    """One `present` or `absent` of a package on a set of phones, installed apps read first."""

    def __init__(self, transport, concurrency=1, check_mode=False, wait=True, wait_timeout=DEFAULT_WAIT_TIMEOUT,
                 poll_interval=DEFAULT_POLL_INTERVAL, max_changes=None, clock=time.monotonic, sleep=None):
        super().__init__(transport, concurrency, check_mode=check_mode, wait=wait, wait_timeout=wait_timeout,
                         poll_interval=poll_interval, max_changes=max_changes, clock=clock, sleep=sleep)

    def run(self, ids, package, state, version=None, version_id=None):
        if state not in APP_STATES:
            raise ConfigError("state must be one of %s, got %r" % (", ".join(APP_STATES), state))
        if not isinstance(package, str) or not package.strip() or package != package.strip():
            raise ConfigError("package must be a package name such as com.zhiliaoapp.musically, got %r" % (package,))
        if version is not None and version_id is not None:
            raise ConfigError("version and version_id are mutually exclusive", advice="give one of them")
        if state == "absent" and (version is not None or version_id is not None):
            raise ConfigError("version and version_id apply to state=present; state=absent removes every version",
                              advice="leave version and version_id out")
        version, version_id = _version_text("version", version), _version_text("version_id", version_id)
        ids = normalize_ids(ids)
        result = AppResult(ids, package, state)
        if not ids:
            return result
        wanted = WantedVersion(version, version_id)
        try:
            result.take_report(self.read_rows(ids))
            answered = [i for i in ids if i not in result.failures]
            if state == "present":
                self._install(result, answered, wanted)
            else:
                self._uninstall(result, answered)
        except GeeLarkError as error:
            carry(error, result)  # writes may have gone out: report what is known
            raise
        return result

    # present

    def _install(self, result, answered, wanted):
        """Install where the package is missing or older; wait for installs under way; refuse downgrades."""
        waiting_others = []
        maybe = []
        for phone_id in answered:
            row = result.rows.get(phone_id)
            status = result.status_of(phone_id)
            if status == INSTALLING:
                waiting_others.append(phone_id)
            elif status == UNINSTALLING:
                result.fail(phone_id, None, "%s is being uninstalled (installStatus 3): an install now would be "
                                            "refused; nothing was sent; run again when it is done" % result.package)
            elif status in ON_PHONE and (not wanted.given or wanted.matches(row)):
                result.outcome[phone_id] = "already"
            else:
                maybe.append(phone_id)
        if maybe and not self._resolve(result, wanted, maybe):
            maybe = []  # every phone that needed the version failed while it was looked up
        result.planned_version = wanted.name
        to_install = []
        for phone_id in maybe:
            if phone_id in result.failures:
                continue
            row = result.rows.get(phone_id)
            if result.status_of(phone_id) in ON_PHONE:
                code = _whole(row.get("version_code"))
                if wanted.matches(row) or (code is not None and code == wanted.code):
                    result.outcome[phone_id] = "already"
                    continue
                if code is not None and wanted.code is not None and code > wanted.code:
                    result.fail(phone_id, HIGHER_INSTALLED, "version %s (%s) is installed, higher than the wanted %s "
                                "(%s), and GeeLark refuses downgrades; nothing was sent; remove it first with "
                                "state=absent" % (row.get("version_name"), code, wanted.name, wanted.code))
                    continue
            to_install.append(phone_id)
        writes = InstallWrite(self, wanted)
        written = self._write_where_running(result, to_install, writes, "an install")
        self._finish(result, written, waiting_others, writes, InstallWait(self, wanted), "installed", "installing")

    def _resolve(self, result, wanted, phones):
        """Find the wanted version's ID and code in installable/list of the first phone that needs it.

        Returns False when every one of `phones` failed while being asked (each is then a failure).

        A version name may match several entries (a name search also returns look-alikes, and an
        uploaded build may repeat a shop version): several matches, or none, fail the run before
        any write, listing what was found. Never a guess.
        """
        for phone_id in phones:
            try:
                offered = installable_apps(self.transport, phone_id)
                break
            except APIError as error:
                if error.code not in PER_PHONE_CODES:
                    raise
                # That phone went away or stopped since it was read: it fails, the next one is asked.
                result.fail(phone_id, error.code, _read_failure({"code": error.code, "msg": per_phone_message(error)}),
                            error=error)
        else:
            return False
        apps = [app for app in offered if app.get("package") == result.package]
        versions = [(app, v) for app in apps for v in app.get("versions") or []]
        if wanted.id is not None:
            found = [(app, v) for app, v in versions if v.get("id") == wanted.id]
        elif wanted.name is not None:
            found = [(app, v) for app, v in versions if v.get("version_name") == wanted.name]
        else:
            newest = max((_whole(v.get("version_code")) for _a, v in versions
                          if _whole(v.get("version_code")) is not None), default=None)
            found = [(app, v) for app, v in versions if newest is not None and _whole(v.get("version_code")) == newest]
        if len(found) == 1:
            version = found[0][1]
            wanted.id = version.get("id")
            wanted.name = version.get("version_name")
            wanted.code = _whole(version.get("version_code"))
            return True
        listed = ", ".join("%s (version_id %s, app %s)" % (v.get("version_name"), v.get("id"), app.get("name"))
                           for app, v in versions[:20]) or "none"
        if found:
            message = ("%s of %s matches %d installable versions on phone %s: %s; nothing was sent"
                       % (wanted.describe(), result.package, len(found), phone_id,
                          ", ".join("version_id %s (%s, app %s)" % (v.get("id"), v.get("version_name"), app.get("name"))
                                    for app, v in found)))
            advice = "give version_id instead of version, one of those listed"
        elif not apps:
            message = ("no app installable on phone %s has the package %s; nothing was sent%s"
                       % (phone_id, result.package, _similar_packages(result.package, offered)))
            advice = ("give the package name (such as com.zhiliaoapp.musically), not the app's name; "
                      "geelark.cloudphone.geelark_app_info with installable: true lists them")
        else:
            message = ("%s of %s is not installable on phone %s; nothing was sent; its installable versions: %s"
                       % (wanted.describe(), result.package, phone_id, listed))
            advice = ("check the version (geelark.cloudphone.geelark_app_info with installable: true lists them); "
                      "quote a version in YAML (\"36.10\"), so it is not read as a number")
        raise ConfigError(message, advice=advice)

    # absent

    def _uninstall(self, result, answered):
        waiting_others = []
        to_remove = []
        for phone_id in answered:
            status = result.status_of(phone_id)
            if status in ON_PHONE:
                to_remove.append(phone_id)
            elif status == UNINSTALLING:
                waiting_others.append(phone_id)
            elif status == INSTALLING:
                result.fail(phone_id, None, "%s is being installed (installStatus 0): an uninstall now would fail; "
                                            "nothing was sent; run again when the install is done" % result.package)
            else:
                result.outcome[phone_id] = "absent"
        if not to_remove and not waiting_others and answered:
            self._suggest(result, result.seen_packages, "installed on none of the %d phones read" % len(answered))
        writes = UninstallWrite(self, result.package)
        written = self._write_where_running(result, to_remove, writes, "an uninstall")
        self._finish(result, written, waiting_others, writes, UninstallWait(self), "uninstalled", "uninstalling")

    @staticmethod
    def _suggest(result, known, what):
        """Warn when the package looks mistyped: close to a package (or an app name) the reads found."""
        close = difflib.get_close_matches(result.package, list(known), n=3, cutoff=0.8)
        if close:
            result.warnings.append("%s is %s; did you mean %s?" % (
                result.package, what, " or ".join("%s (%s)" % (c, known[c]) for c in close)))

    # both

    def _write_where_running(self, result, targets, rules, verb):
        """Check the phones are started (one status call per 100), guard, write to those that are.

        Returns the phones the write was accepted for (in check mode: none; they are planned).
        """
        if not targets:
            return []
        report = query_status(self.transport, targets, self.concurrency)
        result.warnings.extend(report.warnings)
        running = []
        for phone_id in targets:
            if phone_id in report.failures:
                failure = report.failures[phone_id]
                result.fail(phone_id, failure["code"], "its status could not be read, so nothing was sent: %s"
                            % failure["msg"])
                continue
            status = report.phones[phone_id]["status"]
            if status != STARTED:
                result.fail(phone_id, NOT_RUNNING, "%s: apps change only on a started phone; nothing was sent; %s"
                            % (status_name(status), NOT_STARTED_ADVICE.get(status, NOT_STARTED_ADVICE[None])))
                continue
            running.append(phone_id)
        # Counted from the reads just made: phones that moved since an earlier plan count too.
        self.guard(result, len(running), "be sent %s of %s" % (verb, result.package))
        if self.check_mode:
            result.changed.update(running)
            result.planned.update(running)
            for phone_id in running:
                result.outcome[phone_id] = "installed" if result.state == "present" else "uninstalled"
            return []
        return self.write(rules, result, running, concurrency=self.concurrency)

    def _finish(self, result, written, others, writes, wait_rules, done, under_way):
        """Wait for the writes accepted and the changes found under way; name each phone's outcome.

        A phone found mid-change (by the read, or by a 42003 answer) is waited for, never written to
        again: its outcome is named, and it is not in changed_ids, as this run sent it nothing.
        """
        result.others.update(others)
        result.others.update(writes.busy)
        waiting = [i for i in result.ids if (i in written or i in result.others) and i not in result.failures]
        if self.check_mode or not self.wait:
            for phone_id in waiting:
                result.outcome[phone_id] = under_way
            return
        self.wait_for(wait_rules, result, waiting)
        for phone_id in waiting:
            if phone_id not in result.failures:
                result.outcome[phone_id] = done

    def read_rows(self, ids):
        return read_per_phone(self.transport, ids, self.concurrency, installed_rows)


def _version_text(name, value):
    """A version or version ID as text: a whole number is taken as its digits, a number with a point is refused.

    YAML reads an unquoted 36.10 as the number 36.1: that version would never be found, so say why.
    """
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        raise ConfigError("%s is the number %r, which may not be what was written (YAML reads 36.10 as 36.1)"
                          % (name, value), advice="quote it in YAML: %s: \"36.10\"" % name)
    raise ConfigError("%s must be a non-empty string, got %r" % (name, value),
                      advice="quote it in YAML (\"36.5.4\"), so it is not read as a number")


def _similar_packages(package, offered):
    """"; similar: P (App), ..." for installable apps whose package or name is close to `package`, or ""."""
    by_package = dict((app.get("package"), app.get("name")) for app in offered if app.get("package"))
    by_name = dict(((app.get("name") or "").lower(), app.get("package")) for app in offered if app.get("package"))
    close = difflib.get_close_matches(package, list(by_package), n=3, cutoff=0.75)
    close += [by_name[n] for n in difflib.get_close_matches(package.lower(), list(by_name), n=3, cutoff=0.75)
              if by_name[n] not in close]
    if not close:
        return ""
    return "; similar: %s" % ", ".join("%s (%s)" % (p, by_package.get(p)) for p in close[:3])


def _whole(value):
    """A versionCode as a whole number (the API sends int or string), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class _AppWrite(WriteRules):
    """What install and uninstall share: one phone a call, in parallel, read back through /app/list."""

    batch_size = 1
    parallel = True
    reading = "its apps"

    def __init__(self, run):
        self.run = run
        self.busy: set = set()  # phones the API said were busy with this app: waited for, not written

    def read_back(self, result, targets):
        result.take_report(self.run.read_rows(targets))
        return set(t for t in targets if t in result.rows and self.moved(result.rows[t]))

    def where(self, result, target):
        row = result.rows.get(target)
        return "the phone lists %s as %s" % (result.package, row.get("install_status_name") if row else "absent")

    def moved(self, row):
        raise NotImplementedError

    def accepted(self, result, batch, envelope):
        target = batch[0]
        code = envelope["code"]
        if code == 0:
            return [target]
        message = "%s (traceId %s)" % (envelope.get("msg") or "", envelope["traceId"])
        if code == BUSY:
            self.busy.add(target)
        elif code == NOT_RUNNING:
            result.fail(target, code, "not running: %s; start it first with %s (state: started)"
                        % (message, POWER_MODULE))
        else:
            self.refused(result, target, code, message)
        return []

    def refused(self, result, target, code, message):
        result.fail(target, code, message)


class InstallWrite(_AppWrite):
    path = INSTALL_PATH
    action = "the install"
    accept_codes = frozenset((0, NOT_RUNNING, BUSY))

    def __init__(self, run, wanted):
        super().__init__(run)
        self.wanted = wanted

    def body(self, batch):
        return {"envId": batch[0], "appVersionId": self.wanted.id}

    def moved(self, row):
        return row is not None and row.get("version_id") == self.wanted.id and row.get("install_status") in (
            INSTALLING, INSTALLED, INSTALL_FAILED)


class UninstallWrite(_AppWrite):
    path = UNINSTALL_PATH
    action = "the uninstall"
    accept_codes = frozenset((0, NOT_RUNNING, BUSY, NOT_INSTALLED))

    def __init__(self, run, package):
        super().__init__(run)
        self.package = package
        self.gone: set = set()

    def body(self, batch):
        return {"envId": batch[0], "packageName": self.package}

    def moved(self, row):
        return row is None or row.get("install_status") in (UNINSTALLING, UNINSTALLED, UNINSTALL_FAILED)

    def refused(self, result, target, code, message):
        if code == NOT_INSTALLED:  # removed since the read: the goal is reached without us
            result.outcome[target] = "absent"
            return
        super().refused(result, target, code, message)


class _AppWait(WaitRules):
    """Poll /app/list of the phones still on their way, one call per phone, in parallel."""

    action = "the change"
    under_way_name = "being changed"

    def __init__(self, run):
        self.run = run

    def arrived(self, row):
        raise NotImplementedError

    def failed(self, row):
        raise NotImplementedError

    def under_way(self, row):
        """True while the row shows the change still going (someone else's, found by the first read)."""
        raise NotImplementedError

    def failure_text(self, row):
        raise NotImplementedError

    def still_waiting(self, result, targets):
        return [t for t in targets if not self.arrived(result.rows.get(t))]

    def poll(self, result, targets):
        report = self.run.read_rows(targets)
        result.warnings.extend(report.warnings)
        still = []
        for phone_id in targets:
            failure = report.failures.get(phone_id)
            if failure is not None:
                result.fail(phone_id, failure["code"], "lost while waiting: %s" % _read_failure(failure),
                            error=report.errors.get(phone_id))
                continue
            result.take(phone_id, report.rows[phone_id])
            row = result.rows[phone_id]
            if self.failed(row):
                result.fail(phone_id, None, self.failure_text(row))
            elif self.arrived(row):
                continue
            elif phone_id in result.others and not self.under_way(row):
                # Not ours: that change ended without reaching this run's goal. Nothing was sent.
                result.fail(phone_id, None, "%s was found %s; that change ended with %s %s; nothing was sent, "
                            "run again" % (result.package, self.under_way_name, result.package,
                                           row.get("install_status_name") if row else "absent"))
            else:
                still.append(phone_id)
        return still

    def timed_out(self, result, target, wait_timeout):
        row = result.rows.get(target)
        return "%s still %s after the %ss wait_timeout" % (
            result.package, row.get("install_status_name") if row else "absent", "%g" % wait_timeout)

    def read_failed(self, result, target, error):
        done = "%s was accepted; " % self.action if target in result.changed else ""
        return "%sits apps could not be read while waiting: %s" % (done, error)


class InstallWait(_AppWait):
    action = "the install"
    under_way_name = "being installed"

    def __init__(self, run, wanted):
        super().__init__(run)
        self.wanted = wanted

    def under_way(self, row):
        return row is not None and row.get("install_status") == INSTALLING

    def arrived(self, row):
        return row is not None and row.get("install_status") in ON_PHONE and self._wanted(row)

    def failed(self, row):
        return row is not None and row.get("install_status") == INSTALL_FAILED and self._wanted(row)

    def _wanted(self, row):
        return not self.wanted.given or self.wanted.matches(row)

    def failure_text(self, row):
        return "the install of %s failed on the phone (installStatus 2)" % (row.get("version_name") or "the app")


class UninstallWait(_AppWait):
    action = "the uninstall"
    under_way_name = "being uninstalled"

    def under_way(self, row):
        return row is not None and row.get("install_status") == UNINSTALLING

    def arrived(self, row):
        return row is None or row.get("install_status") not in (INSTALLING, INSTALLED, UNINSTALLING, UNINSTALL_FAILED)

    def failed(self, row):
        return row is not None and row.get("install_status") == UNINSTALL_FAILED

    def failure_text(self, row):
        return "the uninstall failed on the phone (installStatus 5)"
