# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ansible-rulebook event source geelark.cloudphone.phone_status: one event per phone status change."""

from __future__ import annotations

DOCUMENTATION = r"""
---
short_description: Emit an event when a GeeLark cloud phone changes status
description:
  - Watches a set of GeeLark cloud phones, the IDs in O(ids), the phones O(filters) selects, or every
    phone of the account, and reads their status every O(interval) seconds.
  - Puts one event on the queue for each status change. Nothing changes, no event.
  - "Each event has C(type) (V(changed), V(initial) or V(vanished)), C(id), C(serial_name), C(status),
    C(status_name), C(previous_status), C(previous_status_name) and C(seen_at) (ISO 8601, UTC)."
  - V(initial) events describe a phone seen for the first time (at startup, or created later); they are
    sent only with O(emit_initial). Their C(previous_status) and C(previous_status_name) are null.
  - A V(vanished) event says the API no longer knows the phone (code 42001, deleted); its C(status) and
    C(status_name) are null. The phone is not watched after that.
  - "One 42001 is not enough: the phone is also looked for with a list read by ID, and it vanishes only
    when that read does not find it (or, when the list cannot be read, after 42001 twice in a row).
    Until then it stays watched and its last known status is kept."
  - "With O(filters) or without O(ids), a phone that leaves the selection (for example it moved to
    another group) is checked with a list read by ID with the same filters, then read once more by ID:
    it gets a V(changed) event if its status changed, or V(vanished) if it was deleted, and is no longer
    watched. A phone missing from one listing but found by that check stays watched; a listing that does
    not add up (its pages disagree) is a V(warning) and changes nothing."
  - "An API failure that outlasts the client's retries becomes one event of C(type) V(warning)
    (C(message), C(code), C(trace_id), C(consecutive_failures), C(retry_in), C(seen_at)); the source
    then waits, doubling the wait after each failure in a row up to O(max_backoff), and carries on.
    It never stops on an API error."
  - Status names are V(started) (0), V(starting) (1), V(shut_down) (2), V(expired) (3) and V(unknown).
  - Every poll costs one status request per 100 phones, plus one list request per 100 phones
    without O(ids). Requests are paced under O(rate_limit) per endpoint per minute, so a short
    O(interval) on a large fleet slows the polls down rather than exceed GeeLark's limits.
  - Credentials never appear in events.
  - An API option whose value is empty (an empty string, or a variable that renders empty, such as
    C(token) set to C({{ geelark_token }}) with C(geelark_token) empty) counts as not set, as in the
    modules and the inventory; the environment variable is used instead, then the default.
options:
  ids:
    description:
      - IDs of the phones to watch. Quote them; they are strings of about 18 digits.
      - "An ID read as a floating point number (V(6.01876382020062634e17), V(601876382020062634.0)), as a
        number or as text, is refused: it has lost digits."
      - Mutually exclusive with O(filters). Without both, every phone of the account is watched.
      - An empty list is refused (the source would watch nothing), as is a rulebook variable that is not
        defined (the error names it).
      - One ID given alone, as text or a number, is watched as a list of one; other text (IDs separated
        by spaces) is refused.
    type: list
    elements: str
  filters:
    description:
      - The phones to watch, selected as the inventory plugin's C(filters) select them
        (C(group_name), C(serial_name), C(remark), C(tags), C(charge_mode), C(open_status), C(ids),
        C(serial_nos)).
      - Do not filter on C(open_status) to watch phones stop; a stopped phone leaves such a selection.
    type: dict
  interval:
    description: Seconds between two polls.
    type: float
    default: 60
  emit_initial:
    description: Send one V(initial) event per phone when it is first seen, at startup or later.
    type: bool
    default: false
  max_backoff:
    description: The longest wait, in seconds, between two polls after API failures.
    type: float
    default: 600
  api_url:
    description:
      - Base URL of the GeeLark Open API, without a path.
      - If not set, the environment variable E(GEELARK_API_URL) is used.
    type: str
    default: https://openapi.geelark.com
  token:
    description:
      - API token (Bearer authentication). Give either O(token), or O(app_id) and O(api_key).
      - If not set, the environment variable E(GEELARK_TOKEN) is used.
    type: str
  app_id:
    description:
      - Team app ID for key signature authentication.
      - If not set, the environment variable E(GEELARK_APP_ID) is used.
    type: str
  api_key:
    description:
      - API key for key signature authentication; it signs each request and is never sent.
      - If not set, the environment variable E(GEELARK_API_KEY) is used.
    type: str
  validate_certs:
    description: Verify the API's TLS certificate.
    type: bool
    default: true
  timeout:
    description:
      - Seconds the whole answer of one attempt may take (connecting, sending, headers and body).
    type: float
    default: 30
  retries:
    description: How many times a failed read is tried again within one poll.
    type: int
    default: 5
  retry_backoff:
    description: Base, in seconds, of the exponential backoff between those retries.
    type: float
    default: 1
  retry_max_delay:
    description: The longest wait, in seconds, between two of those retries.
    type: float
    default: 60
  rate_limit:
    description:
      - Requests per minute allowed per API endpoint; V(0) turns pacing off.
      - With O(rate_limit_scope=machine) the budget is shared by every process of this user on this machine
        that calls the same account at the same O(api_url) (playbooks, inventories and this source alike).
    type: int
    default: 180
  rate_limit_scope:
    description:
      - V(machine) shares the budget across processes (file locks); V(process) keeps one per process;
        V(shared) shares it across machines and containers through the Redis or Valkey server of O(rate_limit_url).
      - If not set, the environment variable E(GEELARK_RATE_LIMIT_SCOPE) is used.
    type: str
    choices: [machine, process, shared]
    default: machine
  rate_limit_url:
    description:
      - The Redis or Valkey server of O(rate_limit_scope=shared) (V(redis://), V(rediss://) or V(unix://) URL).
      - If not set, the environment variable E(GEELARK_RATE_LIMIT_URL) is used.
    type: str
  rate_limit_password:
    description:
      - Password of the O(rate_limit_url) server, when the URL holds none.
      - If not set, the environment variable E(GEELARK_RATE_LIMIT_PASSWORD) is used.
    type: str
  rate_limit_nodes:
    description: While that server cannot be used, the source keeps O(rate_limit) divided by this in the machine budget.
    type: int
    default: 4
  rate_limit_wait:
    description: The longest time, in seconds, one request waits in all for the API's rate limits (40007, 40017, 47002).
    type: float
    default: 300
  concurrency:
    description:
      - The most requests in flight at once (1 to 64); the client starts lower and grows while answers are clean.
    type: int
    default: 32
"""

