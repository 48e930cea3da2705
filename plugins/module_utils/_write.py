# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shared write path of every state-changing module: guard, write, settle lost answers, wait, one result.

A module supplies its rules (a WriteRules: the path, the body of a batch, how to read an answer,
how to read its targets back; a WaitRules: how to poll its targets); the loops, the lost-answer
rule, the max_changes guard and the result live here once. Every target ends accepted, refused
(code, message) or uncertain (the write may have been applied, and reading it back failed). A
write the server may have applied is never reported as unchanged.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

import threading
import time

from ._errors import (
    APIError,
    AuthError,
    ConfigError,
    GeeLarkError,
    LockedError,
    MalformedResponseError,
    RateLimitError,
)
from ._parallel import run_parallel
from ._phones import chunked
from ._transport import Cancelled

# A write whose answer is lost is followed by a read of its targets; this many rounds of that, at most.
WRITE_ROUNDS = 3

# What a write's error means for its batch, and for the batches after it.
LOST = "lost"  # the write may have been applied: read the targets back
UNREADABLE = "unreadable"  # an answer that cannot be understood: read back, then send nothing more
REFUSED = "refused"  # this batch was refused as a whole; the next batches may fare better
STOP = "stop"  # refused, and every later call would be refused the same way: send nothing more


def write_outcome(error):
    """How the shared write path treats an error raised by a write."""
    if error.uncertain:
        return LOST
    if isinstance(error, MalformedResponseError):
        return UNREADABLE
    if isinstance(error, (AuthError, LockedError, RateLimitError)):
        return STOP
    if isinstance(error, APIError):
        return REFUSED
    # HTTP 4xx, TLS trouble, a cancelled run: the next call would meet the same.
    return STOP


class ChangeResult:
    """What a state-changing run did to each target: changed, or failed with a code and a reason.

    `uncertain` failures are targets the write may have changed without the run being able to
    confirm it: they make the result changed, and they are never counted as unchanged.
    """

    def __init__(self, ids):
        self.ids = list(ids)
        self.changed: set[str] = set()
        self.failures: dict[str, dict] = {}
        self.errors: dict[str, GeeLarkError] = {}
        self.warnings: list[str] = []

    def accept(self, targets):
        self.changed.update(targets)

    def fail(self, target, code, msg, uncertain=False, error=None):
        """Record why a target failed; the first reason given for a target wins."""
        if target in self.failures:
            return
        self.failures[target] = {"id": target, "code": code, "msg": msg, "uncertain": bool(uncertain)}
        if error is not None:
            self.errors[target] = error

    def changed_ids(self):
        return [i for i in self.ids if i in self.changed]

    def uncertain_ids(self):
        return [i for i in self.ids if i in self.failures and self.failures[i]["uncertain"]]

    def failure_list(self):
        return [self.failures[i] for i in self.ids if i in self.failures]

    @property
    def is_changed(self):
        return bool(self.changed) or bool(self.uncertain_ids())

    @property
    def uncertain(self):
        return bool(self.uncertain_ids())

    def first_error(self):
        """The API or transport error behind the first failure that has one, or None."""
        for target in self.ids:
            if target in self.errors:
                return self.errors[target]
        return None

    def as_dict(self):
        return dict(changed=self.is_changed, changed_ids=self.changed_ids(), failures=self.failure_list(),
                    uncertain=self.uncertain)

    def diff(self):
        return {}

    def failure_message(self):
        failures = self.failure_list()
        text = "%d of %d targets failed: %s" % (len(failures), len(self.ids), failures_by_reason(failures))
        return text + uncertain_advice(self)


