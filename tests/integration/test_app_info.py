# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

from ansible_collections.geelark.cloudphone.plugins.module_utils._app_lists import APP_LIST_PATH

from .conftest import TOKEN, ansible_env, local_play

TIKTOK = "com.zhiliaoapp.musically"


def test_a_playbook_reads_apps_installable_versions_and_the_library_in_check_mode(emulator, playbook, tmp_path):
    phones = list(emulator.true_status())[:120]
    emulator.set_apps(dict((phone_id, {TIKTOK: {"versionName": "36.4.0" if n % 2 else "36.5.4"}})
                           for n, phone_id in enumerate(phones[:100])))
    out = tmp_path / "result.json"
    task = {"name": "apps", "geelark.cloudphone.geelark_app_info": {
        "ids": phones[:3] + ["404404404404404404"] + phones[3:], "package": TIKTOK, "installable": True, "team": True,
        "api_url": emulator.url}, "register": "result"}
    dump = {"name": "dump", "ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": "{{ out }}"},
            "check_mode": False}
    run = playbook(local_play(task, dump), "--check", env=ansible_env(GEELARK_TOKEN=TOKEN),
                   extra_vars={"out": str(out)})
    assert run.rc == 0, run.text
    # ansible-core before 2.19 wraps warnings to the terminal's width
    assert "The apps of 1 of 121 phones could not be read: 404404404404404404 (42001" in " ".join(run.text.split())
    assert TOKEN not in run.text
    result = json.loads(out.read_text())
    assert result["changed"] is False
    assert [p["id"] for p in result["phones"]] == phones
    versions = [[a["version_name"] for a in p["apps"]] for p in result["phones"]]
    assert versions[:3] == [["36.5.4"], ["36.4.0"], ["36.5.4"]] and versions[100:] == [[]] * 20
    assert [f["code"] for f in result["failures"]] == [42001]
    assert len(result["installable"]) == 120 and len(result["team_apps"]) == 1
    assert len(emulator.request_bodies(APP_LIST_PATH)) == 121  # one request per phone
