# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import re

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._auth import Credentials, new_trace_id, sign_request
from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import ConfigError

APP_ID = "eH6gQR4oHr3FsZpI36La01IW"
API_KEY = "YjmFIUuq0oJgSDJ42fxLEb6R1qjjqf"


def test_signature_matches_the_documented_worked_example():
    headers = sign_request(APP_ID, API_KEY, "db6094ab-3797-4186-84d5-b0b58eebad56", 1716972892166)
    assert headers == {
        "appId": APP_ID,
        "traceId": "db6094ab-3797-4186-84d5-b0b58eebad56",
        "ts": "1716972892166",
        "nonce": "db6094",
        "sign": "6280C080AF7C3CCE168F15C913E3444A00A618CB0E16038EED9811D6E3366BDD",
    }


def test_signature_covers_the_trace_id_exactly_as_sent():
    headers = sign_request(APP_ID, API_KEY, "DB6094AB3797418684D5B0B58EEBAD56", "1716972892166")
    assert headers["nonce"] == "DB6094"
    assert headers["sign"] == "F1036F88DDECAE115A71EEAE0841D43BA614124D6EEDCCCF538942A47CD9460F"


def test_trace_ids_are_32_upper_hex_and_unique():
    ids = {new_trace_id() for dummy in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[0-9A-F]{32}", i) for i in ids)


def test_key_scheme_headers_never_carry_the_api_key():
    headers = Credentials(app_id=APP_ID, api_key=API_KEY).headers(now_ms=1716972892166)
    assert set(headers) == {"appId", "traceId", "ts", "nonce", "sign"}
    assert API_KEY not in "".join(headers.values())
    assert headers["nonce"] == headers["traceId"][:6]


def test_token_scheme_sends_bearer_and_trace_id_only():
    headers = Credentials(token="abc").headers(trace_id="T1")
    assert headers == {"traceId": "T1", "Authorization": "Bearer abc"}


def test_every_call_gets_a_fresh_trace_id():
    creds = Credentials(token="abc")
    assert creds.headers()["traceId"] != creds.headers()["traceId"]


@pytest.mark.parametrize("kwargs, fragment", [
    ({}, "No GeeLark credentials were given"),
    ({"token": "  "}, "No GeeLark credentials were given"),
    ({"app_id": APP_ID}, "app_id was given without api_key"),
    ({"api_key": API_KEY}, "api_key was given without app_id"),
    ({"token": "t", "app_id": APP_ID}, "Both auth schemes were given: token, and app_id"),
    ({"token": "t", "app_id": APP_ID, "api_key": API_KEY}, "token, and app_id and api_key"),
])
def test_credential_errors_name_the_options_and_env_vars(kwargs, fragment):
    with pytest.raises(ConfigError) as info:
        Credentials(**kwargs)
    message = str(info.value)
    assert fragment in message
    for name in ("GEELARK_TOKEN", "GEELARK_APP_ID", "GEELARK_API_KEY"):
        assert name in message
    assert API_KEY not in message


def test_credentials_repr_hides_secrets():
    creds = Credentials(app_id=APP_ID, api_key=API_KEY)
    assert API_KEY not in repr(creds)
    assert repr(creds) == "Credentials(scheme=key)"
    assert creds.secrets == (API_KEY,)


def test_non_string_credentials_are_refused():
    with pytest.raises(ConfigError, match="Credentials must be strings, got int"):
        Credentials(token=12345)


@pytest.mark.parametrize("sources, fragment", [
    ({"token": "empty in the inventory file"}, "the token in the inventory file was empty"),
    ({"app_id": "empty in the inventory file", "api_key": "empty in the inventory file"},
     "app_id and api_key in the inventory file were empty"),
])
def test_no_credentials_says_which_given_credential_rendered_empty(sources, fragment):
    with pytest.raises(ConfigError) as caught:
        Credentials(sources=sources)
    assert "No GeeLark credentials were given" in str(caught.value) and fragment in str(caught.value)
