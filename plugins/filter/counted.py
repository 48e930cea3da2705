# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: counted
short_description: A count followed by a noun in the singular or the plural, "1 phone", "3 phones"
version_added: 1.1.0
author:
  - geelark.cloudphone maintainers (@geelark-cloudphone)
description:
  - Gives the count, a space and the noun, in the singular when the count is 1 (or -1) and in the plural
    otherwise, so that a message never says "1 phones".
  - A list or a dict counts its items; a number written as text (V("3")) is read as that number.
options:
  _input:
    description: The count, or a collection whose length is the count.
    type: raw
    required: true
  noun:
    description: The noun in the singular.
    type: str
    required: true
  plural:
    description: The noun in the plural; when not given, O(noun) followed by C(s).
    type: str
"""

EXAMPLES = r"""
- name: Say how many phones were targeted
  ansible.builtin.debug:
    msg: "{{ target_ids | geelark.cloudphone.counted('phone') }} targeted"  # "1 phone targeted"
"""

RETURN = r"""
_value:
  description: The count and the noun, such as C(1 phone) or C(0 phones).
  type: str
"""

from collections.abc import Sized


def counted(value: object, noun: str, plural: str | None = None) -> str:
    """`value` (a number, or a collection's length) and `noun`, in the plural unless the count is one."""
    # Templated numbers may arrive as text ("3"), which is a count, not a collection of 1 character.
    count = len(value) if isinstance(value, Sized) and not isinstance(value, str) else int(str(value))
    return "%d %s" % (count, noun if abs(count) == 1 else (noun + "s" if plural is None else plural))


class FilterModule:
    def filters(self):
        return {"counted": counted}
