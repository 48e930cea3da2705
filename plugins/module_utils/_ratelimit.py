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
the lock with its file descriptors (the kernel releases it).

No slot is booked more than one window ahead, and the threads of one process take turns to book
and wait (one booked slot per endpoint at a time), so a process killed while its threads wait
leaves at most one unused slot per endpoint, which expires with the window; and a grant further
ahead than one window can only come from a clock that was set back since, so it is forgotten.

With scope `shared` the same rule runs in a Redis or Valkey server (_shared_budget), for every
node and container. While that server cannot be used, each client keeps the machine budget at its
share of the budget (rate_limit / rate_limit_nodes), never none, and tries the server again a
window later.
"""

from __future__ import annotations

import collections
import errno
import hashlib
import os
import stat
import threading
import time
import typing
from urllib.parse import urlsplit

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
SCOPE_SHARED = "shared"
SCOPES = (SCOPE_MACHINE, SCOPE_PROCESS, SCOPE_SHARED)

# Where the shared budget files live; tests and unusual hosts point it elsewhere.
ENV_BUDGET_DIR = "GEELARK_RATE_BUDGET_DIR"
_SUBDIR = os.path.join("geelark.cloudphone", "budget")
# A budget file holds one short line per grant or refusal of the last window; anything past this is
# not ours, and reading it all could exhaust memory.
_MAX_FILE_BYTES = 1 << 20
# Grants are written to the millisecond: a slot booked exactly one window ahead may read back a
# little further ahead than that.
_ROUNDING = 0.01
_DEFAULT_PORTS = {"https": 443, "http": 80}


class Booking:
    """The answer to a request for a slot: `wait` seconds from now, booked or not.

    Not booked when the next free slot lies more than one window ahead (other processes hold the
    ones before it: ask again `wait - window` seconds later) or beyond the caller's `max_wait`.
    """

    __slots__ = ("wait", "booked")

    def __init__(self, wait, booked):
        self.wait = wait
        self.booked = booked

    def __repr__(self):
        return "Booking(wait=%r, booked=%r)" % (self.wait, self.booked)


class RequestBudget:
    """At most `per_minute` requests in any window of WINDOW_SECONDS, for one endpoint, in this process.

    A token bucket whose tokens come back one window after they were spent: a run that fits in
    the budget goes out at once as a burst, a larger one is paced, and unlike a continuously
    refilled bucket no sliding minute ever sees more than the budget. Thread-safe; a slot is
    booked at most one window ahead (see Booking).
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

    def reserve(self, per_minute=None, max_wait=None):
        """Book the next slot if it is near enough; a Booking says when it is."""
        with self._lock:
            grants, booking = book_slot(list(self._grants), self._clock(), per_minute or self.per_minute,
                                        self._window, max_wait)
            self._grants = collections.deque(grants)
            return booking

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

    def reserve(self, per_minute=None, max_wait=None):
        def book(grants, refusals, now):
            grants, booking = book_slot(grants, now, per_minute or self.per_minute, self._window, max_wait)
            return grants, refusals, booking
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
            fd = open_budget_file(self.path)
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


def book_slot(grants, now, per_minute, window, max_wait=None):
    """(grants of the current window, Booking): the next slot, appended to the grants when booked.

    Slots are handed out in order: the new slot is no earlier than the last one booked, and at
    least one window after the grant `per_minute` places back, so no window ever holds more than
    `per_minute` of the grants a caller with that budget can see. A slot is booked only when it
    lies at most one window (and `max_wait`) ahead.
    """
    # Nothing is ever booked more than one window ahead: a grant further ahead comes from a clock
    # that was set back since (an NTP step), and waiting for it could take as long as the step.
    grants = sorted(t for t in grants if now - window < t <= now + window + _ROUNDING)
    slot = now
    if grants:
        slot = max(slot, grants[-1])
    if len(grants) >= per_minute:
        slot = max(slot, grants[-per_minute] + window)
    wait = slot - now
    # A grant read back from a budget file was rounded, up to half a millisecond later than it was made:
    # the slot a window after it may lie that much more than a window ahead, and is still within one.
    if wait > window + _ROUNDING or (max_wait is not None and wait > max_wait):
        return grants, Booking(wait, False)
    grants.append(slot)
    return grants, Booking(wait, True)


