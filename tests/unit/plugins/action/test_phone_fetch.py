# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The phone_fetch action in this process: Ansible's loaders build it with the real adb connection.

The connection starts the run's ADB broker as a process of its own, against the emulator's phones; each
test gives it a stand-in for the ansible-playbook process (the broker ends with it).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import action_loader, connection_loader
from ansible.template import Templar

from ansible_collections.geelark.cloudphone.plugins.module_utils._settings import API_OPTIONS
from ansible_collections.geelark.cloudphone.plugins.plugin_utils._adb_link import BrokerLink
from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator

from ...conftest import TOKEN

pytest.importorskip("adb_shell")

ACTION = "geelark.cloudphone.phone_fetch"
CONNECTION = "geelark.cloudphone.adb"
LOG = "/sdcard/Download/app.log"


@pytest.fixture(scope="module")
def adb_key(tmp_path_factory):
    from adb_shell.auth.keygen import keygen

    path = str(tmp_path_factory.mktemp("adbkey") / "adbkey")
    keygen(path)
    return path


@pytest.fixture
def emu():
    """Two running phones with ADB on, the first with a log file; their IDs as emu.ids, the log as emu.log."""
    with Emulator(phones=2, token=TOKEN) as emulator:
        emulator.ids = sorted(emulator.true_status())
        emulator.set_status(emulator.ids, 0)
        emulator.configure_adb(enabled=emulator.ids)
        emulator.log = os.urandom(300 * 1024) + b"\r\n\x00end"
        emulator.put_device_file(emulator.ids[0], LOG, emulator.log)
        yield emulator


@pytest.fixture
def connection(emu, adb_key, monkeypatch):
    """The adb connection to the first phone, as a worker of a play has it; its broker ends after the test."""
    for option in API_OPTIONS:
        if option.env:
            monkeypatch.delenv(option.env, raising=False)
    # Stands for the ansible-playbook process: the broker ends once it is gone.
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    sockets = tempfile.mkdtemp(prefix="gl-", dir="/tmp")
    plugin = connection_loader.get(CONNECTION, PlayContext())
    monkeypatch.setattr(sys.modules[type(plugin).__module__], "BrokerLink",
                        functools.partial(BrokerLink, run_id=parent.pid, base_dir=sockets))
    plugin._play_context.remote_addr = "10.0.0.9"
    plugin.set_options(var_options={"geelark_id": emu.ids[0], "geelark_token": TOKEN, "geelark_api_url": emu.url,
                                    "geelark_retry_backoff": 0.01, "geelark_adb_key_file": adb_key,
                                    "geelark_adb_timeout": 5, "geelark_adb_command_timeout": 30})
    yield plugin
    parent.kill()
    parent.wait()
    shutil.rmtree(sockets, ignore_errors=True)


@pytest.fixture
def playbook_dir(tmp_path_factory):
    """The playbook's directory (apart from tmp_path, which the tests fetch into)."""
    return tmp_path_factory.mktemp("play")


@pytest.fixture
def fetch(connection, playbook_dir):
    """fetch(check_mode=False, task_vars=..., **args): run phone_fetch once, as a task of a play would."""

    def run(check_mode=False, task_vars=None, **args):
        task = Task()
        task.action = ACTION
        task.args = args
        task.check_mode = check_mode
        loader = DataLoader()
        loader.set_basedir(str(playbook_dir))
        action = action_loader.get(ACTION, task=task, connection=connection, play_context=connection._play_context,
                                   loader=loader, templar=Templar(loader=loader), shared_loader_obj=None)
        return action.run(task_vars={"inventory_hostname": "phone-one"} if task_vars is None else task_vars)

    return run


def sha1(data):
    return hashlib.sha1(data).hexdigest()  # noqa: S324 (the checksum the action compares, as Ansible's fetch)


def leftovers(directory):
    return [name for name in os.listdir(directory) if name.startswith(".phone_fetch-")]


def test_a_file_goes_under_a_directory_per_host(emu, fetch, playbook_dir):
    result = fetch(src=LOG, dest="logs/")  # relative: beside the playbook
    expected = playbook_dir / "logs" / "phone-one" / "sdcard" / "Download" / "app.log"
    assert not result.get("failed"), result
    assert result["changed"] is True and result["dest"] == str(expected) and result["file"] == LOG
    assert result["checksum"] == sha1(emu.log) and result["size"] == len(emu.log)
    assert expected.read_bytes() == emu.log
    assert leftovers(expected.parent) == []


