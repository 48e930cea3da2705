# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""docs/ansible.cfg, the recommended settings, does what the README says it does."""

from __future__ import annotations

import os
import shutil

import yaml

from .conftest import BIN, ROOT, TOKEN, ansible_env, run_command

PLAY = [{"name": "Count the phones", "hosts": "status_started", "gather_facts": False,
         "tasks": [{"ansible.builtin.debug": {"msg": "up"}, "run_once": True, "delegate_to": "localhost"}]}]


def project(tmp_path, emulator, token):
    shutil.copy(os.path.join(ROOT, "docs", "ansible.cfg"), tmp_path / "ansible.cfg")
    (tmp_path / "fleet.geelark.yml").write_text(yaml.safe_dump(
        {"plugin": "geelark.cloudphone.geelark", "api_url": emulator.url, "token": token}))
    (tmp_path / "play.yml").write_text(yaml.safe_dump(PLAY))
    return run_command([os.path.join(BIN, "ansible-playbook"), "play.yml"], cwd=str(tmp_path),
                       env=ansible_env(ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg")))


def test_with_the_recommended_config_a_broken_inventory_stops_the_run(emulator, tmp_path):
    run = project(tmp_path, emulator, "a-wrong-token")
    assert run.rc != 0
    assert "40003" in run.text and "a-wrong-token" not in run.text


def test_with_the_recommended_config_a_good_inventory_runs(emulator, tmp_path):
    run = project(tmp_path, emulator, TOKEN)
    assert run.rc == 0, run.text
    assert "ok=1" in run.out
