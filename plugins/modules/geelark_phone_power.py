#!/usr/bin/python
# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: geelark_phone_power
short_description: Start, stop or restart GeeLark cloud phones, and wait for them
version_added: 1.0.0
author:
  - geelark.cloudphone maintainers (@geelark-cloudphone)
description:
  - Starts, stops or restarts any number of GeeLark cloud phones by ID, and by default waits until
    they are in the wanted state.
  - B(Status first.) The module reads the status of every ID (100 per call) and writes only to
    the phones that need it. A start goes only to phones that are shut down, a stop only to phones
    that are started or starting. A second run with the same state changes nothing and sends no write.
  - A phone the API does not know (42001) is never written to and is reported in RV(failures).
    An expired phone cannot start, so for O(state=started) and O(state=restarted) it is reported
    in RV(failures) without a write; for O(state=stopped) it is already off and is left unchanged.
  - O(state=restarted) stops the running phones, waits until they are shut down, then starts
    every requested phone that can start. It is built from the documented start and stop calls.
  - B(Writes) carry at most 100 IDs per call and are never repeated blindly. When the answer to
    a write is lost (a timeout, a dropped connection, an HTTP 5xx), the module reads the status
    of those phones and writes again only to the ones that have not moved, so a start the server
    applied is never sent twice. Answers that mean nothing was done (40007, 40017, 47002) are
    retried like reads. Because the API shows a stop only once the phone is down, a phone whose
    stop answer was lost and that still reads as running is sent the stop again; stopping a
    stopping phone is harmless.
  - B(Waiting) polls the status of the phones still on their way every O(poll_interval) seconds, one
    status call per 100 of them, within O(rate_limit). A boot can take minutes.
  - B(A write the server may have applied is never reported as unchanged.) Each batch's accepted
    phones are kept as the answers arrive, so when a later batch is refused (an HTTP 403, an answer
    that is not a JSON object, expired credentials), the task still reports the earlier batches in
    RV(changed_ids) and C(changed), and the phones of the refused batch and of every batch not sent
    after it in RV(failures) with the reason. No batch is sent after such a refusal.
  - When the answer to a write is lost and reading the phones back fails too (for example HTTP 502
    until the retries run out), the module cannot tell whether the write was applied. Those phones
    are in RV(failures) with C(uncertain=true) and the message "the start may have been applied;
    status could not be read", their status is V(unknown), and the task reports C(changed) and
    RV(uncertain). Run the task again to read where they are.
  - Every per-phone failure the API reports (for example 43005, a task is running; 43006, someone
    is viewing the phone; 43008, the daily start limit) is reported in RV(failures).
  - B(Billing.) Per-minute billing of a phone starts when it starts, unless the phone is covered
    by a monthly rental or a parallel slot of the plan. Stop phones you no longer need.
  - The live-view URL that the start call answers opens the phone in a browser without a login.
    The module never keeps it, so it is not in the result, the warnings or the debug output.
  - The task fails when RV(failures) is not empty, naming the phones and their codes; every other
    result key is still returned, with the same meaning as in a task that succeeds. The same holds
    when an error ends the run after writes went out (for example the credentials refused while
    waiting). C(changed), RV(changed_ids), RV(phones), RV(failures), RV(by_status) and RV(uncertain)
    are then returned with RV(error).
extends_documentation_fragment:
  - geelark.cloudphone.api
  - geelark.cloudphone.phone_ids
  - geelark.cloudphone.attributes.action_group
  - geelark.cloudphone.state_changing
attributes:
  idempotent:
    support: partial
    details:
      - Yes for O(state=started) and O(state=stopped), which write only to phones not yet in the state.
      - No for O(state=restarted), which restarts every phone that can start on every run.
