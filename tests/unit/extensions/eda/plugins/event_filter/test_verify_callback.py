# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The verify_callback event filter, on webhook events signed as GeeLark signs its callbacks."""

from __future__ import annotations

import time
import uuid

import pytest
import yaml

from ansible_collections.geelark.cloudphone.extensions.eda.plugins.event_filter import verify_callback
from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import expected_signature

APP_ID = "eH6gQR4oHr3FsZpI36La01IW"
API_KEY = "YjmFIUuq0oJgSDJ42fxLEb6R1qjjqf"
STOPPED = {"type": 8, "id": "601876382020062634", "username": "GeeLark", "ip": "203.0.113.9",
           "eventTime": 1766567054, "useMin": 42}


@pytest.fixture(autouse=True)
def fresh_guards(monkeypatch):
    monkeypatch.setattr(verify_callback, "_GUARDS", {})


def webhook_event(payload=None, ts_offset_ms=0, app_id=APP_ID, api_key=API_KEY, trace_id=None, lower=False, **over):
    """An event as ansible-rulebook's webhook source makes it of a GeeLark key-scheme callback."""
    trace_id = trace_id or uuid.uuid4().hex.upper()
    ts = str(int(time.time() * 1000) + ts_offset_ms)
    headers = {"Content-Type": "application/json", "traceId": trace_id, "appId": app_id, "ts": ts,
               "nonce": trace_id[:6], "sign": expected_signature(app_id, trace_id, ts, trace_id[:6], api_key)}
    headers.update(over)
    if lower:
        headers = dict((k.lower(), v) for k, v in headers.items())
    return {"payload": dict(payload or STOPPED), "meta": {"endpoint": "geelark", "headers": headers}}


def run(event, **options):
    return verify_callback.main(event, **dict(dict(app_id=APP_ID, api_key=API_KEY), **options))


def test_a_signed_callback_passes_with_its_summary():
    event = webhook_event()
    accepted = run(event)
    assert accepted["payload"] == STOPPED and accepted["meta"] == event["meta"]
    assert accepted["geelark"] == {"type": 8, "type_name": "phone_stopped", "ids": ["601876382020062634"],
                                   "id": "601876382020062634", "callback_ids": ["601876382020062634"]}


def test_header_names_in_any_case_are_read():
    assert run(webhook_event(lower=True))["geelark"]["type_name"] == "phone_stopped"


@pytest.mark.parametrize("event, reason", [
    (lambda: webhook_event(api_key="another-key"), "signature does not match"),
    (lambda: webhook_event(app_id="another-app"), "is not this account's app ID"),
    (lambda: webhook_event(ts_offset_ms=-301000), "before now"),
    (lambda: webhook_event(ts_offset_ms=301000), "after now"),
    (lambda: webhook_event(nonce="ABCDEF"), "nonce"),
    (lambda: webhook_event(ts="soon"), "not a timestamp"),
    (lambda: webhook_event(sign=""), "headers sign are missing"),
    (lambda: {"payload": STOPPED}, "not a webhook request"),
    (lambda: {"payload": [1], "meta": {"headers": {}}}, "not a webhook request"),
])
def test_bad_or_stale_callbacks_are_dropped_with_the_reason_logged(event, reason, caplog):
    assert run(event()) == []
    assert reason in caplog.text


def test_a_repeated_delivery_is_dropped():
    event = webhook_event()
    assert run(event)["geelark"]["type"] == 8
    assert run(event) == []


def test_max_age_widens_the_window():
    assert run(webhook_event(ts_offset_ms=-400000), max_age=600)["geelark"]["type"] == 8


def test_verify_none_only_deduplicates_and_summarises():
    event = webhook_event(sign="bogus")
    assert run(event, verify="none", app_id=None, api_key=None)["geelark"]["type"] == 8
    assert run(event, verify="none") == []


