# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: unmatched_patterns
short_description: The parts of a host pattern that match no group and no host of the inventory
version_added: 1.1.0
positional: groups
author:
  - geelark.cloudphone maintainers (@geelark-cloudphone)
description:
  - Splits a host pattern the way ansible-core does (at C(,), or at C(:) when there is no comma) and returns
    every part, as typed, that matches no group name and no host name of the inventory.
  - ansible-core only warns about such a part (C(Could not match supplied host pattern, ignoring)) and goes
    on with the rest, so a typo in an exclusion (C(:!tag_vpi)) silently widens the target. The runbooks use
    this filter to refuse such a pattern before any request.
  - A part may start with C(&) or C(!), end with a subscript such as C([0]) or C([0:3]), be a shell glob
    (C(*), C(?), C([...])) or a regular expression after C(~), as in ansible-core. A regular expression
    that does not compile matches nothing. C(all) and the implicit localhost names always match.
options:
  _input:
    description: The host pattern, as given to C(hosts:) or to the runbooks' C(phones).
    type: str
    required: true
  groups:
    description:
      - The inventory's groups, the C(groups) magic variable (group name to host names); its C(all) entry
        gives the host names.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse a pattern with a part that matches nothing
  ansible.builtin.fail:
    msg: "No group or host is called {{ unmatched | join(', ') }}"
  when: unmatched | length > 0
  vars:
    unmatched: "{{ phones | geelark.cloudphone.unmatched_patterns(groups) }}"
"""

RETURN = r"""
_value:
  description: The parts that match nothing, as typed (with their C(&) or C(!) prefix and subscript).
  type: list
  elements: str
"""

import fnmatch
import re

from ansible.errors import AnsibleFilterError
from ansible.inventory.manager import split_host_pattern

# A part ending in [N], [N:] or [N:M] selects hosts of what it matches (ansible-core's subscript syntax).
_SUBSCRIPT = re.compile(r"^(?P<base>.+)\[(?:-?[0-9]+|[0-9]+[:-][0-9]*)\]$")
# The names ansible-core accepts as the implicit localhost, whether or not the inventory has it.
_LOCALHOST_NAMES = ("localhost", "127.0.0.1", "::1")


def _names_of(groups):
    if not isinstance(groups, dict):
        raise AnsibleFilterError("unmatched_patterns needs the groups magic variable, not %s" % type(groups).__name__)
    hosts = groups.get("all") or []
    return list(groups), list(hosts)


def _matcher(word):
    """A function telling whether a name matches one part, or None when the part cannot compile."""
    try:
        if word.startswith("~"):
            expression = re.compile(word[1:])
        else:
            expression = re.compile(fnmatch.translate(word))
    except re.error:
        return None
    return expression.match


def _matches_something(part, group_names, host_names):
    word = part[1:] if part[:1] in ("&", "!") else part
    if not word:
        return False
    if word == "all" or word in _LOCALHOST_NAMES:
        return True
    if word in group_names or word in host_names:
        return True
    if not word.startswith("~"):
        subscripted = _SUBSCRIPT.match(word)
        if subscripted:
            word = subscripted.group("base")
    match = _matcher(word)
    if match is None:
        return False
    return any(match(name) for name in group_names) or any(match(name) for name in host_names)


def unmatched_patterns(pattern, groups):
    """Every part of `pattern` that matches no group and no host of `groups`, as typed."""
    if pattern is None:
        return []
    group_names, host_names = _names_of(groups)
    parts = split_host_pattern(pattern if isinstance(pattern, list) else str(pattern))
    return [part for part in parts if not _matches_something(part, group_names, host_names)]


class FilterModule:
    def filters(self):
        return {"unmatched_patterns": unmatched_patterns}
