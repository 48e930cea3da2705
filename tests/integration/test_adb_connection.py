# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The adb connection in real ansible-playbook runs: the geelark inventory, the emulator's API and its ADB daemon.

The emulated phones speak the ADB wire protocol (CNXN, AUTH, OPEN/OKAY/WRTE/CLSE, the shell and sync
services) with the glogin gate; adb/getData hands out their addresses and codes.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest
import yaml

from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator

from .conftest import BIN, TOKEN, ansible_env, run_command

pytest.importorskip("adb_shell")

GETDATA = "/open/v1/adb/getData"
SETSTATUS = "/open/v1/adb/setStatus"


@pytest.fixture(scope="module")
def adb_key(tmp_path_factory):
    """One ADB key for the module's runs (making an RSA key takes a while)."""
    from adb_shell.auth.keygen import keygen

    path = str(tmp_path_factory.mktemp("adbkey") / "adbkey")
    keygen(path)
    return path


def started_fleet(count, adb=True):
    emu = Emulator(phones=count, token=TOKEN).start()
    ids = list(emu.true_status())
    emu.set_status(ids, 0)
    if adb:
        emu.configure_adb(enabled=ids)
    return emu, ids


def write_inventory(tmp_path, emu, **extra):
    config = {"plugin": "geelark.cloudphone.geelark", "api_url": emu.url,
              "compose": {"ansible_connection": "'geelark.cloudphone.adb'"}}
    config.update(extra)
    path = tmp_path / "phones.geelark.yml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def play(tmp_path, inventory, plays, *options, **env):
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return run_command([os.path.join(BIN, "ansible-playbook"), "-i", inventory, str(path)] + list(options),
                       env=ansible_env(GEELARK_TOKEN=TOKEN, **env))


def phone_play(tasks, key, hosts="status_started", **extra_vars):
    variables = {"geelark_adb_key_file": key, "geelark_adb_poll_interval": 0.01}
    variables.update(extra_vars)
    return [{"name": "On the phones", "hosts": hosts, "gather_facts": False, "vars": variables, "tasks": tasks}]


def dump_task(path, expression):
    return {"name": "dump", "delegate_to": "localhost", "run_once": True,
            "ansible.builtin.copy": {"content": "{{ %s | to_json }}" % expression, "dest": str(path)},
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}


def test_raw_runs_on_100_started_phones_with_one_getdata_true_exit_codes_and_no_code_shown(tmp_path, adb_key):
    emu, ids = started_fleet(100)
    try:
        failing = ids[7]
        out = tmp_path / "serials.json"
        tasks = [
            {"name": "whoami", "ansible.builtin.raw": "getprop ro.gl.serialno", "register": "serial",
             "changed_when": False},
            {"name": "exit status", "ansible.builtin.raw": "exit 3", "register": "three", "ignore_errors": True},
            {"name": "fails on one phone only",
             "ansible.builtin.raw": "{{ 'false' if geelark_id == '%s' else 'true' }}" % failing},
            {"name": "runs on the others", "ansible.builtin.raw": "echo still here", "register": "after"},
            dump_task(out, "dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, "
                           "['serial', 'stdout']))) | combine({'rc3': hostvars[ansible_play_hosts[0]]['three']['rc'], "
                           "'after': ansible_play_hosts | map('extract', hostvars, ['after', 'stdout']) | list})"),
        ]
        run = play(tmp_path, write_inventory(tmp_path, emu), phone_play(tasks, adb_key), "-vvvv", "--forks", "20")
        assert run.rc == 2, run.text  # one host failed
        recap = run.text[run.text.rindex("PLAY RECAP"):]
        assert recap.count("failed=1") == 1 and recap.count("unreachable=0") == 100
        stats = emu.stats()
        assert stats["requests"].get(GETDATA) == 1
        assert sum(stats["glogins"].values()) == 100 and sum(stats["adb_connections"].values()) == 100
        for phone_id in ids:
            assert emu.adb_pwd(phone_id) not in run.text
        assert TOKEN not in run.text
        result = json.loads(out.read_text())
        assert result.pop("rc3") == 3
        after = result.pop("after")
        assert len(after) == 99 and set(s.strip() for s in after) == {"still here"}
        hosts = run_command([os.path.join(BIN, "ansible-inventory"), "-i", write_inventory(tmp_path, emu), "--list"],
                            env=ansible_env(GEELARK_TOKEN=TOKEN)).json()["_meta"]["hostvars"]
        by_host = dict((host, values["geelark_id"]) for host, values in hosts.items()
                       if values["geelark_id"] != failing)
        assert dict((h, s.strip()) for h, s in result.items()) == by_host  # each phone answered with its own ID
    finally:
        emu.stop()


