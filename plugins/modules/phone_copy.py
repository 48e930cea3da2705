#!/usr/bin/python
# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: phone_copy
short_description: Copy a file from the controller to GeeLark cloud phones, without Python on the phone
version_added: 1.1.0
description:
  - Copies one file, or a text given in O(content), to a path on the phone, over the host's connection
    (the P(geelark.cloudphone.adb#connection) connection, through ADB's file sync service, byte for byte, any size).
  - C(ansible.builtin.copy) needs Python on the host (it runs the stat and copy modules there), which
    Android does not have. This action runs on the controller and asks only the phone's own shell
    (C(sha1sum), C(chmod)).
  - Idempotent. The file is sent only when the phone has no file at O(dest) or one with other content
    (by SHA-1); after sending, the phone's checksum of the copy is compared with the source's, and a copy
    that did not arrive intact fails the task.
  - M(geelark.cloudphone.phone_fetch) brings files the other way.
author:
  - geelark.cloudphone maintainers (@geelark-cloudphone)
options:
  src:
    description:
      - The file on the controller, found like C(ansible.builtin.copy)'s (a role's C(files/), the playbook's
        directory). Give O(src) or O(content).
    type: path
  content:
    description: Text to write to O(dest) instead of a file. Give O(src) or O(content).
    type: str
  dest:
    description:
      - The path on the phone. Ending in C(/), the file keeps its name in that directory.
      - Phones let the shell user write under C(/sdcard/) and C(/data/local/tmp/).
    type: str
    required: true
  mode:
    description: The file's mode on the phone, in quotes as an octal number, for example V('0755').
    type: str
  force:
    description: Replace a file at O(dest) whose content differs. When false, an existing file is left alone.
    type: bool
    default: true
extends_documentation_fragment:
  - geelark.cloudphone.attributes.phone_files
"""

EXAMPLES = r"""
# Tasks of a play on phones whose connection is geelark.cloudphone.adb (the connection's examples show one).
- name: Send a configuration file to the Download folder
  geelark.cloudphone.phone_copy:
    src: files/settings.json
    dest: /sdcard/Download/settings.json

- name: Write a small script and make it executable
  geelark.cloudphone.phone_copy:
    content: |
      #!/system/bin/sh
      getprop ro.gl.serialno
    dest: /data/local/tmp/whoami.sh
    mode: "0755"
"""

RETURN = r"""
dest:
  description: The path on the phone.
  returned: success
  type: str
  sample: /sdcard/Download/settings.json
checksum:
  description: SHA-1 of the file that was (or would be) sent.
  returned: success
  type: str
  sample: 6e8ef3ad0e1d5f7b9c7e1bd2e1f0c0b4f53c3f1a
size:
  description: Size of the file in bytes.
  returned: success
  type: int
  sample: 2048
"""