def failures_by_reason(failures, limit=20):
    """The failures as "ID (code msg)", the IDs that share a reason named together, `limit` IDs at most.

    A refused batch gives a hundred phones one reason: it is said once, not a hundred times.
    """
    groups: dict[tuple, list[str]] = {}
    for failure in failures:
        groups.setdefault((failure["code"], failure["msg"]), []).append(failure["id"])
    parts = []
    shown = covered = 0
    for (code, msg), ids in groups.items():
        if shown >= limit:
            break
        named = ids[:limit - shown]
        shown += len(named)
        covered += len(ids)
        if len(ids) > len(named):
            who = "%s and %d more" % (", ".join(named), len(ids) - len(named))
        elif len(named) > 1:
            who = "%s and %s" % (", ".join(named[:-1]), named[-1])
        else:
            who = named[0]
        reason = " ".join(str(part) for part in (code, msg) if part not in (None, ""))
        parts.append("%s (%s)" % (who, reason) if reason else who)
    text = ", ".join(parts)
    if len(failures) > covered:
        text += ", and %d more (all of them are in failures)" % (len(failures) - covered)
    return text


def uncertain_advice(result):
    """The sentence a failure message ends with when some targets may have changed."""
    count = len(result.uncertain_ids())
    if not count:
        return ""
    return (". %d of them may have changed: the write may have been applied and could not be confirmed; "
            "run the task again to read where they are" % count)


def carry(error, result):
    """Attach what is known to an error that ends a run, so the failed task still reports it."""
    error.change_result = result
    return error


class WriteRules:
    """What one kind of write needs from its module. A module overrides these; it never writes its own loop."""

    path = ""
    batch_size = 1
    parallel = False  # True: batches are independent and may be in flight together (one call per target)
    rounds = WRITE_ROUNDS
    accept_codes: frozenset = frozenset((0,))
    action = "the write"  # in messages: "the start may have been applied"
    reading = "the target"  # in messages: "status could not be read"

    def body(self, batch):
        raise NotImplementedError

    def accepted(self, result, batch, envelope):
        """The targets of `batch` the answer accepts; each refused one becomes a failure of `result`."""
        if envelope["code"] == 0:
            return list(batch)
        for target in batch:
            result.fail(target, envelope["code"], "%s (traceId %s)" % (envelope.get("msg") or "", envelope["traceId"]))
        return []

    def read_back(self, result, targets):
        """After a lost answer: the set of `targets` the write has reached. Raises GeeLarkError when it cannot read.

        A target found gone may be failed here (with result.fail); it is then neither written nor retried.
        """
        raise NotImplementedError

    def where(self, result, target):
        """Where a target that has not moved stands, for messages: "the phone still reads shut_down"."""
        return "%s has not changed" % target