def test_credentials_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GEELARK_APP_ID", APP_ID)
    monkeypatch.setenv("GEELARK_API_KEY", API_KEY)
    assert verify_callback.main(webhook_event())["geelark"]["type"] == 8


@pytest.mark.parametrize("options, message", [
    ({"verify": "token"}, "verify must be key or none"),
    ({"max_age": 0}, "max_age must be"),
    ({"maxage": 5}, "unknown option"),
    ({"app_id": None, "api_key": None}, "needs app_id and api_key"),
])
def test_bad_options_are_refused(options, message, monkeypatch):
    monkeypatch.delenv("GEELARK_APP_ID", raising=False)
    monkeypatch.delenv("GEELARK_API_KEY", raising=False)
    with pytest.raises(ValueError, match=message):
        run(webhook_event(), **options)


@pytest.mark.parametrize("payload, summary", [
    ({"type": 1, "id": "5", "result": True}, {"type": 1, "type_name": "phone_started", "ids": ["5"]}),
    ({"type": 10, "items": [{"id": "7", "recycle": True}, {"id": 8}]},
     {"type": 10, "type_name": "phone_deleted", "ids": ["7", "8"]}),
    ({"type": 11, "envIds": ["1", "2"]}, {"type": 11, "type_name": "tags_changed", "ids": ["1", "2"]}),
    ({"type": "15", "id": "3", "result": 1}, {"type": 15, "type_name": "app_installed", "ids": ["3"]}),
    ({"type": 99, "taskIds": ["t"]}, {"type": 99, "type_name": "unknown", "ids": []}),
    ({"id": True}, {"type": None, "type_name": "unknown", "ids": []}),
    ({"type": "\u00b2", "id": "3"}, {"type": None, "type_name": "unknown", "ids": ["3"]}),
    ({"type": "9" * 5000, "id": "3"}, {"type": None, "type_name": "unknown", "ids": ["3"]}),
])
def test_callback_bodies_are_parsed_defensively(payload, summary):
    geelark = run(webhook_event(payload))["geelark"]
    assert dict((k, geelark[k]) for k in summary) == summary
    assert geelark["callback_ids"] == summary["ids"]


def test_documentation_parses_and_documents_every_option():
    doc = yaml.safe_load(verify_callback.DOCUMENTATION)
    assert set(doc["options"]) == set(verify_callback.OPTION_DEFAULTS)
    for name, spec in doc["options"].items():
        assert spec.get("default") == verify_callback.OPTION_DEFAULTS[name], name
    for ruleset in yaml.safe_load(verify_callback.EXAMPLES):
        for source in ruleset["sources"]:
            for item in source["filters"]:
                assert set(item["geelark.cloudphone.verify_callback"]) <= set(verify_callback.OPTION_DEFAULTS)


# Issue 21 item 15: a replay is refused for as long as its ts would be accepted.

def settings_for(**options):
    return verify_callback._settings(dict(dict(app_id=APP_ID, api_key=API_KEY), **options))


@pytest.mark.parametrize("ts_offset_s", [-290, 0, 290])
def test_a_replay_is_refused_until_its_ts_leaves_the_window(ts_offset_s):
    settings = settings_for(max_age=300)
    now_ms = int(time.time() * 1000)
    event = webhook_event(ts_offset_ms=ts_offset_s * 1000)
    ts_ms = int(event["meta"]["headers"]["ts"])
    assert verify_callback.check(event, settings, now_ms=now_ms)["geelark"]["type"] == 8
    # At every later moment at which the ts check still passes, the byte-identical callback is a replay.
    later = [now_ms + 1000, ts_ms + 150000, ts_ms + 299000, ts_ms + 300000]
    for later_ms in [moment for moment in later if moment >= now_ms]:
        with pytest.raises(verify_callback.CallbackRejected, match="already received"):
            verify_callback.check(event, settings, now_ms=later_ms)
    # Past ts + max_age the ts check refuses it; the guard may forget it then.
    with pytest.raises(verify_callback.CallbackRejected, match="before now"):
        verify_callback.check(event, settings, now_ms=max(ts_ms, now_ms) + 301000)


