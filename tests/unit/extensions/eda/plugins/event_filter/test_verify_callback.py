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
    assert accepted["geelark"] == {"type": 8, "type_name": "phone_stopped", "ids": ["601876382020062634"]}


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
])
def test_callback_bodies_are_parsed_defensively(payload, summary):
    assert run(webhook_event(payload))["geelark"] == summary


def test_documentation_parses_and_documents_every_option():
    doc = yaml.safe_load(verify_callback.DOCUMENTATION)
    assert set(doc["options"]) == set(verify_callback.OPTION_DEFAULTS)
    for name, spec in doc["options"].items():
        assert spec.get("default") == verify_callback.OPTION_DEFAULTS[name], name
    for ruleset in yaml.safe_load(verify_callback.EXAMPLES):
        for source in ruleset["sources"]:
            for item in source["filters"]:
                assert set(item["geelark.cloudphone.verify_callback"]) <= set(verify_callback.OPTION_DEFAULTS)
