# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: printable
short_description: Text with its control characters shown as escapes, safe for a terminal and a report
version_added: 1.1.0
author:
  - geelark.cloudphone maintainers (@geelark-cloudphone)
description:
  - Replaces every control character (C0, DEL and C1, such as ESC, CR, LF, TAB, BEL), the line and paragraph
    separators and the bidirectional overrides by an escape, C(\\xHH) for a code below 256 and C(\\uHHHH)
    above, so that a phone name cannot clear a screen, forge a line or reorder text where it is shown.
  - Other text, a backslash included, is kept as it is. The runbooks apply it to every name they print or
    write to a Markdown, HTML, CSV or text report; the JSON report keeps names as the API gave them.
options:
  _input:
    description: The text; anything else is turned into text first.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Show a phone name
  ansible.builtin.debug:
    msg: "{{ hostvars[item].geelark_serial_name | geelark.cloudphone.printable }}"
  loop: "{{ groups['geelark'] }}"
"""

RETURN = r"""
_value:
  description: The text with control characters escaped.
  type: str
"""

import re

# C0, DEL, C1; line and paragraph separators; the bidirectional marks, embeddings, overrides and isolates.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match):
    code = ord(match.group(0))
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code


def printable(text):
    """`text` with each control character replaced by its \\xHH or \\uHHHH escape."""
    escaped = _UNPRINTABLE.sub(_escape, "" if text is None else str(text))
    if type(text).__name__ == "AnsibleUnsafeText":  # ansible-core before 2.19: API text stays marked unsafe
        return type(text)(escaped)
    return escaped


class FilterModule:
    def filters(self):
        return {"printable": printable}
