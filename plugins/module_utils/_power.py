# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Power: start, stop and restart phones. Read status, decide, write in batches, wait, report per phone.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

import time

from ._errors import (
    APIError,
    AuthError,
    ConfigError,
    GeeLarkError,
    LockedError,
    PARTIAL_CODES,
    UncertainWriteError,
)
from ._phones import StatusReport, chunked, failures_text, normalize_ids, query_status, status_name

START_PATH = "/open/v1/phone/start"
STOP_PATH = "/open/v1/phone/stop"

# The API takes 200 IDs per start or stop; 100 keeps one write the size of one status read.
MAX_IDS_PER_WRITE = 100
POWER_STATES = ("started", "stopped", "restarted")
DEFAULT_WAIT_TIMEOUT = 600
DEFAULT_POLL_INTERVAL = 5
MIN_POLL_INTERVAL = 1
# A write whose answer is lost is followed by a status read; this many rounds of that, at most.
WRITE_ROUNDS = 3

STARTED, STARTING, SHUT_DOWN, EXPIRED = 0, 1, 2, 3
RUNNING = (STARTED, STARTING)


class PowerResult:
    """Where every requested phone ended up: its last status, whether it changed, why it failed."""

    def __init__(self, ids, state):
        self.ids = ids
        self.state = state
        self.status = StatusReport(ids)  # the last status read of every answered phone
        self.before: dict[str, str] = {}
        self.changed: set = set()
        self.planned_after: dict[str, str] = {}
        self.failures: dict[str, dict] = {}
        self.warnings: list[str] = []

    def take_status(self, report):
        """Keep the newest status of each phone the report answered for."""
        self.status.phones.update(report.phones)
        self.warnings.extend(report.warnings)
        for phone_id, phone in report.phones.items():
            self.before.setdefault(phone_id, phone["status_name"])

    def status_of(self, phone_id):
        return self.status.phones[phone_id]["status"]

    def fail(self, phone_id, code, msg):
        self.failures.setdefault(phone_id, {"id": phone_id, "code": code, "msg": msg})

    def changed_ids(self):
        return [i for i in self.ids if i in self.changed]

    def failure_list(self):
        return [self.failures[i] for i in self.ids if i in self.failures]

    def as_dict(self):
        changed_ids = self.changed_ids()
        return dict(
            changed=bool(changed_ids),
            changed_ids=changed_ids,
            phones=self.status.phone_list(),
            failures=self.failure_list(),
            by_status=self.status.by_status(),
        )

    def diff(self):
        """Before and after status of each phone that changes (after: the plan, in check mode)."""
        changed_ids = self.changed_ids()
        after = dict((i, self.planned_after.get(i) or self.status.phones[i]["status_name"]) for i in changed_ids)
        return {"before": dict((i, self.before[i]) for i in changed_ids), "after": after}

    def failure_message(self):
        failures = self.failure_list()
        listed = failures_text(failures)
        outcome = {"started": "did not reach started", "stopped": "did not reach shut_down",
                   "restarted": "were not restarted"}[self.state]
        return "%d of %d phones %s: %s" % (len(failures), len(self.ids), outcome, listed)


