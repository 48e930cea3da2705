#!/usr/bin/python
# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: geelark_app
short_description: Install or remove an app on GeeLark cloud phones
version_added: 1.1.0
author:
  - geelark.cloudphone maintainers (@geelark-cloudphone)
description:
  - Makes an app V(present) (a given version, or any version) or V(absent) on any number of
    GeeLark cloud phones by ID, and by default waits until each install or removal is done.
  - B(Installed apps first.) The module reads the installed apps of every phone (C(/open/v1/app/list),
    every page, one call per phone per 100 apps) and writes only where it is needed. V(present)
    sends an install only to phones where the package is missing or older than the wanted version,
    V(absent) an uninstall only where it is installed. A second run changes nothing and sends no write.
  - B(Version.) The API installs by app version ID only. O(version) (a version name such as
    C("36.5.4")) is resolved to its version ID once per run, through the installable apps of one
    phone that needs it (C(/open/v1/app/installable/list), every page), matching O(package)
    exactly. When the name matches several versions, or none, the task fails before any write and
    lists what it found; a name is never guessed. O(version_id) skips the guess entirely. Without
    either, V(present) installs the newest installable version where the app is missing and leaves
    every installed version alone.
  - A phone with a higher version installed is a failure with code 42004 and nothing is sent to
    it, because GeeLark refuses downgrades; remove the app first with O(state=absent).
  - B(Only started phones.) The status of the phones to write to is read first (one call per 100).
    A phone that is not started (or that the API answers 42002, not running) is a failure that
    says so and names M(geelark.cloudphone.geelark_phone_power); it is never started behind your
    back. The C(geelark.cloudphone.apps) runbook can start shut-down phones for the install and
    stop them again.
  - B(Writes) go one phone a call, in parallel within O(concurrency) and O(rate_limit). A phone
    found mid-install, or answering 42003 (the app is already being installed), is waited for and
    never sent a second install; it is not counted in RV(changed_ids), as the task sent it nothing.
    When the answer to an install is lost, the phone's apps are read again and the install is sent
    again only if the phone shows no sign of it; when that read fails too, the phone is in
    RV(failures) with C(uncertain=true) and the task reports C(changed).
  - B(Waiting) polls C(/open/v1/app/list) of each phone still on its way every O(poll_interval)
    seconds, one call per phone. At 1,000 phones one poll round is 1,000 requests, about five and
    a half minutes at the default O(rate_limit) of 180 a minute, so polls of a large fleet follow
    each other without a pause.
  - The task fails when RV(failures) is not empty, naming the phones and their codes; every other
    result key is still returned, with the same meaning as in a task that succeeds.
extends_documentation_fragment:
  - geelark.cloudphone.api
  - geelark.cloudphone.phone_ids
  - geelark.cloudphone.attributes.action_group
  - geelark.cloudphone.state_changing
