# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._parallel import run_parallel


def test_results_keep_the_order_of_the_items():
    stop = threading.Event()
    assert run_parallel(lambda x: (time.sleep(0.01 * (5 - x)), x * 2)[1], range(5), 4, stop) == [0, 2, 4, 6, 8]


def test_concurrency_is_bounded():
    active, peak, lock = [0], [0], threading.Lock()
    together = threading.Barrier(3, timeout=60)

    def work(number):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        if number < 3:
            together.wait()  # the first three pass only together: three run at once, however busy the machine
        with lock:
            active[0] -= 1

    run_parallel(work, range(20), 3, threading.Event())
    assert peak[0] == 3


def test_the_first_error_is_raised_here_and_stops_the_rest():
    stop = threading.Event()
    started = []

    def work(x):
        started.append(x)
        if x == 0:
            raise KeyError("boom")
        time.sleep(0.05)

    with pytest.raises(KeyError, match="boom"):
        run_parallel(work, range(50), 2, stop)
    assert stop.is_set()
    assert len(started) < 50