class PowerRun:
    """One start, stop or restart of a set of phones, status first.

    Writes go out 100 IDs a call and are never repeated blindly: when an answer is lost the
    phones are read again and only those not moving are written to again. Waiting polls the
    phones still waiting, one batched status call per 100 of them, at poll_interval.
    """

    def __init__(self, transport, concurrency=1, check_mode=False, wait=True, wait_timeout=DEFAULT_WAIT_TIMEOUT,
                 poll_interval=DEFAULT_POLL_INTERVAL, energy_saving=None, max_changes=None, clock=time.monotonic,
                 sleep=None):
        _check_seconds("wait_timeout", wait_timeout, 0)
        if max_changes is not None and (isinstance(max_changes, bool) or not isinstance(max_changes, int)
                                        or max_changes < 0):
            raise ConfigError("max_changes must be a whole number of phones, 0 or more; got %r" % (max_changes,))
        _check_seconds("poll_interval", poll_interval, MIN_POLL_INTERVAL)
        self.transport = transport
        self.concurrency = concurrency
        self.check_mode = check_mode
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.energy_saving = energy_saving
        self.max_changes = max_changes
        self.clock = clock
        self.sleep = sleep or transport._sleep  # the transport's sleep ends early on Ctrl-C

    def run(self, ids, state):
        if state not in POWER_STATES:
            raise ConfigError("state must be one of %s, got %r" % (", ".join(POWER_STATES), state))
        if self.energy_saving is not None and state == "stopped":
            raise ConfigError("energy_saving applies to a start; it cannot be used with state=stopped",
                              advice="leave energy_saving out, or use state=started or restarted")
        ids = normalize_ids(ids)
        result = PowerResult(ids, state)
        if not ids:
            return result
        report = self._read(ids)
        result.take_status(report)
        for failure in report.failure_list():
            result.fail(failure["id"], failure["code"], failure["msg"])
        answered = [i for i in ids if i in result.status.phones]
        self._check_max_changes(result, answered, state)
        try:
            if state == "started":
                self._start(result, answered, self.wait)
            elif state == "stopped":
                self._stop(result, answered)
            else:
                self._restart(result, answered)
        except GeeLarkError as error:
            error.power_result = result  # type: ignore[attr-defined]  # writes may have gone out: report what is known
            raise
        return result

    def _check_max_changes(self, result, answered, state):
        """Refuse before any write when more phones would change than max_changes allows.

        Counted from the status read just made, so phones that moved since an earlier plan count too.
        """
        if self.max_changes is None:
            return
        running = set(i for i in answered if result.status_of(i) in RUNNING)
        if state == "stopped":
            planned = len(running)
        else:
            startable = set(i for i in answered if result.status_of(i) == SHUT_DOWN)
            planned = len(startable) if state == "started" else len(running | startable)
        if planned > self.max_changes:
            verb = {"started": "start", "stopped": "stop", "restarted": "restart"}[state]
            error = ConfigError("%d of %d phones would %s, more than max_changes=%d; nothing was changed"
                                % (planned, len(result.ids), verb, self.max_changes),
                                advice="check the IDs; if they are right, raise max_changes to %d" % planned)
            error.power_result = result  # type: ignore[attr-defined]  # the statuses read, for the result
            raise error

    # The three states, each from the statuses just read.

    def _startable(self, result, ids):
        """(shut down, starting) phones among `ids`; expired and unknown-status phones fail without a write."""
        to_start, booting = [], []
        for phone_id in ids:
            status = result.status_of(phone_id)
            if status == SHUT_DOWN:
                to_start.append(phone_id)
            elif status == STARTING:
                booting.append(phone_id)
            elif status == EXPIRED:
                result.fail(phone_id, None, "expired: an expired phone cannot start; renew it in GeeLark, "
                                            "nothing was sent")
            elif status != STARTED:
                result.fail(phone_id, None, "status code %s is unknown, so the phone was not started" % status)
        return to_start, booting

    def _start(self, result, answered, wait):
        to_start, booting = self._startable(result, answered)
        if self.check_mode:
            self._plan(result, to_start, "started")
            return
        started = self._write(result, START_PATH, to_start, lambda status: status in RUNNING)
        waiting = [i for i in answered if i in set(started) or i in booting]
        if wait:
            self._wait(result, waiting, STARTED, "started")
        else:
            self._refresh(result, started)

    def _stop(self, result, answered):
        to_stop = [i for i in answered if result.status_of(i) in RUNNING]
        for phone_id in answered:
            if result.status_of(phone_id) not in RUNNING + (SHUT_DOWN, EXPIRED):
                result.fail(phone_id, None, "status code %s is unknown, so the phone was not stopped"
                            % result.status_of(phone_id))
        if self.check_mode:
            self._plan(result, to_stop, "shut_down")
            return
        stopped = self._write(result, STOP_PATH, to_stop, lambda status: status == SHUT_DOWN)
        if self.wait:
            self._wait(result, stopped, SHUT_DOWN, "shut_down")
        else:
            self._refresh(result, stopped)

    def _restart(self, result, answered):
        """Stop the running phones, wait until they are shut down, then start every phone that can start."""
        running = [i for i in answered if result.status_of(i) in RUNNING]
        if self.check_mode:
            to_start, _booting = self._startable(result, [i for i in answered if i not in running])
            self._plan(result, [i for i in answered if i in running or i in to_start], "started")
            return
        stopped = self._write(result, STOP_PATH, running, lambda status: status == SHUT_DOWN)
        # Every running phone is now shut down or in failures (refused, lost, or not down in time).
        self._wait(result, stopped, SHUT_DOWN, "shut_down", why=" before the restart's start; not started")
        self._start(result, [i for i in answered if i not in result.failures], self.wait)

    def _plan(self, result, ids, after):
        result.changed.update(ids)
        result.planned_after.update((i, after) for i in ids)

    # Writes.

    def _write(self, result, path, ids, moved):
        """Send the write to `ids`, 100 a call; return the IDs it was accepted for, in order.

        A write whose answer was lost may have been applied. Its phones are read again: those
        that `moved` count as accepted, and only the others are written to again.
        """
        accepted: set = set()
        pending = list(ids)
        for round_number in range(1, WRITE_ROUNDS + 1):
            lost = self._send(result, path, pending, accepted)
            if not lost:
                break
            report = self._read(list(lost))
            result.take_status(report)
            pending = []
            for phone_id, error in lost.items():
                if phone_id in report.failures:
                    failure = report.failures[phone_id]
                    result.fail(phone_id, failure["code"], failure["msg"])
                elif moved(result.status_of(phone_id)):
                    accepted.add(phone_id)
                elif round_number < WRITE_ROUNDS:
                    pending.append(phone_id)
                else:
                    result.fail(phone_id, error.code, "the answers to %d calls of %s were lost and the phone still "
                                "reads %s, so nothing more was sent; last: %s"
                                % (WRITE_ROUNDS, path, result.status.phones[phone_id]["status_name"], error))
            if pending:
                self.transport._debug("%s: the answer for %d phones was lost and they have not moved; sending again"
                                      % (path, len(pending)))
        for phone_id in accepted:
            result.changed.add(phone_id)
        return [i for i in ids if i in accepted]

    def _send(self, result, path, ids, accepted):
        """One pass of writes; return {id: error} for the phones whose answer was lost."""
        lost: dict[str, GeeLarkError] = {}
        body: dict[str, int] = {}
        if path == START_PATH and self.energy_saving is not None:
            body["energySavingMode"] = 1 if self.energy_saving else 0
        batches = list(chunked(ids, MAX_IDS_PER_WRITE))
        for position, batch in enumerate(batches):
            try:
                envelope = self.transport.post(path, dict(body, ids=batch), write=True, accept_codes=PARTIAL_CODES)
            except UncertainWriteError as error:
                lost.update((i, error) for i in batch)
                continue
            except (AuthError, LockedError) as error:
                # Every later call would be refused the same way: stop writing, account for every phone.
                for rest in batches[position:]:
                    for phone_id in rest:
                        result.fail(phone_id, error.code, "not sent: %s" % error)
                break
            except APIError as error:
                if error.uncertain:  # 50000 on a write: the server may have applied it before failing
                    lost.update((i, error) for i in batch)
                    continue
                for phone_id in batch:
                    result.fail(phone_id, error.code, str(error))
                continue
            accepted.update(self._answer(result, path, batch, envelope))
        return lost

    def _answer(self, result, path, batch, envelope):
        """The IDs of the batch the write was accepted for; each refused one becomes a failure.

        Only IDs and failures are read from the answer: a start's live-view URL, a secret, is never kept.
        """
        trace_id = envelope["traceId"]
        data = envelope.get("data")
        if not isinstance(data, dict):
            if envelope["code"] != 0:
                for phone_id in batch:
                    result.fail(phone_id, envelope["code"], "%s (traceId %s)" % (envelope.get("msg") or "", trace_id))
                return []
            return list(batch)
        details = data.get("failDetails") or []
        asked = set(batch)
        refused = set()
        for entry in details if isinstance(details, list) else []:
            phone_id = entry.get("id") if isinstance(entry, dict) else None
            phone_id = str(phone_id) if isinstance(phone_id, int) and not isinstance(phone_id, bool) else phone_id
            if phone_id not in asked:
                result.warnings.append("The answer of %s (traceId %s) reported a failure for phone %r, which was not "
                                       "asked for; ignored" % (path, trace_id, phone_id))
                continue
            code = entry.get("code")
            msg = entry.get("msg")
            result.fail(phone_id, code if isinstance(code, int) and not isinstance(code, bool) else None,
                        msg if isinstance(msg, str) else "")
            refused.add(phone_id)
        if envelope["code"] != 0 and not refused:
            # 40006 or 40009 without a single failDetail: no way to tell which phones were refused.
            for phone_id in batch:
                result.fail(phone_id, envelope["code"], "%s (traceId %s)" % (envelope.get("msg") or "", trace_id))
            return []
        return [i for i in batch if i not in refused]

    # Reads and waits.

    def _read(self, ids):
        return query_status(self.transport, ids, self.concurrency)

    def _refresh(self, result, ids):
        """Without a wait, one more read so the result shows the status just after the write."""
        if ids:
            result.take_status(self._read(ids))

    def _wait(self, result, ids, wanted, wanted_name, why=""):
        """Poll `ids` until each reads `wanted`; those that do not in wait_timeout fail with their last status."""
        deadline = self.clock() + self.wait_timeout
        waiting = [i for i in ids if result.status_of(i) != wanted]
        while waiting:
            remaining = deadline - self.clock()
            if remaining <= 0:
                break
            self.sleep(min(self.poll_interval, remaining))
            report = self._read(waiting)  # one call per 100 phones still waiting
            result.take_status(report)
            still = []
            for phone_id in waiting:
                failure = report.failures.get(phone_id)
                if failure is not None:
                    result.fail(phone_id, failure["code"],
                                "lost while waiting for %s: %s" % (wanted_name, failure["msg"]))
                elif result.status_of(phone_id) == EXPIRED:
                    result.fail(phone_id, None, "expired while waiting for %s" % wanted_name)
                elif result.status_of(phone_id) != wanted:
                    still.append(phone_id)
            waiting = still
        for phone_id in waiting:
            result.fail(phone_id, None, "still %s after the %ss wait_timeout, waiting for %s%s"
                        % (status_name(result.status_of(phone_id)), _fmt(self.wait_timeout), wanted_name, why))


def _check_seconds(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ConfigError("%s must be a number of seconds of at least %s, got %r" % (name, minimum, value))


def _fmt(seconds):
    return "%g" % seconds