def test_the_guard_forgets_a_callback_only_after_its_window():
    guard = verify_callback.ReplayGuard()
    assert guard.first_time("A", now=1000.0, until=1400.0)
    assert not guard.first_time("A", now=1399.0, until=1700.0)
    assert guard.first_time("B", now=1401.0, until=1701.0)  # A is dropped here, B kept
    assert guard.first_time("A", now=1401.0, until=1701.0)
    assert guard.remembered() == 2


# Issue 21 item 16: malformed headers are dropped with a warning, never an exception.

@pytest.mark.parametrize("over, reason", [
    ({"ts": "\u00b2"}, "not a timestamp"),
    ({"ts": "1" * 5000}, "not a timestamp"),
    ({"ts": "\u0661\u0662\u0663"}, "not a timestamp"),
    ({"ts": " 1766567054000"}, "not a timestamp"),
    ({"appId": "\u00e9" + APP_ID[1:]}, "is not this account's app ID"),
    ({"sign": "\u00c9" * 64}, "signature does not match"),
    ({"traceId": "\u00c9BCDEF0123", "nonce": "\u00c9BCDEF"}, "signature does not match"),
    ({"nonce": "\u00c9BCDEF"}, "nonce"),
    ({"ts": 1766567054000}, "missing"),
])
def test_malformed_headers_are_dropped_with_the_reason_logged(over, reason, caplog):
    assert run(webhook_event(**over)) == []
    assert reason in caplog.text
    assert "Traceback" not in caplog.text


