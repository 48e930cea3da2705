# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A bounded thread pool for independent API calls.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait


def run_parallel(func, items, concurrency, stop_event):
    """Return [func(item) for item in items], running up to `concurrency` calls at once.

    The first failure stops the rest: calls not yet started are cancelled, calls waiting for
    their turn are woken through `stop_event`, and the failure is raised in the caller's thread.
    Ctrl-C in the caller does the same.
    """
    items = list(items)
    if concurrency <= 1 or len(items) <= 1:
        return [func(item) for item in items]
    executor = ThreadPoolExecutor(max_workers=min(concurrency, len(items)), thread_name_prefix="geelark")
    futures = [executor.submit(func, item) for item in items]
    try:
        done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            error = future.exception() if future in done else None
            if error is not None:
                raise error
        return [future.result() for future in futures]
    except BaseException:
        stop_event.set()
        for future in futures:
            future.cancel()
        raise
    finally:
        executor.shutdown(wait=True)


class BoundedPool:
    """A thread pool for work submitted as results come in, with run_parallel's failure rules.

    Used as a context manager: leaving it with an exception (a worker's, or Ctrl-C) sets
    `stop_event`, cancels what has not started and waits for what is running.
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
