# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._client import GeeLarkClient
from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator

TOKEN = "tok-3f9a1c5e7b2d4f60"
APP_ID = "eH6gQR4oHr3FsZpI36La01IW"
API_KEY = "YjmFIUuq0oJgSDJ42fxLEb6R1qjjqf"


@pytest.fixture
def emulator():
    """A small fleet on 127.0.0.1 that accepts both auth schemes."""
    with Emulator(phones=250, token=TOKEN, app_id=APP_ID, api_key=API_KEY) as emu:
        yield emu


@pytest.fixture
def make_client(emulator):
    """Build clients against the emulator with fast retries; closed after the test."""
    clients = []

    def factory(**options):
        settings = dict(api_url=emulator.url, token=TOKEN, retries=3, retry_backoff=0.01, retry_max_delay=0.05,
                        timeout=5)
        settings.update(options)
        client = GeeLarkClient(**settings)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
