# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The modules that change phones and wait for them: the wait, the max_changes guard and the attributes they
    # share. The argument spec is GeeLarkModule's state_changing_spec() (plugins/module_utils/_module.py); each
    # module gives the defaults of wait_timeout and poll_interval, since a boot and an install take their own time.
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until every phone written to, and every phone found already on its way, has reached the state.
        A phone that has not when O(wait_timeout) passes is in RV(failures) with its last state.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds the whole wait may take, counted from when the writes are done. A phone not
        there by then is in RV(failures) with the state it was last read in.
      - V(0) fails every phone still on its way; O(wait=false) does not wait at all.
    type: int
  poll_interval:
    description: Seconds between two polls while waiting; at least 1.
    type: int
  max_changes:
    description:
      - Fail before any write when more phones than this would be written to, counted from what the module
        reads just before it writes. Nothing is changed then, and what was read is still returned.
      - A guard against a target that is larger than intended, also when phones change between a plan made
        earlier in the play and this task.
      - Not set means no limit. V(0) allows no change, which makes the task an assertion that the phones are
        already in the state.
    type: int
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: Check mode only reads; it sends no write and does not wait.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
    details: The diff shows each phone that changes, before and after (its status name, or the app's version).
  idempotent:
    description: Running the task again with the same options changes nothing.
    support: full
"""
