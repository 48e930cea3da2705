# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The transport and its rate budget against a hostile world: planted links, a clock set back, a
server that drips its answer, answers that quote live-view URLs, a process killed while it waits."""

from __future__ import annotations

import os
import threading

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import (
    RateLimitError,
    TransportError,
    UncertainWriteError,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import LIST_PATH, STATUS_PATH
from ansible_collections.geelark.cloudphone.plugins.module_utils._ratelimit import (
    WINDOW_SECONDS,
    RateLimiter,
    budget_file_name,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._settings import ClientSettings
from ansible_collections.geelark.cloudphone.plugins.module_utils._transport import Cancelled, Transport

from ...conftest import TOKEN

PAGE = {"page": 1, "pageSize": 1}
NOW = 1_800_000_000.0  # the test's wall clock
LIVE_URL = "https://live.geelark.invalid/open?token=lv9f3e1c2b7a64d5&envName=phone-7"


def make_transport(emulator, tmp_path, **options):
    """A transport on one ClientSettings; `notice`, `log` and `wall_clock` among the options are its hooks."""
    hooks = dict((name, options.pop(name)) for name in ("notice", "log", "wall_clock") if name in options)
    values = dict(api_url=emulator.url, token=TOKEN, retries=1, retry_backoff=0.01, retry_max_delay=0.05, timeout=5,
                  rate_limit_scope="machine")
    values.update(options)
    return Transport(ClientSettings(values, budget_dir=str(tmp_path / "budget")), **hooks)


def budget_path(tmp_path, emulator, endpoint=LIST_PATH):
    return tmp_path / "budget" / budget_file_name("token:" + TOKEN, emulator.url, endpoint)


def record_sleeps(transport, events):
    """Replace the transport's waiting with a record of it (no real time passes)."""

    def sleep(seconds, counted=False):
        events.append(("sleep", seconds))

    transport._sleep = sleep


# Item 8: the budget file is never followed through a link, nor read without end.

@pytest.mark.parametrize("planted", ["symlink", "hardlink", "fifo"])
def test_a_planted_budget_file_is_left_untouched_and_the_run_warns_and_goes_on(emulator, tmp_path, planted):
    told = []
    transport = make_transport(emulator, tmp_path, notice=told.append)
    path = budget_path(tmp_path, emulator)
    path.parent.mkdir(mode=0o700)
    precious = tmp_path / "precious.txt"
    precious.write_text("my notes\n")
    if planted == "symlink":
        path.symlink_to(precious)
    elif planted == "hardlink":
        os.link(precious, path)
    else:
        os.mkfifo(path)
    assert transport.post(LIST_PATH, PAGE)["code"] == 0
    assert precious.read_text() == "my notes\n"
    assert len(told) == 1 and "cannot be shared with other processes" in told[0]
    assert {"symlink": "is a symbolic link", "hardlink": "other hard links",
            "fifo": "not a regular file"}[planted] in told[0]
    assert transport.limiter.fallback_reason


# Item 9: a clock set back, and waits that stay within rate_limit_wait and are told when they start.

def test_grants_left_ahead_by_a_clock_set_back_are_forgotten_not_waited_for(emulator, tmp_path):
    events = []
    transport = make_transport(emulator, tmp_path, wall_clock=lambda: NOW,
                               notice=lambda s: events.append(("notice", s)))
    record_sleeps(transport, events)
    path = budget_path(tmp_path, emulator)
    path.parent.mkdir(mode=0o700)
    # A busy minute booked 180 requests; then NTP stepped the clock back 15 minutes.
    path.write_text("".join("%.3f\n" % (NOW + 900 + i * 0.3) for i in range(180)))
    assert transport.post(LIST_PATH, PAGE)["code"] == 0
    assert events == [("sleep", 0.0)]
    assert all(float(line) <= NOW for line in path.read_text().split())


def test_no_wait_for_the_budget_exceeds_rate_limit_wait(emulator, tmp_path):
    events = []
    transport = make_transport(emulator, tmp_path, rate_limit=2, rate_limit_wait=10, wall_clock=lambda: NOW,
                               notice=lambda s: events.append(("notice", s)))
    record_sleeps(transport, events)
    transport.post(LIST_PATH, PAGE)
    transport.post(LIST_PATH, PAGE)
    with pytest.raises(RateLimitError) as caught:
        transport.post(LIST_PATH, PAGE)  # the next slot is a window away: more than rate_limit_wait allows
    text = str(caught.value)
    assert "No turn in the rate budget within rate_limit_wait" in text and "rate_limit_wait 10 s" in text
    assert "What to do: raise rate_limit_wait" in text
    assert max(seconds for kind, seconds in events if kind == "sleep") <= 10
    assert emulator.stats()["total_requests"] == 2


def test_a_long_wait_for_the_budget_is_announced_before_it_starts(emulator, tmp_path):
    events = []
    transport = make_transport(emulator, tmp_path, rate_limit=1, wall_clock=lambda: NOW,
                               notice=lambda s: events.append(("notice", s)))
    record_sleeps(transport, events)
    transport.post(LIST_PATH, PAGE)
    transport.post(LIST_PATH, PAGE)
    kinds = [kind for kind, value in events]
    assert kinds == ["sleep", "notice", "sleep"]
    assert "wait about 61 s for their turn in the rate budget" in events[1][1]
    assert events[2] == ("sleep", pytest.approx(WINDOW_SECONDS))


