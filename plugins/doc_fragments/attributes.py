# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Every module of the collection is in the action group `all`.
    ACTION_GROUP = r"""
attributes:
  action_group:
    description: Use C(group/geelark.cloudphone.all) in C(module_defaults) to set options once for every module.
    support: full
    membership:
      - geelark.cloudphone.all
"""

    # The attributes of the actions that move files to and from phones over the host's connection, and that
    # connection.
    PHONE_FILES = r"""
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: Check mode reads the checksum of the file on the phone and moves no file.
  diff_mode:
    description: Will return details on what has changed.
    support: none
  platform:
    description: The hosts this runs against.
    support: full
    platforms: GeeLark cloud phones (Android)
seealso:
  - plugin: geelark.cloudphone.adb
    plugin_type: connection
"""
