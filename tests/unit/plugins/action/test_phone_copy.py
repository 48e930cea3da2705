# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The phone_copy action in this process: Ansible's loaders build it with the real adb connection.

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

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
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

ACTION = "geelark.cloudphone.phone_copy"
CONNECTION = "geelark.cloudphone.adb"


@pytest.fixture(scope="module")
def adb_key(tmp_path_factory):
    from adb_shell.auth.keygen import keygen

    path = str(tmp_path_factory.mktemp("adbkey") / "adbkey")
    keygen(path)
    return path


@pytest.fixture
def emu():
    """Two running phones with ADB on; their IDs as emu.ids."""
    with Emulator(phones=2, token=TOKEN) as emulator:
        emulator.ids = sorted(emulator.true_status())
        emulator.set_status(emulator.ids, 0)
        emulator.configure_adb(enabled=emulator.ids)
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
    plugin._play_context.remote_addr = "phone-one"
    plugin.set_options(var_options={"geelark_id": emu.ids[0], "geelark_token": TOKEN, "geelark_api_url": emu.url,
                                    "geelark_retry_backoff": 0.01, "geelark_adb_key_file": adb_key,
                                    "geelark_adb_timeout": 5, "geelark_adb_command_timeout": 30})
    plugin._shell.set_options(var_options={})  # Ansible's defaults, as a task of a play gets them
    yield plugin
    parent.kill()
    parent.wait()
    shutil.rmtree(sockets, ignore_errors=True)


@pytest.fixture
def playbook_dir(tmp_path):
    """The playbook's directory, with files/ beside it as a play has."""
    (tmp_path / "files").mkdir()
    return tmp_path


@pytest.fixture
def copy(connection, playbook_dir):
    """copy(check_mode=False, **args): run phone_copy once, as a task of a play would, and return its result."""

    def run(check_mode=False, **args):
        task = Task()
        task.action = ACTION
        task.args = args
        task.check_mode = check_mode
        loader = DataLoader()
        loader.set_basedir(str(playbook_dir))
        action = action_loader.get(ACTION, task=task, connection=connection, play_context=connection._play_context,
                                   loader=loader, templar=Templar(loader=loader), shared_loader_obj=None)
        return action.run(task_vars={"inventory_hostname": "phone-one"})

    return run


def sha1(data):
    return hashlib.sha1(data).hexdigest()  # noqa: S324 (the checksum the action compares, as Ansible's copy)


def test_a_new_file_is_sent_and_checked(emu, copy, playbook_dir):
    data = os.urandom(100 * 1024) + b"\x00\r\n"
    (playbook_dir / "files" / "blob.bin").write_bytes(data)
    result = copy(src="blob.bin", dest="/sdcard/Download/blob.bin")  # found in the playbook's files/
    assert not result.get("failed"), result
    assert result["changed"] is True and result["dest"] == "/sdcard/Download/blob.bin"
    assert result["checksum"] == sha1(data) and result["size"] == len(data)
    assert emu.device_file(emu.ids[0], "/sdcard/Download/blob.bin") == data


def test_an_unchanged_file_is_not_sent_again(emu, copy, playbook_dir):
    (playbook_dir / "files" / "same.txt").write_bytes(b"same\n")
    assert copy(src="same.txt", dest="/sdcard/same.txt")["changed"] is True
    emu.put_device_file(emu.ids[0], "/sdcard/same.txt", b"same\n", mode=0o640)  # same content, a new file node
    result = copy(src="same.txt", dest="/sdcard/same.txt")
    assert result["changed"] is False and result["checksum"] == sha1(b"same\n"), result
    # Not sent: the file the phone had is still there, with its own mode.
    assert emu.state.devices.devices[emu.ids[0]].nodes["/sdcard/same.txt"].mode == 0o640


def test_a_different_file_is_replaced_unless_force_is_false(emu, copy):
    emu.put_device_file(emu.ids[0], "/sdcard/conf.txt", b"theirs\n")
    kept = copy(content="ours\n", dest="/sdcard/conf.txt", force=False)
    assert kept["changed"] is False and not kept.get("failed"), kept
    assert emu.device_file(emu.ids[0], "/sdcard/conf.txt") == b"theirs\n"
    replaced = copy(content="ours\n", dest="/sdcard/conf.txt", force="yes")
    assert replaced["changed"] is True
    assert emu.device_file(emu.ids[0], "/sdcard/conf.txt") == b"ours\n"


def test_content_is_written_and_no_temporary_file_is_left(emu, copy, tmp_path, monkeypatch):
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # this test's own, where the content is staged
    result = copy(content="héllo\n", dest="/data/local/tmp/hello.txt")
    assert result["changed"] is True and result["size"] == len("héllo\n".encode())
    assert emu.device_file(emu.ids[0], "/data/local/tmp/hello.txt") == "héllo\n".encode()
    assert os.listdir(str(tmp_path / "tmp")) == []