def test_without_an_inventory_name_the_host_address_names_the_directory(emu, fetch, tmp_path):
    result = fetch(task_vars={}, src=LOG, dest=str(tmp_path / "by-address"))
    assert result["dest"] == str(tmp_path / "by-address" / "10.0.0.9" / "sdcard" / "Download" / "app.log")
    assert (tmp_path / "by-address" / "10.0.0.9" / "sdcard" / "Download" / "app.log").read_bytes() == emu.log


def test_flat_puts_the_file_at_dest_or_in_a_dest_directory(emu, fetch, tmp_path):
    named = fetch(src=LOG, dest=str(tmp_path / "copy.log"), flat=True)
    assert named["changed"] is True and (tmp_path / "copy.log").read_bytes() == emu.log
    into = fetch(src=LOG, dest=str(tmp_path / "flat") + "/", flat="yes")
    assert into["dest"] == str(tmp_path / "flat" / "app.log")
    assert (tmp_path / "flat" / "app.log").read_bytes() == emu.log


def test_a_copy_with_the_phones_checksum_is_not_fetched_again(emu, fetch, tmp_path, connection, monkeypatch):
    assert fetch(src=LOG, dest=str(tmp_path / "app.log"), flat=True)["changed"] is True

    def no_transfer(in_path, out_path):
        raise AssertionError("fetched again")

    monkeypatch.setattr(connection, "fetch_file", no_transfer)
    again = fetch(src=LOG, dest=str(tmp_path / "app.log"), flat=True)
    assert again == dict(again, changed=False, checksum=sha1(emu.log), size=len(emu.log)) and not again.get("failed")


def test_a_local_copy_that_differs_is_replaced(emu, fetch, tmp_path):
    (tmp_path / "app.log").write_bytes(b"stale")
    result = fetch(src=LOG, dest=str(tmp_path / "app.log"), flat=True)
    assert result["changed"] is True and (tmp_path / "app.log").read_bytes() == emu.log


def test_a_missing_file_fails_unless_fail_on_missing_is_false(emu, fetch, tmp_path):
    failed = fetch(src="/sdcard/none.log", dest=str(tmp_path))
    assert failed["failed"] is True and failed["changed"] is False
    assert failed["msg"] == ("the file /sdcard/none.log is not on the phone (or is not a regular file); set "
                             "fail_on_missing: false to accept that")
    told = fetch(src="/sdcard/none.log", dest=str(tmp_path), fail_on_missing=False)
    assert not told.get("failed") and told["changed"] is False
    assert told["msg"] == "the file /sdcard/none.log is not on the phone; nothing was fetched"
    directory = fetch(src="/sdcard/Download", dest=str(tmp_path), fail_on_missing="no")  # not a regular file
    assert not directory.get("failed") and directory["changed"] is False
    assert os.listdir(str(tmp_path)) == []


def test_check_mode_fetches_nothing_and_says_what_would_change(emu, fetch, tmp_path):
    result = fetch(check_mode=True, src=LOG, dest=str(tmp_path / "app.log"), flat=True)
    assert result["changed"] is True and result["checksum"] == sha1(emu.log)
    assert os.listdir(str(tmp_path)) == []


def test_a_transfer_that_does_not_arrive_intact_leaves_dest_as_it_was(emu, fetch, tmp_path, connection, monkeypatch):
    (tmp_path / "app.log").write_bytes(b"before")
    fetch_file = connection.fetch_file

    def fetch_then_damage(in_path, out_path):  # the first byte changes on its way (flipped, so it always differs)
        fetch_file(in_path, out_path)
        with open(out_path, "r+b") as landed:
            first = landed.read(1)
            landed.seek(0)
            landed.write(bytes([first[0] ^ 0xFF]))

    monkeypatch.setattr(connection, "fetch_file", fetch_then_damage)
    result = fetch(src=LOG, dest=str(tmp_path / "app.log"), flat=True)
    assert result["failed"] is True
    damaged = sha1(bytes([emu.log[0] ^ 0xFF]) + emu.log[1:])
    assert result["msg"] == "%s arrived with checksum %s, not the phone's %s: it did not arrive intact; nothing was " \
        "written to %s" % (LOG, damaged, sha1(emu.log), tmp_path / "app.log")
    assert (tmp_path / "app.log").read_bytes() == b"before" and leftovers(str(tmp_path)) == []


