# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import socket
import time

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import (
    APIError,
    AuthError,
    ConfigError,
    LockedError,
    MalformedResponseError,
    RateLimitError,
    TransportError,
    UncertainWriteError,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import LIST_PATH, STATUS_PATH
from ansible_collections.geelark.cloudphone.plugins.module_utils._transport import Cancelled, _retry_after
from ansible_collections.geelark.cloudphone.plugins.module_utils._version import COLLECTION_VERSION

from ...conftest import API_KEY, APP_ID, TOKEN

PAGE = {"page": 1, "pageSize": 10}


def test_token_auth_is_accepted(emulator, make_client):
    envelope = make_client().transport.post(LIST_PATH, PAGE)
    assert envelope["code"] == 0
    assert envelope["data"]["total"] == 250


def test_signature_auth_is_accepted_and_the_key_never_leaves(emulator, make_client):
    client = make_client(token=None, app_id=APP_ID, api_key=API_KEY)
    assert client.transport.post(LIST_PATH, PAGE)["code"] == 0
    assert emulator.stats()["secret_leaks"] == 0


def test_user_agent_names_the_collection_and_version(emulator, make_client):
    make_client().transport.post(LIST_PATH, PAGE)
    assert emulator.stats()["user_agents"] == ["geelark.cloudphone/%s" % COLLECTION_VERSION]


@pytest.mark.parametrize("options", [{"token": "wrong"}, {"token": None, "app_id": APP_ID, "api_key": "wrong"}])
def test_bad_credentials_fail_fast_with_40003_and_advice(emulator, make_client, options):
    with pytest.raises(AuthError) as info:
        make_client(**options).transport.post(LIST_PATH, PAGE)
    error = info.value
    assert error.code == 40003
    assert error.attempts is None
    assert error.trace_id and error.trace_id in str(error)
    assert "GEELARK_TOKEN" in str(error) and "wrong" not in str(error)
    assert emulator.stats()["requests"] == {LIST_PATH: 1}


@pytest.mark.parametrize("code, error_type, fragment", [
    (40015, AuthError, "insufficient permissions"),
    (40016, AuthError, "whitelist"),
    (40014, LockedError, "locked for 2 hours"),
    (40004, APIError, "parameter validation failed"),
    (40008, APIError, "pagination parameter out of range"),
    (43999, APIError, "undocumented code"),
])
def test_hard_api_codes_fail_on_the_first_attempt(emulator, make_client, code, error_type, fragment):
    emulator.queue_faults({"kind": "code", "code": code, "msg": "nope"})
    with pytest.raises(error_type) as info:
        make_client().transport.post(LIST_PATH, PAGE)
    assert info.value.code == code
    assert fragment in str(info.value)
    assert "code %d" % code in str(info.value)
    assert emulator.stats()["total_requests"] == 1


@pytest.mark.parametrize("fault", [
    {"kind": "http", "status": 502},
    {"kind": "http", "status": 503, "body": "<html><h1>Service Unavailable</h1></html>"},
    {"kind": "http", "status": 429},
    {"kind": "reset"},
    {"kind": "raw", "body": "<html>gateway</html>"},
    {"kind": "raw", "hex": "fffe00"},
    {"kind": "code", "code": 40007, "msg": "too frequent"},
    {"kind": "code", "code": 40017, "msg": "too many"},
    {"kind": "code", "code": 50000, "msg": "internal"},
])
def test_transient_faults_are_retried_until_success(emulator, make_client, fault):
    emulator.queue_faults(fault, fault)
    client = make_client(rate_window=1.0)  # a 40007 waits for the API's window, here a short one
    assert client.transport.post(LIST_PATH, PAGE)["data"]["total"] == 250
    assert emulator.stats()["total_requests"] == 3
    assert client.transport.retry_count == 2


def test_a_hung_request_times_out_and_is_retried(emulator, make_client):
    # The hang outlasts any timeout; the timeout is far above a normal answer even on a busy machine.
    emulator.queue_faults({"kind": "hang", "seconds": 60})
    client = make_client(timeout=3)
    assert client.transport.post(LIST_PATH, PAGE)["code"] == 0
    assert client.transport.retry_count == 1


def test_retries_are_bounded_and_the_error_counts_attempts(emulator, make_client):
    emulator.queue_faults(*[{"kind": "http", "status": 502}] * 10)
    with pytest.raises(TransportError) as info:
        make_client(retries=2).transport.post(LIST_PATH, PAGE)
    assert info.value.http_status == 502
    assert info.value.attempts == 3
    assert "after 3 attempts" in str(info.value)
    assert "502 Bad Gateway" in str(info.value)
    assert emulator.stats()["total_requests"] == 3


def test_rate_limit_still_failing_when_the_wait_runs_out_says_how_long_and_how_often(emulator, make_client):
    emulator.queue_faults(*[{"kind": "code", "code": 40007}] * 10)
    with pytest.raises(RateLimitError) as info:
        make_client(retries=9, rate_window=0.5, rate_limit_wait=1.2).transport.post(LIST_PATH, PAGE)
    text = str(info.value)
    assert "still refused when the wait allowed ran out" in text and "rate_limit_wait 1.2 s" in text
    assert text.count("attempts") == 1 and "spent waiting for the API's limits" in text
    assert info.value.attempts == emulator.stats()["total_requests"] >= 2
    assert info.value.waited and "lower rate_limit or concurrency" not in text


def test_a_40007_waits_for_the_window_and_shrinks_this_runs_budget(emulator, make_client):
    emulator.queue_faults({"kind": "code", "code": 40007})
    logged = []
    client = make_client(rate_window=1.0, log=logged.append)
    client.transport.window_jitter = (0.0, 0.0)
    assert client.transport.post(LIST_PATH, PAGE)["code"] == 0
    # Nothing had got through in the window (how long that lasts: test__transport_hostile.py).
    assert any("this run allows itself 1 requests a minute" in line for line in logged)
    summary = client.transport.summary()
    assert (summary["requests"], summary["retries"], summary["rate_limited"]) == (2, 1, 1)
    assert summary["seconds_waiting_for_budget"] > 0


def test_the_window_wait_lasts_the_rest_of_the_minute_plus_jitter(make_client):
    client = make_client()
    client.transport._wall_clock = lambda: 60 * 28_333_334 + 45.0  # 45 s into a minute
    assert 15 + 1 <= client.transport._window_delay() <= 15 + 4


def test_a_long_wait_is_announced_once_with_the_expected_time(emulator, make_client):
    told = []
    client = make_client(notice=lambda sentence: (told.append(sentence), client.transport.stop_event.set()))
    # 10 s into a minute, whatever the real clock says: the API's minute rolls over in about 50 s.
    client.transport._wall_clock = lambda: 60.0 * 29000000 + 10
    emulator.queue_faults({"kind": "code", "code": 40007})
    with pytest.raises(Cancelled):
        client.transport.post(LIST_PATH, PAGE)
    assert len(told) == 1 and "40007" in told[0] and "waiting about" in told[0] and "rate_limit_wait" in told[0]


def test_47002_is_retried_for_reads_and_halves_the_parallelism(emulator, make_client):
    emulator.queue_faults({"kind": "code", "code": 47002}, {"kind": "code", "code": 47002})
    client = make_client(concurrency=16)
    before = client.transport.parallelism.limit
    assert client.transport.post(LIST_PATH, PAGE)["code"] == 0
    assert client.transport.summary()["over_concurrency_cap"] == 2
    assert client.transport.parallelism.limit < before


def test_the_connection_pool_holds_every_request_in_flight(make_client):
    client = make_client(concurrency=40)
    assert client.transport._session.get_adapter("http://127.0.0.1")._pool_maxsize == 40


@pytest.mark.parametrize("fault", [
    {"kind": "http", "status": 502},
    {"kind": "http", "status": 503},
    {"kind": "reset"},
    {"kind": "raw", "body": "<html>gateway</html>"},
    {"kind": "hang", "seconds": 1.0},
])
def test_a_write_whose_answer_was_lost_is_never_sent_again(emulator, make_client, fault):
    emulator.queue_faults(fault)
    with pytest.raises(UncertainWriteError) as info:
        make_client(timeout=0.3).transport.post(LIST_PATH, PAGE, write=True)
    assert info.value.uncertain and "may or may not have been applied" in str(info.value)
    assert emulator.stats()["total_requests"] == 1


def test_a_write_refused_by_http_429_or_50000_is_not_sent_again(emulator, make_client):
    emulator.queue_faults({"kind": "http", "status": 429}, {"kind": "code", "code": 50000})
    client = make_client()
    with pytest.raises(TransportError) as refused:
        client.transport.post(LIST_PATH, PAGE, write=True)
    assert not refused.value.uncertain
    with pytest.raises(APIError) as server_error:
        client.transport.post(LIST_PATH, PAGE, write=True)
    assert server_error.value.uncertain and server_error.value.code == 50000
    assert emulator.stats()["total_requests"] == 2


@pytest.mark.parametrize("code", [40007, 40017, 47002])
def test_a_write_refused_because_nothing_was_done_is_sent_again(emulator, make_client, code):
    emulator.queue_faults({"kind": "code", "code": code})
    client = make_client(rate_window=0.5)
    assert client.transport.post(LIST_PATH, PAGE, write=True)["code"] == 0
    assert emulator.stats()["total_requests"] == 2


def test_40014_fails_at_once_with_the_two_hour_advice(emulator, make_client):
    emulator.queue_faults({"kind": "code", "code": 40014})
    with pytest.raises(LockedError, match="2 hours"):
        make_client().transport.post(LIST_PATH, PAGE)
    assert emulator.stats()["total_requests"] == 1


@pytest.mark.parametrize("option, value", [("rate_limit_scope", "everywhere"), ("rate_limit_wait", -1),
                                           ("concurrency", 65)])
def test_bad_budget_options_are_refused(make_client, option, value):
    with pytest.raises(ConfigError, match=option):
        make_client(**{option: value})


def test_writes_are_not_retried(emulator, make_client):
    emulator.queue_faults({"kind": "http", "status": 502})
    with pytest.raises(TransportError):
        make_client().transport.post(LIST_PATH, PAGE, retry=False)
    assert emulator.stats()["total_requests"] == 1


def test_retry_after_is_honoured(emulator, make_client):
    emulator.queue_faults({"kind": "http", "status": 429, "headers": {"Retry-After": "1"}})
    started = time.monotonic()
    make_client(retry_max_delay=5).transport.post(LIST_PATH, PAGE)
    assert time.monotonic() - started >= 1.0


def test_retry_after_parses_seconds_and_dates():
    assert _retry_after("7") == 7.0
    assert _retry_after(None) is None
    assert _retry_after("soon") is None
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_every_retry_is_signed_afresh(emulator, make_client):
    emulator.queue_faults({"kind": "http", "status": 502})
    make_client(token=None, app_id=APP_ID, api_key=API_KEY).transport.post(LIST_PATH, PAGE)
    trace_ids = emulator.stats()["trace_ids"]
    assert len(trace_ids) == 2 and trace_ids[0] != trace_ids[1]


def test_non_200_client_errors_are_not_retried(emulator, make_client):
    emulator.queue_faults({"kind": "http", "status": 404, "body": "no such path"})
    with pytest.raises(TransportError, match="check api_url") as info:
        make_client().transport.post(LIST_PATH, PAGE)
    assert info.value.http_status == 404
    assert emulator.stats()["total_requests"] == 1


@pytest.mark.parametrize("body, fragment", [
    ("[1, 2]", "JSON but not an object"),
    ('{"msg": "no code"}', "no integer 'code'"),
    ('{"code": "0"}', "no integer 'code'"),
])
def test_malformed_envelopes_raise_a_typed_error(emulator, make_client, body, fragment):
    emulator.queue_faults({"kind": "raw", "body": body})
    with pytest.raises(MalformedResponseError, match=fragment):
        make_client().transport.post(LIST_PATH, PAGE)


def test_secrets_are_redacted_from_body_excerpts(emulator, make_client):
    emulator.queue_faults({"kind": "http", "status": 400, "body": "bad token %s" % TOKEN})
    with pytest.raises(TransportError) as info:
        make_client().transport.post(LIST_PATH, PAGE)
    assert TOKEN not in str(info.value)
    assert "********" in str(info.value)


def _closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_unreachable_api_fails_after_retries_with_advice(make_client):
    with pytest.raises(TransportError) as info:
        make_client(api_url="http://127.0.0.1:%d" % _closed_port(), retries=1).transport.post(STATUS_PATH, {})
    assert "Cannot reach" in str(info.value)
    assert info.value.attempts == 2
    assert "GEELARK_API_URL" in str(info.value)


def test_a_write_that_could_not_connect_was_not_sent_and_is_certain(make_client):
    # No connection, no request: unlike a lost answer, nothing can have been applied.
    with pytest.raises(TransportError) as info:
        make_client(api_url="http://127.0.0.1:%d" % _closed_port(), retries=3).transport.post(
            "/open/v1/phone/start", {"ids": ["1"]}, write=True)
    assert info.value.uncertain is False
    assert "nothing was sent" in str(info.value)
    assert info.value.attempts is None  # one attempt: a write is never sent again by the transport


def test_a_write_whose_connection_broke_after_sending_is_uncertain(emulator, make_client):
    emulator.queue_faults({"kind": "reset", "path": "/open/v1/phone/start"})
    with pytest.raises(TransportError) as info:
        make_client(api_url=emulator.url).transport.post("/open/v1/phone/start", {"ids": ["1"]}, write=True)
    assert info.value.uncertain is True


@pytest.mark.parametrize("url", ["openapi.geelark.com", "ftp://x", "", "https://", "http://host:port", 42])
def test_bad_api_url_is_refused_before_any_request(make_client, url):
    with pytest.raises(ConfigError, match="is not an http"):
        make_client(api_url=url)


def test_an_api_url_with_a_path_and_a_query_is_refused_for_its_path_first(make_client):
    with pytest.raises(ConfigError, match=r"has a path \(/path\).*set api_url \(env GEELARK_API_URL\) to 'http://host'"):
        make_client(api_url="http://host/path?q=1")


@pytest.mark.parametrize("option, value", [
    ("timeout", 0), ("timeout", "10"), ("retries", -1), ("retries", 1.5), ("rate_limit", True),
    ("concurrency", 0), ("concurrency", 65),
])
def test_bad_numeric_options_are_refused(make_client, option, value):
    with pytest.raises(ConfigError, match=option):
        make_client(**{option: value})


@pytest.mark.parametrize("options, sources, said", [
    ({"token": "wrong"}, {"token": "the inventory file"}, "check the token, which came from the inventory file"),
    ({"token": "wrong"}, {"token": "environment variable GEELARK_TOKEN"},
     "check the token, which came from the environment variable GEELARK_TOKEN"),
    ({"token": None, "app_id": APP_ID, "api_key": "wrong"},
     {"app_id": "the task", "api_key": "the task"}, "check app_id and api_key, which came from the task"),
    ({"token": None, "app_id": APP_ID, "api_key": "wrong"},
     {"app_id": "the source's arguments", "api_key": "environment variable GEELARK_API_KEY"},
     "check app_id (from the source's arguments) and api_key (from the environment variable GEELARK_API_KEY)"),
])
def test_a_40003_names_where_the_credentials_in_use_came_from(emulator, options, sources, said):
    from ansible_collections.geelark.cloudphone.plugins.module_utils._client import GeeLarkClient
    from ansible_collections.geelark.cloudphone.plugins.module_utils._settings import ClientSettings

    values = dict(api_url=emulator.url, token=TOKEN, retries=0)
    values.update(options)
    with pytest.raises(AuthError) as info, GeeLarkClient(ClientSettings(values, sources)) as client:
        client.transport.post(LIST_PATH, PAGE)
    message = str(info.value)
    assert info.value.code == 40003 and said in message and "machine clock" in message, message
    assert "wrong" not in message
