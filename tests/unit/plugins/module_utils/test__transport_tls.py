# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import ssl

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._client import GeeLarkClient
from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import TransportError
from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator

from ...conftest import TOKEN

trustme = pytest.importorskip("trustme")


@pytest.fixture(scope="module")
def certificate_authority():
    return trustme.CA()


@pytest.fixture
def tls_emulator(certificate_authority):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    certificate_authority.issue_cert("127.0.0.1").configure_cert(context)
    with Emulator(phones=20, token=TOKEN, ssl_context=context) as emu:
        yield emu


def client(url, **options):
    return GeeLarkClient(api_url=url, token=TOKEN, retries=3, retry_backoff=0.01, **options)


def test_an_untrusted_certificate_fails_fast_and_says_so(tls_emulator, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(TransportError) as info:
        client(tls_emulator.url).list_phones()
    message = str(info.value)
    assert "TLS verification of %s failed" % tls_emulator.url in message
    assert "validate_certs: false" in message and "REQUESTS_CA_BUNDLE" in message
    assert info.value.attempts is None  # not retried
    assert tls_emulator.stats()["total_requests"] == 0


def test_validate_certs_false_accepts_the_test_server(tls_emulator):
    assert len(client(tls_emulator.url, validate_certs=False).list_phones()) == 20


def test_a_trusted_ca_bundle_validates(tls_emulator, certificate_authority, tmp_path, monkeypatch):
    bundle = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert len(client(tls_emulator.url).list_phones()) == 20


def test_a_dripped_answer_over_tls_is_cut_at_the_timeout_and_retried(tls_emulator):
    drip = {"kind": "drip", "interval": 0.5, "seconds": 20}
    tls_emulator.queue_faults(drip, drip)
    with pytest.raises(TransportError) as info:
        GeeLarkClient(api_url=tls_emulator.url, token=TOKEN, validate_certs=False, timeout=2, retries=1,
                      retry_backoff=0.01).list_phones()
    assert "No answer within the 2s timeout" in str(info.value) and "TLS" not in str(info.value)
    assert info.value.attempts == 2 and tls_emulator.stats()["total_requests"] == 2
