# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Client-side pacing under GeeLark's per-API request budget, shared by every process of a machine.

Private to this collection: the API of this file may change without notice.

GeeLark counts requests per account and API per minute. Ansible runs modules in forks, and
inventories and jobs run side by side, so a budget kept inside one process does not hold. With
scope `machine` every process of this user that calls the same account at the same api_url books
its requests in one small file per endpoint, under an exclusive `fcntl.flock`: the file holds the
wall-clock times of the grants of the last window. A process killed while it holds the lock loses
the lock with its file descriptors (the kernel releases it); a process killed while it waits for a
booked slot loses only that slot, which expires with the window.
"""

from __future__ import annotations

import collections
import hashlib
import os
import stat
import threading
import time

try:
    import fcntl
    HAS_FCNTL = True
except ImportError:  # pragma: no cover - not POSIX
    HAS_FCNTL = False

# GeeLark counts requests per API per minute. The margin absorbs the time between the moment a
# slot is granted here and the moment the server counts the request (a wait for a free
# connection, the network).
WINDOW_SECONDS = 61.0

SCOPE_MACHINE = "machine"
SCOPE_PROCESS = "process"
SCOPES = (SCOPE_MACHINE, SCOPE_PROCESS)

# Where the shared budget files live; tests and unusual hosts point it elsewhere.
ENV_BUDGET_DIR = "GEELARK_RATE_BUDGET_DIR"
_SUBDIR = os.path.join("geelark.cloudphone", "budget")


class RequestBudget:
    """At most `per_minute` requests in any window of WINDOW_SECONDS, for one endpoint, in this process.

    A token bucket whose tokens come back one window after they were spent: a run that fits in
    the budget goes out at once as a burst, a larger one is paced, and unlike a continuously
    refilled bucket no sliding minute ever sees more than the budget. Thread-safe; callers are
    served in the order they ask.
    """

    def __init__(self, per_minute, clock=time.monotonic, window=WINDOW_SECONDS):
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = int(per_minute)
        self._clock = clock
        self._window = window
        self._grants: collections.deque[float] = collections.deque()
        self._refusals: list = []
        self._lock = threading.Lock()

    def reserve(self, per_minute=None):
        """Book the next slot; return how many seconds the caller must wait for it."""
        with self._lock:
            now = self._clock()
            grants = next_grants(list(self._grants), now, per_minute or self.per_minute, self._window)
            self._grants = collections.deque(grants)
            return grants[-1] - now

    def refuse(self):
        """Note that the API refused a request for its rate limit; return what got through in the window."""
        with self._lock:
            now = self._clock()
            self._refusals = [t for t in self._refusals if t > now - self._window] + [now]
            return passed_in_window(self._grants, self._refusals, now, self._window)


class SharedBudget:
    """The same rule as RequestBudget, kept in a file that every process of this user shares.

    `path` is the state file; it is created on first use. Raises OSError when the file cannot be
    opened, locked or written: the caller falls back to a budget of its own.
    """

    def __init__(self, path, per_minute, clock=time.time, window=WINDOW_SECONDS):
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.path = path
        self.per_minute = int(per_minute)
        self._clock = clock  # wall clock: monotonic clocks are not comparable between processes
        self._window = window
        # flock serialises open file descriptions, not the threads sharing one: threads queue here.
        self._lock = threading.Lock()

    def reserve(self, per_minute=None):
        def book(grants, refusals, now):
            grants = next_grants(grants, now, per_minute or self.per_minute, self._window)
            return grants, refusals, grants[-1] - now
        return self._update(book)

    def refuse(self):
        """Note a refusal for everyone sharing the file; return what got through in the window, machine-wide."""
        def note(grants, refusals, now):
            refusals = refusals + [now]
            return grants, refusals, passed_in_window(grants, refusals, now, self._window)
        return self._update(note)

    def _update(self, change):
        """Read the file under the lock, apply change(grants, refusals, now), write it back."""
        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                now = self._clock()
                grants, refusals = _read_times(fd)
                refusals = [t for t in refusals if now - self._window < t <= now]
                grants, refusals, answer = change(grants, refusals, now)
                payload = "".join(["%.3f\n" % t for t in grants] + ["r%.3f\n" % t for t in refusals])
                # Write, then cut: a process killed in between leaves older lines behind the new
                # ones, which only makes the next reader more careful.
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, payload.encode("ascii"))
                os.ftruncate(fd, len(payload))
                return answer
            finally:
                os.close(fd)  # also releases the lock


def next_grants(grants, now, per_minute, window):
    """The grants of the current window with one more appended (the slot booked for this caller).

    Slots are handed out in order: the new slot is no earlier than the last one booked, and at
    least one window after the grant `per_minute` places back, so no window ever holds more than
    `per_minute` of the grants a caller with that budget can see.
    """
    # A grant further ahead than any queue could have booked it comes from a clock that was set
    # back since: forget it rather than wait for it.
    horizon = now + window * (len(grants) + 1)
    grants = sorted(t for t in grants if now - window < t <= horizon)
    slot = now
    if grants:
        slot = max(slot, grants[-1])
    if len(grants) >= per_minute:
        slot = max(slot, grants[-per_minute] + window)
    grants.append(slot)
    return grants


def passed_in_window(grants, refusals, now, window):
    """Requests sent in the last window that were not refused for a rate limit (at least one)."""
    sent = sum(1 for t in grants if now - window < t <= now)
    refused = sum(1 for t in refusals if now - window < t <= now)
    return max(1, sent - refused)


def _read_times(fd):
    """(grants, refusals) from a budget file; refusal lines start with "r"."""
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    grants: list = []
    refusals: list = []
    for line in b"".join(chunks).decode("ascii", "replace").splitlines():
        into = refusals if line.startswith("r") else grants
        try:
            into.append(float(line.lstrip("r")))
        except ValueError:
            continue  # a torn line of a killed writer; the other lines still count
    return grants, refusals


def default_budget_dir(environ=None):
    """$GEELARK_RATE_BUDGET_DIR, else $XDG_RUNTIME_DIR/geelark.cloudphone/budget, else ~/.cache/..."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_BUDGET_DIR):
        return environ[ENV_BUDGET_DIR]
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, _SUBDIR)
    return os.path.join(os.path.expanduser("~"), ".cache", _SUBDIR)


