#!/usr/bin/python
# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: phone_fetch
short_description: Fetch a file from GeeLark cloud phones to the controller, without Python on the phone
version_added: 1.1.0
description:
  - Copies one file from the phone to the controller, over the host's connection (the
    P(geelark.cloudphone.adb#connection) connection, through ADB's file sync service, byte for byte, any size).
  - C(ansible.builtin.fetch) needs Python on the host (it runs the stat module there), which Android does
    not have. This action runs on the controller and asks only the phone's own shell (C(sha1sum)).
  - Like C(ansible.builtin.fetch), the file goes to C(<dest>/<inventory_hostname>/<src>) unless O(flat=true).
  - A O(src) whose C(..) would put the file outside O(dest) fails before anything is read, as
    C(ansible.builtin.fetch) does.
  - Idempotent. The file is fetched only when the controller has no copy with the phone's SHA-1; it is
    written to a temporary file beside the destination, checked against the phone's checksum and only
    then moved into place, so a transfer that did not arrive intact fails the task and leaves the
    destination as it was.
  - M(geelark.cloudphone.phone_copy) sends files the other way.
author:
  - geelark.cloudphone maintainers (@geelark-cloudphone)
options:
  src:
    description: The file on the phone.
    type: str
    required: true
  dest:
    description: A directory on the controller (or, with O(flat=true), a file name or a directory ending in C(/)).
    type: path
    required: true
  flat:
    description: Put the file at O(dest) itself, not under a directory per host.
    type: bool
    default: false
  fail_on_missing:
    description:
      - Fail the task when O(src) is not a file on the phone.
      - When false, a missing file is reported, unchanged.
    type: bool
    default: true
extends_documentation_fragment:
  - geelark.cloudphone.attributes.phone_files
"""

EXAMPLES = r"""
# A task of a play on phones whose connection is geelark.cloudphone.adb (the connection's examples show one).
- name: Collect a log file from each phone, in logs/<host>/sdcard/Download/app.log
  geelark.cloudphone.phone_fetch:
    src: /sdcard/Download/app.log
    dest: logs/
"""

RETURN = r"""
file:
  description: The path on the phone.
  returned: always
  type: str
  sample: /sdcard/Download/app.log
dest:
  description: Where the file is on the controller.
  returned: always
  type: str
  sample: /home/ops/logs/tiktok-uk-00001/sdcard/Download/app.log
checksum:
  description: SHA-1 of the file on the phone.
  returned: when the file is on the phone
  type: str
  sample: 6e8ef3ad0e1d5f7b9c7e1bd2e1f0c0b4f53c3f1a
size:
  description: Size of the fetched file in bytes.
  returned: when the file was fetched or already there
  type: int
  sample: 2048
"""