def test_a_broken_transfer_leaves_no_partial_file(emu, fetch, tmp_path, connection, monkeypatch):
    fetch_file = connection.fetch_file

    def fetch_then_lose(in_path, out_path):
        fetch_file(in_path, out_path)
        raise RuntimeError("the connection broke after the bytes landed")

    monkeypatch.setattr(connection, "fetch_file", fetch_then_lose)
    with pytest.raises(RuntimeError):
        fetch(src=LOG, dest=str(tmp_path / "app.log"), flat=True)
    assert os.listdir(str(tmp_path)) == []


def test_a_phone_that_cannot_be_reached_fails_naming_why(emu, fetch, tmp_path):
    emu.configure_adb(disabled=[emu.ids[0]])
    result = fetch(src=LOG, dest=str(tmp_path))
    assert result["failed"] is True and "ADB is off on phone %s" % emu.ids[0] in result["msg"]


@pytest.mark.parametrize(("args", "message"), [
    ({"dest": "logs"}, "src is required: the path of the file on the phone"),
    ({"src": LOG}, "dest is required: where on the controller the file goes"),
    ({"src": LOG, "dest": "logs", "flat": "maybe"}, "flat must be true or false, got 'maybe'"),
    ({"src": LOG, "dest": "logs", "fail_on_missing": "sometimes"}, "fail_on_missing must be true or false"),
])
def test_bad_arguments_fail_the_task_naming_what_is_wrong(emu, fetch, args, message):
    result = fetch(**args)
    assert result["failed"] is True and message in result["msg"], result
    assert emu.stats()["adb_commands"] == {}  # refused before anything ran on the phone


def test_an_unknown_argument_fails_before_anything_runs(emu, fetch):
    with pytest.raises(AnsibleActionFail, match=r"Invalid options for geelark\.cloudphone\.phone_fetch: "
                       r"validate_checksum"):
        fetch(src=LOG, dest="logs", validate_checksum=True)
    assert emu.stats()["adb_commands"] == {}


@pytest.mark.parametrize("src", ["/sdcard/../../../../../../../tmp/evil.log", "../../x.log", "/sdcard/.."])
def test_a_src_that_climbs_out_of_dest_fails_before_anything_runs(emu, fetch, tmp_path, src):
    (tmp_path / "logs").mkdir()
    result = fetch(src=src, dest=str(tmp_path / "logs"))
    assert result["failed"] is True and "changed" not in result
    assert "outside %s, the host's folder under dest ('..' climbs out of it); nothing was fetched" % (
        tmp_path / "logs" / "phone-one") in result["msg"], result["msg"]
    assert emu.stats()["adb_commands"] == {}  # refused before anything ran on the phone
    assert sorted(os.listdir(str(tmp_path))) == ["logs"] and os.listdir(str(tmp_path / "logs")) == []


def test_dots_that_stay_inside_dest_are_allowed(emu, fetch, tmp_path):
    result = fetch(src="/sdcard/Download/../Download/./app.log", dest=str(tmp_path))
    assert not result.get("failed"), result
    assert result["dest"] == str(tmp_path / "phone-one" / "sdcard" / "Download" / "app.log")
    assert (tmp_path / "phone-one" / "sdcard" / "Download" / "app.log").read_bytes() == emu.log


@pytest.mark.parametrize("src", ["/sdcard/..", "/sdcard/Download/"])
def test_flat_into_a_directory_needs_a_file_name_in_src(emu, fetch, tmp_path, src):
    result = fetch(src=src, dest=str(tmp_path) + "/", flat=True)
    assert result["failed"] is True and "outside dest %s" % tmp_path in result["msg"], result
    assert emu.stats()["adb_commands"] == {} and os.listdir(str(tmp_path)) == []


def test_a_dest_that_cannot_be_written_fails_saying_so(emu, fetch, tmp_path):
    (tmp_path / "settings.json").write_text("{}")  # a file where the host's directory would go
    result = fetch(src=LOG, dest=str(tmp_path / "settings.json"))
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"] == ("%s cannot be written on the controller (Not a directory): give a dest in a directory "
                             "this user may write, without a file where a directory of the path should be (flat: true "
                             "writes to dest itself); nothing was fetched"
                             % (tmp_path / "settings.json" / "phone-one" / "sdcard" / "Download" / "app.log"))
    assert (tmp_path / "settings.json").read_text() == "{}"
