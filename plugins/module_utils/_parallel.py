# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A bounded thread pool for independent API calls, and the adaptive limit of requests in flight.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

# How an answer went, for AdaptiveLimit: clean, the API pushing back (rate limit, 429, 5xx), over
# its concurrency cap (47002), or nothing to learn from (a client error, a cancelled request).
CLEAN = "clean"
PUSHBACK = "pushback"
OVER_CAP = "over_cap"
NEUTRAL = "neutral"
# How long the level that met GeeLark's concurrency cap is remembered: long for a module or an
# inventory, while a long-lived client (the event source) is not held below it for ever because
# other runs shared the cap for a moment.
CEILING_MEMORY_SECONDS = 600.0


class BoundedPool:
    """A thread pool of at most `concurrency` workers, for work submitted as results come in.

    Used as a context manager: leaving it with an exception (a worker's failure raised in the
    caller's thread) sets `stop_event`, which wakes calls waiting for their turn, cancels what has
    not started, and waits for what is running.

    Ctrl-C while the pool runs in the main thread only sets `stop_event` (and a flag): a
    KeyboardInterrupt raised at an arbitrary point of the waiting code can leave a future's lock
    held, and the pool would then wait for its workers forever. The workers stop at their next
    turn, and KeyboardInterrupt is raised when the pool is left.
    """

    def __init__(self, concurrency, stop_event):
        self._executor = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="geelark")
        self._stop_event = stop_event
        self._futures = []
        self._previous_handler = None
        self.interrupted = False

    def submit(self, func, *args):
        future = self._executor.submit(func, *args)
        self._futures.append(future)
        return future

    def _interrupt(self, signum, frame):
        self.interrupted = True
        self._stop_event.set()

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous_handler = signal.signal(signal.SIGINT, self._interrupt)
            except ValueError:  # pragma: no cover - signals are not available here
                self._previous_handler = None
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is not None or self.interrupted:
            self._stop_event.set()
            for future in self._futures:
                future.cancel()
        self._executor.shutdown(wait=True)
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
        if self.interrupted:
            raise KeyboardInterrupt from None
        return False


def run_parallel(func, items, concurrency, stop_event):
    """Return [func(item) for item in items], running up to `concurrency` calls at once.

    The first failure stops the rest, by BoundedPool's rules, and is raised in the caller's thread.
    """
    items = list(items)
    if concurrency <= 1 or len(items) <= 1:
        return [func(item) for item in items]
    with BoundedPool(min(concurrency, len(items)), stop_event) as pool:
        futures = [pool.submit(func, item) for item in items]
        done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            error = future.exception() if future in done else None
            if error is not None:
                raise error
        return [future.result() for future in futures]


class AdaptiveLimit:
    """How many requests may be in flight now: grows while answers are clean, halves on pushback.

    GeeLark caps concurrent requests per account at a number it does not publish (over it: 47002).
    The limit starts at `start` and, like TCP, first doubles per round of clean answers (one more
    slot per clean answer), then, after the first pushback, grows by one slot per round. A 47002
    also remembers how many were in flight when it came: the limit stays below that level for
    `ceiling_memory` seconds after the last 47002, so the cap is met a handful of times, not once
    per round. It grows only while it is in use (every slot taken), so demand that rises slowly
    meets the cap one slot at a time. Never above `maximum` (the `concurrency` option) nor below 1.
    """

    def __init__(self, maximum, start, stop_event, clock=time.monotonic, ceiling_memory=CEILING_MEMORY_SECONDS):
        self.maximum = max(1, int(maximum))
        self.limit = max(1, min(self.maximum, int(start)))
        self.ceiling = self.maximum
        self._clock = clock
        self._ceiling_memory = ceiling_memory
        self._ceiling_until = None
        self.peak = 0
        self.in_flight = 0
        self._slow_start = True
        self._clean_in_round = 0
        # Requests let in before the last decrease met the old limit: their pushback is not news.
        self._epoch = 1
        self._decreased_at = 0
        self._stop_event = stop_event
        self._cond = threading.Condition()

    def acquire(self):
        """Wait for a slot; return a ticket for release(), or None (no slot) when the run is being stopped."""
        with self._cond:
            while self.in_flight >= self.limit:
                if self._stop_event.is_set():
                    return None
                self._cond.wait(0.2)  # wakes now and then to see a stop
            if self._stop_event.is_set():
                return None
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return self._epoch

    def release(self, ticket, outcome=CLEAN):
        """Give the slot back, telling how the answer went: CLEAN, PUSHBACK, OVER_CAP or NEUTRAL."""
        with self._cond:
            level = self.in_flight
            self.in_flight -= 1
            if outcome == CLEAN:
                # Only a limit in use is tested by a clean answer: grown while demand stayed below it,
                # a limit would let a later burst go far past the cap at once.
                if level >= self.limit:
                    self._grow()
            elif outcome in (PUSHBACK, OVER_CAP):
                if outcome == OVER_CAP:
                    self.ceiling = max(1, min(self.ceiling, level - 1))
                    self._ceiling_until = self._clock() + self._ceiling_memory
                if ticket > self._decreased_at:
                    self.limit = max(1, self.limit // 2)
                    self._decreased_at = self._epoch
                    self._epoch += 1
                self.limit = min(self.limit, self.ceiling)
                self._slow_start = False
                self._clean_in_round = 0
            self._cond.notify_all()

    def _grow(self):
        if self._ceiling_until is not None and self._clock() >= self._ceiling_until:
            self.ceiling, self._ceiling_until = self.maximum, None  # no 47002 for long: look for the cap again
        top = min(self.maximum, self.ceiling)
        if self.limit >= top:
            return
        if self._slow_start:
            self.limit += 1
            return
        self._clean_in_round += 1
        if self._clean_in_round >= self.limit:
            self._clean_in_round = 0
            self.limit += 1