def test_a_lapsed_login_is_renewed_and_the_command_runs_once(tmp_path, adb_key):
    emu, ids = started_fleet(5)
    try:
        lapse = {"name": "the logins lapse", "delegate_to": "localhost", "run_once": True,
                 "ansible.builtin.uri": {"url": emu.url + "/_emulator/adb", "method": "POST", "body_format": "json",
                                         "body": {"lapse": ids}},
                 "vars": {"ansible_connection": "local",
                          "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}
        tasks = [
            {"name": "first", "ansible.builtin.raw": "echo one >> /data/local/tmp/count"},
            lapse,
            {"name": "second", "ansible.builtin.raw": "echo two >> /data/local/tmp/count"},
        ]
        run = play(tmp_path, write_inventory(tmp_path, emu), phone_play(tasks, adb_key))
        assert run.rc == 0, run.text
        stats = emu.stats()
        assert all(stats["glogins"][i] == 2 for i in ids), stats["glogins"]
        for phone_id in ids:
            assert emu.device_file(phone_id, "/data/local/tmp/count") == b"one\ntwo\n"  # each ran once
    finally:
        emu.stop()


def test_files_of_several_megabytes_travel_both_ways_intact(tmp_path, adb_key):
    emu, ids = started_fleet(3)
    try:
        blob = tmp_path / "blob.bin"
        blob.write_bytes(os.urandom(5 * 1024 * 1024 + 17))
        fetched = tmp_path / "fetched"
        tasks = [
            {"name": "send", "geelark.cloudphone.phone_copy": {"src": str(blob), "dest": "/sdcard/Download/blob.bin"},
             "register": "sent"},
            {"name": "send again", "register": "again",
             "geelark.cloudphone.phone_copy": {"src": str(blob), "dest": "/sdcard/Download/blob.bin"}},
            {"name": "fetch",
             "geelark.cloudphone.phone_fetch": {"src": "/sdcard/Download/blob.bin", "dest": str(fetched) + "/"}},
            {"name": "check", "ansible.builtin.assert": {"that": ["sent is changed", "again is not changed"]},
             "delegate_to": "localhost",
             "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}},
        ]
        run = play(tmp_path, write_inventory(tmp_path, emu), phone_play(tasks, adb_key))
        assert run.rc == 0, run.text
        digest = hashlib.sha256(blob.read_bytes()).hexdigest()
        for phone_id in ids:
            assert hashlib.sha256(emu.device_file(phone_id, "/sdcard/Download/blob.bin")).hexdigest() == digest
        copies = [d / "sdcard" / "Download" / "blob.bin" for d in fetched.iterdir()]
        assert len(copies) == 3
        assert all(hashlib.sha256(c.read_bytes()).hexdigest() == digest for c in copies)
    finally:
        emu.stop()


def test_a_phone_with_adb_off_fails_naming_enable_adb_and_works_with_it(tmp_path, adb_key):
    emu, ids = started_fleet(4, adb=False)
    try:
        tasks = [{"name": "whoami", "ansible.builtin.raw": "getprop ro.gl.serialno"}]
        inventory = write_inventory(tmp_path, emu)
        off = play(tmp_path, inventory, phone_play(tasks, adb_key))
        assert off.rc == 4, off.text  # unreachable
        assert "ADB is off on phone" in off.text and "enable_adb" in off.text
        assert emu.stats()["requests"].get(SETSTATUS) is None
        on = play(tmp_path, inventory, phone_play(tasks, adb_key, geelark_enable_adb=True))
        assert on.rc == 0, on.text
        # Each phone turned on once; the hosts asking at the same moment (forks) in one request.
        turned_on = [phone for body in emu.request_bodies(SETSTATUS) for phone in body["ids"]]
        assert sorted(turned_on) == sorted(ids) and 1 <= len(emu.request_bodies(SETSTATUS)) <= 4
    finally:
        emu.stop()


def test_android_10_points_to_the_shell_module_and_python_modules_say_why_they_cannot_run(tmp_path, adb_key):
    emu, ids = started_fleet(2)
    try:
        emu.configure_adb(android={ids[0]: 10})
        tasks = [{"name": "copy", "ansible.builtin.copy": {"content": "x", "dest": "/sdcard/x"}}]
        run = play(tmp_path, write_inventory(tmp_path, emu), phone_play(tasks, adb_key))
        assert run.rc in (2, 4), run.text
        text = " ".join(run.text.split())
        assert "geelark.cloudphone.geelark_phone_shell" in text  # the Android 10 phone
        # the other one: the reason is the task's message, naming what to use
        assert "cannot run on GeeLark phone %s: Android has no Python" % ids[1] in text
        assert "geelark.cloudphone.phone_copy" in text
    finally:
        emu.stop()


def test_a_script_runs_from_the_remote_temporary_directory(tmp_path, adb_key):
    emu, ids = started_fleet(2)
    try:
        script = tmp_path / "hello.sh"
        script.write_text("#!/system/bin/sh\necho \"hello $1 from $(getprop ro.gl.serialno)\"\nexit 4\n")
        out = tmp_path / "script.json"
        tasks = [{"name": "script", "ansible.builtin.script": "%s world" % script, "register": "said",
                  "ignore_errors": True},
                 dump_task(out, "ansible_play_hosts | map('extract', hostvars, 'said') | list")]
        run = play(tmp_path, write_inventory(tmp_path, emu), phone_play(tasks, adb_key))
        assert run.rc == 0, run.text
        said = json.loads(out.read_text())
        assert sorted(s["stdout"].strip() for s in said) == sorted("hello world from %s" % i for i in ids)
        assert [s["rc"] for s in said] == [4, 4]
    finally:
        emu.stop()


def test_a_mode_alone_is_a_change_and_a_refused_file_fails_the_task_not_the_connection(tmp_path, adb_key):
    emu, ids = started_fleet(1)
    try:
        out = tmp_path / "copies.json"
        copy = {"content": "x\n", "dest": "/data/local/tmp/x.sh"}
        tasks = [
            {"name": "send", "geelark.cloudphone.phone_copy": dict(copy, mode="0755"), "register": "first"},
            {"name": "same mode", "geelark.cloudphone.phone_copy": dict(copy, mode="0755"), "register": "same"},
            {"name": "other mode", "geelark.cloudphone.phone_copy": dict(copy, mode="0700"), "register": "other"},
            {"name": "read-only", "geelark.cloudphone.phone_copy": {"content": "x", "dest": "/system/x"},
             "register": "refused", "ignore_errors": True},
            {"name": "still connected", "ansible.builtin.raw": "true"},
            dump_task(out, "[first.changed, same.changed, other.changed, refused.msg]"),
        ]
        run = play(tmp_path, write_inventory(tmp_path, emu), phone_play(tasks, adb_key))
        assert run.rc == 0, run.text
        first, same, other, refused = json.loads(out.read_text())
        assert (first, same, other) == (True, False, True)
        assert "refused: /system/x could not be sent to it: Read-only file system" in refused
        assert emu.stats()["adb_connections"][ids[0]] == 1  # the refusal kept the connection
        listing = emu.device_file(ids[0], "/data/local/tmp/x.sh")
        assert listing == b"x\n"
    finally:
        emu.stop()
