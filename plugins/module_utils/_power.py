# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Power: start, stop and restart phones. Read status, decide, write in batches, wait, report per phone.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

import time

from ._errors import ConfigError, GeeLarkError, PARTIAL_CODES
from ._phones import UNKNOWN_STATUS, StatusReport, normalize_ids, query_status, status_name
from ._write import ChangeResult, ChangeRun, WaitRules, WriteRules, carry, failures_by_reason, uncertain_advice

START_PATH = "/open/v1/phone/start"
STOP_PATH = "/open/v1/phone/stop"

# The API takes 200 IDs per start or stop; 100 keeps one write the size of one status read.
MAX_IDS_PER_WRITE = 100
POWER_STATES = ("started", "stopped", "restarted")
DEFAULT_WAIT_TIMEOUT = 600
DEFAULT_POLL_INTERVAL = 5

STARTED, STARTING, SHUT_DOWN, EXPIRED = 0, 1, 2, 3
RUNNING = (STARTED, STARTING)


class PowerResult(ChangeResult):
    """Where every requested phone ended up: its last status, whether it changed, why it failed."""

    def __init__(self, ids, state):
        super().__init__(ids)
        self.state = state
        self.status = StatusReport(self.ids)  # the last status read of every answered phone
        self.before: dict[str, str] = {}
        self.planned_after: dict[str, str] = {}
        self.unread: set = set()  # accepted by a write and not read since

    def accept(self, targets):
        super().accept(targets)
        self.unread.update(targets)

    def take_status(self, report):
        """Keep the newest status of each phone the report answered for."""
        self.status.phones.update(report.phones)
        self.unread.difference_update(report.phones)
        self.warnings.extend(report.warnings)
        for phone_id, phone in report.phones.items():
            self.before.setdefault(phone_id, phone["status_name"])

    def status_of(self, phone_id):
        return self.status.phones[phone_id]["status"]

    def fail(self, target, code, msg, uncertain=False, error=None):
        super().fail(target, code, msg, uncertain=uncertain, error=error)
        if uncertain:
            self.forget_status([target])

    def forget_status(self, ids):
        """The write may have moved these phones and no read says where to: their last status read is not true."""
        for phone_id in ids:
            if phone_id in self.status.phones:
                self.status.phones[phone_id] = dict(self.status.phones[phone_id], status=None,
                                                    status_name=UNKNOWN_STATUS)

    def end_early(self):
        """An error ends the run: phones accepted by a write and not read since are in an unknown status."""
        self.forget_status([i for i in self.ids if i in self.unread])

    def as_dict(self):
        return dict(
            changed=self.is_changed,
            changed_ids=self.changed_ids(),
            phones=self.status.phone_list(),
            failures=self.failure_list(),
            by_status=self.status.by_status(),
            uncertain=self.uncertain,
        )

    def diff(self):
        """Before and after status of each phone that changes or may have (after: the plan, in check mode)."""
        ids = [i for i in self.ids if i in self.changed or i in self.uncertain_ids()]
        after = dict((i, self.planned_after.get(i) or self.status.phones[i]["status_name"]) for i in ids)
        return {"before": dict((i, self.before[i]) for i in ids), "after": after}

    def failure_message(self):
        failures = self.failure_list()
        listed = failures_by_reason(failures)
        outcome = {"started": "did not reach started", "stopped": "did not reach shut_down",
                   "restarted": "were not restarted"}[self.state]
        return "%d of %d phones %s: %s%s" % (len(failures), len(self.ids), outcome, listed, uncertain_advice(self))


class PowerWrite(WriteRules):
    """Power's rules for the shared write path: a start or a stop, 100 IDs a call, read back by status."""

    batch_size = MAX_IDS_PER_WRITE
    accept_codes = PARTIAL_CODES
    reading = "status"

    def __init__(self, run, path, moved, energy_saving=None):
        self.run = run
        self.path = path
        self.moved = moved
        self.action = "the start" if path == START_PATH else "the stop"
        self.extra = {}
        if path == START_PATH and energy_saving is not None:
            self.extra["energySavingMode"] = 1 if energy_saving else 0

    def body(self, batch):
        return dict(self.extra, ids=batch)

    def read_back(self, result, targets):
        report = self.run._read(targets)
        result.take_status(report)
        for phone_id, failure in report.failures.items():
            result.fail(phone_id, failure["code"], failure["msg"])
        return set(i for i in targets if i in report.phones and self.moved(result.status_of(i)))

    def where(self, result, target):
        return "the phone still reads %s" % result.status.phones[target]["status_name"]

    def accepted(self, result, batch, envelope):
        """The IDs of the batch the write was accepted for; each refused one becomes a failure.

        Only IDs and failures are read from the answer: a start's live-view URL, a secret, is never kept.
        """
        path = self.path
        trace_id = envelope["traceId"]
        data = envelope.get("data")
        if not isinstance(data, dict):
            return super().accepted(result, batch, envelope)
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