def test_an_unexpected_error_while_checking_drops_the_callback(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(verify_callback, "check_key_signature", broken)
    assert run(webhook_event()) == []
    assert "could not be checked" in caplog.text and "RuntimeError" in caplog.text


# Issue 22 items 8 and 9: per_phone makes one event per phone, whatever the shape of the callback.

@pytest.mark.parametrize("payload, ids", [
    ({"type": 8, "id": "5"}, ["5"]),
    ({"type": 8, "items": [{"id": "7"}, {"id": 8}, {"id": "7"}]}, ["7", "8"]),
    ({"type": 8, "envIds": ["1", "2", 3]}, ["1", "2", "3"]),
    ({"type": 8, "id": "4", "items": [{"id": "6"}], "envIds": ["4"]}, ["4", "6"]),
])
def test_per_phone_gives_one_event_per_phone_the_callback_names(payload, ids):
    events = run(webhook_event(payload), per_phone=True)
    assert isinstance(events, list)
    assert [e["geelark"]["id"] for e in events] == ids
    assert [e["geelark"]["ids"] for e in events] == [[i] for i in ids]
    assert all(e["geelark"]["callback_ids"] == ids and e["payload"] == payload for e in events)


def test_per_phone_keeps_a_callback_without_phones_as_one_event():
    events = run(webhook_event({"type": 6, "taskIds": ["t"]}), per_phone=True)
    assert [e["geelark"] for e in events] == [
        {"type": 6, "type_name": "rpa_task_finished", "ids": [], "id": None, "callback_ids": []}]


def test_without_per_phone_a_callback_stays_one_event_with_every_id():
    accepted = run(webhook_event({"type": 8, "envIds": ["1", "2"]}))
    assert accepted["geelark"]["ids"] == ["1", "2"] and accepted["geelark"]["id"] is None
    assert run(webhook_event({"type": 8, "id": "9"}))["geelark"]["id"] == "9"


def test_per_phone_must_be_true_or_false():
    with pytest.raises(ValueError, match="per_phone must be true or false"):
        run(webhook_event(), per_phone="yes")


# A new user's trial (issue 22 follow-up): IDs that are padded, went through a float, or sit in malformed
# items are read where they can be and warned about where they cannot; the callback is never dropped unheard.

PADDED = " 601876382020063352 "


@pytest.mark.parametrize("payload", [
    {"type": 8, "id": PADDED},
    {"type": 8, "id": "\t601876382020063352\n"},
    {"type": 8, "items": [{"id": PADDED}]},
    {"type": 8, "envIds": [PADDED]},
])
def test_a_padded_id_is_read_without_its_spaces(payload, caplog):
    geelark = run(webhook_event(payload))["geelark"]
    assert geelark["ids"] == ["601876382020063352"] and geelark["id"] == "601876382020063352"
    assert "WARNING" not in caplog.text


@pytest.mark.parametrize("payload, problems", [
    ({"type": 8, "id": 6.01876382020031676e17},
     ["id is the number 6.0187638202003", "lost its last digits and cannot name a phone"]),
    ({"type": 8, "id": "6.01876382020031676e17"},
     ["id is '6.01876382020031676e17'", "lost its last digits and cannot name a phone"]),
    ({"type": 8, "items": "x"}, ["items is a str, not a list of phones"]),
    ({"type": 8, "items": [None, 5, {"id": None}]},
     ["items[0] is None, not an object with an id", "items[1] is 5, not an object with an id",
      "items[2].id is missing"]),
    ({"type": 8, "items": [{"name": "x"}]}, ["items[0].id is missing"]),
    ({"type": 11, "envIds": "601876382020063352"}, ["envIds is a str, not a list of phone IDs"]),
    ({"type": 11, "envIds": [None, 1.5, True]},
     ["envIds[0] is None, not a phone ID", "envIds[1] is the number 1.5", "envIds[2] is True, not a phone ID"]),
    ({"type": 8, "id": "phone-7"}, ["id is 'phone-7', not a phone ID (a phone ID is digits)"]),
    ({"type": 8, "id": ""}, ["id is '', not a phone ID"]),
    ({"type": 8, "id": -5}, ["id is -5, not a phone ID"]),
    ({"type": 8, "id": {"id": "5"}}, ["id is a dict, not a phone ID"]),
    ({"id": True}, ["id is True, not a phone ID"]),
])
def test_an_unreadable_id_is_warned_about_and_the_callback_goes_on_without_it(payload, problems, caplog):
    accepted = run(webhook_event(payload))
    assert accepted["payload"] == payload
    assert accepted["geelark"]["ids"] == [] and accepted["geelark"]["id"] is None
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, warnings
    assert "traceId" in warnings[0] and "goes on to the rules with no phone ID" in warnings[0]
    for problem in problems:
        assert problem in warnings[0]


def test_the_readable_ids_of_a_callback_go_on_when_others_cannot_be_read(caplog):
    payload = {"type": 8, "items": [{"id": 6.01876382020031676e17}, {"id": PADDED}, None, {"id": 601876382020000001}]}
    events = run(webhook_event(payload), per_phone=True)
    assert [e["geelark"]["id"] for e in events] == ["601876382020063352", "601876382020000001"]
    assert all(e["geelark"]["callback_ids"] == ["601876382020063352", "601876382020000001"] for e in events)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, warnings
    assert "items[0].id is the number" in warnings[0] and "items[2] is None" in warnings[0]
    assert "goes on to the rules with 601876382020063352, 601876382020000001" in warnings[0]


def test_a_callback_without_phone_ids_is_not_warned_about(caplog):
    assert run(webhook_event({"type": 6, "taskId": "t", "result": True}))["geelark"]["ids"] == []
    assert run(webhook_event({"type": 8, "id": None}))["geelark"]["ids"] == []
    assert "WARNING" not in caplog.text


def test_a_warning_quotes_a_long_unreadable_id_cut_short(caplog):
    run(webhook_event({"type": 8, "id": "x" * 5000}))
    assert "(5000 characters)" in caplog.text and "x" * 100 not in caplog.text