def passed_in_window(grants, refusals, now, window):
    """Requests sent in the last window that were not refused for a rate limit (at least one)."""
    sent = sum(1 for t in grants if now - window < t <= now)
    refused = sum(1 for t in refusals if now - window < t <= now)
    return max(1, sent - refused)


def open_budget_file(path):
    """A descriptor of the budget file, created if missing; OSError unless it is this user's own regular file.

    Never follows a symbolic link (a link planted at the path would have its target overwritten,
    or, to a device such as /dev/zero, read without end), nor writes to a file with other names.
    """
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    # Non-blocking, so that opening a FIFO planted at the path cannot hang; a lock still waits.
    flags |= getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(exc.errno, "%s is a symbolic link, not a budget file: remove it" % path) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "%s is not a regular file: remove it" % path)
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise OSError(errno.EPERM, "%s belongs to another user: remove it" % path)
        if info.st_nlink != 1:
            raise OSError(errno.EMLINK, "%s has other hard links, so writing it would change another file: "
                                        "remove it" % path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_times(fd):
    """(grants, refusals) from a budget file; refusal lines start with "r"."""
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    size = 0
    while size < _MAX_FILE_BYTES:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
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


def canonical_api_url(api_url):
    """The API URL as the server sees it: scheme and host in lower case, no default port, no trailing slash.

    So that `https://OPENAPI.geelark.com`, `https://openapi.geelark.com:443/` and the plain spelling
    share one budget. The one normal form: _settings.normalize_api_url checks a URL, then returns this.
    """
    text = (api_url or "").strip()
    try:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:  # not a URL the transport would accept; keep it as it is
        return text.rstrip("/")
    if not scheme or not host:
        return text.rstrip("/")
    if ":" in host:
        host = "[%s]" % host  # an IPv6 address
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else "%s:%d" % (host, port)
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:
        netloc = userinfo + "@" + netloc
    path = parts.path.rstrip("/")
    return "%s://%s%s" % (scheme, netloc, path)


def budget_file_name(identity, api_url, endpoint):
    """A file name for one account, API URL and endpoint: a hash, so no secret is ever on disk."""
    digest = hashlib.sha256("\0".join(("geelark.cloudphone budget v1", identity, canonical_api_url(api_url),
                                       endpoint)).encode("utf-8"))
    return digest.hexdigest()[:40]


class RateLimiter:
    """One budget per endpoint for a client: in a server every node shares, shared by this user's processes, or
    this process's own.

    `identity` names the account (never shown or stored as is); `budget_dir` None means the
    default directory. When the shared directory or locking is unusable, the limiter falls back to
    budgets of its own and calls `warn` once with the reason. `shrink(endpoint, n)` lowers the
    budget for one endpoint after the API said it was over its limit, for one window: a long-lived
    client (the event source) gets its full budget back once the API's minute has passed.

    Scope `shared` keeps the budgets in `server` (a _shared_budget.BudgetServer). While it fails,
    each endpoint has a stand-in: the machine budget (else one of this process) at `per_minute //
    nodes` (at least 1), so the nodes together stay within the budget; `warn` is called once. A
    window after the failure the server is tried again, and told what the stand-in let through.

    `turn(endpoint)` is the lock the threads of this process take turns with to book a slot and
    wait for it (see the module docstring); `reserve(endpoint, max_wait)` books one. `log` takes
    debug lines: which budget is in use (`describe`) whenever the server goes down or comes back.
    """

    def __init__(self, per_minute, scope=SCOPE_PROCESS, identity="", api_url="", budget_dir=None,
                 clock=time.monotonic, wall_clock=time.time, warn=None, window=WINDOW_SECONDS, server=None, nodes=1,
                 log=None):
        self.per_minute = per_minute
        self.scope = scope
        self.window = window
        if scope == SCOPE_SHARED and server is None:
            raise ValueError("scope shared needs a server")
        self.server: typing.Any = server if scope == SCOPE_SHARED else None
        self.nodes = max(1, int(nodes))
        self._identity = identity
        self._api_url = api_url
        self._budget_dir = budget_dir
        self._clock = clock
        self._wall_clock = wall_clock
        self._warn = warn
        self._log = log
        self._budgets: dict = {}
        self._standins: dict = {}  # endpoint -> the budget used while the server fails
        self._server_failed_at = None  # on `clock`
        self._limits: dict = {}  # endpoint -> (lowered budget, until when on `clock`)
        self._turns: dict = {}
        self._lock = threading.Lock()
        self.fallback_reason = None

    @property
    def share(self):
        """Requests a minute one node allows itself while the shared server cannot be used."""
        return max(1, self.per_minute // self.nodes)

    @property
    def server_down(self):
        """True while the shared server failed less than a window ago: the stand-in budgets apply."""
        with self._lock:
            return self._server_is_down()

    def _server_is_down(self):
        return self._server_failed_at is not None and self._clock() - self._server_failed_at < self.window

    def describe(self):
        """Which budget is in use, in words for the debug log: "shared (redis server h:6379 db 0, ...)" and so on.

        No secret: the server is named by its label, the account not at all.
        """
        if not self.per_minute:
            return "none (rate_limit 0)"
        rate = "%d requests a minute per endpoint" % self.per_minute
        directory = budget_path_hint(self._budget_dir)
        if self.server is not None:
            with self._lock:
                down = self._server_is_down()
            share = "machine share 1/%d (%d a minute, %s)" % (self.nodes, self.share, directory)
            if down:
                return "%s while the server is down (%s); tried again a minute after it failed" % (
                    share, self.server.label)
            return "shared (%s), %s; while the server is down: %s" % (self.server.label, rate, share)
        if self.scope == SCOPE_MACHINE:
            return "machine (%s), %s" % (directory, rate)
        return "process (this run only), %s" % rate

    def limit(self, endpoint):
        """The current budget for the endpoint (requests per minute)."""
        with self._lock:
            return self._current_limit(endpoint)

    def _current_limit(self, endpoint):
        lowered = self._limits.get(endpoint)
        if lowered is not None and self._clock() >= lowered[1]:
            del self._limits[endpoint]  # a window without refusal has passed
            lowered = None
        limit = self.per_minute if lowered is None else lowered[0]
        return min(limit, self.share) if self._server_is_down() else limit

    def shrink(self, endpoint, per_minute):
        """Allow at most `per_minute` (at least 1) on the endpoint for the next window."""
        if not self.per_minute:
            return
        with self._lock:
            current = self._current_limit(endpoint)
            self._limits[endpoint] = (max(1, min(current, int(per_minute))), self._clock() + self.window)

    def turn(self, endpoint):
        """The lock this process's threads hold, one at a time, while they book a slot and wait for it."""
        with self._lock:
            return self._turns.setdefault(endpoint, threading.Lock())

    def reserve(self, endpoint, max_wait=None):
        """Book a slot for one request to the endpoint: a Booking (not booked when too far ahead)."""
        if not self.per_minute:
            return Booking(0.0, True)
        with self._lock:
            per_minute = self._current_limit(endpoint)
        return self._use(endpoint, lambda budget: budget.reserve(per_minute, max_wait))

    def refused(self, endpoint):
        """The API refused a request to the endpoint for its rate limit: shrink the budget for a window.

        The new budget is what got through in the last window (sent minus refused, counted over
        every process sharing the budget), never more than before and never below one.
        """
        if not self.per_minute:
            return
        self.shrink(endpoint, self._use(endpoint, lambda budget: budget.refuse()))

    def _use(self, endpoint, action):
        if self.server is not None:
            return self._use_server(endpoint, action)
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
                                                                     window=self.window)
                self._fall_back("%s: %s" % (budget_path_hint(self._budget_dir), exc))
        return action(budget)

    def _use_server(self, endpoint, action):
        """The action on the server's budget; on the endpoint's stand-in while the server fails."""
        with self._lock:
            down = self._server_is_down()
            budget = self._budgets.get(endpoint)
            if budget is None:
                budget = self._budgets[endpoint] = self.server.budget(self._identity, self._api_url, endpoint,
                                                                      self.per_minute, self.window)
            standin = self._standins.get(endpoint)
        if not down:
            try:
                if standin is not None:  # back after a failure: what the stand-in let through still counts
                    budget.carry(standin.ages())
                answer = action(budget)
            except OSError as exc:
                with self._lock:
                    self._server_failed_at = self._clock()
                self._server_failed(str(exc))
                self._debug("rate budget: %s" % self.describe())
            else:
                with self._lock:
                    self._standins.pop(endpoint, None)
                    back = self._server_failed_at is not None
                    self._server_failed_at = None
                if back:
                    self._debug("rate budget: shared again (%s)" % self.server.label)
                return answer
        return self._use_standin(endpoint, action)

    def _use_standin(self, endpoint, action):
        with self._lock:
            standin = self._standins.get(endpoint)
            if standin is None:
                standin = self._standins[endpoint] = self._new_standin(endpoint)
        try:
            return action(standin)
        except OSError:  # the machine budget failed too: this process's own, at the same share
            with self._lock:
                standin.budget = RequestBudget(self.share, clock=self._clock, window=self.window)
            return action(standin)

    def _new_standin(self, endpoint):
        try:
            budget = self._machine_budget(endpoint, self.share)
        except OSError:
            budget = RequestBudget(self.share, clock=self._clock, window=self.window)
        return _Capped(budget, self.share, self._clock, self.window)

    def _machine_budget(self, endpoint, per_minute):
        """The endpoint's budget file, shared by this user's processes on this machine; OSError when unusable."""
        directory = prepare_budget_dir(self._budget_dir or default_budget_dir())
        path = os.path.join(directory, budget_file_name(self._identity, self._api_url, endpoint))
        return SharedBudget(path, per_minute, clock=self._wall_clock, window=self.window)

    def _server_failed(self, reason):
        self._warn_once(reason, "The shared rate budget cannot be used (%s); until it can, each run keeps %d "
                                "requests a minute per endpoint (rate_limit %d / rate_limit_nodes %d) in the budget "
                                "of its machine, and tries the server again a minute later. Check that the Redis or "
                                "Valkey server of rate_limit_url is up and reachable from this node, and its password"
                                % (reason, self.share, self.per_minute, self.nodes))

    def _warn_once(self, reason, warning):
        """Keep the first reason the budget fell back; warn about it, and about no later one."""
        if self.fallback_reason is not None:
            return
        self.fallback_reason = reason
        if self._warn:
            self._warn(warning)

    def _debug(self, line):
        if self._log:
            self._log(line)

    def _new_budget(self, endpoint):
        if self.scope == SCOPE_MACHINE:
            try:
                return self._machine_budget(endpoint, self.per_minute)
            except OSError as exc:
                self._fall_back(str(exc))
        return RequestBudget(self.per_minute, clock=self._clock, window=self.window)

    def _fall_back(self, reason):
        self._warn_once(reason, "The rate budget cannot be shared with other processes on this machine (%s); this "
                                "run keeps a budget of its own, so parallel runs may together exceed rate_limit. Set "
                                "%s to a writable directory, or rate_limit_scope: process to silence this warning"
                                % (reason, ENV_BUDGET_DIR))


class _Capped:
    """A stand-in budget: never more than `share` a minute, whatever the caller asks for; remembers its grants.

    Only this process's own grants are handed to the server when it is back (`ages`): those of
    other processes on the machine are theirs to hand over.
    """

    def __init__(self, budget, share, clock, window):
        self.budget = budget
        self.share = share
        self._clock = clock
        self._window = window
        self._granted: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def reserve(self, per_minute=None, max_wait=None):
        booking = self.budget.reserve(min(per_minute or self.share, self.share), max_wait)
        if booking.booked:
            with self._lock:
                now = self._clock()
                self._granted.append(now + booking.wait)
                while self._granted and self._granted[0] <= now - self._window:
                    self._granted.popleft()
        return booking

    def refuse(self):
        return self.budget.refuse()

    def ages(self):
        """Seconds since each grant of the last window (negative: booked ahead)."""
        with self._lock:
            now = self._clock()
            return [now - t for t in self._granted if t > now - self._window]


def budget_path_hint(budget_dir):
    return budget_dir or default_budget_dir()
