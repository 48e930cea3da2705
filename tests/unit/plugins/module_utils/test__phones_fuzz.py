# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Random and broken answers: the client returns a correct result or raises a GeeLarkError, nothing else."""

from __future__ import annotations

import json

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._client import GeeLarkClient
from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import GeeLarkError
from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import LIST_PATH, STATUS_PATH
from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator

from ...conftest import TOKEN

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 80), max_value=2 ** 80),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
json_values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)), max_leaves=12)
phone_ids = st.one_of(st.sampled_from(["1", "2", "3"]), st.integers(min_value=0, max_value=2 ** 70), json_values)
entries = st.fixed_dictionaries({}, optional={
    "id": phone_ids, "status": st.one_of(st.integers(min_value=-1, max_value=9), json_values),
    "serialName": json_values, "code": json_values, "msg": json_values})
entry_lists = st.one_of(st.lists(entries, max_size=5), json_values)
data = st.one_of(json_values, st.fixed_dictionaries({}, optional={
    "successDetails": entry_lists, "failDetails": entry_lists, "totalAmount": json_values,
    "total": st.one_of(st.integers(min_value=-1, max_value=400), json_values), "items": entry_lists}))
codes = st.one_of(st.sampled_from([0, 0, 0, 40006, 40009, 40003, 40007, 40014, 50000, 43999]), json_values)
envelopes = st.fixed_dictionaries({}, optional={"code": codes, "msg": json_values, "traceId": json_values,
                                                "data": data})
bodies = st.one_of(
    envelopes.map(lambda e: json.dumps(e).encode()),
    envelopes.map(lambda e: json.dumps(e).encode()[: max(1, len(json.dumps(e)) // 2)]),  # truncated
    st.binary(max_size=64),  # anything, non-UTF-8 included
)


@pytest.fixture(scope="module")
def fuzz_emulator():
    with Emulator(phones=3, token=TOKEN) as emu:
        yield emu


def answer_with(emulator, path, body, call):
    """Serve `body` for the next request to `path`; return call(client), or None after a GeeLarkError."""
    emulator.queue_faults({"kind": "raw", "path": path, "hex": body.hex()})
    with GeeLarkClient(api_url=emulator.url, token=TOKEN, retries=0, rate_limit=0, concurrency=1) as client:
        try:
            return call(client)
        except GeeLarkError as error:
            assert str(error)
            return None


def answered_ids(report):
    return sorted([p["id"] for p in report.phone_list()] + [f["id"] for f in report.failure_list()])


@SETTINGS
@given(body=bodies)
def test_any_status_answer_gives_a_complete_result_or_a_typed_error(fuzz_emulator, body):
    report = answer_with(fuzz_emulator, STATUS_PATH, body, lambda client: client.phone_status(["1", "2", "3"]))
    if report is None:
        return
    assert answered_ids(report) == ["1", "2", "3"]
    assert all(isinstance(p["status"], int) and isinstance(p["status_name"], str) for p in report.phone_list())


@SETTINGS
@given(body=bodies)
def test_any_list_answer_gives_a_consistent_fleet_or_a_typed_error(fuzz_emulator, body):
    result = answer_with(fuzz_emulator, LIST_PATH, body, lambda client: client.fleet_status())
    if result is None:
        return
    items, report = result
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)) and all(isinstance(i, str) for i in ids)
    assert answered_ids(report) == sorted(ids)
