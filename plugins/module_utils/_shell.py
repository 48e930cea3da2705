# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shell commands on phones: one /open/v1/shell/execute call per phone, phones in parallel under the rate budget.

The API runs the command before it answers, with `{status, output}`: no exit code, and stdout and
stderr in one string. A command can act twice (a `pm uninstall`, an `input tap`), so a call whose
answer was lost is never sent again: that phone is a failure marked uncertain, the others still
run. A refusal that every later call would meet (credentials, the two-hour lock, a rate limit
still in force when rate_limit_wait ran out) stops the run: the phones not sent yet are named as
not run, and nothing more is sent.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

import copy
import threading

from ._errors import ConfigError, GeeLarkError
from ._parallel import run_parallel
from ._phones import normalize_ids
from ._transport import Cancelled
from ._write import LOST, STOP, UNREADABLE, ChangeResult, failures_by_reason, write_outcome

NOT_FOUND, NOT_RUNNING, NO_SHELL = 42001, 42002, 50001
POWER_MODULE = "geelark.cloudphone.geelark_phone_power"
ADB_CONNECTION = "geelark.cloudphone.adb"
STATUS_FALSE = "the command failed on the phone (status false)"

# What the codes that refuse one phone mean here, and what to do; other codes keep the client's words.
PHONE_ADVICE = {
    NOT_FOUND: ("phone %s was not found", "check the ID; the phone may have been deleted"),
    NOT_RUNNING: ("phone %s is not running",
                  "start it first with %s (state: started), then run the command again" % POWER_MODULE),
    NO_SHELL: ("the model of phone %s has no shell API (it serves Android 10 and 12-16)",
               "Android 9 and 11 phones take commands over ADB: run them with the connection plugin %s"
               % ADB_CONNECTION),
}

# How a phone's call ended.
_ANSWERED = "answered"
_FAILED = "failed"
_NOT_SENT = "not sent"


class ShellResult(ChangeResult):
    """What a command did on every requested phone: its answer, or why there is none.

    A phone is changed when the command ran on it (an answer with code 0, whatever its status);
    a phone whose answer was lost is an uncertain failure, which makes the result changed too.
    """

    def __init__(self, ids, cmd):
        super().__init__(ids)
        self.cmd = cmd
        self.answers: dict[str, dict] = {}
        self.skipped = False  # check mode: nothing was sent

    def answer(self, phone_id, status, output):
        """Keep a phone's answer; status false (the API's "execution failed") is a failure too."""
        self.answers[phone_id] = {"id": phone_id, "status": status, "output": output}
        self.accept([phone_id])
        if not status:
            self.fail(phone_id, None, STATUS_FALSE)

    def result_list(self):
        return [self.answers[i] for i in self.ids if i in self.answers]

    def as_dict(self):
        return dict(changed=self.is_changed, cmd=self.cmd, results=self.result_list(), failures=self.failure_list(),
                    uncertain=self.uncertain)

    def message(self):
        """The task's msg when nothing failed."""
        if self.skipped:
            return ("Check mode: the command was not run on any of the %d phones; shell commands cannot be "
                    "previewed, so nothing was sent" % len(self.ids))
        return "The command ran on %d phone%s" % (len(self.answers), "" if len(self.answers) == 1 else "s")

    def failure_message(self):
        failures = self.failure_list()
        text = "The command failed on %d of %d phones: %s" % (len(failures), len(self.ids),
                                                              failures_by_reason(failures))
        uncertain = len(self.uncertain_ids())
        if uncertain:
            text += (". It may have run on %d of them, whose answer was lost; it was not sent to them again: check "
                     "those phones before running it again" % uncertain)
        return text


def check_command(cmd):
    """The command to send; a missing or blank one is refused before any request."""
    if not isinstance(cmd, str) or not cmd.strip():
        raise ConfigError("cmd is empty: give the command to run on the phones, for example "
                          "'getprop ro.build.version.release'")
    return cmd


def run_shell(client, ids, cmd, check_mode=False):
    """Run `cmd` once on each phone (duplicate IDs once); a ShellResult accounts for every ID, in the order given.

    Up to client.concurrency calls are in flight at once, each waiting for its turn in the rate
    budget. An error that every later call would meet stops the client (client.stop()): what waits
    for its turn ends unsent, and the client takes no more calls. In check mode nothing is sent.
    """
    cmd = check_command(cmd)
    result = ShellResult(normalize_ids(ids), cmd)
    if check_mode:
        result.skipped = True
        return result
    _ShellRun(client, cmd).run(result)
    return result


