# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's name and version, for the User-Agent. A unit test keeps it equal to galaxy.yml.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

COLLECTION_NAME = "geelark.cloudphone"
COLLECTION_VERSION = "1.0.0"