EXAMPLES = r"""
- name: Restart phones that stop
  hosts: localhost
  sources:
    - geelark.cloudphone.phone_status:
        ids:
          - "601876382020062634"
          - "601876382020070553"
        interval: 30
  rules:
    - name: A phone stopped
      condition: event.type == "changed" and event.status_name == "shut_down"
      action:
        debug:
          msg: "{{ event.serial_name }} ({{ event.id }}) stopped"

- name: Watch one group, credentials from GEELARK_APP_ID and GEELARK_API_KEY
  hosts: localhost
  sources:
    - geelark.cloudphone.phone_status:
        filters:
          group_name: warmup
        interval: 60
        emit_initial: true
  rules:
    - name: Every event
      condition: event.type is defined
      action:
        print_event:
"""

import asyncio
import datetime
import logging
import os
import sys


def _collection_importable():
    """Make ansible_collections.geelark.cloudphone importable from this file's own location.

    ansible-rulebook runs sources with runpy and without Ansible's collection loader, so the
    directory holding ansible_collections must be on sys.path for the shared client to import.
    """
    path = os.path.dirname(os.path.abspath(__file__))
    for _level in range(6):  # event_source, plugins, eda, extensions, cloudphone, geelark
        path = os.path.dirname(path)
    if os.path.basename(path) == "ansible_collections" and os.path.dirname(path) not in sys.path:
        sys.path.insert(0, os.path.dirname(path))


_collection_importable()

