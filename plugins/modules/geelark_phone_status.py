#!/usr/bin/python
# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: geelark_phone_status
short_description: Get the status of GeeLark cloud phones
version_added: 1.0.0
author:
  - geelark.cloudphone maintainers (@geelark-cloudphone)
description:
  - Returns the status of GeeLark cloud phones by ID, for tasks that check, assert or wait on state.
  - Asks C(/open/v1/phone/status) 100 IDs at a time and merges the answers by ID, so any number of
    IDs can be given. Every ID ends up either in RV(phones) or in RV(failures); none is dropped.
  - Status codes are named V(started) (0), V(starting) (1), V(shut_down) (2) and V(expired) (3);
    any other code is named V(unknown).
  - One task for many phones is the right pattern at scale, rather than one task per host;
    GeeLark allows 200 requests a minute per API, and one call covers 100 phones.
extends_documentation_fragment:
  - geelark.cloudphone.api
  - geelark.cloudphone.phone_ids
  - geelark.cloudphone.attributes.action_group
  - geelark.cloudphone.info_module
seealso:
  - plugin: geelark.cloudphone.geelark
    plugin_type: inventory
"""

EXAMPLES = r"""
- name: Check phones with token auth set once for the play
  module_defaults:
    group/geelark.cloudphone.all:
      token: "{{ vault_geelark_token }}"
  block:
    - name: Get the status of three phones
      geelark.cloudphone.geelark_phone_status:
        ids:
          - "601876382020062634"
          - "601876382020062635"
          - "601876382020062636"
      register: status

    - name: Assert that they are started
      ansible.builtin.assert:
        that: status.by_status.started | length == 3
        fail_msg: "Not started: {{ status.phones | rejectattr('status_name', '==', 'started') | map(attribute='id') }}"

- name: Wait until phones are started, with app_id and api_key from GEELARK_APP_ID and GEELARK_API_KEY
  geelark.cloudphone.geelark_phone_status:
    ids: "{{ phone_ids }}"
  register: status
  until: status.by_status.started | length == phone_ids | length
  retries: 30
  delay: 10

- name: Check every phone of an inventory group in one task (100 phones per API call)
  geelark.cloudphone.geelark_phone_status:
    ids: "{{ groups['geelark'] | map('extract', hostvars, 'geelark_id') | list }}"
    fail_on_missing: true
  run_once: true
  delegate_to: localhost
  register: fleet
"""

RETURN = r"""
phones:
  description: The phones the API answered for, in the order their IDs were given.
  returned: unless an API error failed the task (then only error and api_calls)
  type: list
  elements: dict
  contains:
    id: &phone_id
      description: The phone's ID.
      type: str
      sample: "601876382020062634"
    serial_name:
      description: The phone's name.
      type: str
      sample: tk-warm-01
    status:
      description: The status code.
      type: int
      sample: 0
    status_name:
      description: The status name, V(started), V(starting), V(shut_down), V(expired) or V(unknown).
      type: str
      sample: started
failures:
  description: The IDs the API could not answer for, in the order they were given.
  returned: unless an API error failed the task (then only error and api_calls)
  type: list
  elements: dict
  contains:
    id: *phone_id
    code:
      description:
        - The API's code for this phone, for example 42001 (not found).
        - Null when the API answered nothing at all for this phone.
      type: int
      sample: 42001
    msg:
      description: The API's message.
      type: str
      sample: env not found
by_status:
  description:
    - Phone IDs by status name. The keys V(started), V(starting), V(shut_down) and V(expired) are always
      present; V(unknown) is added when the API reports a status code outside 0 to 3.
  returned: unless an API error failed the task (then only error and api_calls)
  type: dict
  sample: {"started": ["601876382020062634"], "starting": [], "shut_down": [], "expired": []}
total_amount:
  description: How many distinct IDs were asked for, over all batches.
  returned: unless an API error failed the task (then only error and api_calls)
  type: int
  sample: 3
success_amount:
  description: How many of them the API answered with a status.
  returned: unless an API error failed the task (then only error and api_calls)
  type: int
  sample: 2
fail_amount:
  description: How many of them are in RV(failures).
  returned: unless an API error failed the task (then only error and api_calls)
  type: int
  sample: 1
api_calls:
  description:
    - What the task asked of the API, to see the cost of a task and whether retries happened.
  returned: always
  type: dict
  contains:
    requests:
      description: HTTP requests sent, retries included.
      type: int
      sample: 3
    retries:
      description: How many of them were retries of a failed attempt.
      type: int
      sample: 0
    rate_limited:
      description: How many answers were 40007 or 40017 (rate limited); each was retried after the API's minute.
      type: int
      sample: 0
    over_concurrency_cap:
      description: How many answers were 47002 (too many requests in flight); each was retried with fewer in flight.
      type: int
      sample: 0
    peak_parallel:
      description: The most requests in flight at once.
      type: int
      sample: 2
    seconds_waiting_for_budget:
      description: Seconds spent waiting for a turn in the rate budget shared by every run on this machine.
      type: float
      sample: 0.0
    seconds:
      description: Wall time of the task's API work, in seconds.
      type: float
      sample: 0.412
error:
  description: Details of the API error that failed the task.
  returned: when the API call failed
  type: dict
  contains:
    endpoint:
      description: The API path that failed.
      type: str
    code:
      description: The API code, when the API answered one.
      type: int
    api_msg:
      description: The API's own message with that code (credentials it quotes back are masked).
      type: str
    trace_id:
      description: The request's traceId, to quote to GeeLark support.
      type: str
    http_status:
      description: The HTTP status, for transport failures.
      type: int
    attempts:
      description: How many attempts were made, when the request was retried; null otherwise.
      type: int
    waited:
      description: Seconds spent waiting for the API's rate limits before the failure; null when none.
      type: float
    uncertain:
      description:
        - True when the failed call was a write whose answer was lost, so that it may have been applied.
      type: bool
"""

from ansible_collections.geelark.cloudphone.plugins.module_utils._module import (
    GeeLarkModule,
    info_spec,
    phone_ids_spec,
)


def status_result(report):
    phones = report.phone_list()
    failures = report.failure_list()
    return dict(
        changed=False,
        phones=phones,
        failures=failures,
        by_status=report.by_status(),
        total_amount=len(report.ids),
        success_amount=len(phones),
        fail_amount=len(failures),
    )


def main():
    geelark = GeeLarkModule(argument_spec=dict(phone_ids_spec(), **info_spec()), supports_check_mode=True)
    ids = geelark.params["ids"]
    geelark.warn_when_no_ids()
    report = geelark.call(lambda client: client.phone_status(ids), changed=False)
    result = status_result(report)
    geelark.exit_info(result, report.warnings, result["total_amount"], "The API did not answer for %d of %d phones")


if __name__ == "__main__":
    main()
