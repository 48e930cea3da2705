#!/usr/bin/python
# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: geelark_app_info
short_description: List the apps on GeeLark cloud phones, the versions installable on them and the team's app library
version_added: 1.1.0
author:
  - geelark.cloudphone maintainers (@geelark-cloudphone)
description:
  - Returns the apps installed on each phone given in O(ids), as the GeeLark API lists them
    (C(/open/v1/app/list)), optionally only the rows of one O(package).
  - With O(installable=true), also the apps that can be installed on each phone
    (C(/open/v1/app/installable/list)), every version with its app version ID, the ID an install needs,
    and its install status on that phone.
  - With O(team=true), also the team's app library (C(/open/v1/app/teamApp/list)), the apps added or
    uploaded to the team. O(ids) may then be left out.
  - Every page of every list is read, and a list is returned only when it adds up. The first page
    gives the total; the list holds when every page repeats it, no app appears twice and the count
    equals the total. A list whose pages disagree (apps installed or removed while it is read, or a
    pager that repeats pages) is read again, and when three readings do not add up the task fails
    rather than return part of it.
  - A phone the API refuses, because it does not exist (42001) or is not running (42002), is in
    RV(failures) with the code and the message; the other phones are still returned. Whether the
    installed list of a phone that is shut down can be read is up to the API. When it answers
    42002, start the phone first with M(geelark.cloudphone.geelark_phone_power).
  - B(What it costs.) One request per phone per 100 apps installed, phones read in parallel under the
    rate budget (O(rate_limit), 180 requests a minute per endpoint by default). Up to 180 phones take
    seconds; 1,000 phones take about 5.5 minutes at the default budget, as the requests beyond a
    minute's budget wait for their turn. O(installable=true) adds one request per phone per 100
    installable apps (the whole catalogue, on every phone, at its own endpoint's budget).
    O(team=true) adds one request per 200 apps of the library.
  - The rows are what the API reports. Apps installed outside GeeLark (through ADB, the Play Store or
    an RPA task) may be missing from them; check the device itself where that matters.
extends_documentation_fragment:
  - geelark.cloudphone.api
  - geelark.cloudphone.phone_ids
  - geelark.cloudphone.attributes.action_group
  - geelark.cloudphone.info_module
options:
  ids:
    required: false
  package:
    description:
      - Return only the rows of this package (its exact name, for example V(com.zhiliaoapp.musically)),
        in RV(phones) and, with O(installable=true), in RV(installable).
      - A phone without the package is still in RV(phones), with an empty C(apps) list.
      - An empty string is refused, since it would match no app.
    type: str
  installable:
    description:
      - Also return, per phone, the apps that can be installed on it and their versions, in RV(installable).
      - Costs at least one more request per phone.
    type: bool
    default: false
  team:
    description:
      - Also return the team's app library in RV(team_apps).
      - When true, O(ids) is not required.
    type: bool
    default: false
seealso:
  - module: geelark.cloudphone.geelark_phone_status
  - module: geelark.cloudphone.geelark_phone_power
"""

EXAMPLES = r"""
- name: Read which TikTok version each phone has
  geelark.cloudphone.geelark_app_info:
    ids: "{{ phone_ids }}"
    package: com.zhiliaoapp.musically
  register: tiktok

- name: Show the phones without an installed TikTok
  ansible.builtin.debug:
    msg: >-
      {{ tiktok.phones | selectattr('apps', 'equalto', []) | map(attribute='id') }}

- name: List the versions that can be installed on one phone, with the version IDs an install needs
  geelark.cloudphone.geelark_app_info:
    ids:
      - "601876382020062634"
    package: com.zhiliaoapp.musically
    installable: true
  register: catalogue

- name: Read the team's app library only
  geelark.cloudphone.geelark_app_info:
    team: true
  register: library

- name: Fail when a phone cannot be read (not found, not running)
  geelark.cloudphone.geelark_app_info:
    ids: "{{ groups['geelark'] | map('extract', hostvars, 'geelark_id') | list }}"
    fail_on_missing: true
  run_once: true
  delegate_to: localhost
  register: fleet_apps
"""

RETURN = r"""
phones:
  description:
    - The phones whose installed apps the API listed, in the order their IDs were given.
    - Empty when O(ids) is empty or not given.
  returned: unless an API error failed the task (then only error and api_calls)
  type: list
  elements: dict
  contains:
    id: &phone_id
      description: The phone's ID.
      type: str
      sample: "601876382020062634"
    apps:
      description: The apps installed on the phone, as the API lists them (only O(package)'s rows when given).
      type: list
      elements: dict
      contains:
        package:
          description: The package name.
          type: str
          sample: com.zhiliaoapp.musically
        name: &app_name
          description: The app's name; null when the API gave none.
          type: str
          sample: TikTok
        app_id:
          description: The app's ID; null when the API gave none.
          type: str
          sample: "7001"
        version_id:
          description: The app version ID of the installed version; null when the API gave none.
          type: str
          sample: "1793552962140770304"
        version_name:
          description: The installed version's name; null when the API gave none.
          type: str
          sample: 36.4.0
        version_code:
          description: The installed version's code; null when the API gave none or not a whole number.
          type: int
          sample: 2023604000
        install_status:
          description: The API's C(installStatus); null when the API gave none or not a whole number.
          type: int
          sample: 1
        install_status_name:
          description:
            - The install status by name, V(installing) (0), V(installed) (1), V(install_failed) (2),
              V(uninstalling) (3), V(uninstalled) (4), V(uninstall_failed) (5), or V(not_installed)
              for any other value.
          type: str
          sample: installed
        install_time:
          description: When the app was installed, as the API writes it (no time zone is documented).
          type: str
          sample: "2026-03-10 23:07:56"
failures:
  description:
    - The phones the API refused, in the order they were given, for example 42001 (not found) or
      42002 (not running).
    - A phone whose installed apps were listed but whose installable apps could not be, is here too,
      with a message that says so.
  returned: unless an API error failed the task (then only error and api_calls)
  type: list
  elements: dict
  contains:
    id:
      description: The phone's ID.
      type: str
      sample: "999999999999999999"
    code:
      description: The API's code for this phone.
      type: int
      sample: 42001
    msg:
      description: The API's message, the request's traceId and what to do.
      type: str
      sample: "env not found (traceId 6f1c...); check the ID; the phone may have been deleted"
installable:
  description:
    - Per phone, the apps that can be installed on it, in the order the IDs were given; only O(package)'s
      entry when given.
    - A phone the API does not know (42001) is not asked again here.
  returned: when O(installable=true)
  type: list
  elements: dict
  contains:
    id: *phone_id
    apps:
      description: The installable apps.
      type: list
      elements: dict
      contains:
        id:
          description: The app's ID.
          type: str
          sample: "7001"
        name: *app_name
        package:
          description: The package name; null when the API gave none.
          type: str
          sample: com.zhiliaoapp.musically
        versions:
          description: The versions of the app.
          type: list
          elements: dict
          contains:
            id:
              description: The app version ID, which an install takes.
              type: str
              sample: "1793552962140770305"
            version_name: &version_name
              description: The version's name; null when the API gave none.
              type: str
              sample: 36.5.4
            version_code: &version_code
              description: The version's code; null when the API gave none or not a whole number.
              type: int
              sample: 2023605040
            install_status:
              description: The version's install status on this phone; null when the API gave none.
              type: int
              sample: 1
            install_status_name:
              description: The install status by name, as in RV(phones[].apps[].install_status_name).
              type: str
              sample: not_installed
team_apps:
  description: The team's app library.
  returned: when O(team=true)
  type: list
  elements: dict
  contains:
    id:
      description: The team app's ID.
      type: str
      sample: "9001"
    name: *app_name
    version_id:
      description: The app version ID; null when the API gave none.
      type: str
      sample: "1793552962140770305"
    version_name: *version_name
    version_code: *version_code
    auto_install:
      description: Whether the app is installed automatically when a phone starts.
      type: bool
      sample: false
    uploaded:
      description: Whether the team uploaded the app itself (rather than adding it from GeeLark's catalogue).
      type: bool
      sample: false
    upload_status:
      description: The upload's status, 0 uploading, 1 done, 2 failed, 3 refused in review; null when none.
      type: int
      sample: 1
    app_auth:
      description: The API's C(appAuth) (0 or 1); null when none.
      type: int
      sample: 0
    app_root:
      description: The API's C(appRoot) (0 or 1); null when none.
      type: int
      sample: 0
    env_groups:
      description: The API's C(envGroups), as it gives them.
      type: list
      elements: raw
      sample: []
api_calls:
  description:
    - What the task asked of the API (the installed, installable and team app lists, page by page).
    - Its keys are those M(geelark.cloudphone.geelark_phone_status) describes.
  returned: always
  type: dict
  sample: {"requests": 3, "retries": 0, "rate_limited": 0, "over_concurrency_cap": 0, "peak_parallel": 2,
           "seconds_waiting_for_budget": 0.0, "seconds": 0.412}
error:
  description: The API error that failed the task, with the keys M(geelark.cloudphone.geelark_phone_status) describes.
  returned: when an API call failed before the task could account for every phone
  type: dict
  sample: {"endpoint": "/open/v1/app/list", "code": 40003, "trace_id": "2C1F1A5B8E0D4F6A"}
"""

from ansible_collections.geelark.cloudphone.plugins.module_utils._module import (
    GeeLarkModule,
    info_spec,
    phone_ids_spec,
)

# A phone the API does not know is not asked again for its installable apps.
NOT_FOUND = 42001


def read_apps(client, params):
    """(result keys, warnings, IDs asked about) of one run: phones and failures, installable and team_apps."""
    ids = params["ids"] or []
    package = params["package"]
    report = client.installed_apps(ids, package=package)
    result = dict(changed=False, phones=report.phone_list(), failures=report.failure_list())
    warnings = list(report.warnings)
    if params["installable"]:
        unknown = set(i for i, failure in report.failures.items() if failure["code"] == NOT_FOUND)
        installable = client.installable_apps([i for i in report.ids if i not in unknown])
        warnings.extend(installable.warnings)
        result["installable"] = [
            dict(phone, apps=[app for app in phone["apps"] if package is None or app["package"] == package])
            for phone in installable.phone_list()]
        result["failures"] = _merged_failures(report, installable)
    if params["team"]:
        result["team_apps"] = client.team_apps()
    return result, warnings, report.ids


def _merged_failures(report, installable):
    """One failure per phone, in the order given: the installed list's, else the installable list's."""
    failures = dict(report.failures)
    for phone_id, failure in installable.failures.items():
        if phone_id not in failures:
            failures[phone_id] = dict(failure, msg="its installable apps could not be read: %s" % failure["msg"])
    return [failures[i] for i in report.ids if i in failures]


def main():
    geelark = GeeLarkModule(
        argument_spec=dict(
            phone_ids_spec(required=False),
            package=dict(type="str"),
            installable=dict(type="bool", default=False),
            team=dict(type="bool", default=False),
            **info_spec(),
        ),
        required_if=[("team", False, ("ids",))],
        supports_check_mode=True,
    )
    module = geelark.module
    package = module.params["package"]
    if package is not None and not package.strip():
        # An empty name matches no app: every phone would seem to lack it.
        module.fail_json(msg="package is empty: give a package name such as com.zhiliaoapp.musically, or leave "
                             "package out to list every app", changed=False, api_calls=geelark.api_calls())
    if module.params["ids"] is not None or not module.params["team"]:
        geelark.warn_when_no_ids()
    result, warnings, asked = geelark.call(lambda client: read_apps(client, module.params), changed=False)
    geelark.exit_info(result, warnings, len(asked), "The apps of %d of %d phones could not be read")


if __name__ == "__main__":
    main()