def test_a_dest_directory_keeps_the_file_name(emu, copy, playbook_dir):
    (playbook_dir / "files" / "named.txt").write_bytes(b"named\n")
    result = copy(src=str(playbook_dir / "files" / "named.txt"), dest="/sdcard/Download/")
    assert result["dest"] == "/sdcard/Download/named.txt" and result["changed"] is True
    assert emu.device_file(emu.ids[0], "/sdcard/Download/named.txt") == b"named\n"
    refused = copy(content="x", dest="/sdcard/Download/")
    assert refused["failed"] and "dest must name a file when content is given" in refused["msg"]


def test_mode_is_set_on_the_phone(emu, copy):
    result = copy(content="#!/system/bin/sh\necho run\n", dest="/data/local/tmp/run.sh", mode="0755")
    assert result["changed"] is True
    assert emu.state.devices.devices[emu.ids[0]].nodes["/data/local/tmp/run.sh"].mode == 0o755
    unchanged = copy(content="#!/system/bin/sh\necho run\n", dest="/data/local/tmp/run.sh", mode="0700")
    assert not unchanged.get("failed"), unchanged
    assert emu.state.devices.devices[emu.ids[0]].nodes["/data/local/tmp/run.sh"].mode == 0o700


def test_a_mode_change_alone_is_reported_as_a_change(emu, copy):
    emu.put_device_file(emu.ids[0], "/data/local/tmp/run.sh", b"echo run\n", mode=0o644)
    result = copy(content="echo run\n", dest="/data/local/tmp/run.sh", mode="0755")
    assert emu.state.devices.devices[emu.ids[0]].nodes["/data/local/tmp/run.sh"].mode == 0o755
    assert result["changed"] is True
    assert copy(content="echo run\n", dest="/data/local/tmp/run.sh", mode="0755")["changed"] is False
    assert copy(check_mode=True, content="echo run\n", dest="/data/local/tmp/run.sh", mode="0700")["changed"] is True
    assert emu.state.devices.devices[emu.ids[0]].nodes["/data/local/tmp/run.sh"].mode == 0o755  # not in check mode


@pytest.mark.parametrize(("on_phone", "wanted", "changed"), [
    (0o755, "0755", False), (0o4644, "0644", False), (0o2755, "0755", False), (0o1644, "0645", True),
])
def test_the_mode_compared_is_the_permission_bits_ls_shows(emu, copy, on_phone, wanted, changed):
    emu.put_device_file(emu.ids[0], "/data/local/tmp/f", b"f\n", mode=on_phone)  # ls: S, s and T letters
    assert copy(check_mode=True, content="f\n", dest="/data/local/tmp/f", mode=wanted)["changed"] is changed


def test_check_mode_sends_nothing_and_says_what_would_change(emu, copy):
    result = copy(check_mode=True, content="new\n", dest="/sdcard/new.txt", mode="0600")
    assert result["changed"] is True and result["checksum"] == sha1(b"new\n")
    assert emu.device_file(emu.ids[0], "/sdcard/new.txt") is None
    emu.put_device_file(emu.ids[0], "/sdcard/old.txt", b"old\n", mode=0o644)
    assert copy(check_mode=True, content="old\n", dest="/sdcard/old.txt")["changed"] is False


@pytest.mark.parametrize(("args", "message"), [
    ({"src": "a.txt"}, "dest is required: the path of the file on the phone"),
    ({"dest": "/sdcard/a"}, "give either src (a file on the controller) or content (the text to write), one of them"),
    ({"src": "a.txt", "content": "x", "dest": "/sdcard/a"}, "give either src"),
    ({"content": "x", "dest": "/sdcard/a", "mode": 644}, "mode must be an octal mode in quotes, for example '0644', "
                                                         "got 644"),
    ({"content": "x", "dest": "/sdcard/a", "mode": "0999"}, "mode must be an octal mode"),
    ({"content": "x", "dest": "/sdcard/a", "force": "maybe"}, "force must be true or false, got 'maybe'"),
    ({"src": "nosuch.txt", "dest": "/sdcard/a"}, "nosuch.txt"),
    ({"src": "", "dest": "/sdcard/a"}, "src is empty: name a file on the controller, or give content"),
    ({"content": "x", "dest": "Download/rel.txt"}, "dest must be an absolute path on the phone, such as "
                                                   "/sdcard/Download/rel.txt, got Download/rel.txt"),
])
def test_bad_arguments_fail_the_task_naming_what_is_wrong(emu, copy, args, message):
    result = copy(**args)
    assert result["failed"] is True and message in result["msg"], result
    assert emu.stats()["adb_commands"].get(emu.ids[0], 0) <= 1  # at most the remote temporary directory: no sha1sum
    assert emu.device_file(emu.ids[0], "/sdcard/a") is None