class Writer:
    """Sends one kind of write to a set of targets and settles every answer into a ChangeResult."""

    def __init__(self, transport, rules, log=None, concurrency=1):
        self.transport = transport
        self.rules = rules
        self.concurrency = concurrency
        self._log = log

    def write(self, result, targets):
        """Send the write to `targets`; return those it was accepted for, in order.

        Accepted targets are recorded in `result` as each answer arrives, so an error on a later
        batch never hides what the earlier ones changed. A write whose answer was lost may have
        been applied: its targets are read back, those that moved count as accepted, and only the
        others are written to again, at most `rules.rounds` times. When that read fails, they are
        uncertain failures.
        """
        rules = self.rules
        accepted: set = set()
        pending = list(targets)
        for round_number in range(1, rules.rounds + 1):
            settle, unreadable, stop = self._send(result, pending, accepted)
            if not settle:
                break
            try:
                moved = rules.read_back(result, list(settle))
            except GeeLarkError as error:
                for target in settle:
                    result.fail(target, error.code, "%s may have been applied; %s could not be read: %s"
                                % (rules.action, rules.reading, error), uncertain=True, error=error)
                if isinstance(error, Cancelled):
                    raise
                break
            pending = []
            for target, cause in settle.items():
                if target in result.failures:
                    continue
                if target in moved:
                    accepted.add(target)
                    result.accept([target])
                elif target in unreadable:
                    result.fail(target, cause.code, "the answer to %s could not be read and %s, so nothing more was "
                                "sent: %s" % (rules.action, rules.where(result, target), cause), error=cause)
                elif stop is not None:
                    result.fail(target, cause.code, "the answer to %s was lost and %s; nothing more was sent after: %s"
                                % (rules.action, rules.where(result, target), stop), error=stop)
                elif round_number == rules.rounds:
                    lost = ("the answer to %s was lost" % rules.path if rules.rounds == 1 else
                            "the answers to %d calls of %s were lost" % (rules.rounds, rules.path))
                    result.fail(target, cause.code, "%s and %s, so nothing more was sent; last: %s"
                                % (lost, rules.where(result, target), cause), error=cause)
                else:
                    pending.append(target)
            if not pending:
                break
            self._debug("%s: the answer for %d targets was lost and they have not moved; sending again"
                        % (rules.path, len(pending)))
        return [t for t in targets if t in accepted]

    def _send(self, result, targets, accepted):
        """One pass of writes over `targets`, in batches of rules.batch_size.

        Batches go one after another, or `concurrency` at a time when the rules allow it
        (rules.parallel: one call per target, where no batch depends on another). Either way no
        batch is sent once one has met an error that every later call would meet (STOP) or an
        answer that cannot be read; batches already in flight then still count.

        Returns ({target: error} to read back, the subset whose answer was unreadable, the error
        that stopped the writing or None).
        """
        rules = self.rules
        settle: dict[str, GeeLarkError] = {}
        unreadable: set = set()
        stop = cancelled = None
        halt = threading.Event()
        batches = list(chunked(targets, rules.batch_size))
        if rules.parallel and self.concurrency > 1:
            answers = run_parallel(lambda batch: self._post(batch, halt), batches, self.concurrency,
                                   self.transport.stop_event)
        else:
            answers = (self._post(batch, halt) for batch in batches)
        not_sent = []
        for batch, envelope, error in answers:
            if envelope is not None:
                taken = rules.accepted(result, batch, envelope)
                accepted.update(taken)
                result.accept(taken)
                continue
            if error is None:  # not sent: a batch answered before it stopped the writing
                not_sent.extend(batch)
                continue
            outcome = write_outcome(error)
            if isinstance(error, Cancelled):
                cancelled = cancelled or error
            if outcome == LOST:
                settle.update((t, error) for t in batch)
            elif outcome == REFUSED:
                for target in batch:
                    result.fail(target, error.code, str(error), error=error)
            elif outcome == UNREADABLE:
                settle.update((t, error) for t in batch)
                unreadable.update(batch)
                stop = stop or error
            else:
                for target in batch:
                    result.fail(target, error.code, ("not sent: %s" if isinstance(error, Cancelled) else "%s")
                                % error, error=error)
                stop = stop or error
        for target in not_sent:  # not sent: only because a batch answered with an error that stops the writing
            result.fail(target, getattr(stop, "code", None), "not sent: %s" % stop, error=stop)
        if cancelled is not None:
            for target, cause in settle.items():
                result.fail(target, cause.code, "%s may have been applied; the run was cancelled before %s "
                            "was read: %s" % (rules.action, rules.reading, cause), uncertain=True, error=cause)
            raise cancelled
        return settle, unreadable, stop

    def _post(self, batch, halt):
        """Send one batch: (batch, envelope, None), (batch, None, error), or (batch, None, None) when not sent."""
        if halt.is_set():
            return batch, None, None
        try:
            envelope = self.transport.post(self.rules.path, self.rules.body(batch), write=True,
                                           accept_codes=self.rules.accept_codes)
        except GeeLarkError as error:
            if write_outcome(error) in (UNREADABLE, STOP):
                halt.set()
            return batch, None, error
        return batch, envelope, None

    def _debug(self, line):
        if self._log:
            self._log(line)


class WaitRules:
    """How a module polls the targets it waits for. A module overrides these; it never writes its own loop."""

    def still_waiting(self, result, targets):
        """The targets not at their goal yet, without reading (from what the result holds)."""
        raise NotImplementedError

    def poll(self, result, targets):
        """Read `targets` once (batched as the read allows); return those still on their way.

        A target that can no longer get there (gone, expired) is failed here with result.fail.
        """
        raise NotImplementedError

    def timed_out(self, result, target, wait_timeout):
        """Why a target still waiting when wait_timeout passed failed: its last known state."""
        raise NotImplementedError

    def read_failed(self, result, target, error):
        """Why a target still waiting failed when a read error ended the wait (a module may say what it wrote)."""
        return "its progress could not be read while waiting: %s" % error


