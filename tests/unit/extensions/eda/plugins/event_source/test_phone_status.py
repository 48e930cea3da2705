# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The phone_status event source's main(), driven with a list-backed queue against the emulator.

Phones move on their k-th status read (the emulator's read counter), and every test waits on those
counts, never on the clock.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import yaml

from ansible_collections.geelark.cloudphone.extensions.eda.plugins.event_source import phone_status
from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import ConfigError
from ansible_collections.geelark.cloudphone.plugins.module_utils._settings import API_OPTIONS
from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import STATUS_PATH, LIST_PATH

TOKEN = "tok-3f9a1c5e7b2d4f60"
CONTRACT_KEYS = {"type", "id", "serial_name", "status", "status_name", "previous_status", "previous_status_name",
                 "seen_at"}
# Generous bound on how long a test waits for the emulator's counters (checked every 10 ms): a
# failing source ends the test with a clear message instead of hanging it.
WAIT_STEPS = 6000


class ListQueue:
    """What main() needs of an asyncio.Queue, keeping every event in a list."""

    def __init__(self):
        self.events = []

    async def put(self, event):
        self.events.append(event)


def fleet_ids(emulator, count):
    return list(emulator.true_status())[:count]


def settle(emulator, ids=None):
    """Phones that start out `starting` boot on their own; make them `started` so only the test moves phones."""
    booting = [i for i, status in emulator.true_status().items() if status == 1 and (ids is None or i in ids)]
    if booting:
        emulator.set_status(booting, 0)


def args_for(emulator, **options):
    args = dict(api_url=emulator.url, token=TOKEN, interval=0.001, retries=0, timeout=5)
    args.update(options)
    return args


def run_source(args, until, queue=None):
    """Run main() until `until(queue)` holds, then cancel it the way ansible-rulebook does; return the queue."""
    queue = queue or ListQueue()

    async def scenario():
        task = asyncio.ensure_future(phone_status.main(queue, args))
        for _step in range(WAIT_STEPS):
            if task.done():
                task.result()  # the source stopped by itself: raise what it raised
                raise AssertionError("the source returned; it must run until cancelled")
            if until(queue):
                break
            await asyncio.sleep(0.01)
        else:
            task.cancel()
            raise AssertionError("the condition was not reached; events so far: %s" % queue.events)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    return queue


def reads_at_least(emulator, phone_id, count):
    return lambda queue: emulator.status_reads(phone_id) >= count


def test_a_phone_that_changes_gives_exactly_one_event(emulator):
    a, b = fleet_ids(emulator, 2)
    emulator.set_status([a, b], 0)
    emulator.set_status([a], 2, on_read=3)
    # Read 6 starts only after the answer to read 5 was turned into events, so read 3's change is in.
    queue = run_source(args_for(emulator, ids=[a, b]), reads_at_least(emulator, a, 6))
    assert queue.events == [dict(
        type="changed", id=a, serial_name=emulator.state.phones[a]["serialName"], status=2, status_name="shut_down",
        previous_status=0, previous_status_name="started", seen_at=queue.events[0]["seen_at"])]
    assert set(queue.events[0]) == CONTRACT_KEYS
    assert queue.events[0]["seen_at"].endswith("+00:00")


def test_nothing_changes_no_event(emulator):
    ids = fleet_ids(emulator, 3)
    queue = run_source(args_for(emulator, ids=ids), reads_at_least(emulator, ids[0], 5))
    assert queue.events == []


def test_emit_initial_gives_one_event_per_phone_then_only_changes(emulator):
    ids = fleet_ids(emulator, 3)
    emulator.set_status(ids, 2)
    emulator.set_status(ids[1:2], 1, on_read=2)
    queue = run_source(args_for(emulator, ids=ids, emit_initial=True), reads_at_least(emulator, ids[0], 5))
    initial = [e for e in queue.events if e["type"] == "initial"]
    assert [e["id"] for e in initial] == ids
    assert all(e["previous_status"] is None and e["status_name"] == "shut_down" for e in initial)
    changed = [e for e in queue.events if e["type"] == "changed"]
    assert [(e["id"], e["previous_status_name"], e["status_name"]) for e in changed] == [
        (ids[1], "shut_down", "starting")]
    assert len(queue.events) == 4


def after_poll(monkeypatch, number, change):
    """Run `change` right after the source's poll `number` (1-based), between two polls: no timing involved."""
    real_poll = phone_status.PhoneWatcher.poll
    polls = [0]

    def poll(watcher):
        events = real_poll(watcher)
        polls[0] += 1
        if polls[0] == number:
            change()
        return events

    monkeypatch.setattr(phone_status.PhoneWatcher, "poll", poll)


def delete_phone(emulator, phone_id):
    with emulator.state.lock:
        emulator.state.phones.pop(phone_id)


def test_an_id_the_api_does_not_know_is_a_warning_and_is_not_asked_for_again(emulator):
    a, b = fleet_ids(emulator, 2)
    delete_phone(emulator, a)
    queue = run_source(args_for(emulator, ids=[a, b]), reads_at_least(emulator, b, 6))
    assert [e["type"] for e in queue.events] == ["warning"]
    assert queue.events[0]["ids"] == [a] and queue.events[0]["code"] == 42001
    assert emulator.status_reads(a) == 1


def test_a_phone_deleted_while_watched_gives_one_vanished_event(emulator, monkeypatch):
    a, b = fleet_ids(emulator, 2)
    before = emulator.state.phones[a]["status"]
    after_poll(monkeypatch, 2, lambda: delete_phone(emulator, a))
    queue = run_source(args_for(emulator, ids=[a, b]), reads_at_least(emulator, b, 8))
    assert [(e["type"], e["id"]) for e in queue.events] == [("vanished", a)]
    event = queue.events[0]
    assert event["status"] is None and event["status_name"] is None
    assert event["previous_status"] == before
    assert set(event) == CONTRACT_KEYS
    assert emulator.status_reads(a) == 3  # the read that found it gone, and none after


def test_filters_watch_a_group_and_a_phone_leaving_it_is_read_once_more(emulator, monkeypatch):
    group = [p for p in emulator.state.phones.values() if p["group"]["name"] == "warmup"]
    mover, stayer = group[0]["id"], group[1]["id"]
    settle(emulator)
    emulator.set_status([mover, stayer], 0)

    def move():
        with emulator.state.lock:
            emulator.state.phones[mover]["group"] = {"id": "1", "name": "elsewhere", "remark": ""}
            emulator.state.phones[mover]["status"] = 2

    after_poll(monkeypatch, 2, move)
    queue = run_source(args_for(emulator, filters={"group_name": "warmup"}), reads_at_least(emulator, stayer, 6))
    assert [(e["type"], e["id"], e["status_name"]) for e in queue.events] == [("changed", mover, "shut_down")]
    assert emulator.status_reads(mover) == 3  # two polls in the group, one final read by ID, then no more


def test_every_phone_is_watched_with_100_ids_per_status_call_and_full_pages(emulator):
    first = fleet_ids(emulator, 1)[0]
    settle(emulator)
    emulator.reset()
    queue = run_source(args_for(emulator), reads_at_least(emulator, first, 3))
    assert queue.events == []
    with emulator.state.lock:
        requests = [(path, json.loads(raw)) for path, raw in emulator.state.bodies]
    # Split the requests into polls (each starts with list page 1); the last poll may have been cut
    # short by the cancellation, every complete one costs 3 list pages and 3 status calls of <= 100 IDs.
    polls = []
    for path, body in requests:
        if path == LIST_PATH and body["page"] == 1:
            polls.append([])
        polls[-1].append((path, body))
    assert len(polls) >= 3
    for poll in polls[:-1]:
        assert sorted(body["page"] for path, body in poll if path == LIST_PATH) == [1, 2, 3]
        assert all(body["pageSize"] == 100 for path, body in poll if path == LIST_PATH)
        status_calls = [body["ids"] for path, body in poll if path == STATUS_PATH]
        assert sorted(len(ids) for ids in status_calls) == [50, 100, 100]


def test_the_budget_is_kept_when_polls_come_faster_than_it_allows(emulator, monkeypatch):
    from ansible_collections.geelark.cloudphone.plugins.module_utils._ratelimit import RateLimiter

    # The client's limiter runs on a test clock: each request's wait is skipped by moving the clock,
    # and the clock time each request leaves at is recorded.
    sent_at = []
    clock = [0.0]
    build = phone_status.GeeLarkClient

    def client_of(settings, **kwargs):
        client = build(settings, **kwargs)
        client.transport.limiter = RateLimiter(settings.rate_limit, clock=lambda: clock[0])

        def wait_then_send(seconds, counted=False):
            clock[0] += seconds
            sent_at.append(clock[0])

        client.transport._sleep = wait_then_send
        return client

    monkeypatch.setattr(phone_status, "GeeLarkClient", client_of)
    ids = fleet_ids(emulator, 250)
    run_source(args_for(emulator, ids=ids, rate_limit=6), reads_at_least(emulator, ids[0], 5))
    assert len(sent_at) >= 12
    # 3 calls per poll, 6 allowed per minute: no minute of the test clock saw more than 6 requests.
    assert max(sum(1 for t in sent_at if start <= t < start + 60) for start in sent_at) == 6
    assert sent_at[-1] >= 60 * (len(sent_at) // 6 - 1)


def test_api_errors_become_warning_events_and_the_source_carries_on(emulator):
    a = fleet_ids(emulator, 1)[0]
    emulator.set_status([a], 0)
    emulator.queue_faults({"kind": "code", "code": 50000, "msg": "server busy"},
                          {"kind": "http", "status": 502}, {"kind": "code", "code": 40003, "msg": "sign"})
    emulator.set_status([a], 2, on_read=2)
    queue = run_source(args_for(emulator, ids=[a], max_backoff=0.01), reads_at_least(emulator, a, 4))
    kinds = [e["type"] for e in queue.events]
    assert kinds[:3] == ["warning", "warning", "warning"]
    assert [e["consecutive_failures"] for e in queue.events[:3]] == [1, 2, 3]
    assert [e["code"] for e in queue.events[:3]] == [50000, None, 40003]
    assert all(e["retry_in"] <= 0.01 for e in queue.events[:3])
    assert kinds[3:] == ["changed"]
    assert TOKEN not in json.dumps(queue.events)


def test_an_unreachable_api_is_a_warning_not_a_crash(emulator):
    url = emulator.url
    emulator.stop()
    queue = run_source(dict(api_url=url, token=TOKEN, interval=0.001, retries=0, timeout=2, max_backoff=0.001),
                       lambda queue: len(queue.events) >= 3)
    assert {e["type"] for e in queue.events} == {"warning"}
    assert "Cannot reach" in queue.events[0]["message"]
    assert TOKEN not in json.dumps(queue.events)


def test_credentials_come_from_the_environment(emulator, monkeypatch):
    monkeypatch.setenv("GEELARK_TOKEN", TOKEN)
    monkeypatch.setenv("GEELARK_API_URL", emulator.url)
    a = fleet_ids(emulator, 1)[0]
    queue = run_source(dict(ids=[a], interval=0.001, emit_initial=True), reads_at_least(emulator, a, 2))
    assert queue.events[0]["type"] == "initial"


def test_an_empty_argument_counts_as_not_set_and_the_environment_applies(emulator, monkeypatch):
    """token: "{{ geelark_token }}" rendered empty never hides GEELARK_TOKEN, as in the modules and the inventory."""
    monkeypatch.setenv("GEELARK_TOKEN", TOKEN)
    monkeypatch.setenv("GEELARK_API_URL", emulator.url)
    a = fleet_ids(emulator, 1)[0]
    queue = run_source(dict(ids=[a], token="", api_url="", interval=0.001, emit_initial=True),
                       reads_at_least(emulator, a, 2))
    assert queue.events[0]["type"] == "initial"
    settings = phone_status.Settings(dict(token="", api_url=" ", app_id="", interval=1))
    # The empty app_id is remembered only to say so when no credential is found at all.
    assert settings.client_settings.sources == {"token": "environment variable GEELARK_TOKEN",
                                                "api_url": "environment variable GEELARK_API_URL",
                                                "app_id": "empty in the source's arguments"}


@pytest.mark.parametrize("args, message", [
    ({"ids": ["1"], "filters": {"group_name": "x"}}, "ids or filters, not both"),
    ({"idz": ["1"]}, "unknown option idz"),
    ({"interval": 0}, "interval must be a number of seconds above 0"),
    ({"interval": "10"}, "interval must be"),
    ({"filters": {"group": "x"}}, "Unknown filter 'group'"),
    ({"filters": ["warmup"]}, "filters must be a mapping"),
    ({"ids": [1.5e17]}, "lose precision"),
    ({"emit_initial": "yes"}, "emit_initial must be true or false"),
    ({"token": TOKEN, "app_id": "a", "api_key": "k"}, "Both auth schemes"),
])
def test_bad_options_fail_before_any_request_with_a_clear_message(emulator, args, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        asyncio.run(phone_status.main(ListQueue(), dict(args, api_url=emulator.url, **(
            {} if "token" in args else {"token": TOKEN}))))
    assert emulator.stats()["total_requests"] == 0


def test_documentation_parses_and_documents_every_option_main_reads():
    doc = yaml.safe_load(phone_status.DOCUMENTATION)
    documented = doc["options"]
    accepted = set(o.name for o in phone_status.SOURCE_OPTIONS + API_OPTIONS)
    assert set(documented) == accepted
    defaults = dict((o.name, o.default) for o in phone_status.SOURCE_OPTIONS + API_OPTIONS)
    for name, spec in documented.items():
        assert spec.get("description"), name
        assert spec.get("default") == defaults[name], name
    examples = yaml.safe_load(phone_status.EXAMPLES)
    for ruleset in examples:
        for source in ruleset["sources"]:
            assert set(source["geelark.cloudphone.phone_status"]) <= accepted


# Issue 21 item 13: one bad answer never makes the source forget a phone.

def list_bodies(emulator):
    return emulator.request_bodies(LIST_PATH)


def test_one_transient_42001_keeps_the_phone_watched_and_its_later_stop_is_reported(emulator):
    a, b = fleet_ids(emulator, 2)
    emulator.set_status([a, b], 0)
    # The first status answer claims `a` does not exist; the list read by ID finds it.
    emulator.queue_faults({"kind": "fail_detail", "ids": [a], "code": 42001, "msg": "env not found"})
    emulator.set_status([a], 2, on_read=4)
    queue = run_source(args_for(emulator, ids=[a, b]), reads_at_least(emulator, b, 7))
    kinds = [(e["type"], e.get("id")) for e in queue.events]
    assert ("vanished", a) not in kinds, queue.events
    assert [(e["id"], e["previous_status_name"], e["status_name"]) for e in queue.events
            if e["type"] == "changed"] == [(a, "started", "shut_down")]
    # The one 42001 was checked with a list read by ID, and named in a warning (no status this poll).
    assert {"ids": [a]} in [dict((k, v) for k, v in body.items() if k == "ids") for body in list_bodies(emulator)]
    warnings = [e for e in queue.events if e["type"] == "warning"]
    assert len(warnings) == 1 and warnings[0]["ids"] == [a] and "42001" in warnings[0]["message"]


def test_a_phone_the_list_confirms_deleted_vanishes_at_once(emulator, monkeypatch):
    a, b = fleet_ids(emulator, 2)
    after_poll(monkeypatch, 1, lambda: delete_phone(emulator, a))
    queue = run_source(args_for(emulator, ids=[a, b]), reads_at_least(emulator, b, 6))
    assert [(e["type"], e["id"]) for e in queue.events] == [("vanished", a)]
    assert [body.get("ids") for body in list_bodies(emulator)] == [[a]]
    assert emulator.status_reads(a) == 2


def test_42001_twice_in_a_row_vanishes_a_phone_when_the_list_cannot_be_read(emulator):
    a, b = fleet_ids(emulator, 2)
    # Polls 2 and 3 answer 42001 for `a`, and both list reads that would settle it fail.
    emulator.queue_faults({"kind": "fail_detail", "ids": [a], "skip": 1, "times": 2},
                          {"kind": "http", "status": 502, "path": LIST_PATH, "times": 2})
    queue = run_source(args_for(emulator, ids=[a, b]), reads_at_least(emulator, b, 6))
    assert [(e["type"], e.get("id")) for e in queue.events] == [("warning", None), ("vanished", a)]
    assert queue.events[0]["ids"] == [a]  # poll 2: no status, the last known one kept
    assert emulator.status_reads(a) == 3
    assert len(list_bodies(emulator)) == 2


def test_a_42001_the_list_contradicts_never_vanishes_the_phone(emulator):
    a, b = fleet_ids(emulator, 2)
    emulator.set_status([a, b], 0)
    emulator.queue_faults({"kind": "fail_detail", "ids": [a], "times": 3})
    emulator.set_status([a], 2, on_read=5)
    queue = run_source(args_for(emulator, ids=[a, b]), reads_at_least(emulator, b, 8))
    assert "vanished" not in [e["type"] for e in queue.events]
    assert [(e["id"], e["status_name"]) for e in queue.events if e["type"] == "changed"] == [(a, "shut_down")]


# Issue 21 item 14: a phone leaves the selection only when a consistent reading says so.

def test_a_phone_missing_from_one_listing_stays_watched_with_one_initial_event(emulator):
    a, b, c = fleet_ids(emulator, 3)
    emulator.set_status([a, b, c], 0)
    # The second poll's listing leaves `a` out; `a` stops later and that must still be seen.
    emulator.queue_faults({"kind": "omit", "ids": [a], "skip": 1})
    emulator.set_status([a], 2, on_read=4)
    queue = run_source(args_for(emulator, filters={"ids": [a, b, c]}, emit_initial=True),
                       reads_at_least(emulator, b, 7))
    initial = [e["id"] for e in queue.events if e["type"] == "initial"]
    assert sorted(initial) == sorted([a, b, c])
    assert [(e["id"], e["status_name"]) for e in queue.events if e["type"] == "changed"] == [(a, "shut_down")]
    assert emulator.status_reads(a) >= 5  # read on every poll, the gap included


def test_a_listing_that_never_adds_up_changes_nothing_in_the_selection(emulator):
    group = [p["id"] for p in emulator.state.phones.values() if p["group"]["name"] == "warmup"]
    first, other = group[0], group[1]
    settle(emulator)
    emulator.set_status([first, other], 0)
    # Poll 2's listing hides `first` in every reading: the poll fails, and `first` stays watched.
    emulator.queue_faults({"kind": "omit", "ids": [first], "skip": 1, "times": 3})
    emulator.set_status([first], 2, on_read=3)
    queue = run_source(args_for(emulator, filters={"group_name": "warmup"}, emit_initial=True, max_backoff=0.001),
                       reads_at_least(emulator, other, 5))
    assert [e["id"] for e in queue.events if e["type"] == "initial"] == group
    assert [(e["id"], e["status_name"]) for e in queue.events if e["type"] == "changed"] == [(first, "shut_down")]
    assert any(e["type"] == "warning" for e in queue.events)


# Issue 22 item 10: an option that would watch nothing, or the wrong phone, is refused at startup.

class FakeStrictUndefined:
    """What ansible-rulebook passes for "{{ phone_ids }}" when phone_ids is not set (a jinja2 StrictUndefined)."""

    _undefined_name = "phone_ids"


FakeStrictUndefined.__name__ = "StrictUndefined"


@pytest.mark.parametrize("ids, message", [
    ([], "ids is empty"),
    (["6.01876382020062634e17"], "floating point"),
    (["601876382020062634.0"], "floating point"),
    (FakeStrictUndefined(), "'phone_ids' is not defined"),
])
def test_ids_that_would_watch_nothing_or_the_wrong_phone_are_refused(emulator, ids, message):
    with pytest.raises(ConfigError, match=message):
        asyncio.run(phone_status.main(ListQueue(), args_for(emulator, ids=ids)))
    assert emulator.stats()["total_requests"] == 0