def test_a_directory_as_src_is_refused(copy, playbook_dir):
    result = copy(src=str(playbook_dir / "files"), dest="/sdcard/x")
    assert result["failed"] and "is a directory; phone_copy copies one file" in result["msg"]


def test_an_unknown_argument_fails_before_anything_runs(emu, copy):
    with pytest.raises(AnsibleActionFail, match=r"Invalid options for geelark\.cloudphone\.phone_copy: owner"):
        copy(content="x", dest="/sdcard/x", owner="root")
    assert emu.stats()["adb_commands"] == {}


def test_a_read_only_destination_fails_the_task_naming_it(emu, copy):
    result = copy(content="x", dest="/system/x")
    assert result["failed"] is True and result["changed"] is True  # it may have been written
    assert "/system/x" in result["msg"] and "Read-only file system" in result["msg"]


def test_a_phone_that_cannot_be_reached_fails_naming_why(emu, copy):
    emu.configure_adb(disabled=[emu.ids[0]])
    # Unreachable when Ansible's remote temporary directory is made first, else a failed task: either names why.
    try:
        result = copy(content="x", dest="/sdcard/x")
    except AnsibleConnectionFailure as unreachable:
        result = {"failed": True, "msg": str(unreachable)}
    assert result["failed"] is True and "ADB is off on phone %s" % emu.ids[0] in result["msg"]


def test_a_copy_that_does_not_arrive_intact_fails(emu, copy, connection, monkeypatch):
    put_file = connection.put_file

    def put_then_change(in_path, out_path):  # something on the phone rewrites the file as it lands
        put_file(in_path, out_path)
        emu.put_device_file(emu.ids[0], out_path, b"changed on the phone\n")

    monkeypatch.setattr(connection, "put_file", put_then_change)
    result = copy(content="sent\n", dest="/sdcard/sent.txt")
    assert result["failed"] is True
    assert result["msg"] == "the copy of /sdcard/sent.txt on the phone has checksum %s, not %s: it did not arrive " \
        "intact" % (sha1(b"changed on the phone\n"), sha1(b"sent\n"))


def test_no_remote_temporary_directory_is_left_on_the_phone(emu, copy):
    result = copy(content="x", dest="/sdcard/x")
    assert not result.get("failed") and result["changed"] is True, result
    assert [p for p in emu.state.devices.devices[emu.ids[0]].nodes if ".ansible" in p] == []


def phone_answering(connection, monkeypatch, rewrite):
    """The connection, with the phone's answers to some commands rewritten by rewrite(cmd, rc, stdout)."""
    exec_command = connection.exec_command

    def answer(cmd, in_data=None, sudoable=True):
        rc, stdout, stderr = exec_command(cmd, in_data=in_data, sudoable=sudoable)
        rc, stdout = rewrite(cmd, rc, stdout)
        return rc, stdout, stderr

    monkeypatch.setattr(connection, "exec_command", answer)


@pytest.mark.parametrize(("command", "rc", "said", "message"), [
    ("sha1sum", 2, b"sha1sum: /sdcard/x: I/O error\n",
     "could not read the checksum of /sdcard/x on the phone (rc 2): sha1sum: /sdcard/x: I/O error"),
    ("sha1sum", 0, b"Segmentation fault\n",
     "the phone's sha1sum answered something that is not a checksum for /sdcard/x: Segmentation fault"),
    ("ls -ld", 0, b"total 0\n", "could not read the mode of /sdcard/x on the phone: total 0"),
])
def test_a_phone_answer_that_cannot_be_read_fails_the_task_naming_it(
        emu, copy, connection, monkeypatch, command, rc, said, message):
    emu.put_device_file(emu.ids[0], "/sdcard/x", b"x")
    phone_answering(connection, monkeypatch,
                    lambda cmd, got_rc, stdout: (rc, said) if command in cmd else (got_rc, stdout))
    result = copy(content="x", dest="/sdcard/x", mode="0644")
    assert result["failed"] is True and result["msg"] == message


def test_a_chmod_the_phone_refuses_fails_the_task_naming_it(emu, copy, connection, monkeypatch):
    put_file = connection.put_file

    def put_then_remove(in_path, out_path):  # the file is gone again before its mode is set
        put_file(in_path, out_path)
        connection.exec_command("rm %s" % out_path)

    monkeypatch.setattr(connection, "put_file", put_then_remove)
    result = copy(content="x", dest="/sdcard/gone.txt", mode="0600")
    assert result["failed"] is True
    assert result["msg"].startswith("chmod /sdcard/gone.txt failed on the phone (rc 1): ")
    assert "No such file" in result["msg"]
