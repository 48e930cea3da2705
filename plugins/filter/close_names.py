# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: close_names
short_description: The given names that look like a misspelling of a known name
version_added: 1.1.0
positional: known, cutoff
author:
  - geelark.cloudphone maintainers (@geelark-cloudphone)
description:
  - For each name of the input that is not one of O(known), the known name it is closest to in spelling,
    when they are close enough to be a typo (C(wait_timout) for C(wait_timeout), C(phone_id) for
    C(phone_ids)). Names unlike every known name are left out, so unrelated variables pass.
  - The runbooks use it to refuse an extra variable that was meant to be one of theirs and would
    otherwise be ignored without a word.
options:
  _input:
    description: The names to check, for example every variable name the play can see.
    type: list
    elements: str
    required: true
  known:
    description: The names that are right.
    type: list
    elements: str
    required: true
  cutoff:
    description: How alike two names must be, from 0 to 1 (a ratio of matching characters).
    type: float
    default: 0.8
"""

EXAMPLES = r"""
- name: Refuse a misspelt runbook variable
  ansible.builtin.fail:
    msg: "{{ item.key }} is not a variable of this runbook: did you mean {{ item.value }}?"
  loop: "{{ query('ansible.builtin.varnames', '.+') | geelark.cloudphone.close_names(['wait_timeout']) | dict2items }}"
"""

RETURN = r"""
_value:
  description: Each misspelt name mapped to the known name it resembles most, in the order given.
  type: dict
"""

import difflib

from ansible.errors import AnsibleFilterError

DEFAULT_CUTOFF = 0.8


def close_names(names, known, cutoff=DEFAULT_CUTOFF):
    """{given name: the known name it resembles} for every given name close to, but not, a known name."""
    if isinstance(names, str) or isinstance(known, str):
        raise AnsibleFilterError("close_names takes two lists of names")
    known = [str(name) for name in known]
    found = {}
    for name in names:
        name = str(name)
        if name in known or name in found:
            continue
        like = difflib.get_close_matches(name, known, n=1, cutoff=float(cutoff))
        if like:
            found[name] = like[0]
    return found


class FilterModule:
    def filters(self):
        return {"close_names": close_names}