from ansible_collections.geelark.cloudphone.plugins.module_utils._client import GeeLarkClient
from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import (
    ConfigError,
    GeeLarkError,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import (
    list_filter_body,
    normalize_ids,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._settings import (
    API_OPTIONS,
    ClientSettings,
    Option,
    resolve,
)

logger = logging.getLogger(__name__)

# The source's own options, written as the shared settings table writes the client's (API_OPTIONS).
SOURCE_OPTIONS = (
    Option("ids", "list"),
    Option("filters", "dict"),
    Option("interval", "float", 60.0),
    Option("emit_initial", "bool", False),
    Option("max_backoff", "float", 600.0),
)
# Where the source's arguments come from, as advice names it.
ARGUMENTS = "the source's arguments"
NOT_FOUND = 42001
# Without a list read to settle it, a phone vanishes after this many 42001 answers in a row.
NOT_FOUND_STRIKES = 2


class Settings:
    """The source's arguments, checked, with the environment filled in for the API options."""

    def __init__(self, args):
        args = dict(args or {})
        known = set(option.name for option in SOURCE_OPTIONS + API_OPTIONS)
        unknown = sorted(set(args) - known)
        if unknown:
            raise ConfigError("geelark.cloudphone.phone_status: unknown option%s %s; known options: %s"
                              % ("s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(sorted(known))))
        for option in sorted(args):
            _refuse_undefined(option, args[option])
        options = dict((option.name, option.default) for option in SOURCE_OPTIONS)
        options.update((k, v) for k, v in args.items() if k in options and v is not None)
        if options["ids"] is not None and options["filters"] is not None:
            raise ConfigError("geelark.cloudphone.phone_status: give ids or filters, not both")
        self.ids = _watched_ids(options["ids"]) if options["ids"] is not None else None
        if options["filters"] is not None and not isinstance(options["filters"], dict):
            raise ConfigError("filters must be a mapping such as {group_name: warmup}, got %r" % (options["filters"],))
        self.filters = options["filters"]
        list_filter_body(self.filters)  # refuses unknown or mistyped filters now, not at the first poll
        self.interval = _seconds("interval", options["interval"])
        self.max_backoff = _seconds("max_backoff", options["max_backoff"])
        if not isinstance(options["emit_initial"], bool):
            raise ConfigError("emit_initial must be true or false, got %r" % (options["emit_initial"],))
        self.emit_initial: bool = options["emit_initial"]
        # The settings' one rule: an argument, else its environment variable, else the default; empty is unset.
        self.client_settings = ClientSettings(*resolve(args, ARGUMENTS))


def _undefined_name(value):
    """The variable name of a jinja2 Undefined (ansible-rulebook passes one for an unset variable), else None.

    Duck-typed, so the source does not import jinja2; an Undefined must not be formatted, it raises.
    """
    if any(cls.__name__.endswith("Undefined") for cls in type(value).__mro__):
        return getattr(value, "_undefined_name", None) or "?"
    return None


def _refuse_undefined(option, value):
    values = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
    for item in values:
        name = _undefined_name(item)
        if name is not None:
            raise ConfigError(
                "geelark.cloudphone.phone_status: %s: the rulebook variable %r is not defined" % (option, name),
                advice="set %s in the file given with --vars (or with --env-vars), e.g. %s: [\"601876382020062634\"]"
                       % (name, name),
            )


def _watched_ids(ids):
    """The ids option as phone IDs (the shared ID rules: no float, no float text); never empty.

    One ID alone is a list of one: `phone_ids: "601876382020062634"` in a --vars file reaches the source as
    a whole number (ansible-rulebook renders templates to native types). Any other text is refused.
    """
    if isinstance(ids, (int, float)) and not isinstance(ids, bool):
        ids = [ids]  # a float is then refused by the shared rule, which says why
    elif isinstance(ids, str) and ids.strip().isdigit() and ids.strip().isascii():
        ids = [ids.strip()]
    if not isinstance(ids, (list, tuple)):
        raise ConfigError(
            "geelark.cloudphone.phone_status: ids must be a list of phone IDs, got the %s %s"
            % (type(ids).__name__, _shown(ids)),
            advice="in the --vars file write a YAML list of quoted IDs, e.g. phone_ids: [\"601876382020062634\", "
                   "\"601876382020062635\"] (IDs separated by spaces are one text, not a list)",
        )
    try:
        watched = normalize_ids(ids, "ids")
    except ConfigError as error:  # the shared rule's message, named as this source's
        raise ConfigError("geelark.cloudphone.phone_status: %s" % error.message, advice=error.advice) from None
    if not watched:
        raise ConfigError("geelark.cloudphone.phone_status: ids is empty, so the source would watch nothing",
                          advice="give at least one phone ID, or leave ids out to watch every phone of the account "
                                 "(or use filters)")
    return watched


def _shown(value):
    """A value for a message: repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "..."


def _seconds(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError("%s must be a number of seconds above 0, got %r" % (name, value))
    return float(value)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def phone_event(kind, phone_id, current, previous, seen_at):
    """One event of the contract; `current` and `previous` are status entries or None."""
    return {
        "type": kind,
        "id": phone_id,
        "serial_name": (current or previous or {}).get("serial_name", ""),
        "status": current["status"] if current else None,
        "status_name": current["status_name"] if current else None,
        "previous_status": previous["status"] if previous else None,
        "previous_status_name": previous["status_name"] if previous else None,
        "seen_at": seen_at,
    }


def warning_event(message, seen_at, **details):
    event = {"type": "warning", "message": message, "seen_at": seen_at}
    event.update(details)
    return event


class PhoneWatcher:
    """What the source knows of each watched phone, and the events one poll makes of the API's answers.

    `poll` blocks (it calls the API); the source runs it off the event loop. A phone is forgotten
    only on evidence from two readings, never on one answer: a 42001 is checked with a list read by
    ID, and a phone missing from a listing is looked for by ID with the same filters.
    """

    def __init__(self, client, ids=None, filters=None, emit_initial=False):
        self.client = client
        self.ids = list(ids) if ids is not None else None
        self.filters = filters
        self.emit_initial = emit_initial
        self.known: dict = {}
        self._unanswered: frozenset = frozenset()
        self._not_found: dict = {}  # phone ID -> 42001 answers in a row

    def poll(self):
        """Read the status of the watched phones; return the events for what changed since the last poll."""
        left: dict = {}
        if self.ids is not None:
            report = self.client.phone_status(self.ids)
            current, failures = _in_order(report)
        else:
            # A listing that does not add up raises here: the poll fails and the selection stays as it was.
            _items, report = self.client.fleet_status(self.filters)
            current, failures = _in_order(report)
            leaving = [i for i in self.known if i not in current and i not in failures]
            if leaving:
                staying = self._still_selected(leaving)
                read, left_failures = _in_order(self.client.phone_status(leaving))
                for phone_id, phone in read.items():
                    (current if phone_id in staying else left)[phone_id] = phone
                failures.update(left_failures)
        for warning in report.warnings:
            logger.warning(warning)
        seen_at = _now()
        events = []
        for phone_id, phone in list(current.items()) + list(left.items()):
            previous = self.known.get(phone_id)
            if previous is None:
                if self.emit_initial:
                    events.append(phone_event("initial", phone_id, phone, None, seen_at))
            elif previous["status"] != phone["status"]:
                events.append(phone_event("changed", phone_id, phone, previous, seen_at))
            self.known[phone_id] = phone
        for phone_id in left:
            del self.known[phone_id]  # no longer selected: its last change was reported, it is not watched
        gone = self._confirmed_gone([i for i, failure in failures.items() if failure["code"] == NOT_FOUND])
        never_seen = []
        for phone_id in gone:
            previous = self.known.pop(phone_id, None)
            if previous is not None:
                events.append(phone_event("vanished", phone_id, None, previous, seen_at))
            else:
                never_seen.append(phone_id)
        if self.ids is not None and gone:
            self.ids = [i for i in self.ids if i not in set(gone)]  # a deleted phone does not come back
        if never_seen:
            events.append(warning_event("The API does not know %d of the phones to watch (code 42001): %s; they "
                                        "are not watched" % (len(never_seen), ", ".join(never_seen[:20])),
                                        seen_at, code=NOT_FOUND, ids=never_seen))
        unanswered = frozenset(i for i in failures if i not in gone)
        if unanswered and unanswered != self._unanswered:
            events.append(warning_event(
                "The API gave no status for %d phones this poll; their last known status is kept: %s" % (
                    len(unanswered), ", ".join("%s (%s)" % (i, failures[i]["code"] or failures[i]["msg"])
                                               for i in sorted(unanswered)[:20])),
                seen_at, ids=sorted(unanswered)))
        self._unanswered = unanswered
        return events

    def _still_selected(self, leaving):
        """The phones of `leaving` that a list read by ID with the source's filters still finds.

        If that read fails, all of them: a failed reading changes nothing in the selection.
        """
        try:
            return set(item["id"] for item in self.client.list_phones(dict(self.filters or {}, ids=leaving)))
        except GeeLarkError as error:
            logger.warning("geelark.cloudphone.phone_status: could not check whether %d phones left the selection "
                           "(%s); they stay watched", len(leaving), error)
            return set(leaving)

    def _confirmed_gone(self, not_found):
        """The phones of `not_found` (42001 this poll) that are really gone: a list read by ID does not find
        them, or, when the list cannot be read, they had 42001 in the previous poll too."""
        strikes = dict((i, self._not_found.get(i, 0) + 1) for i in not_found)
        self._not_found = strikes
        if not not_found:
            return []
        try:
            listed = set(item["id"] for item in self.client.list_phones({"ids": not_found}))
        except GeeLarkError as error:
            logger.warning("geelark.cloudphone.phone_status: could not check %d phones answered 42001 with a list "
                           "read (%s); a phone answered 42001 %d times in a row is taken as deleted",
                           len(not_found), error, NOT_FOUND_STRIKES)
            return [i for i in not_found if strikes[i] >= NOT_FOUND_STRIKES]
        return [i for i in not_found if i not in listed]


def _in_order(report):
    """(phones, failures) of a StatusReport keyed by ID, in the order the IDs were asked (the API shuffles)."""
    return (dict((p["id"], p) for p in report.phone_list()),
            dict((f["id"], f) for f in report.failure_list()))


async def _put(queue, event):
    await queue.put(event)
    await asyncio.sleep(0)


async def main(queue, args):
    """Poll forever; ansible-rulebook cancels the task to stop the source."""
    settings = Settings(args)
    client = GeeLarkClient(settings.client_settings, log=logger.debug, notice=logger.warning)
    watcher = PhoneWatcher(client, settings.ids, settings.filters, settings.emit_initial)
    logger.info("geelark.cloudphone.phone_status: watching %s every %gs", _scope(settings), settings.interval)
    failures = 0
    try:
        while True:
            try:
                events = await asyncio.to_thread(watcher.poll)
            except GeeLarkError as error:
                failures += 1
                delay = min(settings.interval * 2 ** (failures - 1), settings.max_backoff)
                logger.warning("geelark.cloudphone.phone_status: %s; next poll in %gs", error, delay)
                await _put(queue, warning_event(str(error), _now(), code=error.code, trace_id=error.trace_id,
                                                consecutive_failures=failures, retry_in=delay))
                await asyncio.sleep(delay)
                continue
            failures = 0
            for event in events:
                await _put(queue, event)
            await asyncio.sleep(settings.interval)
    finally:
        client.stop()  # a poll still running in its thread stops at its next wait
        client.close()


def _scope(settings):
    if settings.ids is not None:
        return "%d phones by ID" % len(settings.ids)
    if settings.filters:
        return "the phones selected by filters %s" % sorted(settings.filters)
    return "every phone of the account"


if __name__ == "__main__":
    # Run by hand: python phone_status.py '{"ids": ["..."], "interval": 10}' prints the events.

    class _PrintQueue:
        async def put(self, event):
            print(event, flush=True)

    import json

    asyncio.run(main(_PrintQueue(), json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