class _ShellRun:
    """One command on many phones: every call sent at most once, and the first error that every later call
    would meet stops the rest."""

    def __init__(self, client, cmd):
        self.client = client
        self.cmd = cmd
        self.halted = threading.Event()
        self.stop_error: GeeLarkError | None = None
        self.stopped_by: str | None = None
        self._lock = threading.Lock()

    def run(self, result):
        outcomes = run_parallel(self._call, result.ids, self.client.concurrency, self.client.transport.stop_event)
        for phone_id, (how, value) in zip(result.ids, outcomes):
            if how == _ANSWERED:
                self._settle_answer(result, phone_id, value)
            elif how == _FAILED:
                self._settle_error(result, phone_id, value)
            else:
                result.fail(phone_id, getattr(self.stop_error, "code", None), self._not_run())

    def _call(self, phone_id):
        """(how it ended, the answer's data or the error) for one phone."""
        if self.halted.is_set():
            return _NOT_SENT, None
        try:
            return _ANSWERED, self.client.shell_execute(phone_id, self.cmd)
        except GeeLarkError as error:
            if isinstance(error, Cancelled) and self.halted.is_set():
                return _NOT_SENT, None  # waiting for its turn when the run stopped: never sent
            if write_outcome(error) in (STOP, UNREADABLE):
                self._halt(phone_id, error)
            return _FAILED, error

    def _halt(self, phone_id, error):
        with self._lock:
            if self.stop_error is not None:
                return
            self.stop_error, self.stopped_by = error, phone_id
        self.halted.set()
        # Calls waiting for their turn in the rate budget end now, unsent, instead of meeting the same error.
        self.client.stop()

    def _settle_answer(self, result, phone_id, data):
        status = data.get("status") if isinstance(data, dict) else None
        output = data.get("output") if isinstance(data, dict) else None
        if output is None:
            output = ""
        if isinstance(status, bool) and isinstance(output, str):
            result.answer(phone_id, status, output)
            return
        # Code 0: the command ran, but the answer does not say how it went.
        result.accept([phone_id])
        result.fail(phone_id, None, "the command ran (code 0), but the answer is not what the API documents "
                    "(status %s, output %s), so whether it succeeded is unknown; report this to GeeLark support"
                    % (_shape(status), _shape(output)))

    def _settle_error(self, result, phone_id, error):
        outcome = write_outcome(error)
        if isinstance(error, Cancelled):  # interrupted before it was sent
            result.fail(phone_id, None, "not run: %s" % error, error=error)
        elif outcome == LOST:
            result.fail(phone_id, error.code, "the command may have run: its answer was lost, and it was not sent "
                        "again because a command can act twice; check the phone before running it again. Cause: %s"
                        % _cause(error), uncertain=True, error=error)
        elif outcome == UNREADABLE:
            result.fail(phone_id, error.code, "the command may have run: its answer could not be read, and nothing "
                        "more was sent to any phone; check the phone before running it again. Cause: %s"
                        % _cause(error), uncertain=True, error=error)
        elif error.code in PHONE_ADVICE:
            result.fail(phone_id, error.code, phone_message(phone_id, error), error=error)
        else:
            result.fail(phone_id, error.code, str(error), error=error)

    def _not_run(self):
        error = self.stop_error
        if isinstance(error, Cancelled):
            return "not run: %s" % error
        return ("not run: nothing was sent to this phone after phone %s met an error that every later call would "
                "meet: %s" % (self.stopped_by, error))


def phone_message(phone_id, error):
    """A refused phone's message (a code of PHONE_ADVICE): what it means for this phone, the API's msg and traceId,
    and what to do. The code itself leads the failure, and the task's message."""
    meaning, advice = PHONE_ADVICE[error.code]
    text = meaning % phone_id
    details = []
    if error.api_msg:
        details.append("msg %r" % error.api_msg)
    if error.trace_id:
        details.append("traceId %s" % error.trace_id)
    if details:
        text += " (%s)" % ", ".join(details)
    return "%s; %s" % (text, advice)


def _cause(error):
    """The error without its advice: the write advice ("read the status ... before sending it again") does not
    fit a command, whose own advice the message gives."""
    plain = copy.copy(error)
    plain.advice = None
    return str(plain)


def _shape(value):
    if value is None:
        return "missing"
    return "%s %s" % (type(value).__name__, repr(value)[:40])