class PowerRun(ChangeRun):
    """One start, stop or restart of a set of phones, status first.

    Writes go out 100 IDs a call and are never repeated blindly: when an answer is lost the
    phones are read again and only those not moving are written to again. Waiting polls the
    phones still waiting, one batched status call per 100 of them, at poll_interval.
    """

    def __init__(self, transport, concurrency=1, check_mode=False, wait=True, wait_timeout=DEFAULT_WAIT_TIMEOUT,
                 poll_interval=DEFAULT_POLL_INTERVAL, energy_saving=None, max_changes=None, clock=time.monotonic,
                 sleep=None):
        super().__init__(transport, concurrency, check_mode=check_mode, wait=wait, wait_timeout=wait_timeout,
                         poll_interval=poll_interval, max_changes=max_changes, clock=clock, sleep=sleep)
        self.energy_saving = energy_saving

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
            result.end_early()
            carry(error, result)  # writes may have gone out: report what is known
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
        verb = {"started": "start", "stopped": "stop", "restarted": "restart"}[state]
        self.guard(result, planned, verb)

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
            self._wait(result, waiting, STARTED, "started", "start")
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
            self._wait(result, stopped, SHUT_DOWN, "shut_down", "stop")
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
        self._wait(result, stopped, SHUT_DOWN, "shut_down", "stop", why=" before the restart's start; not started")
        self._start(result, [i for i in answered if i not in result.failures], self.wait)

    def _plan(self, result, ids, after):
        result.changed.update(ids)
        result.planned_after.update((i, after) for i in ids)

    # Writes.

    def _write(self, result, path, ids, moved):
        """Send the write to `ids` through the shared write path; return the IDs it was accepted for, in order."""
        rules = PowerWrite(self, path, moved, self.energy_saving)
        return self.write(rules, result, ids)

    # Reads and waits.

    def _read(self, ids):
        return query_status(self.transport, ids, self.concurrency)

    def _refresh(self, result, ids):
        """Without a wait, one more read so the result shows the status just after the write."""
        if ids:
            result.take_status(self._read(ids))

    def _wait(self, result, ids, wanted, wanted_name, action, why=""):
        """Poll `ids` until each reads `wanted`; those that do not in wait_timeout fail with their last status."""
        rules = PowerWait(self, wanted, wanted_name, action, why)
        self.wait_for(rules, result, ids)


class PowerWait(WaitRules):
    """Power's rules for the shared wait: one status call per 100 phones still waiting."""

    def __init__(self, run, wanted, wanted_name, action, why=""):
        self.run = run
        self.wanted = wanted
        self.wanted_name = wanted_name
        self.action = action  # the write this wait follows, "start" or "stop"
        self.why = why

    def still_waiting(self, result, targets):
        return [i for i in targets if result.status_of(i) != self.wanted]

    def poll(self, result, targets):
        report = self.run._read(targets)
        result.take_status(report)
        still = []
        for phone_id in targets:
            failure = report.failures.get(phone_id)
            if failure is not None:
                result.fail(phone_id, failure["code"],
                            "lost while waiting for %s: %s" % (self.wanted_name, failure["msg"]))
            elif result.status_of(phone_id) == EXPIRED:
                result.fail(phone_id, None, "expired while waiting for %s" % self.wanted_name)
            elif result.status_of(phone_id) != self.wanted:
                still.append(phone_id)
        return still

    def timed_out(self, result, target, wait_timeout):
        return "still %s after the %ss wait_timeout, waiting for %s%s" % (
            status_name(result.status_of(target)), "%g" % wait_timeout, self.wanted_name, self.why)

    def read_failed(self, result, target, error):
        # The write was accepted (not uncertain): the phone changed, only its arrival is unconfirmed.
        done = "the %s was accepted; " % self.action if target in result.changed else ""
        return "%sits status could not be read while waiting for %s%s: %s" % (done, self.wanted_name, self.why, error)
