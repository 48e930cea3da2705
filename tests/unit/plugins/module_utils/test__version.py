# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

import yaml

from ansible_collections.geelark.cloudphone.plugins.module_utils import _version

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..")


def test_version_matches_galaxy_yml():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    assert "%s.%s" % (galaxy["namespace"], galaxy["name"]) == _version.COLLECTION_NAME
    assert galaxy["version"] == _version.COLLECTION_VERSION
