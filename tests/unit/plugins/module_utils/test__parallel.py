# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import wait

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._parallel import (
    CLEAN,
    NEUTRAL,
    OVER_CAP,
    PUSHBACK,
    AdaptiveLimit,
    BoundedPool,
    run_parallel,
)


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


def limit(maximum=32, start=4):
    return AdaptiveLimit(maximum, start, threading.Event())


def serve(gate, answers):
    """Keep every slot busy, as a run with more work than slots does, and answer the oldest request with each
    outcome in turn; return the limits seen. The requests still in flight end with NEUTRAL answers."""
    seen, tickets = [], []
    for outcome in answers:
        while gate.in_flight < gate.limit:
            tickets.append(gate.acquire())
        gate.release(tickets.pop(0), outcome)
        seen.append(gate.limit)
    for ticket in tickets:
        gate.release(ticket, NEUTRAL)
    return seen


def test_the_limit_does_not_grow_while_demand_stays_below_it():
    gate = limit(maximum=32, start=4)
    for dummy in range(50):  # one request at a time: the limit of 4 is never put to the test
        gate.release(gate.acquire(), CLEAN)
    assert gate.limit == 4
    assert serve(gate, [CLEAN] * 3) == [5, 6, 7]  # demand that fills it lets it grow, one slot at a time


def test_the_limit_grows_with_clean_answers_up_to_the_maximum():
    gate = limit(maximum=10, start=4)
    assert serve(gate, [CLEAN] * 8) == [5, 6, 7, 8, 9, 10, 10, 10]


def test_pushback_halves_the_limit_and_growth_becomes_one_per_round():
    gate = limit(maximum=32, start=16)
    assert serve(gate, [PUSHBACK]) == [8]
    assert serve(gate, [CLEAN] * 8) == [8] * 7 + [9]  # one more slot per round of 8 clean answers
    assert serve(gate, [NEUTRAL] * 3) == [9] * 3


def test_answers_to_requests_sent_before_a_decrease_do_not_halve_again():
    gate = limit(maximum=32, start=16)
    tickets = [gate.acquire() for dummy in range(10)]
    for ticket in tickets:
        gate.release(ticket, PUSHBACK)  # ten answers of one overloaded round
    assert gate.limit == 8


def test_over_the_cap_the_limit_stays_below_the_level_that_met_it():
    gate = limit(maximum=32, start=10)
    tickets = [gate.acquire() for dummy in range(7)]
    gate.release(tickets[0], OVER_CAP)  # 7 in flight: one too many
    for ticket in tickets[1:]:
        gate.release(ticket, CLEAN)
    assert gate.ceiling == 6
    serve(gate, [CLEAN] * 200)
    assert gate.limit == 6


def test_the_level_that_met_the_cap_is_forgotten_after_a_while_without_47002():
    now = [0.0]
    gate = AdaptiveLimit(32, 10, threading.Event(), clock=lambda: now[0], ceiling_memory=600)
    tickets = [gate.acquire() for dummy in range(7)]
    gate.release(tickets[0], OVER_CAP)
    for ticket in tickets[1:]:
        gate.release(ticket, CLEAN)
    now[0] += 599
    serve(gate, [CLEAN] * 100)
    assert gate.limit == 6
    now[0] += 1  # a long-lived client (the event source) is not held below it for ever
    serve(gate, [CLEAN] * 400)
    assert gate.ceiling == 32 and gate.limit > 6


def test_acquire_blocks_at_the_limit_and_a_stop_wakes_it():
    stop = threading.Event()
    gate = AdaptiveLimit(4, 1, stop)
    gate.acquire()
    got = []
    waiter = threading.Thread(target=lambda: got.append(gate.acquire()))
    waiter.start()
    stop.set()
    waiter.join(timeout=10)
    assert got == [None] and gate.in_flight == 1


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_stops_the_workers_and_is_raised_when_the_pool_is_left():
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def work(dummy):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the pool runs
        assert stop.wait(60)  # the pool's handler tells the workers to stop

    with pytest.raises(KeyboardInterrupt):
        with BoundedPool(2, stop) as pool:
            futures = [pool.submit(work, n) for n in range(2)]
            wait(futures)
    assert stop.is_set()
    assert signal.getsignal(signal.SIGINT) is previous