# Item 10: a process killed while its threads wait leaves one unused slot, not one per thread.

def test_threads_waiting_for_the_budget_hold_one_booked_slot_between_them(emulator, tmp_path):
    transport = make_transport(emulator, tmp_path, rate_limit=1)
    transport.post(LIST_PATH, PAGE)  # the budget is spent for a minute
    errors = []

    def send():
        try:
            transport.post(LIST_PATH, PAGE)
        except Cancelled as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send) for dummy in range(4)]
    for thread in threads:
        thread.start()
    try:
        for dummy in range(10_000):  # until all four wait for the budget (a counter, not the clock)
            if transport._waiting == 4:
                break
            threading.Event().wait(0.01)
        assert transport._waiting == 4
        # What a kill -9 now would leave in the shared file: the grant that was used, and one booking.
        grants = [float(t) for t in budget_path(tmp_path, emulator).read_text().split()]
        assert len(grants) == 2
    finally:
        transport.stop_event.set()
        for thread in threads:
            thread.join()
    assert len(errors) == 4 and emulator.stats()["total_requests"] == 1


# Item 12: after a 40007 the budget shrinks for the window, then returns to rate_limit.

def test_after_a_40007_the_budget_is_back_to_rate_limit_once_the_window_has_passed(emulator, tmp_path):
    clock = [0.0]
    transport = make_transport(emulator, tmp_path, rate_limit_scope="process")
    transport.limiter = RateLimiter(180, clock=lambda: clock[0])
    record_sleeps(transport, [])
    emulator.queue_faults({"kind": "code", "code": 40007})
    assert transport.post(LIST_PATH, PAGE)["code"] == 0
    assert transport.limiter.limit(LIST_PATH) == 1  # nothing had got through in the window
    clock[0] += WINDOW_SECONDS
    assert transport.limiter.limit(LIST_PATH) == 180
    assert transport.limiter.limit(STATUS_PATH) == 180


# Item 17: a quoted answer never shows a live-view URL.

@pytest.mark.parametrize("body", [
    '{"code": 0, "data": {"successDetails": [{"id": "1", "url": "%s"}]' % LIVE_URL,  # cut short: not JSON
    '{"code": 0, "data": {"url": "%s"}}}' % LIVE_URL.replace("/", "\\/"),  # JSON may escape "/"
    "<html><a href='%s'>open</a> gateway error</html>" % LIVE_URL,
    "gateway error, see %s" % LIVE_URL,
])
def test_an_answer_excerpt_never_shows_a_live_view_url(emulator, tmp_path, body):
    emulator.queue_faults({"kind": "raw", "body": body})
    transport = make_transport(emulator, tmp_path)
    with pytest.raises(UncertainWriteError) as caught:
        transport.post(LIST_PATH, PAGE, write=True)
    text = str(caught.value) + repr(caught.value.to_result())
    assert "lv9f3e1c2b7a64d5" not in text and "token=" not in text
    assert "The answer is not JSON" in text


def test_an_api_message_never_shows_a_url_token(emulator, tmp_path):
    emulator.queue_faults({"kind": "code", "code": 40004, "msg": "bad request for %s" % LIVE_URL})
    with pytest.raises(Exception) as caught:
        make_transport(emulator, tmp_path).post(LIST_PATH, PAGE)
    assert "lv9f3e1c2b7a64d5" not in str(caught.value) and "https://live.geelark.invalid/open?" in str(caught.value)


# Item 18: timeout bounds the whole answer, not each read.

def test_a_server_that_drips_its_answer_fails_the_read_after_its_retries(emulator, tmp_path):
    # One byte every 0.5 s for 20 s: each read succeeds, the whole answer takes far longer than 2 s.
    drip = {"kind": "drip", "interval": 0.5, "seconds": 20}
    emulator.queue_faults(drip, drip)
    transport = make_transport(emulator, tmp_path, timeout=2, retries=1)
    with pytest.raises(TransportError) as caught:
        transport.post(LIST_PATH, PAGE)
    assert "No answer within the 2s timeout" in str(caught.value)
    assert caught.value.attempts == 2 and emulator.stats()["total_requests"] == 2


def test_a_write_whose_answer_drips_is_a_lost_answer_sent_once(emulator, tmp_path):
    emulator.queue_faults({"kind": "drip", "interval": 0.5, "seconds": 20})
    transport = make_transport(emulator, tmp_path, timeout=2)
    with pytest.raises(UncertainWriteError) as caught:
        transport.post(LIST_PATH, PAGE, write=True)
    assert "No answer within the 2s timeout" in str(caught.value)
    assert "may or may not have been applied" in str(caught.value)
    assert emulator.stats()["total_requests"] == 1
    assert transport.post(LIST_PATH, PAGE)["code"] == 0  # the cut connection is not used again
