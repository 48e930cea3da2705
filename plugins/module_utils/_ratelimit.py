# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Client-side pacing under GeeLark's per-API request budget.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

import collections
import threading
import time

# GeeLark counts requests per API per minute. A small margin absorbs the jitter between the
# moment a request leaves here and the moment the server counts it.
WINDOW_SECONDS = 60.5


class RequestBudget:
    """At most `per_minute` requests in any window of WINDOW_SECONDS, for one endpoint.

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
        self._lock = threading.Lock()

    def reserve(self):
        """Book the next slot; return how many seconds the caller must wait for it."""
        with self._lock:
            now = self._clock()
            if len(self._grants) < self.per_minute:
                slot = now
            else:
                slot = max(now, self._grants.popleft() + self._window)
            self._grants.append(slot)
            return slot - now


class RateLimiter:
    """One RequestBudget per endpoint, shared by every worker of a client."""

    def __init__(self, per_minute, clock=time.monotonic):
        self.per_minute = per_minute
        self._clock = clock
        self._budgets: dict[str, RequestBudget] = {}
        self._lock = threading.Lock()

    def reserve(self, endpoint):
        if not self.per_minute:
            return 0.0
        with self._lock:
            budget = self._budgets.get(endpoint)
            if budget is None:
                budget = self._budgets[endpoint] = RequestBudget(self.per_minute, clock=self._clock)
        return budget.reserve()
