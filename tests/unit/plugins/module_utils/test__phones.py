# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import math

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import (
    APIError,
    ConfigError,
    IncompleteResultError,
    MalformedResponseError,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import (
    LIST_PATH,
    MAX_LISTED_PHONES,
    STATUS_PATH,
    list_filter_body,
    normalize_ids,
    status_name,
)
from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator

from ...conftest import TOKEN


def fleet_ids(emulator):
    return list(emulator.true_status())


def test_status_names_cover_the_documented_codes_and_unknown():
    assert [status_name(c) for c in (0, 1, 2, 3, 4, -1, None, True, "0")] == [
        "started", "starting", "shut_down", "expired", "unknown", "unknown", "unknown", "unknown", "unknown"]


def test_ids_are_deduplicated_first_occurrence_wins():
    assert normalize_ids(["3", "1", "3", 2, "1", " 2 "]) == ["3", "1", "2"]


def test_large_integer_ids_keep_every_digit():
    assert normalize_ids([601876382020062634]) == ["601876382020062634"]


@pytest.mark.parametrize("ids, fragment", [
    ("601876382020062634", "must be a list"),
    ([6.01876382020062634e17], "lose precision"),
    ([True], "not a phone ID"),
    ([None], "not a phone ID"),
    ([""], "empty string"),
    ([{"id": 1}], "is a dict"),
])
def test_bad_ids_get_a_clear_error(ids, fragment):
    with pytest.raises(ConfigError, match=fragment):
        normalize_ids(ids)


@pytest.mark.parametrize("ids, where", [
    ([None, "1"], "ids[0] is None"),
    (["1", "2", ""], "ids[2] is an empty string"),
    (["1", 1.5], "ids[1] is the number 1.5"),
    (["1", "6.01876382020062634e17"], "ids[1] is '6.01876382020062634e17', a number in floating point notation"),
    (["601876382020062634.0"], "ids[0] is '601876382020062634.0', a number in floating point notation"),
    (["1", "601876382020062634 601876382020070553"],
     "ids[1] is '601876382020062634 601876382020070553', which holds a space: IDs separated by spaces are not a list"),
])
def test_bad_ids_are_named_by_their_0_based_position_as_python_and_jinja_count(ids, where):
    with pytest.raises(ConfigError) as info:
        normalize_ids(ids)
    assert str(info.value).startswith(where)


def test_status_batches_never_exceed_100_ids(emulator, make_client):
    ids = fleet_ids(emulator)
    report = make_client().phone_status(ids)
    bodies = emulator.request_bodies(STATUS_PATH)
    assert sorted(len(b["ids"]) for b in bodies) == [50, 100, 100]
    assert sorted(i for b in bodies for i in b["ids"]) == sorted(ids)
    assert report.calls == 3
    assert [p["id"] for p in report.phone_list()] == ids


def test_status_is_merged_by_id_not_by_position(emulator, make_client):
    truth = emulator.true_status()
    report = make_client().phone_status(list(truth))
    assert [p["id"] for p in report.phone_list()] == list(truth)
    assert [p["status"] for p in report.phone_list()] == list(truth.values())
    assert all(p["status_name"] == status_name(p["status"]) for p in report.phone_list())


def test_unknown_and_duplicate_ids_are_accounted_for_in_request_order(emulator, make_client):
    ids = fleet_ids(emulator)[:5]
    asked = ["999", ids[0], ids[1], ids[0], "998"] + ids[2:]
    report = make_client().phone_status(asked)
    assert [p["id"] for p in report.phone_list()] == ids
    assert report.failure_list() == [
        {"id": "999", "code": 42001, "msg": "env not found"},
        {"id": "998", "code": 42001, "msg": "env not found"},
    ]
    assert sum(len(v) for v in report.by_status().values()) == 5
    assert set(report.by_status()) == {"started", "starting", "shut_down", "expired"}


def test_an_id_missing_from_both_answer_lists_becomes_a_failure(emulator, make_client):
    ids = fleet_ids(emulator)[:3]
    emulator.queue_faults({"kind": "code", "code": 0, "data": {
        "totalAmount": 3, "successAmount": 1, "failAmount": 0,
        "successDetails": [{"id": ids[1], "serialName": "x", "status": 0}], "failDetails": []}})
    report = make_client().phone_status(ids)
    assert [p["id"] for p in report.phone_list()] == [ids[1]]
    assert [f["id"] for f in report.failure_list()] == [ids[0], ids[2]]
    assert all(f["code"] is None and "neither" in f["msg"] for f in report.failure_list())


@pytest.mark.parametrize("code", [40006, 40009])
def test_partial_batch_codes_with_data_are_read_not_raised(emulator, make_client, code):
    ids = fleet_ids(emulator)[:2]
    emulator.queue_faults({"kind": "code", "code": code, "data": {
        "successDetails": [{"id": ids[0], "serialName": "a", "status": 3}] if code == 40006 else [],
        "failDetails": [{"id": i, "code": 43999, "msg": "broken"} for i in ids[1 if code == 40006 else 0:]]}})
    report = make_client().phone_status(ids)
    assert len(report.phone_list()) + len(report.failure_list()) == 2
    assert all(f["code"] == 43999 for f in report.failure_list())


def test_partial_code_without_data_raises(emulator, make_client):
    emulator.queue_faults({"kind": "code", "code": 40009, "msg": "all failed"})
    with pytest.raises(APIError, match="every item of the batch failed"):
        make_client().phone_status(fleet_ids(emulator)[:2])


def test_answers_for_ids_not_asked_are_ignored_with_a_warning(emulator, make_client):
    ids = fleet_ids(emulator)[:1]
    emulator.queue_faults({"kind": "code", "code": 0, "data": {
        "successDetails": [{"id": ids[0], "status": 2}, {"id": "777", "status": 0}]}})
    report = make_client().phone_status(ids)
    assert [p["id"] for p in report.phone_list()] == ids
    assert "777" in report.warnings[0]


@pytest.mark.parametrize("data", [
    {"successDetails": "nope"},
    {"successDetails": [{"id": "1"}]},
    {"successDetails": [{"status": 1}]},
    {"failDetails": [17]},
])
def test_malformed_status_answers_raise_a_typed_error(emulator, make_client, data):
    emulator.queue_faults({"kind": "code", "code": 0, "data": data})
    with pytest.raises(MalformedResponseError):
        make_client().phone_status(["1"])


def test_empty_ids_send_no_request(emulator, make_client):
    report = make_client().phone_status([])
    assert report.phone_list() == [] and report.calls == 0
    assert emulator.stats()["total_requests"] == 0


def test_listing_pages_until_total_and_returns_each_phone_once(emulator, make_client):
    items = make_client().list_phones()
    assert len(items) == 250 == len({i["id"] for i in items})
    bodies = emulator.request_bodies(LIST_PATH)
    assert sorted(b["page"] for b in bodies) == [1, 2, 3]
    assert all(b["pageSize"] == 100 for b in bodies)


def test_listing_never_shows_expired_the_status_endpoint_does(emulator, make_client):
    client = make_client()
    listed = {i["id"]: i["status"] for i in client.list_phones()}
    truth = emulator.true_status()
    expired = [i for i, s in truth.items() if s == 3]
    assert expired and all(listed[i] == 2 for i in expired)
    assert {p["id"] for p in client.phone_status(expired).phone_list() if p["status"] == 3} == set(expired)


def test_filters_are_sent_as_api_fields(emulator, make_client):
    items = make_client().list_phones({"group_name": "warmup", "open_status": 1, "tags": "uk"})
    assert emulator.request_bodies(LIST_PATH)[0] == {
        "groupName": "warmup", "openStatus": 1, "tags": ["uk"], "page": 1, "pageSize": 100}
    assert items and all(i["group"]["name"] == "warmup" and i["status"] in (0, 1) for i in items)


def test_ids_filter_is_split_into_calls_of_100(emulator, make_client):
    ids = fleet_ids(emulator)[:230]
    items = make_client().list_phones({"ids": ids + ["404"]})
    assert [i["id"] for i in items] == ids
    assert sorted(len(b["ids"]) for b in emulator.request_bodies(LIST_PATH)) == [31, 100, 100]


@pytest.mark.parametrize("filters, fragment", [
    ({"status": 1}, "Unknown filter 'status'"),
    ({"charge_mode": "1"}, "filters.charge_mode must be an integer"),
    ({"tags": [["x"]]}, "filters.tags must hold strings"),
    ({"ids": [1.5]}, "lose precision"),
])
def test_bad_filters_get_a_clear_error(filters, fragment):
    with pytest.raises(ConfigError, match=fragment):
        list_filter_body(filters)


def test_a_listing_that_changes_while_paging_is_read_again(emulator, make_client):
    victim = fleet_ids(emulator)[0]
    # Page 1 is served from the full fleet, then the phone is deleted before page 2.
    emulator.queue_faults({"kind": "mutate", "path": LIST_PATH},
                          {"kind": "mutate", "path": LIST_PATH, "delete": [victim]})
    items = make_client(concurrency=1).list_phones()
    assert len(items) == 249 and victim not in {i["id"] for i in items}
    # The first reading stops at page 2, which disagrees with page 1; the second reads 3 pages.
    assert [b["page"] for b in emulator.request_bodies(LIST_PATH)] == [1, 2, 1, 2, 3]


def test_a_listing_that_never_adds_up_fails_loudly(emulator, make_client):
    emulator.queue_faults(*[{"kind": "mutate", "path": LIST_PATH, "add": [{}]} for dummy in range(9)])
    with pytest.raises(IncompleteResultError, match="did not add up in 3 readings"):
        make_client(concurrency=1).list_phones()


def test_a_fleet_that_never_holds_still_fails_instead_of_returning_part_of_it(emulator, make_client):
    # Every list call creates a phone: no reading adds up, and fleet_status fails like list_phones.
    emulator.queue_faults(*[{"kind": "mutate", "path": LIST_PATH, "add": [{}]} for dummy in range(12)])
    with pytest.raises(IncompleteResultError, match="did not add up in 3 readings"):
        make_client(concurrency=1).fleet_status()


@pytest.mark.parametrize("read", ["list_phones", "fleet_status"])
def test_a_pager_that_repeats_page_1_fails_after_reading_page_2_of_each_attempt(emulator, make_client, read):
    emulator.set_pager(repeat=True, total=5000)
    with pytest.raises(IncompleteResultError) as info:
        getattr(make_client(concurrency=1), read)()
    assert "did not add up in 3 readings" in str(info.value) and "appeared on two pages" in str(info.value)
    # Each reading stops at the first page that repeats a phone: pages 1 and 2, three times.
    assert [b["page"] for b in emulator.request_bodies(LIST_PATH)] == [1, 2] * 3


def test_a_pager_whose_total_is_too_large_fails_at_the_first_short_page(emulator, make_client):
    emulator.set_pager(total=5000)  # 250 real phones: page 3 holds 50, not 100
    with pytest.raises(IncompleteResultError, match="page 3 of 50 held 50 phones, expected 100"):
        make_client(concurrency=1).fleet_status()
    assert len(emulator.request_bodies(LIST_PATH)) == 3 * 3


@pytest.mark.parametrize("total", [MAX_LISTED_PHONES + 1, 10 ** 9, 10 ** 20])
def test_an_absurd_total_fails_at_once_after_one_request(emulator, make_client, total):
    emulator.set_pager(total=total)
    with pytest.raises(IncompleteResultError) as info:
        make_client(concurrency=4).fleet_status()
    text = str(info.value)
    assert "claims %d phones, more than the %d" % (total, MAX_LISTED_PHONES) in text and "traceId" in text
    assert "filters" in text  # what to do
    assert emulator.stats()["total_requests"] == 1


def test_list_phones_stays_strict_about_a_changing_fleet(emulator, make_client):
    emulator.queue_faults(*[{"kind": "mutate", "path": LIST_PATH, "add": [{}]} for dummy in range(12)])
    with pytest.raises(IncompleteResultError, match="did not add up in 3 readings"):
        make_client(concurrency=1).list_phones()


def test_a_short_page_is_detected_also_by_fleet_status(emulator, make_client):
    emulator.queue_faults(*[{"kind": "code", "code": 0, "path": LIST_PATH,
                             "data": {"total": 250, "items": [{"id": "1"}]}}] * 9)
    with pytest.raises(IncompleteResultError, match="page 1 of 3 held 1 phones, expected 100"):
        make_client(concurrency=1).fleet_status()


def test_a_short_page_is_detected(emulator, make_client):
    emulator.queue_faults(*[{"kind": "code", "code": 0, "path": LIST_PATH,
                             "data": {"total": 250, "items": [{"id": "1"}]}}] * 9)
    with pytest.raises(IncompleteResultError, match="page 1 of 3 held 1 phones, expected 100"):
        make_client(concurrency=1).list_phones()


def test_a_1234_phone_fleet_is_complete_with_the_fewest_calls_despite_two_502s():
    with Emulator(phones=1234, token=TOKEN) as emu:
        from ansible_collections.geelark.cloudphone.plugins.module_utils._client import GeeLarkClient
        client = GeeLarkClient(api_url=emu.url, token=TOKEN, retry_backoff=0.01)
        emu.queue_faults({"kind": "http", "status": 502}, {"kind": "http", "status": 502})
        items = client.list_phones()
        report = client.phone_status([i["id"] for i in items])
        calls = emu.stats()["requests"]
        assert len(items) == 1234 and len(report.phone_list()) == 1234 and not report.failure_list()
        assert {p["id"]: p["status"] for p in report.phone_list()} == emu.true_status()
        floor = math.ceil(1234 / 100)
        assert calls[LIST_PATH] + calls[STATUS_PATH] == 2 * floor + 2
        assert client.transport.retry_count == 2
        client.close()


def test_fleet_status_sends_status_batches_while_pages_arrive_with_the_fewest_calls(emulator, make_client):
    items, report = make_client(concurrency=4).fleet_status()
    truth = emulator.true_status()
    assert [i["id"] for i in items] == list(truth)
    assert {p["id"]: p["status"] for p in report.phone_list()} == truth
    assert emulator.stats()["requests"] == {LIST_PATH: 3, STATUS_PATH: 3}
    assert sorted(len(b["ids"]) for b in emulator.request_bodies(STATUS_PATH)) == [50, 100, 100]
    assert emulator.stats()["peak_in_flight"] <= 4


def test_fleet_status_reads_a_changing_listing_again(emulator, make_client):
    victim = fleet_ids(emulator)[0]
    emulator.queue_faults({"kind": "mutate", "path": LIST_PATH},
                          {"kind": "mutate", "path": LIST_PATH, "delete": [victim]})
    items, report = make_client(concurrency=1).fleet_status()
    assert len(items) == 249 == len(report.phone_list()) and not report.failure_list()


def test_fleet_status_with_ids_filter(emulator, make_client):
    ids = fleet_ids(emulator)[:150]
    items, report = make_client().fleet_status({"ids": ids})
    assert [i["id"] for i in items] == ids == [p["id"] for p in report.phone_list()]


def test_fleet_status_error_in_a_worker_reaches_the_caller(emulator, make_client):
    emulator.queue_faults({"kind": "code", "code": 40003, "path": STATUS_PATH})
    with pytest.raises(APIError, match="40003"):
        make_client(concurrency=4).fleet_status()


def test_a_fleet_read_survives_a_mix_of_transient_faults_with_every_phone(emulator, make_client):
    emulator.queue_faults(
        {"kind": "http", "status": 502},
        {"kind": "http", "status": 503, "body": "<html><body><h1>503 Service Unavailable</h1></body></html>"},
        {"kind": "reset"},
        {"kind": "hang", "seconds": 60},  # outlasts the timeout, which is far above a normal answer
        {"kind": "code", "code": 40007, "msg": "too frequent"},
        {"kind": "code", "code": 40017, "msg": "too many requests"},
        {"kind": "raw", "body": "<html>upstream error</html>"},
    )
    client = make_client(concurrency=4, timeout=3, retries=8, rate_window=1.0)  # 40007 waits for the window
    items, report = client.fleet_status()
    truth = emulator.true_status()
    assert [i["id"] for i in items] == list(truth)
    assert {p["id"]: p["status"] for p in report.phone_list()} == truth and not report.failure_list()
    assert client.transport.retry_count == 7


# GeeLark sends null rather than [] or {} for empty fields; every list and object of both answers is covered.
NULL_FIELDS = {"group": None, "tags": None, "equipmentInfo": None, "proxy": None, "serialName": None,
               "serialNo": None, "remark": None, "chargeMode": None}


def test_null_status_lists_are_empty_lists_and_every_phone_is_still_accounted_for(emulator, make_client):
    ids = fleet_ids(emulator)[:2]
    emulator.queue_faults({"kind": "code", "code": 0, "data": {
        "totalAmount": 2, "successAmount": 0, "failAmount": 0, "successDetails": None, "failDetails": None}})
    report = make_client().phone_status(ids)
    assert report.phone_list() == []
    assert [f["id"] for f in report.failure_list()] == ids
    assert all("neither a status nor a failure" in f["msg"] for f in report.failure_list())


def test_null_entries_of_the_status_lists_are_skipped_and_their_phones_named(emulator, make_client):
    ids = fleet_ids(emulator)[:3]
    emulator.queue_faults({"kind": "code", "code": 0, "data": {
        "successDetails": [None, {"id": ids[0], "serialName": None, "status": 2}, None],
        "failDetails": [None, {"id": ids[1], "code": None, "msg": None}]}})
    report = make_client().phone_status(ids)
    assert report.phone_list() == [{"id": ids[0], "serial_name": "", "status": 2, "status_name": "shut_down"}]
    assert report.failure_list() == [
        {"id": ids[1], "code": None, "msg": ""},
        {"id": ids[2], "code": None, "msg": report.failures[ids[2]]["msg"]}]
    assert "neither a status nor a failure" in report.failures[ids[2]]["msg"]


def test_null_items_list_on_an_empty_page_is_an_empty_listing(emulator, make_client):
    page = {"total": 0, "page": 1, "pageSize": 100, "items": None}
    emulator.queue_faults({"kind": "code", "code": 0, "data": page})
    assert make_client().list_phones() == []


def test_phones_whose_lists_and_objects_are_null_are_listed_and_get_a_status(emulator, make_client):
    added = emulator.state.add_phones([dict(NULL_FIELDS, id="700000000000000001"),
                                       dict(NULL_FIELDS, id="700000000000000002", tags=[None, {"name": None}])])
    client = make_client()
    items = client.list_phones()
    assert len(items) == 252 and {i["id"] for i in items} >= set(added)
    filtered = client.list_phones({"group_name": "warmup", "tags": ["vip"]})
    assert filtered and not set(added) & {i["id"] for i in filtered}
    items, report = client.fleet_status()
    assert len(report.phone_list()) == 252 and report.failure_list() == []
    nulls = [i for i in items if i["id"] in added]
    assert [i["group"] for i in nulls] == [None, None]  # the raw item, as the API sent it


def test_a_null_list_item_fails_naming_its_position(emulator, make_client):
    page = {"total": 2, "page": 1, "pageSize": 100, "items": [{"id": "1"}, None]}
    emulator.queue_faults({"kind": "code", "code": 0, "data": page})
    with pytest.raises(MalformedResponseError, match=r"items\[1\] is null"):
        make_client(retries=0).list_phones()
