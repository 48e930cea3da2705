# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: empty_pattern_parts
short_description: The empty parts of a host pattern, and where they are
version_added: 1.1.0
author:
  - geelark.cloudphone maintainers (@geelark-cloudphone)
description:
  - Splits a host pattern where ansible-core does (at C(,), or at C(:) when there is no comma and the pattern
    is not one address) but keeps the parts ansible-core drops without a word (an empty part, or a C(&) or
    C(!) with no name after it). Returns one entry per such part, saying where it is.
  - A pattern left with only C(:&) and C(:!) parts means C(all) to ansible-core, so C(:&status_started), what
    C(-e "phones=$GROUP:&status_started") gives with C(GROUP) unset, is every started host; and C(,) is every
    host. The runbooks use this filter to refuse such a pattern before any request.
options:
  _input:
    description: The host pattern, as given to C(hosts:) or to the runbooks' C(phones); or a list of patterns.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Refuse a pattern with an empty part
  ansible.builtin.fail:
    msg: "phones '{{ phones }}' has an empty part: {{ empty | map(attribute='where') | join(' and ') }}"
  when: empty | length > 0
  vars:
    empty: "{{ phones | geelark.cloudphone.empty_pattern_parts }}"
"""

RETURN = r"""
_value:
  description: One entry per empty part, in the order typed.
  type: list
  elements: dict
  contains:
    position:
      description: The index of the part among all parts, counted from 0.
      type: int
    typed:
      description: The part as typed (an empty string, blanks, C(&) or C(!)).
      type: str
    where:
      description:
        - Where the part is, in words, such as C(the first of 2 parts, before '&status_started') or
          C(the second of 3 parts, between 'group_a' and 'group_b'). A neighbour that is empty too is not named.
      type: str
"""

import re

from ansible.errors import AnsibleError, AnsibleFilterError
from ansible.parsing.utils.addresses import parse_address

# A ':' that is not inside a [...] host range (db[1:3] is one part).
_COLON_OUTSIDE_RANGE = re.compile(r":(?![^\[]*\])")
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def _ordinal(number):
    """'first' for 1, ..., '11th', '22nd' beyond the tenth."""
    if number <= len(_ORDINALS):
        return _ORDINALS[number - 1]
    if 10 <= number % 100 <= 20:
        return "%dth" % number
    return "%d%s" % (number, {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th"))


def _split_keeping_empty(pattern):
    """The parts of one pattern as ansible-core's split_host_pattern finds them, with the empty ones kept."""
    if "," in pattern:
        return pattern.split(",")
    try:
        parse_address(pattern, allow_ranges=True)
        return [pattern]  # one host or address, colons and all (an IPv6 address, host:port)
    except AnsibleError:
        return _COLON_OUTSIDE_RANGE.split(pattern)


def _is_empty(part):
    return part.strip() in ("", "&", "!")


def _where(parts, position):
    """Where parts[position] is, in words, naming its neighbours when they are not empty."""
    text = "the %s of %d parts" % (_ordinal(position + 1), len(parts))
    before = parts[position - 1].strip() if position > 0 and not _is_empty(parts[position - 1]) else None
    after = parts[position + 1].strip() if position + 1 < len(parts) and not _is_empty(parts[position + 1]) else None
    if before and after:
        return "%s, between '%s' and '%s'" % (text, before, after)
    if after:
        return "%s, before '%s'" % (text, after)
    if before:
        return "%s, after '%s'" % (text, before)
    return text


def empty_pattern_parts(pattern):
    """Every empty part of `pattern` (a string or a list of them): its position, text and where it is."""
    if pattern is None:
        return []
    if isinstance(pattern, (list, tuple)):
        parts = [part for item in pattern for part in _split_keeping_empty("" if item is None else str(item))]
    elif isinstance(pattern, (dict, bool)):
        raise AnsibleFilterError("empty_pattern_parts takes a host pattern, not a %s" % type(pattern).__name__)
    else:
        parts = _split_keeping_empty(str(pattern))
    return [{"position": position, "typed": part, "where": _where(parts, position)}
            for position, part in enumerate(parts) if _is_empty(part)]


class FilterModule:
    def filters(self):
        return {"empty_pattern_parts": empty_pattern_parts}
