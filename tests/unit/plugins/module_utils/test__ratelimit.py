# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import threading

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._ratelimit import RateLimiter, RequestBudget


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_run_within_the_budget_goes_out_as_one_burst():
    budget = RequestBudget(180, clock=FakeClock())
    assert [budget.reserve() for dummy in range(180)] == [0.0] * 180


def test_past_the_budget_each_request_waits_for_a_slot_a_window_later():
    clock = FakeClock()
    budget = RequestBudget(3, clock=clock, window=60)
    assert [budget.reserve() for dummy in range(7)] == [0, 0, 0, 60, 60, 60, 120]
    clock.now += 60
    assert budget.reserve() == 60  # queued behind the slot booked at 120 for an earlier caller


def test_no_sliding_window_ever_holds_more_than_the_budget():
    clock = FakeClock()
    budget = RequestBudget(10, clock=clock, window=60)
    sent = []
    for step in range(100):
        clock.now = 1000 + step * 1.7
        sent.append(clock.now + budget.reserve())
    sent.sort()
    for i, start in enumerate(sent):
        assert sum(1 for t in sent[i:] if t < start + 60) <= 10


def test_endpoints_have_separate_budgets():
    limiter = RateLimiter(2, clock=FakeClock())
    assert [limiter.reserve("/a"), limiter.reserve("/a"), limiter.reserve("/b")] == [0, 0, 0]
    assert limiter.reserve("/a") > 0


def test_zero_disables_pacing():
    limiter = RateLimiter(0)
    assert all(limiter.reserve("/a") == 0 for dummy in range(1000))


def test_reservations_are_thread_safe():
    budget = RequestBudget(50, clock=FakeClock(), window=60)
    waits = []
    lock = threading.Lock()

    def worker():
        for dummy in range(25):
            wait = budget.reserve()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for dummy in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == [0] * 50 + [60] * 50 + [120] * 50 + [180] * 50


def test_budget_must_be_positive():
    with pytest.raises(ValueError):
        RequestBudget(0)
