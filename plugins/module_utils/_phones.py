# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Phone status and phone listing on top of the transport: batching, pagination, accounting.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

import math
import re
import typing as t
from concurrent.futures import FIRST_COMPLETED, wait

from ._errors import (
    ConfigError,
    IncompleteResultError,
    MalformedResponseError,
    PARTIAL_CODES,
    api_error,
)
from ._parallel import BoundedPool, run_parallel

STATUS_PATH = "/open/v1/phone/status"
LIST_PATH = "/open/v1/phone/list"

# The API takes at most 100 IDs per status call and 100 items per list page.
MAX_IDS_PER_CALL = 100
MAX_PAGE_SIZE = 100

STATUS_NAMES = {0: "started", 1: "starting", 2: "shut_down", 3: "expired"}
UNKNOWN_STATUS = "unknown"

# Server-side list filters: option name -> (API field, expected type).
LIST_FILTERS = {
    "group_name": ("groupName", str),
    "serial_name": ("serialName", str),
    "remark": ("remark", str),
    "tags": ("tags", list),
    "charge_mode": ("chargeMode", int),
    "open_status": ("openStatus", int),
    "ids": ("ids", list),
    "serial_nos": ("serialNos", list),
}

# A listing that changes while it is read is read again this many times before giving up.
LISTING_ATTEMPTS = 3
# The most phones one listing reads (documented): a larger total on page 1 is refused at once,
# so a pager that lies about its total never drives requests and memory without bound.
MAX_LISTED_PHONES = 200000


def status_name(code):
    """The name of a status code: started, starting, shut_down, expired, or unknown."""
    return STATUS_NAMES.get(code, UNKNOWN_STATUS) if _is_int(code) else UNKNOWN_STATUS


# The text of a floating point number: an ID that went through a float on its way here.
FLOAT_TEXT = re.compile(r"[+-]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(\.[0-9]*)?[eE][+-]?[0-9]+)")
_QUOTE_ADVICE = "quote the ID in YAML so it stays a string, e.g. \"601876382020062634\""


def normalize_ids(ids, what="ids"):
    """Phone IDs as strings, duplicates removed (first wins); a clear error for anything else."""
    if ids is None:
        return []
    if isinstance(ids, (str, bytes)) or not isinstance(ids, (list, tuple)):
        raise ConfigError("%s must be a list of phone IDs, got %s" % (what, type(ids).__name__))
    seen: dict[str, None] = {}
    for position, value in enumerate(ids):  # 0-based, as Python and Jinja index a list
        phone_id = _phone_id(value, "%s[%d]" % (what, position))
        seen.setdefault(phone_id, None)
    return list(seen)