def prepare_budget_dir(path):
    """Create the directory (mode 0700) if needed; refuse one that other users could write to."""
    if not HAS_FCNTL:
        raise OSError("fcntl file locking is not available on this system")
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.stat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise OSError("%s is not a directory" % path)
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise OSError("%s belongs to another user" % path)
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise OSError("%s is writable by other users" % path)
    if not os.access(path, os.W_OK | os.X_OK):
        raise OSError("%s is not writable" % path)
    return path


def budget_file_name(identity, api_url, endpoint):
    """A file name for one account, API URL and endpoint: a hash, so no secret is ever on disk."""
    digest = hashlib.sha256("\0".join(("geelark.cloudphone budget v1", identity, api_url, endpoint)).encode("utf-8"))
    return digest.hexdigest()[:40]


class RateLimiter:
    """One budget per endpoint for a client: shared by this user's processes, or this process's own.

    `identity` names the account (never shown or stored as is); `budget_dir` None means the
    default directory. When the shared directory or locking is unusable, the limiter falls back to
    budgets of its own and calls `warn` once with the reason. `shrink(endpoint, n)` lowers this
    run's budget for one endpoint after the API said it was over its limit.
    """

    def __init__(self, per_minute, scope=SCOPE_PROCESS, identity="", api_url="", budget_dir=None,
                 clock=time.monotonic, wall_clock=time.time, warn=None, window=WINDOW_SECONDS):
        self.per_minute = per_minute
        self.scope = scope
        self._identity = identity
        self._api_url = api_url
        self._budget_dir = budget_dir
        self._clock = clock
        self._wall_clock = wall_clock
        self._window = window
        self._warn = warn
        self._budgets: dict = {}
        self._limits: dict = {}
        self._lock = threading.Lock()
        self.fallback_reason = None

    def limit(self, endpoint):
        """This run's current budget for the endpoint (requests per minute)."""
        with self._lock:
            return self._limits.get(endpoint, self.per_minute)

    def shrink(self, endpoint, per_minute):
        """Allow this run at most `per_minute` (at least 1) on the endpoint from now on."""
        if not self.per_minute:
            return
        with self._lock:
            current = self._limits.get(endpoint, self.per_minute)
            self._limits[endpoint] = max(1, min(current, int(per_minute)))

    def reserve(self, endpoint):
        if not self.per_minute:
            return 0.0
        with self._lock:
            per_minute = self._limits.get(endpoint, self.per_minute)
        return self._use(endpoint, lambda budget: budget.reserve(per_minute))

    def refused(self, endpoint):
        """The API refused a request to the endpoint for its rate limit: shrink this run's budget.

        The new budget is what got through in the last window (sent minus refused, counted over
        every process sharing the budget), never more than before and never below one.
        """
        if not self.per_minute:
            return
        self.shrink(endpoint, self._use(endpoint, lambda budget: budget.refuse()))

    def _use(self, endpoint, action):
        with self._lock:
            budget = self._budgets.get(endpoint)
            if budget is None:
                budget = self._budgets[endpoint] = self._new_budget(endpoint)
        if isinstance(budget, SharedBudget):
            try:
                return action(budget)
            except OSError as exc:
                with self._lock:
                    budget = self._budgets[endpoint] = RequestBudget(self.per_minute, clock=self._clock,
                                                                     window=self._window)
                self._fall_back("%s: %s" % (budget_path_hint(self._budget_dir), exc))
        return action(budget)

    def _new_budget(self, endpoint):
        if self.scope == SCOPE_MACHINE:
            try:
                directory = prepare_budget_dir(self._budget_dir or default_budget_dir())
                path = os.path.join(directory, budget_file_name(self._identity, self._api_url, endpoint))
                return SharedBudget(path, self.per_minute, clock=self._wall_clock, window=self._window)
            except OSError as exc:
                self._fall_back(str(exc))
        return RequestBudget(self.per_minute, clock=self._clock, window=self._window)

    def _fall_back(self, reason):
        if self.fallback_reason is not None:
            return
        self.fallback_reason = reason
        if self._warn:
            self._warn("The rate budget cannot be shared with other processes on this machine (%s); this run "
                       "keeps a budget of its own, so parallel runs may together exceed rate_limit. Set %s to a "
                       "writable directory, or rate_limit_scope: process to silence this warning"
                       % (reason, ENV_BUDGET_DIR))


def budget_path_hint(budget_dir):
    return budget_dir or default_budget_dir()
