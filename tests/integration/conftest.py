# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Real ansible-playbook and ansible-inventory runs against the emulator on 127.0.0.1."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator

TOKEN = "int-token-5b1d9e0c2a7f"
APP_ID = "eH6gQR4oHr3FsZpI36La01IW"
API_KEY = "YjmFIUuq0oJgSDJ42fxLEb6R1qjjqf"
BIN = os.path.dirname(sys.executable)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    @property
    def text(self):
        return self.out + self.err

    def json(self):
        """stdout as JSON; ansible-inventory's {"__ansible_unsafe": text} markers become plain text."""
        return json.loads(self.out, object_hook=_plain)


def _plain(obj):
    return obj["__ansible_unsafe"] if set(obj) == {"__ansible_unsafe"} else obj


def ansible_env(**extra):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("GEELARK_", "ANSIBLE_")))
    env.update(
        ANSIBLE_COLLECTIONS_PATH=os.environ["GEELARK_TEST_COLLECTIONS_PATH"],
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_RETRY_FILES_ENABLED="0",
        PATH=BIN + os.pathsep + env.get("PATH", ""),
        # the pytest process's own (tests/conftest.py): parallel workers share no budget and no ~/.ansible
        GEELARK_RATE_BUDGET_DIR=os.environ["GEELARK_RATE_BUDGET_DIR"],
        ANSIBLE_HOME=os.environ["GEELARK_TEST_ANSIBLE_HOME"],
    )
    env.update(extra)
    return env


def run_command(args, env=None, cwd=None, timeout=300):
    proc = subprocess.run(args, capture_output=True, text=True, env=env or ansible_env(), cwd=cwd, check=False,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    return Run(proc)


def fleet_emulator():
    """The emulator most tests run against: 300 phones, both auth schemes. Start it with `with`."""
    return Emulator(phones=300, token=TOKEN, app_id=APP_ID, api_key=API_KEY)


@pytest.fixture
def emulator():
    with fleet_emulator() as emu:
        yield emu


@pytest.fixture
def playbook(tmp_path):
    """Write a playbook and run it with ansible-playbook."""

    def runner(plays, *options, env=None, extra_vars=None):
        path = tmp_path / "play.yml"
        path.write_text(yaml.safe_dump(plays, sort_keys=False))
        args = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", str(path)] + list(options)
        if extra_vars is not None:
            args += ["-e", json.dumps(extra_vars)]
        return run_command(args, env=env)

    return runner


def write_inventory(directory, name="fleet.geelark.yml", **config):
    """Write a geelark inventory file into directory; its path."""
    config.setdefault("plugin", "geelark.cloudphone.geelark")
    path = directory / name
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture
def inventory_file(tmp_path):
    return functools.partial(write_inventory, tmp_path)


def local_play(*tasks, **play):
    base = {"name": "GeeLark checks", "hosts": "localhost", "connection": "local", "gather_facts": False,
            "tasks": list(tasks)}
    base.update(play)
    return [base]
