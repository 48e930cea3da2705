# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
import threading

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._ratelimit import (
    ENV_BUDGET_DIR,
    SCOPE_MACHINE,
    SCOPE_PROCESS,
    SCOPE_SHARED,
    WINDOW_SECONDS,
    RateLimiter,
    RequestBudget,
    SharedBudget,
    budget_file_name,
    default_budget_dir,
)

from .fake_clock import FakeClock


def test_a_run_within_the_budget_goes_out_as_one_burst():
    budget = RequestBudget(180, clock=FakeClock(1000.0))
    assert [budget.reserve().wait for dummy in range(180)] == [0.0] * 180


def test_past_the_budget_each_request_waits_for_a_slot_a_window_later_and_none_is_booked_further():
    clock = FakeClock(1000.0)
    budget = RequestBudget(3, clock=clock, window=60)
    bookings = [budget.reserve() for dummy in range(7)]
    assert [b.wait for b in bookings] == [0, 0, 0, 60, 60, 60, 120]
    assert [b.booked for b in bookings] == [True] * 6 + [False]  # 120 s ahead: ask again later
    clock.now += 60
    assert budget.reserve().wait == 60 and budget.reserve().booked


def test_no_sliding_window_ever_holds_more_than_the_budget():
    clock = FakeClock(1000.0)
    budget = RequestBudget(10, clock=clock, window=60)
    sent = []
    for step in range(100):
        clock.now = 1000 + step * 1.7
        booking = budget.reserve()
        if booking.booked:
            sent.append(clock.now + booking.wait)
    sent.sort()
    assert len(sent) >= 30
    for i, start in enumerate(sent):
        assert sum(1 for t in sent[i:] if t < start + 60) <= 10


def test_endpoints_have_separate_budgets():
    limiter = RateLimiter(2, clock=FakeClock(1000.0))
    assert limiter.scope == SCOPE_PROCESS
    assert [limiter.reserve("/a").wait, limiter.reserve("/a").wait, limiter.reserve("/b").wait] == [0, 0, 0]
    assert limiter.reserve("/a").wait > 0


def test_zero_disables_pacing():
    limiter = RateLimiter(0)
    assert all(limiter.reserve("/a").wait == 0 for dummy in range(1000))


