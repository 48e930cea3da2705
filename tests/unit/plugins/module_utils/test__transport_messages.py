# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the transport tells the user: advice that points the right way, and never a credential."""

from __future__ import annotations

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import (
    AuthError,
    ConfigError,
    TransportError,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import LIST_PATH
from ansible_collections.geelark.cloudphone.plugins.module_utils._settings import normalize_api_url

from ...conftest import API_KEY, APP_ID, TOKEN

PAGE = {"page": 1, "pageSize": 1}


@pytest.mark.parametrize("status", [401, 403])
def test_refused_requests_point_at_the_credentials_not_the_url(emulator, make_client, status):
    emulator.queue_faults({"kind": "http", "status": status, "body": "forbidden"})
    with pytest.raises(TransportError) as caught:
        make_client().transport.post(LIST_PATH, PAGE)
    text = str(caught.value)
    assert "HTTP %d" % status in text and "check token, or app_id and api_key" in text
    assert "check api_url" not in text


def test_a_404_points_at_the_url(emulator, make_client):
    emulator.queue_faults({"kind": "http", "status": 404, "body": "no such page"})
    with pytest.raises(TransportError, match="check api_url"):
        make_client().transport.post(LIST_PATH, PAGE)


@pytest.mark.parametrize("auth, secret", [({"token": TOKEN}, TOKEN),
                                          ({"token": None, "app_id": APP_ID, "api_key": API_KEY}, API_KEY)])
def test_an_answer_that_quotes_a_credential_is_masked(emulator, make_client, auth, secret):
    emulator.queue_faults({"kind": "code", "code": 40003, "msg": "credential %s expired at noon" % secret})
    with pytest.raises(AuthError) as caught:
        make_client(**auth).transport.post(LIST_PATH, PAGE)
    assert secret not in str(caught.value) and secret not in repr(caught.value.to_result())
    assert "credential ******** expired at noon" in str(caught.value)


def test_a_quoted_credential_is_masked_in_answer_data_too(emulator, make_client):
    emulator.queue_faults({"kind": "code", "code": 0, "data": {"total": 0, "items": [], "note": "for " + TOKEN}})
    envelope = make_client().transport.post(LIST_PATH, PAGE)
    assert envelope["data"]["note"] == "for ********"


@pytest.mark.parametrize("url", ["https://openapi.geelark.com/open/v1", "https://openapi.geelark.com/open/v1/",
                                 "http://127.0.0.1:8080/api"])
def test_an_api_url_with_a_path_is_refused_with_the_url_to_use(url):
    with pytest.raises(ConfigError) as caught:
        normalize_api_url(url)
    base = url.split("/", 3)
    assert "has a path" in str(caught.value)
    assert "set api_url (env GEELARK_API_URL) to '%s//%s'" % (base[0], base[2]) in str(caught.value)
    with pytest.raises(ConfigError, match=r"set api_url \(from the inventory file\) to"):
        normalize_api_url(url, "the inventory file")


@pytest.mark.parametrize("url", ["https://openapi.geelark.com", "https://openapi.geelark.com/",
                                 "http://127.0.0.1:8080"])
def test_a_base_url_is_accepted(url):
    assert normalize_api_url(url) == url.rstrip("/")


def test_masking_a_short_credential_never_breaks_the_answer():
    from ansible_collections.geelark.cloudphone.plugins.module_utils._client import GeeLarkClient
    from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator

    with Emulator(phones=120, token="t") as emu, GeeLarkClient(api_url=emu.url, token="t") as client:
        items, report = client.fleet_status()
        assert len(items) == 120 and len(report.phone_list()) == 120
        assert all("t" not in item["serialName"] for item in items)  # every "t" in a value is masked


def test_https_to_a_plain_http_server_points_at_the_scheme_not_the_certificate(emulator, make_client):
    client = make_client(api_url=emulator.url.replace("http://", "https://"), retries=0)
    with pytest.raises(TransportError) as caught:
        client.transport.post(LIST_PATH, PAGE)
    text = str(caught.value)
    assert "does not speak TLS" in text and "starts with http:// or https://" in text
    assert "validate_certs" not in text
