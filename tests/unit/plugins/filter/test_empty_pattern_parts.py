# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible.inventory.manager import split_host_pattern

from ansible_collections.geelark.cloudphone.plugins.filter.empty_pattern_parts import (
    _split_keeping_empty,
    empty_pattern_parts,
)


@pytest.mark.parametrize("pattern", [
    "geelark", "group_support:&status_started:!tag_vip", "group_a,group_b", " group_a , &tag_b ", "db[1:3]:&tag_x",
    "~^group_(a|b)$", "::1", "a::b", "host:8080", "!tag_vip", "&status_started", ["group_a", "!tag_b"],
])
def test_a_pattern_without_an_empty_part_passes(pattern):
    assert empty_pattern_parts(pattern) == []


@pytest.mark.parametrize("pattern, expected", [
    # What -e "phones=$GROUP:&status_started" gives with GROUP unset: every started phone to ansible-core.
    (":&status_started", [(0, "", "the first of 2 parts, before '&status_started'")]),
    (":!tag_vip", [(0, "", "the first of 2 parts, before '!tag_vip'")]),
    ("group_a,,group_b", [(1, "", "the second of 3 parts, between 'group_a' and 'group_b'")]),
    ("group_a, ,group_b", [(1, " ", "the second of 3 parts, between 'group_a' and 'group_b'")]),
    ("group_a:&", [(1, "&", "the second of 2 parts, after 'group_a'")]),
    ("group_a:!:&tag_b", [(1, "!", "the second of 3 parts, between 'group_a' and '&tag_b'")]),
    ("group_a,", [(1, "", "the second of 2 parts, after 'group_a'")]),
    (",", [(0, "", "the first of 2 parts"), (1, "", "the second of 2 parts")]),
    (":", [(0, "", "the first of 2 parts"), (1, "", "the second of 2 parts")]),
    ("group_a::group_b", [(1, "", "the second of 3 parts, between 'group_a' and 'group_b'")]),
    ("db[1:3]::&tag_x", [(1, "", "the second of 3 parts, between 'db[1:3]' and '&tag_x'")]),
    ("", [(0, "", "the first of 1 parts")]),
    (["group_a", ""], [(1, "", "the second of 2 parts, after 'group_a'")]),
])
def test_each_empty_part_is_named_with_its_position(pattern, expected):
    assert [(p["position"], p["typed"], p["where"]) for p in empty_pattern_parts(pattern)] == expected


@pytest.mark.parametrize("pattern", ["a,,b", ":&b", "a:&tag_b:!c", "a,", ",a", "a::b:&c", "db[1:3]:&x", " a , b "])
def test_the_parts_it_keeps_beside_the_empty_ones_are_those_ansible_core_keeps(pattern):
    parts = _split_keeping_empty(pattern)
    assert [p.strip() for p in parts if p.strip()] == split_host_pattern(pattern)


@pytest.mark.parametrize("number, word", [(10, "tenth"), (11, "11th"), (12, "12th"), (21, "21st"), (22, "22nd"),
                                          (23, "23rd"), (111, "111th")])
def test_positions_beyond_the_tenth_are_numbered(number, word):
    pattern = ",".join(["g"] * (number - 1) + [""])
    assert empty_pattern_parts(pattern)[0]["where"].startswith("the %s of %d parts" % (word, number))


def test_none_has_no_parts_and_a_mapping_is_refused():
    assert empty_pattern_parts(None) == []
    with pytest.raises(AnsibleFilterError, match="takes a host pattern"):
        empty_pattern_parts({"a": 1})