def test_reservations_are_thread_safe():
    budget = RequestBudget(50, clock=FakeClock(1000.0), window=60)
    waits = []
    lock = threading.Lock()

    def worker():
        for dummy in range(25):
            booking = budget.reserve()
            with lock:
                waits.append(booking.wait if booking.booked else None)

    threads = [threading.Thread(target=worker) for dummy in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(w for w in waits if w is not None) == [0] * 50 + [60] * 50
    assert waits.count(None) == 100  # beyond one window: not booked, asked again later


def test_budget_must_be_positive():
    with pytest.raises(ValueError):
        RequestBudget(0)


def test_a_shrunk_budget_paces_at_the_lower_rate():
    clock = FakeClock(1000.0)
    limiter = RateLimiter(180, clock=clock)
    limiter.shrink("/a", 2)
    assert [limiter.reserve("/a").wait for dummy in range(3)] == [0, 0, WINDOW_SECONDS]
    limiter.shrink("/a", 50)  # a later, milder refusal does not raise it
    assert limiter.limit("/a") == 2 and limiter.limit("/b") == 180


def test_a_shrunk_budget_returns_to_rate_limit_once_a_window_passes_without_refusal():
    clock = FakeClock(1000.0)
    limiter = RateLimiter(180, clock=clock)
    limiter.shrink("/a", 1)  # one 40007 that nothing got through before
    clock.now += WINDOW_SECONDS - 1
    assert limiter.limit("/a") == 1
    limiter.shrink("/a", 3)  # another refusal within the window: still 1, for a window from now
    clock.now += WINDOW_SECONDS - 1
    assert limiter.limit("/a") == 1
    clock.now += 1
    assert limiter.limit("/a") == 180  # a long-lived client (the event source) is not throttled for good
    assert [limiter.reserve("/a").wait for dummy in range(180)] == [0] * 180


def test_processes_sharing_a_directory_share_one_budget(tmp_path):
    clock = FakeClock(1000.0)
    first, second = (RateLimiter(3, scope=SCOPE_MACHINE, identity="token:abc", api_url="https://x",
                                 budget_dir=str(tmp_path), wall_clock=clock) for dummy in range(2))
    assert [first.reserve("/a").wait, second.reserve("/a").wait, first.reserve("/a").wait] == [0, 0, 0]
    assert second.reserve("/a").wait == WINDOW_SECONDS
    assert first.reserve("/b").wait == 0  # another endpoint, another file
    other_account = RateLimiter(3, scope=SCOPE_MACHINE, identity="token:xyz", api_url="https://x",
                                budget_dir=str(tmp_path), wall_clock=clock)
    assert other_account.reserve("/a").wait == 0
    assert first.fallback_reason is None and len(os.listdir(tmp_path)) == 3


def test_budget_files_are_named_by_a_hash_and_hold_only_times(tmp_path):
    limiter = RateLimiter(3, scope=SCOPE_MACHINE, identity="token:secret-token-value", api_url="https://x",
                          budget_dir=str(tmp_path / "budget"))
    limiter.reserve("/open/v1/phone/status")
    (name,) = os.listdir(tmp_path / "budget")
    assert name == budget_file_name("token:secret-token-value", "https://x", "/open/v1/phone/status")
    assert "secret" not in name
    text = (tmp_path / "budget" / name).read_text()
    assert [float(line) for line in text.split()] and "secret" not in text
    assert (tmp_path / "budget").stat().st_mode & 0o777 == 0o700


def test_torn_or_foreign_lines_in_a_budget_file_are_ignored(tmp_path):
    path = tmp_path / "state"
    path.write_text("garbage\n1000.0\n10")  # a killed writer's leftovers
    budget = SharedBudget(str(path), 2, clock=FakeClock(1000.0), window=60)
    assert budget.reserve().wait == 0  # 1000.0 still counts, 10 is long gone
    assert budget.reserve().wait == 60


def test_threads_of_one_process_share_the_file_budget_without_losing_a_slot(tmp_path):
    clock = FakeClock(1000.0)
    limiter = RateLimiter(20, scope=SCOPE_MACHINE, identity="app:1", api_url="https://x", budget_dir=str(tmp_path),
                          wall_clock=clock)
    waits = []
    lock = threading.Lock()

    def worker():
        for dummy in range(10):
            booking = limiter.reserve("/a")
            with lock:
                waits.append(booking.wait if booking.booked else None)

    threads = [threading.Thread(target=worker) for dummy in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(w for w in waits if w is not None) == [0] * 20 + [WINDOW_SECONDS] * 20
    assert waits.count(None) == 20


@pytest.mark.parametrize("make_unusable", ["file", "group_writable"])
def test_an_unusable_directory_falls_back_to_a_process_budget_and_warns_once(tmp_path, make_unusable):
    target = tmp_path / "budget"
    if make_unusable == "file":
        target.write_text("")
    else:
        target.mkdir(mode=0o700)
        target.chmod(0o777)
    warnings = []
    limiter = RateLimiter(2, scope=SCOPE_MACHINE, identity="app:1", api_url="https://x", budget_dir=str(target),
                          clock=FakeClock(1000.0), warn=warnings.append)
    assert [limiter.reserve("/a").wait, limiter.reserve("/a").wait, limiter.reserve("/b").wait] == [0, 0, 0]
    assert limiter.reserve("/a").wait > 0  # still paced, per process
    assert len(warnings) == 1 and "rate_limit_scope: process" in warnings[0]
    assert limiter.fallback_reason


def test_process_scope_never_touches_the_disk(tmp_path):
    limiter = RateLimiter(2, scope=SCOPE_PROCESS, identity="app:1", api_url="https://x", budget_dir=str(tmp_path / "b"))
    limiter.reserve("/a")
    assert not (tmp_path / "b").exists()


def test_the_default_directory_is_per_user(tmp_path):
    assert default_budget_dir({ENV_BUDGET_DIR: "/somewhere"}) == "/somewhere"
    assert default_budget_dir({"XDG_RUNTIME_DIR": str(tmp_path)}) == str(tmp_path / "geelark.cloudphone" / "budget")
    assert default_budget_dir({"XDG_RUNTIME_DIR": str(tmp_path / "missing")}).endswith(
        os.path.join(".cache", "geelark.cloudphone", "budget"))


def test_grants_from_a_clock_that_was_set_back_do_not_stall_the_budget(tmp_path):
    path = tmp_path / "state"
    path.write_text("%f\n" % (1000.0 + 86400))  # booked "tomorrow" before the clock was corrected
    budget = SharedBudget(str(path), 1, clock=FakeClock(1000.0), window=60)
    assert budget.reserve().wait == 0


def test_after_a_refusal_the_budget_shrinks_to_what_got_through_on_the_whole_machine(tmp_path):
    clock = FakeClock(1000.0)
    forks = [RateLimiter(180, scope=SCOPE_MACHINE, identity="token:abc", api_url="https://x",
                         budget_dir=str(tmp_path), wall_clock=clock) for dummy in range(10)]
    for fork in forks:  # one request each, as one task per host on ten forks sends
        assert fork.reserve("/a").wait == 0
    clock.now += 1
    for fork in forks[6:]:  # the API allowed six: the last four were refused
        fork.refused("/a")
    assert [fork.limit("/a") for fork in forks[6:]] == [9, 8, 7, 6]  # not one each: the machine got six through
    assert forks[0].limit("/a") == 180  # a run that met no refusal keeps its budget


def test_a_refusal_in_a_process_budget_counts_this_process_only():
    clock = FakeClock(1000.0)
    limiter = RateLimiter(180, clock=clock)
    for dummy in range(5):
        limiter.reserve("/a")
    clock.now += 1
    limiter.refused("/a")
    limiter.refused("/a")
    assert limiter.limit("/a") == 3
    assert limiter.reserve("/a").wait == pytest.approx(WINDOW_SECONDS - 1)  # the fourth request waits for the window


@pytest.mark.parametrize("spelling", ["https://OPENAPI.geelark.com", "https://openapi.geelark.com:443",
                                      "HTTPS://OpenAPI.GeeLark.com/", "https://openapi.geelark.com./"])
def test_every_spelling_of_one_api_url_shares_one_budget(spelling):
    assert budget_file_name("token:a", spelling, "/x") == budget_file_name("token:a", "https://openapi.geelark.com",
                                                                           "/x")


def test_another_port_or_scheme_is_another_budget():
    base = budget_file_name("token:a", "https://h.example", "/x")
    assert budget_file_name("token:a", "https://h.example:8443", "/x") != base
    assert budget_file_name("token:a", "http://h.example", "/x") != base
    assert budget_file_name("token:a", "http://h.example:80", "/x") == budget_file_name("token:a", "http://h.example",
                                                                                        "/x")


def test_a_grant_more_than_one_window_ahead_is_forgotten(tmp_path):
    path = tmp_path / "state"
    path.write_text("".join("%.3f\n" % (1000.0 + 900 + i) for i in range(180)))  # a busy minute, then a step back
    budget = SharedBudget(str(path), 180, clock=FakeClock(1000.0), window=60)
    assert budget.reserve().wait == 0
    assert path.read_text() == "1000.000\n"


class DownServer:
    """A shared budget server that never answers, as one that is stopped or unreachable."""

    calls = 0
    name = "redis://redis.example.com:6379/0"
    label = "redis server redis.example.com:6379 db 0, no password"

    def budget(self, identity, api_url, endpoint, per_minute, window):
        return self

    def carry(self, ages):
        pass

    def reserve(self, per_minute=None, max_wait=None):
        DownServer.calls += 1
        raise OSError("redis://redis.example.com:6379/0: Error 111 connecting. Connection refused.")

    refuse = reserve


@pytest.mark.parametrize("per_minute, nodes, share", [(180, 4, 45), (8, 3, 2), (5, 10, 1)])
def test_a_shared_scope_whose_server_is_down_keeps_the_nodes_share_and_never_runs_unthrottled(
        tmp_path, per_minute, nodes, share):
    warnings = []
    limiter = RateLimiter(per_minute, scope=SCOPE_SHARED, identity="token:abc", api_url="https://x",
                          budget_dir=str(tmp_path), clock=FakeClock(1000.0), wall_clock=FakeClock(1000.0),
                          warn=warnings.append,
                          server=DownServer(), nodes=nodes)
    bookings = [limiter.reserve("/a") for dummy in range(share + 1)]
    assert [b.wait for b in bookings] == [0] * share + [WINDOW_SECONDS]
    assert limiter.limit("/a") == share and limiter.share == share
    limiter.refused("/a")  # a refusal counts on the stand-in too
    assert len(warnings) == 1 and "rate_limit %d / rate_limit_nodes %d" % (per_minute, nodes) in warnings[0]
    assert "Error 111" in warnings[0]
    assert len(os.listdir(tmp_path)) == 1  # the stand-in is the machine budget


def test_the_down_server_is_not_asked_again_before_a_window_has_passed(tmp_path):
    clock = FakeClock(1000.0)
    DownServer.calls = 0
    warnings = []
    limiter = RateLimiter(180, scope=SCOPE_SHARED, identity="token:abc", api_url="https://x", budget_dir=str(tmp_path),
                          clock=clock, server=DownServer(), nodes=2, warn=warnings.append)
    for dummy in range(20):
        limiter.reserve("/a")
        limiter.reserve("/b")
    assert DownServer.calls == 1  # a lost server costs one failed call a window, not one per request
    clock.now += WINDOW_SECONDS
    limiter.reserve("/b")
    assert DownServer.calls == 2
    assert len(warnings) == 1  # said once per run, however often it fails


def test_a_down_server_and_an_unusable_budget_directory_still_pace_at_the_share(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    warnings = []
    limiter = RateLimiter(6, scope=SCOPE_SHARED, identity="token:abc", api_url="https://x",
                          budget_dir=str(blocker / "budget"), clock=FakeClock(1000.0), warn=warnings.append,
                          server=DownServer(), nodes=3)
    assert [limiter.reserve("/a").wait for dummy in range(3)] == [0, 0, WINDOW_SECONDS]
    assert len(warnings) == 1


def test_scope_shared_needs_a_server():
    with pytest.raises(ValueError):
        RateLimiter(5, scope=SCOPE_SHARED)


def test_a_slot_one_window_ahead_is_booked_although_its_grant_was_rounded_up_in_the_file(tmp_path):
    # Grants are kept to the millisecond: 1000.0006 is written 1000.001. A third request 0.1 ms later, on a budget
    # of 2, gets the slot a window after the first, which now reads 60.0003 s ahead: still one window, booked.
    clock = FakeClock(1000.0006)
    budget = SharedBudget(str(tmp_path / "state"), 2, clock=clock, window=60)
    assert [budget.reserve().wait for dummy in range(2)] == pytest.approx([0, 0], abs=0.001)
    clock.now += 0.0001
    third = budget.reserve()
    assert third.booked and third.wait == pytest.approx(60, abs=0.001)
