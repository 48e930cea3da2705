# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A bounded thread pool for independent API calls.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait


class BoundedPool:
    """A thread pool of at most `concurrency` workers, for work submitted as results come in.

    Used as a context manager: leaving it with an exception (a worker's failure raised in the
    caller's thread, or Ctrl-C) sets `stop_event`, which wakes calls waiting for their turn,
    cancels what has not started, and waits for what is running.
    """

    def __init__(self, concurrency, stop_event):
        self._executor = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="geelark")
        self._stop_event = stop_event
        self._futures = []

    def submit(self, func, *args):
        future = self._executor.submit(func, *args)
        self._futures.append(future)
        return future

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is not None:
            self._stop_event.set()
            for future in self._futures:
                future.cancel()
        self._executor.shutdown(wait=True)
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
