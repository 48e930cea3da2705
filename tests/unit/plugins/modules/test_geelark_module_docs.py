# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The modules' documentation as ansible-doc reads it (doc fragments merged), held against what they return."""

from __future__ import annotations

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import GeeLarkError
from ansible_collections.geelark.cloudphone.plugins.modules import (
    geelark_app,
    geelark_app_info,
    geelark_phone_power,
    geelark_phone_shell,
    geelark_phone_status,
    geelark_webhook,
)

# ansible-doc's loaders are controller code: ansible-test runs tests under modules/ without it (the file is
# skipped there), pytest and the matrix run it with the whole of ansible-core.
CONTROLLER = "needs ansible-core's controller code"
fragment_loader = pytest.importorskip("ansible.plugins.loader", reason=CONTROLLER).fragment_loader
get_docstring = pytest.importorskip("ansible.utils.plugin_docs", reason=CONTROLLER).get_docstring

STATUS_MODULE = "M(geelark.cloudphone.geelark_phone_status)"


def documented(module):
    """(DOCUMENTATION, RETURN) of a module as ansible-doc reads them, doc fragments merged."""
    docs = get_docstring(module.__file__, fragment_loader, collection_name="geelark.cloudphone", plugin_type="module")
    return docs[0], docs[2]


def documented_keys(module, name):
    """The keys a module documents for the dict result `name`, in place or by naming geelark_phone_status."""
    entry = documented(module)[1][name]
    if "contains" in entry:
        return set(entry["contains"])
    description = entry["description"]
    assert STATUS_MODULE in (" ".join(description) if isinstance(description, list) else description)
    return set(documented(geelark_phone_status)[1][name]["contains"])


def test_power_and_status_document_ids_in_the_same_words():
    # The option means the same in both modules (same parsing, same empty-list handling): one text for both.
    power = documented(geelark_phone_power)[0]
    status = documented(geelark_phone_status)[0]
    assert power["options"]["ids"] == status["options"]["ids"]
    assert power["options"]["ids"]["type"] == "list" and power["options"]["ids"]["required"] is True


def test_power_returns_its_phones_under_the_keys_status_documents(emulator, run_module):
    # ansible-core before 2.20 cannot merge doc fragments into RETURN: geelark_phone_status describes the keys of
    # a phone, geelark_phone_power names it, and this holds what power returns to that description.
    ids = list(emulator.true_status())[:1]
    result = run_module(geelark_phone_power.main, ids=ids, state="started", wait=False)
    assert set(result["phones"][0]) == documented_keys(geelark_phone_power, "phones")


@pytest.mark.parametrize("module, args", [
    pytest.param(geelark_phone_status, {"ids": 1}, id="status"),
    pytest.param(geelark_phone_power, {"ids": 1, "state": "started", "wait": False}, id="power"),
    pytest.param(geelark_webhook, {}, id="webhook"),
    pytest.param(geelark_phone_shell, {"ids": 1, "cmd": "true"}, id="shell"),
    pytest.param(geelark_app, {"ids": 1, "package": "com.zhiliaoapp.musically", "wait": False}, id="app"),
    pytest.param(geelark_app_info, {"ids": 1}, id="app_info"),
])
def test_every_api_calls_key_a_module_returns_is_documented(emulator, run_module, module, args):
    if "ids" in args:
        args = dict(args, ids=list(emulator.true_status())[:args["ids"]])
    result = run_module(module.main, **args)
    assert set(result["api_calls"]) == documented_keys(module, "api_calls")


@pytest.mark.parametrize("module", [geelark_phone_status, geelark_phone_power, geelark_app, geelark_app_info,
                                    geelark_phone_shell],
                         ids=lambda m: m.__name__)
def test_the_error_result_is_documented_by_every_module_that_returns_it(module):
    # Every key a failed task's error holds, as the modules build it (GeeLarkError.to_result), is described.
    assert documented_keys(module, "error") == set(GeeLarkError("refused").to_result())