def _phone_id(value, where):
    if isinstance(value, bool) or value is None:
        raise ConfigError("%s is %r, not a phone ID" % (where, value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        raise ConfigError(
            "%s is the number %r: phone IDs have about 18 digits and lose precision as floating point numbers"
            % (where, value),
            advice=_QUOTE_ADVICE,
        )
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ConfigError("%s is an empty string, not a phone ID" % where)
        if re.search(r"\s", text):  # "ID1 ID2": ansible-core makes a list of a text only at its commas
            raise ConfigError(
                "%s is %r, which holds a space: IDs separated by spaces are not a list, and no phone ID has one"
                % (where, value),
                advice="separate the IDs with commas (ID1,ID2) or give a YAML list",
            )
        if FLOAT_TEXT.fullmatch(text):  # "6.01876382020062634e17": YAML keeps it text, but the digits are gone
            raise ConfigError(
                "%s is %r, a number in floating point notation: phone IDs have about 18 digits and lose "
                "precision as floating point numbers" % (where, value),
                advice=_QUOTE_ADVICE,
            )
        return text
    raise ConfigError("%s is a %s, not a phone ID" % (where, type(value).__name__))


def failures_text(failures, limit=20):
    """The first `limit` failures as "ID (code msg), ...", and how many more are in the result."""
    shown = failures[:limit]
    text = ", ".join(
        "%s (%s)" % (f["id"], " ".join(str(p) for p in (f["code"], f["msg"]) if p not in (None, ""))) for f in shown)
    if len(failures) > len(shown):
        text += ", and %d more (all of them are in failures)" % (len(failures) - len(shown))
    return text


def chunked(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


class StatusReport:
    """The answer for every requested ID: each one is either in `phones` or in `failures`."""

    def __init__(self, ids):
        self.ids = ids
        self.phones = {}
        self.failures = {}
        self.warnings = []
        self.calls = 0

    def phone_list(self):
        return [self.phones[i] for i in self.ids if i in self.phones]

    def failure_list(self):
        return [self.failures[i] for i in self.ids if i in self.failures]

    def by_status(self):
        groups: dict[str, list[str]] = dict((name, []) for name in STATUS_NAMES.values())
        for phone in self.phone_list():
            groups.setdefault(phone["status_name"], []).append(phone["id"])
        return groups


def query_status(transport, ids, concurrency=1):
    """Status of every ID, asked 100 at a time, merged by ID (the API answers in its own order)."""
    ids = normalize_ids(ids)
    batches = list(chunked(ids, MAX_IDS_PER_CALL))
    answers = run_parallel(lambda batch: _status_batch(transport, batch), batches, concurrency,
                           transport.stop_event)
    return _status_report(ids, zip(batches, answers))


def _status_report(ids, answered_batches):
    """A StatusReport for `ids` from (batch, _status_batch answer) pairs."""
    report = StatusReport(ids)
    for batch, (successes, failures, trace_id) in answered_batches:
        report.calls += 1
        _merge_status_batch(report, batch, successes, failures, trace_id)
    return report


def _status_batch(transport, batch):
    envelope = transport.post(STATUS_PATH, {"ids": batch}, accept_codes=PARTIAL_CODES)
    trace_id = envelope["traceId"]
    data = envelope.get("data")
    if not isinstance(data, dict):
        if envelope["code"] != 0:
            raise api_error(envelope["code"], envelope.get("msg"), STATUS_PATH, trace_id)
        raise MalformedResponseError("The status answer has no 'data' object", endpoint=STATUS_PATH,
                                     trace_id=trace_id)
    successes = [_success_entry(entry, trace_id) for entry in _entries(data, "successDetails", trace_id)]
    failures = [_failure_entry(entry, trace_id) for entry in _entries(data, "failDetails", trace_id)]
    return successes, failures, trace_id


def _entries(data, field, trace_id):
    """The objects of a status answer's list; GeeLark sends null for an empty list (or entry).

    A null entry is skipped: every phone of the batch is accounted for afterwards, so a phone it
    stood for becomes a failure naming the phone, never a silent gap.
    """
    entries = data.get(field)
    if entries is None:
        return []
    if not isinstance(entries, list) or not all(isinstance(e, dict) or e is None for e in entries):
        raise MalformedResponseError("The status answer's %s is not a list of objects" % field,
                                     endpoint=STATUS_PATH, trace_id=trace_id)
    return [entry for entry in entries if entry is not None]


def _success_entry(entry, trace_id):
    phone_id = _answer_id(entry, STATUS_PATH, trace_id)
    status = entry.get("status")
    if not _is_int(status):
        raise MalformedResponseError("Phone %s has no integer status in the answer" % phone_id,
                                     endpoint=STATUS_PATH, trace_id=trace_id)
    serial_name = entry.get("serialName")
    return {
        "id": phone_id,
        "serial_name": serial_name if isinstance(serial_name, str) else "",
        "status": status,
        "status_name": status_name(status),
    }


def _failure_entry(entry, trace_id):
    phone_id = _answer_id(entry, STATUS_PATH, trace_id)
    code = entry.get("code")
    msg = entry.get("msg")
    return {"id": phone_id, "code": code if _is_int(code) else None, "msg": msg if isinstance(msg, str) else ""}


def _answer_id(entry, endpoint, trace_id):
    phone_id = entry.get("id")
    if _is_int(phone_id):
        phone_id = str(phone_id)
    if not isinstance(phone_id, str) or not phone_id:
        raise MalformedResponseError("An entry of the answer has no phone id", endpoint=endpoint, trace_id=trace_id)
    return phone_id


def _merge_status_batch(report, batch, successes, failures, trace_id):
    asked = set(batch)
    for phone in successes:
        if phone["id"] not in asked:
            report.warnings.append("The status answer (traceId %s) named phone %s, which was not asked for; ignored"
                                   % (trace_id, phone["id"]))
            continue
        report.phones[phone["id"]] = phone
    for failure in failures:
        if failure["id"] not in asked:
            report.warnings.append("The status answer (traceId %s) reported a failure for phone %s, which was not "
                                   "asked for; ignored" % (trace_id, failure["id"]))
            continue
        if failure["id"] in report.phones:
            report.warnings.append("The status answer (traceId %s) gave phone %s both a status and a failure; "
                                   "the status was kept" % (trace_id, failure["id"]))
            continue
        report.failures[failure["id"]] = failure
    for phone_id in batch:
        if phone_id not in report.phones and phone_id not in report.failures:
            report.failures[phone_id] = {
                "id": phone_id, "code": None,
                "msg": "the API answered neither a status nor a failure for this phone (traceId %s)" % trace_id,
            }


def list_filter_body(filters):
    """The API fields for the given snake_case filters, type-checked; unknown names are an error."""
    body = {}
    for name, value in (filters or {}).items():
        if name not in LIST_FILTERS:
            raise ConfigError("Unknown filter %r; known filters: %s" % (name, ", ".join(sorted(LIST_FILTERS))))
        if value is None or value == "" or value == []:
            continue
        field, kind = LIST_FILTERS[name]
        if kind is list:
            if not isinstance(value, (list, tuple)):
                value = [value]
            value = normalize_ids(value, "filters.%s" % name) if name == "ids" else [_filter_text(name, v)
                                                                                     for v in value]
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError("filters.%s must be an integer, got %r" % (name, value))
        else:
            value = _filter_text(name, value)
        body[field] = value
    return body


def _filter_text(name, value):
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ConfigError("filters.%s must hold strings, got %r" % (name, value))
    return str(value)


def list_phones(transport, filters=None, concurrency=1):
    """Every phone the filters select, as raw API items, each exactly once.

    Pages of 100; the first page's total tells how many more to ask for, in parallel. A listing
    whose pages do not add up (phones created or deleted while paging, or a pager that repeats
    pages or claims a wrong total) is read again, and if it still does not add up the run fails
    rather than return a partial fleet.
    """
    return _read_fleet(transport, filters, concurrency, with_status=False)[0]


def fleet_status(transport, filters=None, concurrency=1):
    """(items, StatusReport) for every phone the filters select, with the fewest requests.

    Status batches of 100 go out while list pages are still arriving, on the same bounded pool,
    so the list and status endpoints (each with its own rate budget) work side by side. The
    listing is checked as list_phones checks it: complete, or an IncompleteResultError.
    """
    return _read_fleet(transport, filters, concurrency, with_status=True)


def _read_fleet(transport, filters, concurrency, with_status):
    body = list_filter_body(filters)
    if "ids" in body:
        items = _list_by_ids(transport, body, concurrency)
        return items, query_status(transport, [item["id"] for item in items], concurrency) if with_status else None
    problem = None
    for _attempt in range(LISTING_ATTEMPTS):
        items, report, problem = _FleetReading(transport, body, concurrency, with_status).read()
        if problem is None:
            return items, report
        transport.debug("The phone list did not add up (%s); reading it again" % problem)
    # Never part of the fleet as if it were all of it: a run that acts on "every phone" must not
    # miss the ones a lying or changing pager hid.
    raise IncompleteResultError(
        "The phone list did not add up in %d readings: %s" % (LISTING_ATTEMPTS, problem), endpoint=LIST_PATH,
        advice="phones were being created or deleted during the run, or the API's pages disagree with each other: "
               "run again when the fleet is stable; if it persists, report the traceId to GeeLark support",
    )


class _FleetReading:
    """One reading of every list page, with status batches sent while pages still arrive.

    The first page's total fixes how many pages there are. A page that disagrees with it (another
    total, a phone already seen, fewer or more phones than its place allows) makes the whole
    reading inconsistent at once: the pages in flight are cancelled and nothing is kept.
    """

    def __init__(self, transport, body, concurrency, with_status):
        self.transport = transport
        self.body = body
        self.concurrency = concurrency
        self.with_status = with_status
        self.pages: dict = {}
        self.seen: set = set()
        self.waiting: list = []
        self.batches: list = []
        self.reading: dict = {}
        self.total = 0
        self.page_count = 1
        self.next_number = 2
        # Pages in flight: one at first, at most half the workers, so status batches never queue
        # behind the whole listing (when the list endpoint's budget runs out, status calls use theirs).
        self.window = 1
        self.max_window = max(1, concurrency // 2)
        self.pool: t.Any = None

    def read(self):
        first = _list_page(self.transport, _page_body(self.body, 1))
        self.total = first["total"]
        _check_total(first)
        self.page_count = max(1, math.ceil(self.total / MAX_PAGE_SIZE))
        with BoundedPool(self.concurrency, self.transport.stop_event) as self.pool:
            problem = self._take(1, first)
            if problem is None:
                self._read_more_pages()
            while self.reading and problem is None:
                done, _pending = wait(self.reading, return_when=FIRST_COMPLETED)
                for future in done:
                    number = self.reading.pop(future)
                    problem = problem or self._take(number, future.result())
                    if problem is None:
                        # Each page that fits lets one more page be in flight (slow start): a pager that
                        # lies is caught on page 2 with nothing else sent, an honest one soon reads wide.
                        self.window = min(self.window + 1, self.max_window)
                        self._read_more_pages()
            if problem is not None:
                for future in list(self.reading) + [future for _batch, future in self.batches]:
                    future.cancel()
                return None, None, problem
            items = [item for number in sorted(self.pages) for item in self.pages[number]["items"]]
            if not self.with_status:
                return items, None, None
            if self.waiting:
                self._send(list(self.waiting))
            report = _status_report([item["id"] for item in items],
                                    ((batch, future.result()) for batch, future in self.batches))
        return items, report, None

    def _take(self, number, page):
        """Account for one page; return why the reading must stop, or None."""
        problem = _page_problem(number, page, self.total, self.page_count)
        if problem is not None:
            return problem
        for item in page["items"]:
            if item["id"] in self.seen:
                return "phone %s appeared on two pages (page %d, traceId %s)" % (item["id"], number, page["traceId"])
            self.seen.add(item["id"])
            self.waiting.append(item["id"])
        self.pages[number] = page
        while self.with_status and len(self.waiting) >= MAX_IDS_PER_CALL:
            self._send(self.waiting[:MAX_IDS_PER_CALL])
            del self.waiting[:MAX_IDS_PER_CALL]
        return None

    def _send(self, batch):
        self.batches.append((batch, self.pool.submit(_status_batch, self.transport, batch)))

    def _read_more_pages(self):
        while len(self.reading) < self.window and self.next_number <= self.page_count:
            future = self.pool.submit(_list_page, self.transport, _page_body(self.body, self.next_number))
            self.reading[future] = self.next_number
            self.next_number += 1


def _check_total(first):
    """Refuse, before a second request, a total no listing should read (see MAX_LISTED_PHONES)."""
    if first["total"] > MAX_LISTED_PHONES:
        raise IncompleteResultError(
            "The phone list claims %d phones, more than the %d one listing reads"
            % (first["total"], MAX_LISTED_PHONES), endpoint=LIST_PATH, trace_id=first["traceId"],
            advice="if the account really holds that many phones, split the listing with filters (group_name, "
                   "tags, ...) into parts of at most %d; otherwise the API's total is wrong: report the traceId "
                   "to GeeLark support" % MAX_LISTED_PHONES,
        )


def _page_body(body, page):
    return dict(body, page=page, pageSize=MAX_PAGE_SIZE)


def _page_problem(number, page, total, page_count):
    """Why a page does not fit the listing the first page announced, or None."""
    if page["total"] != total:
        return "total was %d on page 1 and %d on page %d" % (total, page["total"], number)
    expected = max(0, min(MAX_PAGE_SIZE, total - (number - 1) * MAX_PAGE_SIZE))
    if len(page["items"]) != expected:
        return "page %d of %d held %d phones, expected %d (traceId %s)" % (
            number, page_count, len(page["items"]), expected, page["traceId"])
    return None


def _list_by_ids(transport, body, concurrency):
    ids = body.pop("ids")
    answers = run_parallel(lambda chunk: _list_page(transport, dict(body, ids=chunk)),
                           list(chunked(ids, MAX_IDS_PER_CALL)), concurrency, transport.stop_event)
    items: dict[str, dict] = {}
    for page in answers:
        for item in page["items"]:
            items.setdefault(item["id"], item)
    return [items[i] for i in ids if i in items]


def _list_page(transport, body):
    envelope = transport.post(LIST_PATH, body)
    trace_id = envelope["traceId"]
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise MalformedResponseError("The list answer has no 'data' object", endpoint=LIST_PATH, trace_id=trace_id)
    total = data.get("total")
    items = data.get("items")
    if items is None:
        items = []
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise MalformedResponseError("The list answer has no valid 'total'", endpoint=LIST_PATH, trace_id=trace_id)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        # A null item cannot be skipped like a null status entry: no later count would name the phone it hid.
        raise MalformedResponseError("The list answer's items are not a list of objects (%s)"
                                     % _first_non_object(items), endpoint=LIST_PATH, trace_id=trace_id)
    if len(items) > MAX_PAGE_SIZE:
        raise MalformedResponseError("The list answer holds %d items, more than a page of %d"
                                     % (len(items), MAX_PAGE_SIZE), endpoint=LIST_PATH, trace_id=trace_id)
    for item in items:
        item["id"] = _answer_id(item, LIST_PATH, trace_id)
    return {"total": total, "items": items, "traceId": trace_id}


def _first_non_object(items):
    if not isinstance(items, list):
        return "items is a %s" % type(items).__name__
    position, value = next((n, v) for n, v in enumerate(items) if not isinstance(v, dict))
    return "items[%d] is %s" % (position, "null" if value is None else "a %s" % type(value).__name__)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)
