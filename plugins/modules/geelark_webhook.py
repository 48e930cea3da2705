#!/usr/bin/python
# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: geelark_webhook
short_description: Read or set the GeeLark account's webhook callback URL
version_added: 1.0.0
author:
  - geelark.cloudphone maintainers (@geelark-cloudphone)
description:
  - Reads the URL GeeLark calls back when a phone starts (callback type 1), stops (type 8), is renamed,
    deleted, and so on, and sets it when O(url) differs from it.
  - GeeLark keeps one callback URL per account or team; setting it replaces the previous one for every
    user of the account. The API has no way to remove it.
  - The module reads first and writes only when the URL differs, so a second run changes nothing.
    An account without a URL (API code 51001) counts as "not set", not as an error.
  - If the answer to the write is lost (or the server answers 50000), the module reads the URL again
    instead of sending the write a second time, and reports what it finds. If that read fails too,
    the write may have been applied, so the task fails with C(changed) and RV(uncertain) true and the
    message "The callback URL may have been set"; run it again to read the URL.
  - To receive the callbacks with ansible-rulebook, see the collection's C(extensions/eda/rulebooks/)
    and its README, section "Event-driven".
extends_documentation_fragment:
  - geelark.cloudphone.api
  - geelark.cloudphone.attributes.action_group
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: In check mode the URL is read and compared, and nothing is written.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode).
    support: full
    details: The diff shows the callback URL before and after.
options:
  url:
    description:
      - The callback URL GeeLark must call, an C(http://) or C(https://) URL reachable from the internet.
      - Use HTTPS; GeeLark's callbacks carry authentication headers.
      - When not given, the module only reads the current URL.
    type: str
seealso:
  - module: geelark.cloudphone.geelark_phone_status
"""

EXAMPLES = r"""
- name: Point GeeLark's callbacks at the ansible-rulebook webhook
  geelark.cloudphone.geelark_webhook:
    url: https://eda.example.com:5000/geelark
  register: webhook

- name: Read the callback URL without changing it
  geelark.cloudphone.geelark_webhook:
  register: webhook

- name: Fail when no callback URL is set
  ansible.builtin.assert:
    that: webhook.url is not none
    fail_msg: No GeeLark callback URL is set
"""

RETURN = r"""
url:
  description:
    - The callback URL after the task (in check mode, the one it would set); null when none is set.
    - When RV(uncertain) is true, the URL that may have been set.
  returned: always
  type: str
  sample: https://eda.example.com:5000/geelark
previous_url:
  description: The callback URL before the task; null when none was set.
  returned: always
  type: str
  sample: null
uncertain:
  description:
    - True when the URL may have been set but that could not be confirmed (the answer to the write
      was lost and reading the URL back failed). C(changed) is then true and RV(url) is the URL
      that may have been set.
  returned: always
  type: bool
  sample: false
api_calls:
  description:
    - What the task asked of the API (the read of the callback URL, and its write when it differs).
    - Its keys are those M(geelark.cloudphone.geelark_phone_status) describes.
  returned: always
  type: dict
  sample: {"requests": 2, "retries": 0, "seconds": 0.21}
error:
  description:
    - Details of the API error that failed the task, with the keys M(geelark.cloudphone.geelark_phone_status) describes.
    - When the write failed, the error of the write, or of the read that followed a lost answer.
  returned: when an API call failed
  type: dict
"""

import re

from ansible_collections.geelark.cloudphone.plugins.module_utils._module import GeeLarkModule

_URL_RE = re.compile(r"^https?://[^/\s?#]+\S*$")


def main():
    geelark = GeeLarkModule(argument_spec=dict(url=dict(type="str")), supports_check_mode=True)
    module = geelark.module
    wanted = module.params["url"]
    if wanted is not None:
        wanted = wanted.strip()
        if not _URL_RE.match(wanted):
            module.fail_json(msg="url %r is not an http:// or https:// URL" % module.params["url"])
    change = geelark.call(lambda client: client.change_callback_url(wanted, check_mode=module.check_mode))
    if wanted is not None and wanted.startswith("http://"):
        module.warn("The callback URL uses plain HTTP: GeeLark's authentication headers would cross the network "
                    "unencrypted; use HTTPS")
    write_error = change.first_error()
    geelark.exit_change(change, **({"error": write_error.to_result()} if write_error is not None else {}))


if __name__ == "__main__":
    main()
