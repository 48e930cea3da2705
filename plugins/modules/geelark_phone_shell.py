#!/usr/bin/python
# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: geelark_phone_shell
short_description: Run a shell command on GeeLark cloud phones through the shell API
version_added: 1.1.0
author:
  - geelark.cloudphone maintainers (@geelark-cloudphone)
description:
  - Runs O(cmd) through the shell of each phone given in O(ids), with GeeLark's shell API
    (C(/open/v1/shell/execute)), and returns each phone's answer, in the order the IDs were given.
  - Works on Android 10, which has no ADB, and on Android 12 to 16. Android 9 and 11 phones have
    no shell API. They answer 50001, and take commands over ADB with the connection plugin
    P(geelark.cloudphone.adb#connection) instead, which also gives true exit codes.
  - B(What the API returns.) A boolean C(status) (true, "execution successful"; false, "execution
    failed", as the API defines it) and one C(output) string. There is B(no exit code), and stdout
    and stderr are not separated. How C(status) follows the command's exit code is not documented;
    when the code matters, print it, for example C(your-command; echo "rc=$?"), and read it from
    RV(results[].output).
  - A phone whose command answered with C(status) false is a failure, as a non-zero exit code is for
    C(ansible.builtin.command). It is in RV(failures) with the message "the command failed on the
    phone (status false)", and its output is kept in RV(results).
  - B(Run it once.) The module runs on the controller and sends the command to every phone in O(ids).
    In a play on the inventory's phones, delegate the task to C(localhost) and set C(run_once) to
    V(true), with the play's phone IDs in O(ids). Without C(run_once), every host of the play runs the
    command on every phone.
  - The task fails when any phone fails, naming the phones and their codes; every result key is still
    returned, with the same meaning as in a task that succeeds. Use C(failed_when) or C(ignore_errors)
    to judge the outcome yourself.
  - B(Quoting.) The string is run by the phone's shell, so C($), backticks, quotes, C(\), C(;) and
    C(&&) are interpreted there. Quote values put into it with the C(quote) filter, for example
    C(ls {{ folder | quote }}) as O(cmd).
  - B(One request per phone, never repeated after a lost answer.) The API takes one phone per call.
    Phones run in parallel (up to O(concurrency) at once) under the rate budget (O(rate_limit),
    180 requests a minute per endpoint by default). Up to 180 phones take seconds; 1,000 phones take
    about 5.5 minutes at the default budget, as the requests beyond a minute's budget wait for their turn.
    Duplicate IDs are run once.
  - Refusals that mean nothing ran (40007 and 40017, rate limited; 47002, too many requests at once)
    are waited out and sent again, within O(retries) and O(rate_limit_wait). Nothing else is sent twice.
    A command can act twice (C(pm uninstall), C(input tap)), so when the answer to a call is lost (a
    timeout, a dropped connection, an HTTP 5xx), the phone is in RV(failures) with C(uncertain=true) and
    a message saying the command may have run; the other phones still run. Check such a phone before
    running the command on it again.
  - A phone the API refuses is in RV(failures) with the code and what to do, and the other phones still
    run. 42001, the phone was not found; 42002, it is not running (start it with
    M(geelark.cloudphone.geelark_phone_power)); 50001, its model has no shell API.
  - An error that every later call would meet (the credentials refused, the two-hour lock 40014, the
    rate limit still in force when O(rate_limit_wait) ran out) stops the run. Nothing more is sent, and
    the phones not reached are in RV(failures) as not run.
  - C(changed) is true when the command ran on at least one phone (or may have), as for
    C(ansible.builtin.command). Set C(changed_when) on the task to decide it from the output.
  - The output is the phone's, as the API returns it. It is not masked; a command that prints a
    secret puts it in the result. The API credentials never appear in it.
extends_documentation_fragment:
  - geelark.cloudphone.api
  - geelark.cloudphone.phone_ids
  - geelark.cloudphone.attributes.action_group
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: partial
    details:
      - A command cannot be previewed, so check mode sends nothing, as C(ansible.builtin.command) does
        without C(creates) or C(removes). The task is skipped, with C(changed=false), empty RV(results)
        and RV(failures), and a message that says nothing ran.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
  idempotent:
    description: Running the task again with the same options changes nothing.
    support: none
    details: The command runs again on every run; whether that changes anything depends on the command.
options:
  cmd:
    description:
      - The command to run, as one string, by the shell of each phone.
      - An empty string, or one of blanks only, is refused before any request.
    type: str
    required: true
notes:
  - The API documents no limit on the length of O(cmd) or of the output, and no server-side timeout.
    A long-running command holds its request until it ends or O(timeout) passes; when the timeout
    passes first, the answer counts as lost and the phone as uncertain. Raise O(timeout) for long commands.
  - Each call costs one request of the C(/open/v1/shell/execute) budget; a tap-by-tap flow spends it quickly.
seealso:
  - module: geelark.cloudphone.geelark_phone_power
  - module: geelark.cloudphone.geelark_phone_status
  - plugin: geelark.cloudphone.adb
    plugin_type: connection
"""

EXAMPLES = r"""
- name: Read the Android version of two phones
  geelark.cloudphone.geelark_phone_shell:
    ids:
      - "601876382020062634"
      - "601876382020062635"
    cmd: getprop ro.build.version.release
  register: android

- name: Show each phone's answer
  ansible.builtin.debug:
    msg: "{{ android.results | items2dict(key_name='id', value_name='output') }}"

- name: List the packages of every started phone of the inventory, in one task
  geelark.cloudphone.geelark_phone_shell:
    ids: "{{ groups['status_started'] | map('extract', hostvars, 'geelark_id') | list }}"
    cmd: pm list packages
  run_once: true
  delegate_to: localhost
  register: packages

- name: Assert that every phone has TikTok
  ansible.builtin.assert:
    that: item.output is search('package:com.zhiliaoapp.musically')
    fail_msg: "Phone {{ item.id }} has no TikTok"
    quiet: true
  loop: "{{ packages.results }}"
  loop_control:
    label: "{{ item.id }}"
  run_once: true

- name: Remove a file whose name comes from a variable, quoted for the phone's shell
  geelark.cloudphone.geelark_phone_shell:
    ids: "{{ phone_ids }}"
    cmd: "rm -f /sdcard/Download/{{ file_name | quote }}"

- name: Read the exit code, which the API does not return, from the output
  geelark.cloudphone.geelark_phone_shell:
    ids: "{{ phone_ids }}"
    cmd: 'test -f /sdcard/Download/config.json; echo "rc=$?"'
  register: probe
  changed_when: false

- name: List the phones without the file
  ansible.builtin.debug:
    msg: "{{ probe.results | selectattr('output', 'search', 'rc=1') | map(attribute='id') | list }}"

- name: Press Home on every phone, and keep going where it fails
  geelark.cloudphone.geelark_phone_shell:
    ids: "{{ phone_ids }}"
    cmd: input keyevent KEYCODE_HOME
  register: home
  ignore_errors: true

- name: Show where it failed, and where it may have run although its answer was lost
  ansible.builtin.debug:
    msg:
      failed: "{{ home.failures | rejectattr('uncertain') | map(attribute='id') | list }}"
      may_have_run: "{{ home.failures | selectattr('uncertain') | map(attribute='id') | list }}"
"""

RETURN = r"""
cmd:
  description: The command, as it was sent.
  returned: always
  type: str
  sample: getprop ro.build.version.release
results:
  description:
    - The answer of every phone the command ran on, in the order the IDs were given, whether its
      C(status) is true or false.
    - A phone in RV(failures) for any other reason (refused, not run, answer lost) is not here.
    - Empty in check mode.
  returned: always
  type: list
  elements: dict
  contains:
    id: &phone_id
      description: The phone's ID.
      type: str
      sample: "601876382020062634"
    status:
      description:
        - The API's C(status), true for "execution successful", false for "execution failed".
        - It is not an exit code; none is returned.
      type: bool
      sample: true
    output:
      description:
        - What the command printed, stdout and stderr in one string, as the API returns it.
      type: str
      sample: "13\n"
failures:
  description:
    - Every phone the command did not succeed on, in the order the IDs were given.
  returned: always
  type: list
  elements: dict
  contains:
    id: *phone_id
    code:
      description:
        - The API's code, for example 42001 (not found), 42002 (not running) or 50001 (no shell API).
        - Null for a command that answered C(status) false, and for a phone whose answer was lost
          without an API code.
      type: int
      sample: 42002
    msg:
      description: What happened, with the API's msg and traceId where there is one, and what to do.
      type: str
      sample: "phone 601876382020062634 is not running (msg 'env is not running', traceId 6F1C...);
        start it first with geelark.cloudphone.geelark_phone_power (state: started), then run the command again"
    uncertain:
      description:
        - True when the command may have run on this phone, because its answer was lost or could not be
          read. It was not sent again.
      type: bool
      sample: false
uncertain:
  description: True when the command may have run on some phones in RV(failures) without the module knowing.
  returned: always
  type: bool
  sample: false
api_calls:
  description:
    - What the task asked of the API (one shell call per phone).
    - Its keys are those M(geelark.cloudphone.geelark_phone_status) describes.
  returned: always
  type: dict
  sample: {"requests": 2, "retries": 0, "rate_limited": 0, "over_concurrency_cap": 0, "peak_parallel": 2,
           "seconds_waiting_for_budget": 0.0, "seconds": 1.204}
error:
  description:
    - Details of the error that failed the task before any command was sent (for example an ID that is
      not one), under the keys M(geelark.cloudphone.geelark_phone_status) describes.
  returned: when the task failed before sending
  type: dict
  sample: {"endpoint": null, "code": null, "trace_id": null}
"""

from ansible_collections.geelark.cloudphone.plugins.module_utils._module import GeeLarkModule, phone_ids_spec
from ansible_collections.geelark.cloudphone.plugins.module_utils._shell import run_shell


def main():
    geelark = GeeLarkModule(argument_spec=dict(phone_ids_spec(), cmd=dict(type="str", required=True)),
                            supports_check_mode=True)
    module = geelark.module
    cmd = module.params["cmd"]
    geelark.warn_when_no_ids()
    # A GeeLarkError is raised before any call went out: the result keys are still those of a run.
    shell = geelark.call(lambda client: run_shell(client, module.params["ids"], cmd, check_mode=module.check_mode),
                         cmd=cmd, results=[], failures=[], uncertain=False)
    extra = dict(skipped=True) if shell.skipped else {}
    if not shell.failures:
        extra["msg"] = shell.message()
    geelark.exit_change(shell, **extra)


if __name__ == "__main__":
    main()
