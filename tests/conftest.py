# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Make this checkout importable as ansible_collections.geelark.cloudphone when pytest runs it directly.

Under ansible-test the collection is already importable and this does nothing.

The tests run in parallel (pytest-xdist, `make unit`, `make coverage`), so nothing here is shared
between pytest processes but the read-only collection link: each process has its own rate budget
directory and Ansible home, and tests that share a module-scoped fixture run in one process.
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
        # Parallel pytest processes start together: build the link aside and rename it into place,
        # which replaces atomically, so no process sees a missing link or fails on one that exists.
        staged = "%s.%d" % (link, os.getpid())
        if os.path.lexists(staged):  # left by a killed process that had this PID
            os.unlink(staged)
        os.symlink(ROOT, staged)
        os.replace(staged, link)
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
def _own_state_dirs(tmp_path_factory):
    """Each pytest process books its rate budget and keeps Ansible's files in directories of its own.

    Not in the user's, and not in another xdist worker's: tmp_path_factory is per worker.
    tests/integration/conftest.py passes both to every ansible process it starts.
    """
    os.environ["GEELARK_RATE_BUDGET_DIR"] = str(tmp_path_factory.mktemp("rate-budget"))
    os.environ["GEELARK_TEST_ANSIBLE_HOME"] = str(tmp_path_factory.mktemp("ansible-home"))


def _module_scoped_fixtures(item):
    """Names of the module- or class-scoped fixtures an item uses (pytest keeps them in _fixtureinfo)."""
    info = getattr(item, "_fixtureinfo", None)
    definitions = getattr(info, "name2fixturedefs", None) or {}
    return sorted(name for name, defs in definitions.items() if defs and defs[-1].scope in ("module", "class"))


def pytest_configure(config):
    # pytest-xdist declares this marker; where it is not installed (ansible-test units) it is declared here
    config.addinivalue_line("markers", "xdist_group(name): run the tests of a group on one xdist worker")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups (pytest -n N --dist loadgroup)
def pytest_collection_modifyitems(items):
    """Tests sharing a module-scoped fixture (a built tarball, a one-minute scenario) run on one worker.

    Under `--dist loadgroup` each group goes to one worker, so the fixture's work is done once
    instead of once per worker; every other test goes wherever a worker is free.
    """
    for item in items:
        if _module_scoped_fixtures(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


_UNGROUPED = pytest.StashKey[str]()


def pytest_collection_finish(session):
    """On an xdist worker under `--dist loadgroup`: the tests whose group did not reach the scheduler fail.

    pytest-xdist 3.8 passes a test's group to the scheduler by appending `@group` to its node ID; from
    pytest 9.2 on that append is lost (pytest-xdist#1386), and the tests of a group spread over the
    workers without a word: each worker then builds the tarball or plays the one-minute scenario again.
    requirements-dev.txt and requirements-matrix.txt pin a pytest on which the groups hold.
    """
    if not getattr(session.config.option, "loadgroup", False):
        return
    for item in session.items:
        if any(item.iter_markers("xdist_group")) and "@" not in item.nodeid:
            item.stash[_UNGROUPED] = (
                "pytest-xdist --dist loadgroup did not group this test on pytest %s, so its module-scoped fixture "
                "would run on several workers: keep pytest at the version requirements-dev.txt and "
                "requirements-matrix.txt pin" % pytest.__version__)


def pytest_runtest_setup(item):
    if _UNGROUPED in item.stash:
        pytest.fail(item.stash[_UNGROUPED], pytrace=False)