class Waiter:
    """Polls the targets still waiting at poll_interval until each arrives, fails, or wait_timeout passes.

    A read error ends the wait: it is raised after every target still waiting has failed with it.

    `clock` and `sleep` are injected: tests move time by the polls they make, never by the wall clock.
    """

    def __init__(self, rules, wait_timeout, poll_interval, clock, sleep):
        self.rules = rules
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.clock = clock
        self.sleep = sleep

    def wait(self, result, targets):
        deadline = self.clock() + self.wait_timeout
        waiting = self.rules.still_waiting(result, targets)
        while waiting:
            remaining = deadline - self.clock()
            if remaining <= 0:
                break
            self.sleep(min(self.poll_interval, remaining))
            try:
                waiting = self.rules.poll(result, waiting)
            except GeeLarkError as error:
                # The run ends on this error: each target still on its way is a failure, never left unreported.
                for target in self.rules.still_waiting(result, waiting):
                    result.fail(target, error.code, self.rules.read_failed(result, target, error), error=error)
                raise
        for target in waiting:
            result.fail(target, None, self.rules.timed_out(result, target, self.wait_timeout))


MIN_POLL_INTERVAL = 1  # seconds: a faster poll would spend the rate budget on reads that find nothing new


class ChangeRun:
    """A state-changing run's settings, checked once, and the shared core's steps with them.

    Each kind of change (power, apps) subclasses it with its own steps and rules; the max_changes guard, the
    write and the wait are these, so every state-changing module takes and checks them the same way.
    """

    def __init__(self, transport, concurrency=1, check_mode=False, wait=True, wait_timeout=0, poll_interval=1,
                 max_changes=None, clock=time.monotonic, sleep=None):
        check_seconds("wait_timeout", wait_timeout, 0)
        check_seconds("poll_interval", poll_interval, MIN_POLL_INTERVAL)
        check_max_changes(max_changes)
        self.transport = transport
        self.concurrency = concurrency
        self.check_mode = check_mode
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.max_changes = max_changes
        self.clock = clock
        self.sleep = sleep or transport.sleep  # the transport's sleep ends early on Ctrl-C

    def guard(self, result, planned, verb):
        """Refuse before any write when `planned` targets would change, more than max_changes allows."""
        guard_max_changes(result, planned, self.max_changes, verb)

    def write(self, rules, result, targets, concurrency=1):
        """Send the rules' write to `targets` (Writer); return those it was accepted for, in order."""
        return Writer(self.transport, rules, log=self.transport.debug, concurrency=concurrency).write(result, targets)

    def wait_for(self, rules, result, targets):
        """Poll `targets` by the rules until each arrives, fails, or wait_timeout passes (Waiter)."""
        Waiter(rules, self.wait_timeout, self.poll_interval, self.clock, self.sleep).wait(result, targets)


def check_seconds(name, value, minimum):
    """A wait_timeout or poll_interval must be a number of seconds of at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ConfigError("%s must be a number of seconds of at least %s, got %r" % (name, minimum, value))


def check_max_changes(value, noun="phones"):
    """max_changes is unset (None) or a whole number, 0 or more."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ConfigError("max_changes must be a whole number of %s, 0 or more; got %r" % (noun, value))


def guard_max_changes(result, planned, max_changes, verb, noun="phones"):
    """Refuse before any write when more targets would change than max_changes allows.

    `planned` is counted by the module from the read it made just before the write, so targets
    that moved since an earlier plan count too. The error carries `result` (what was read).
    """
    if max_changes is None or planned <= max_changes:
        return
    error = ConfigError("%d of %d %s would %s, more than max_changes=%d; nothing was changed"
                        % (planned, len(result.ids), noun, verb, max_changes),
                        advice="check the IDs; if they are right, raise max_changes to %d" % planned)
    carry(error, result)
    raise error