options:
  package:
    description:
      - The app's package name, exactly as Android knows it, for example C(com.zhiliaoapp.musically).
    type: str
    required: true
  version:
    description:
      - The version name to install with O(state=present), for example C("36.5.4"), as a string.
        Quote it in YAML, because an unquoted C(36.10) is the number 36.1, which the module refuses
        rather than look for the wrong version.
      - Phones with an older version are upgraded; phones with this version are left alone.
      - Mutually exclusive with O(version_id).
    type: raw
  version_id:
    description:
      - The app version ID to install with O(state=present), as a string (for example from
        M(geelark.cloudphone.geelark_app_info) with O(geelark.cloudphone.geelark_app_info#module:installable=true)).
        A whole number is taken as its digits.
      - Mutually exclusive with O(version).
    type: raw
  state:
    description:
      - V(present) installs the app where it is missing or older than O(version).
      - V(absent) uninstalls it wherever it is installed.
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    default: 900
  poll_interval:
    default: 10
seealso:
  - module: geelark.cloudphone.geelark_app_info
  - module: geelark.cloudphone.geelark_phone_power
  - name: The apps runbook
    description: C(geelark.cloudphone.apps) plans, guards and reports an install or removal across a fleet.
    link: https://github.com/geelark-cloudphone/geelark.cloudphone#apps-on-phones
"""

EXAMPLES = r"""
- name: Put TikTok 36.5.4 on phones, upgrading older versions
  geelark.cloudphone.geelark_app:
    ids: "{{ phone_ids }}"
    package: com.zhiliaoapp.musically
    version: "36.5.4"
  register: install

- name: Remove an app from every started phone of the inventory, at most 100 of them
  geelark.cloudphone.geelark_app:
    ids: "{{ groups['status_started'] | map('extract', hostvars, 'geelark_id') | list }}"
    package: org.telegram.messenger
    state: absent
    max_changes: 100
  run_once: true
  delegate_to: localhost

- name: See which phones an install would change, without changing anything
  geelark.cloudphone.geelark_app:
    ids: "{{ phone_ids }}"
    package: com.zhiliaoapp.musically
    version: "36.5.4"
  check_mode: true
  register: plan

- name: Install by version ID and do not wait for the installs to finish
  geelark.cloudphone.geelark_app:
    ids: "{{ phone_ids }}"
    package: com.zhiliaoapp.musically
    version_id: "1793552962140770305"
    wait: false
"""

RETURN = r"""
changed_ids:
  description:
    - The IDs an install or uninstall was sent to and accepted, in the order the IDs were given.
      In check mode, the IDs it would be sent to.
    - When an answer was lost, the phones whose apps, read again, show the change.
  returned: always
  type: list
  elements: str
  sample: ["601876382020062634"]
apps:
  description: The app on every requested phone, in the order the IDs were given.
  returned: always
  type: list
  elements: dict
  contains:
    id: &phone_id
      description: The phone's ID.
      type: str
      sample: "601876382020062634"
    package:
      description: The package name.
      type: str
      sample: com.zhiliaoapp.musically
    version_before:
      description: The version installed when the task read the phone first; null when none was.
      type: str
      sample: "36.4.0"
    version_after:
      description:
        - The version installed at the last read; null when none is.
        - In check mode, the version the planned write would leave.
      type: str
      sample: "36.5.4"
    status:
      description:
        - V(installed) or V(uninstalled) when the change was made (by this task, or by one found
          under way); V(already) or V(absent) when there was nothing to do; V(installing) or
          V(uninstalling) without O(wait); V(failed) when the phone is in RV(failures).
        - In check mode, the outcome the run would have (V(installed) for a phone an install would
          go to); nothing was sent.
      type: str
      sample: installed
failures:
  description: Every phone that did not reach the state, in the order the IDs were given.
  returned: always
  type: list
  elements: dict
  contains:
    id: *phone_id
    code:
      description:
        - The API's code for this phone, for example 42001 (not found), 42002 (not running),
          42004 (a higher version is installed) or 42006 (no such version).
        - Null where there is no API code, for example an install that ended with installStatus 2.
      type: int
      sample: 42004
    msg:
      description: What happened, and what to do.
      type: str
    uncertain:
      description:
        - True when the install or uninstall may have been applied to this phone but that could not
          be confirmed, because its answer was lost and reading its apps back failed.
      type: bool
      sample: false
uncertain:
  description:
    - True when some phones may have been changed without the module being able to confirm it.
      They make C(changed) true, but are not in RV(changed_ids).
  returned: always
  type: bool
  sample: false
api_calls:
  description:
    - What the task asked of the API (app lists, the lookup of a version name, status reads, installs or
      uninstalls, and polls).
    - Its keys are those M(geelark.cloudphone.geelark_phone_status) describes.
  returned: always
  type: dict
  sample: {"requests": 203, "retries": 0, "seconds": 95.1}
error:
  description: The API error that failed the task, with the keys M(geelark.cloudphone.geelark_phone_status) describes.
  returned: when an API call failed as a whole, before the task could account for every phone
  type: dict
  sample: {"endpoint": "/open/v1/app/list", "code": 40003, "trace_id": "2C1F1A5B8E0D4F6A"}
"""

from ansible_collections.geelark.cloudphone.plugins.module_utils._apps import (
    APP_STATES,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_WAIT_TIMEOUT,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._module import (
    GeeLarkModule,
    phone_ids_spec,
    state_changing_spec,
)


def main():
    geelark = GeeLarkModule(
        argument_spec=dict(
            phone_ids_spec(),
            package=dict(type="str", required=True),
            version=dict(type="raw"),
            version_id=dict(type="raw"),
            state=dict(type="str", choices=list(APP_STATES), default="present"),
            **state_changing_spec(DEFAULT_WAIT_TIMEOUT, DEFAULT_POLL_INTERVAL),
        ),
        mutually_exclusive=[("version", "version_id")],
        supports_check_mode=True,
    )
    params = geelark.params
    geelark.warn_when_no_ids()
    apps = geelark.call(lambda client: client.set_app(
        params["ids"], params["package"], params["state"], version=params["version"], version_id=params["version_id"],
        **geelark.state_changing_params()))
    geelark.exit_change(apps)


if __name__ == "__main__":
    main()
