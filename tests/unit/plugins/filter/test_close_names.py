# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.geelark.cloudphone.plugins.filter.close_names import close_names

POWER = ["state", "phone_ids", "phones", "max_changes", "wait_timeout", "poll_interval", "energy_saving",
         "report_file", "geelark_api_url", "geelark_token", "geelark_app_id", "geelark_api_key"]


def test_a_misspelt_name_is_mapped_to_the_name_it_resembles():
    given = ["wait_timout", "phone_id", "max_change", "geelark_tokn", "state", "env", "report_dir", "status"]
    assert close_names(given, POWER) == {"wait_timout": "wait_timeout", "phone_id": "phone_ids",
                                         "max_change": "max_changes", "geelark_tokn": "geelark_token"}


def test_unrelated_and_known_names_pass():
    assert close_names(["ansible_check_mode", "groups", "hostvars", "customer", "phones"], POWER) == {}


def test_names_must_be_lists():
    with pytest.raises(AnsibleFilterError):
        close_names("wait_timout", POWER)
