# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The ids option of the modules that act on phones by ID: every one of them reads it the same way
    # (GeeLarkModule's ID parsing and its empty-list warning), so it is described once, here.
    DOCUMENTATION = r"""
options:
  ids:
    description:
      - IDs of the phones, any number of them. Duplicates are removed, the first occurrence kept.
      - IDs are strings of about 18 digits. Quote them in YAML; an unquoted ID read as an integer
        is turned into its exact decimal string, and one read as a float is refused because it
        has lost digits. A text with a space in it (V(ID1 ID2)) is refused; separate IDs with commas,
        or give a list.
      - An empty list calls no API, changes nothing and returns empty results, with a warning.
    type: list
    elements: raw
    required: true
"""
