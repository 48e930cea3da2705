# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Make this checkout importable as ansible_collections.geelark.cloudphone when pytest runs it directly.

Under ansible-test the collection is already importable and this does nothing.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def collection_base():
    """A temp folder holding ansible_collections/geelark/cloudphone -> this checkout."""
    digest = hashlib.sha256(ROOT.encode()).hexdigest()[:12]
    base = os.path.join(tempfile.gettempdir(), "geelark-collection-%s" % digest)
    link = os.path.join(base, "ansible_collections", "geelark", "cloudphone")
    if os.path.realpath(link) != ROOT:
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.islink(link):
            os.unlink(link)
        os.symlink(ROOT, link)
    return base


def _bootstrap():
    if os.path.basename(os.path.dirname(os.path.dirname(ROOT))) == "ansible_collections":
        # Already inside a collection tree (ansible-test, or an installed copy).
        os.environ.setdefault("GEELARK_TEST_COLLECTIONS_PATH", os.path.dirname(os.path.dirname(os.path.dirname(ROOT))))
        return
    base = collection_base()
    os.environ["GEELARK_TEST_COLLECTIONS_PATH"] = base
    if base not in sys.path:
        sys.path.insert(0, base)
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=[base])._install()


_bootstrap()


@pytest.fixture(autouse=True, scope="session")
def _rate_budget_dir(tmp_path_factory):
    """Tests book their shared rate budget in a directory of their own, not in the user's."""
    os.environ["GEELARK_RATE_BUDGET_DIR"] = str(tmp_path_factory.mktemp("rate-budget"))