options:
  state:
    description:
      - V(started) starts the phones that are shut down. With O(wait), it waits for the phones already
        starting too.
      - V(stopped) stops the phones that are started or starting.
      - V(restarted) stops the running phones, waits until they are shut down, then starts every
        phone that can start. It reports a change whenever a phone is restarted.
      - V(restarted) always waits for the stopped phones to shut down before it starts them; O(wait)
        decides whether it then waits for them to start. The wait for the stop and the wait for the
        start each get O(wait_timeout). For O(max_changes), every phone that would be stopped or
        started counts once.
    type: str
    choices: [started, stopped, restarted]
    required: true
  wait_timeout:
    default: 600
  poll_interval:
    default: 5
  energy_saving:
    description:
      - Start the phones in energy saving mode (the API's C(energySavingMode)), in which GeeLark shuts
        a phone down after 30 minutes without activity, which ends its billing. What counts as activity
        is not documented, so a phone may turn itself off between two tasks of a long play.
      - Only for V(started) and V(restarted). Not sent to the API when it is not set.
    type: bool
seealso:
  - module: geelark.cloudphone.geelark_phone_status
  - plugin: geelark.cloudphone.geelark
    plugin_type: inventory
  - name: The power runbook
    description: C(geelark.cloudphone.power) starts, stops or restarts phones, with a guard on how many change.
    link: https://github.com/geelark-cloudphone/geelark.cloudphone#the-module-geelark_phone_power-and-the-power-runbook
"""

EXAMPLES = r"""
- name: Start phones and wait until they are up
  geelark.cloudphone.geelark_phone_power:
    ids:
      - "601876382020062634"
      - "601876382020062635"
    state: started
  register: power

- name: Stop every started phone of an inventory group in one task, without waiting
  geelark.cloudphone.geelark_phone_power:
    ids: "{{ groups['status_started'] | map('extract', hostvars, 'geelark_id') | list }}"
    state: stopped
    wait: false
    max_changes: 200  # fail, changing nothing, if the group is larger than expected
  run_once: true
  delegate_to: localhost

- name: Restart hung phones, giving each boot up to 5 minutes
  geelark.cloudphone.geelark_phone_power:
    ids: "{{ hung_ids }}"
    state: restarted
    wait_timeout: 300
    poll_interval: 10

- name: See what a start would change, without changing anything
  geelark.cloudphone.geelark_phone_power:
    ids: "{{ phone_ids }}"
    state: started
  check_mode: true
  register: plan

- name: Start in energy saving mode, with credentials set once for the play
  module_defaults:
    group/geelark.cloudphone.all:
      token: "{{ vault_geelark_token }}"
  geelark.cloudphone.geelark_phone_power:
    ids: "{{ phone_ids }}"
    state: started
    energy_saving: true
"""

RETURN = r"""
changed_ids:
  description:
    - The IDs a start or stop was sent for and accepted, in the order the IDs were given. In check
      mode, the IDs it would be sent for.
    - When an answer was lost, the phones found moving when their status was read again.
    - Also returned when the task fails, with every batch accepted before the failure.
  returned: always
  type: list
  elements: str
  sample: ["601876382020062634"]
phones:
  description:
    - The last status read of every phone the API answered for, in the order the IDs were given, under the
      same keys as in M(geelark.cloudphone.geelark_phone_status), which describes each (id, serial_name,
      status, status_name).
    - After a wait, the status at its end; without a wait, the status read just after the write.
    - The status is null, and its name V(unknown), when a write may have moved the phone and its status
      could not be read afterwards (see RV(uncertain)).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "601876382020062634", "serial_name": "tk-warm-01", "status": 0, "status_name": "started"}]
failures:
  description: Every phone that did not reach the state, in the order the IDs were given.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The phone's ID.
      type: str
      sample: "601876382020062635"
    code:
      description:
        - The API's code for this phone, for example 42001 (not found), 43005 (a task is running),
          43006 (someone is viewing the phone) or 43008 (the daily start limit).
        - Null where there is no API code, for example an expired phone that was not sent a start,
          or a phone still starting when O(wait_timeout) passed.
      type: int
      sample: 43005
    msg:
      description: The API's message, or what happened, with the phone's last status after a wait.
      type: str
      sample: env is executing a task
    uncertain:
      description:
        - True when the start or stop may have been applied to this phone but that could not be
          confirmed, because its answer was lost and reading its status back failed.
      type: bool
      sample: false
uncertain:
  description:
    - True when some phones may have been started or stopped without the module being able to
      confirm it (see RV(failures[].uncertain)). They make C(changed) true, but are not in RV(changed_ids).
  returned: always
  type: bool
  sample: false
by_status:
  description:
    - Phone IDs by their last status name, as M(geelark.cloudphone.geelark_phone_status) returns them.
  returned: always
  type: dict
  sample: {"started": ["601876382020062634"], "starting": [], "shut_down": [], "expired": []}
api_calls:
  description:
    - What the task asked of the API (status reads, start and stop calls, and polls while waiting).
    - Its keys are those M(geelark.cloudphone.geelark_phone_status) describes.
  returned: always
  type: dict
  sample: {"requests": 6, "retries": 0, "seconds": 12.5}
error:
  description: The API error that failed the task, with the keys M(geelark.cloudphone.geelark_phone_status) describes.
  returned: when an API call failed as a whole, before the task could account for every phone
  type: dict
  sample: {"endpoint": "/open/v1/phone/start", "code": 40003, "trace_id": "2C1F1A5B8E0D4F6A"}
"""

from ansible_collections.geelark.cloudphone.plugins.module_utils._module import (
    GeeLarkModule,
    phone_ids_spec,
    state_changing_spec,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._power import (
    DEFAULT_POLL_INTERVAL,
    DEFAULT_WAIT_TIMEOUT,
    POWER_STATES,
)


def main():
    geelark = GeeLarkModule(
        argument_spec=dict(
            phone_ids_spec(),
            state=dict(type="str", choices=list(POWER_STATES), required=True),
            energy_saving=dict(type="bool"),
            **state_changing_spec(DEFAULT_WAIT_TIMEOUT, DEFAULT_POLL_INTERVAL),
        ),
        supports_check_mode=True,
    )
    params = geelark.params
    geelark.warn_when_no_ids()
    power = geelark.call(lambda client: client.set_power(
        params["ids"], params["state"], energy_saving=params["energy_saving"], **geelark.state_changing_params()))
    geelark.exit_change(power)


if __name__ == "__main__":
    main()
