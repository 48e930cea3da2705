# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.geelark.cloudphone.plugins.filter.unmatched_patterns import unmatched_patterns

GROUPS = {
    "all": ["tk-01", "tk-02", "vip-01"],
    "ungrouped": [],
    "geelark": ["tk-01", "tk-02", "vip-01"],
    "status_started": ["tk-01", "vip-01"],
    "status_expired": [],
    "group_support": ["tk-01", "tk-02"],
    "tag_vip": ["vip-01"],
}


@pytest.mark.parametrize("pattern", [
    "group_support:&status_started:!tag_vip",
    "group_support,&status_started,!tag_vip",
    "status_expired",  # a group with no host still exists
    "tk-01", "tk-*", "group_*:!tag_v?p", "~^tag_(vip|x)$", "group_support[0]", "group_support[0:1]", "geelark[1:]",
    "all", "localhost", " group_support , tag_vip ",
])
def test_a_pattern_whose_every_part_matches_something_passes(pattern):
    assert unmatched_patterns(pattern, GROUPS) == []


@pytest.mark.parametrize("pattern, unmatched", [
    ("group_support:&status_started:!tag_vpi", ["!tag_vpi"]),
    ("group_support,&status_startd,!tag_vip", ["&status_startd"]),
    ("group_suport[0:3]", ["group_suport[0:3]"]),
    ("tag_*:~^group_x", ["~^group_x"]),
    ("~(", ["~("]),  # a regular expression that does not compile matches nothing
    ("grp_*,tk-03", ["grp_*", "tk-03"]),
])
def test_each_part_that_matches_nothing_is_named_as_typed(pattern, unmatched):
    assert unmatched_patterns(pattern, GROUPS) == unmatched


def test_a_list_of_patterns_is_checked_part_by_part():
    assert unmatched_patterns(["group_support", "!tag_vpi"], GROUPS) == ["!tag_vpi"]


def test_groups_must_be_the_groups_mapping():
    with pytest.raises(AnsibleFilterError, match="groups magic variable"):
        unmatched_patterns("geelark", ["geelark"])
