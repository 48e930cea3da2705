# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`ansible-inventory --list` for a fixed emulator fleet, compared field by field with a golden file.

It runs on every ansible-core release of the matrix, so a change in the groups or host variables
between releases (or from a change of ours) shows up as a list of the fields that differ.

After an intended change, regenerate the golden file and review its diff:

    GEELARK_GOLDEN_REGENERATE=1 make integration   # or: pytest tests/integration/test_inventory_golden.py
"""

from __future__ import annotations

import json
import os
import re

import pytest

from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator

from .conftest import BIN, TOKEN, ansible_env, run_command

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "inventory_list.json")
REGENERATE = os.environ.get("GEELARK_GOLDEN_REGENERATE") == "1"

# 41 phones: every GeeLark group, every status, and one serial name that two phones share.
FLEET = {"phones": 41, "seed": 15}
CONFIG = {
    "keyed_groups": [{"key": "geelark_group.name", "prefix": "group"}, {"key": "geelark_tags", "prefix": "tag"}],
    "groups": {"uk": "geelark_equipment.countryName == 'United Kingdom'"},
    "compose": {"phone_label": "geelark_serial_name ~ ' (' ~ geelark_status_name ~ ')'"},
}


def plain(value):
    """The listing without the untrusted/unsafe string wrappers that some releases write around API strings."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return plain(value["__ansible_unsafe"])
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def normalised(listing, api_url):
    """Wrappers removed and group member lists sorted: their order is not part of the contract."""
    listing = plain(listing)
    # 2.19+ names the encoding of the wrappers removed above ("inventory_legacy"); not inventory data.
    listing.get("_meta", {}).pop("profile", None)
    for name, group in listing.items():
        if name != "_meta":
            for key in ("hosts", "children"):
                if key in group:
                    group[key] = sorted(group[key])
    # When the data was fetched changes with every run; that it is there, as a UTC time, does not.
    for hostvars in listing.get("_meta", {}).get("hostvars", {}).values():
        if "geelark_fetched_at" in hostvars:
            assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", hostvars["geelark_fetched_at"]), hostvars
            hostvars["geelark_fetched_at"] = "<fetch time>"
        # The emulator's port changes with every run; that every host names it does not.
        if "geelark_api_url" in hostvars:
            assert hostvars["geelark_api_url"] == api_url, hostvars
            hostvars["geelark_api_url"] = "<the emulator's URL>"
    return listing


def differences(expected, actual, path="$"):
    """Every field that differs, as 'path: expected ... got ...' lines."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in sorted(set(expected) | set(actual)):
            where = "%s.%s" % (path, key)
            if key not in actual:
                found.append("%s: missing (expected %s)" % (where, json.dumps(expected[key], sort_keys=True)[:200]))
            elif key not in expected:
                found.append("%s: unexpected %s" % (where, json.dumps(actual[key], sort_keys=True)[:200]))
            else:
                found.extend(differences(expected[key], actual[key], where))
        return found
    if expected != actual or type(expected) is not type(actual):
        return ["%s: expected %s, got %s" % (path, json.dumps(expected), json.dumps(actual))]
    return []


def test_inventory_list_matches_the_golden_file_field_by_field(inventory_file):
    with Emulator(token=TOKEN, **FLEET) as emu:
        path = inventory_file(api_url=emu.url, **CONFIG)
        run = run_command([os.path.join(BIN, "ansible-inventory"), "-i", path, "--list"],
                          env=ansible_env(GEELARK_TOKEN=TOKEN, ANSIBLE_INVENTORY_UNPARSED_FAILED="1"))
    assert run.rc == 0, run.text
    listing = normalised(json.loads(run.out), emu.url)
    assert "proxy-secret" not in run.text and TOKEN not in run.text

    if REGENERATE:
        os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
        with open(GOLDEN, "w", encoding="utf-8") as handle:
            json.dump(listing, handle, indent=2, sort_keys=True)
            handle.write("\n")
        pytest.skip("regenerated %s: review its diff; nothing was compared" % GOLDEN)

    with open(GOLDEN, encoding="utf-8") as handle:
        golden = json.load(handle)
    assert len(golden["_meta"]["hostvars"]) == FLEET["phones"]
    diff = differences(golden, listing)
    assert not diff, "ansible-inventory --list differs from %s in %d field(s):\n%s" % (
        os.path.basename(GOLDEN), len(diff), "\n".join(diff[:50]))
