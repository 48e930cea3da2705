# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The read-only modules over phone IDs: what they share besides the ids option (geelark.cloudphone.phone_ids).
    # One code path is behind it: GeeLarkModule's info_spec() and exit_info() (plugins/module_utils/_module.py).
    DOCUMENTATION = r"""
options:
  fail_on_missing:
    description:
      - Fail the task when the API cannot answer for some phones (for example 42001, the phone does not exist),
        naming them. The results are still returned.
      - When false, such phones are in RV(failures) and a warning gives their count and the first of them.
    type: bool
    default: false
attributes:
  check_mode:
    description: Can run in check mode and return the same result as a normal run.
    support: full
    details: This module only reads; check mode changes nothing about what it does.
  diff_mode:
    description: Will return details on what has changed.
    support: N/A
    details: This module never changes anything.
"""
