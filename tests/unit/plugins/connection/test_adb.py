# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The adb connection plugin in this process, loaded by Ansible's loader, against the emulator's phones.

The plugin starts the run's ADB broker as a process of its own, as in a play; each test gives it a
stand-in for the ansible-playbook process (the broker ends with it) and a private socket directory.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader

from ansible_collections.geelark.cloudphone.plugins.inventory import geelark as geelark_inventory
from ansible_collections.geelark.cloudphone.plugins.module_utils._settings import API_OPTIONS
from ansible_collections.geelark.cloudphone.plugins.plugin_utils._adb_link import BrokerLink
from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator

from ...conftest import TOKEN

pytest.importorskip("adb_shell")

GETDATA = "/open/v1/adb/getData"
SETSTATUS = "/open/v1/adb/setStatus"
CONNECTION = "geelark.cloudphone.adb"


@pytest.fixture(scope="module")
def adb_key(tmp_path_factory):
    """One ADB key for the module, made by the plugin's own key maker (as adb makes ~/.android/adbkey)."""
    path = str(tmp_path_factory.mktemp("adbkey") / "adbkey")
    adb_module()._ensure_key(path)
    return path


def adb_module():
    """The module Ansible's loader runs the plugin from."""
    plugin = connection_loader.get(CONNECTION, PlayContext())
    return sys.modules[type(plugin).__module__]


@pytest.fixture
def emu():
    """Eight running phones, ADB on for all but the last two; their IDs as emu.ids."""
    with Emulator(phones=8, token=TOKEN) as emulator:
        emulator.ids = sorted(emulator.true_status())
        emulator.set_status(emulator.ids, 0)
        emulator.configure_adb(enabled=emulator.ids[:6])
        yield emulator


@pytest.fixture
def run_parent():
    """Stands for the ansible-playbook process: the brokers started for it end once it is gone."""
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    yield parent
    parent.kill()
    parent.wait()


@pytest.fixture
def socket_dir():
    path = tempfile.mkdtemp(prefix="gl-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def connect(emu, adb_key, run_parent, socket_dir, monkeypatch):
    """connect(phone_id, **host variables): the plugin as Ansible's loader gives it, its options set."""
    for option in API_OPTIONS:
        if option.env:
            monkeypatch.delenv(option.env, raising=False)
    monkeypatch.delenv("GEELARK_ENABLE_ADB", raising=False)
    monkeypatch.delenv("GEELARK_ADB_KEY_FILE", raising=False)
    monkeypatch.setattr(adb_module(), "BrokerLink", functools.partial(BrokerLink, run_id=run_parent.pid,
                                                                      base_dir=socket_dir))

    def factory(phone_id, play_context=None, **variables):
        connection = connection_loader.get(CONNECTION, play_context or PlayContext())
        connection._play_context.remote_addr = "phone-%s" % phone_id
        options = {"geelark_id": phone_id, "geelark_token": TOKEN, "geelark_api_url": emu.url,
                   "geelark_retry_backoff": 0.01, "geelark_adb_key_file": adb_key,
                   "geelark_adb_poll_interval": 0.01, "geelark_adb_timeout": 5, "geelark_adb_command_timeout": 30}
        options.update(variables)
        connection.set_options(var_options=dict((k, v) for k, v in options.items() if v is not None))
        return connection

    return factory


def sockets_in(directory):
    return [name for name in os.listdir(directory) if name.endswith(".sock")] if os.path.isdir(directory) else []


def test_the_loader_gives_the_plugin_with_its_documented_defaults(connect, emu):
    connection = connect(emu.ids[0])
    assert connection.transport == CONNECTION and not connection.has_pipelining
    assert connection.get_option("enable_adb") is False
    assert connection.get_option("command_timeout") == 30
    assert connection.get_option("enable_timeout") == 60


def test_ansibles_remote_tmp_defaults_to_a_directory_the_phone_lets_the_shell_user_write(connect, emu):
    connection = connect(emu.ids[0])
    connection._shell.set_options(var_options={})  # as Ansible does for each task, after the connection's options
    assert connection._shell.get_option("remote_tmp") == "/data/local/tmp/.ansible/tmp"
    connection._shell.set_options(var_options={"ansible_remote_tmp": "/sdcard/.ansible/tmp"})
    assert connection._shell.get_option("remote_tmp") == "/sdcard/.ansible/tmp"  # the user's choice is kept


def test_commands_run_on_the_phone_with_their_true_exit_status(connect, emu):
    connection = connect(emu.ids[0])
    assert connection.exec_command("echo hello; exit 3") == (3, b"hello\n", b"")
    assert connection.exec_command("false") == (1, b"", b"")
    assert connection.exec_command("getprop ro.gl.serialno") == (0, emu.ids[0].encode() + b"\n", b"")
    assert emu.stats()["glogins"][emu.ids[0]] == 1 and emu.stats()["adb_connections"][emu.ids[0]] == 1


def test_a_later_task_of_the_run_costs_no_new_connection_or_login(connect, emu):
    first = connect(emu.ids[0])
    first.exec_command("true")
    first.close()
    assert not first.connected
    second = connect(emu.ids[0])  # the next task's worker
    assert second.exec_command("echo again") == (0, b"again\n", b"")
    first.exec_command("true")  # closed: connects to the broker again
    stats = emu.stats()
    assert stats["adb_connections"][emu.ids[0]] == 1 and stats["glogins"][emu.ids[0]] == 1
    assert stats["requests"][GETDATA] == 1


def test_the_controllers_shell_is_replaced_by_the_phones_and_no_secret_is_logged(connect, emu, capsys, monkeypatch):
    monkeypatch.setattr(adb_module().display, "verbosity", 4)  # -vvvv
    connection = connect(emu.ids[0])
    assert connection.exec_command("/bin/sh -c 'echo from sh; exit 5'") == (5, b"from sh\n", b"")
    assert connection.exec_command("/system/bin/nosuch -c 'exit 5'")[0] == 127  # only the controller's shell
    logged = capsys.readouterr()
    lines = [line for line in (logged.out + logged.err).splitlines() if "EXEC" in line]
    assert len(lines) == 2 and lines[0].endswith("EXEC sh -c 'echo from sh; exit 5'"), lines
    assert lines[1].endswith("EXEC /system/bin/nosuch -c 'exit 5'")
    assert "ESTABLISH GEELARK ADB CONNECTION FOR PHONE %s" % emu.ids[0] in logged.out + logged.err
    assert TOKEN not in logged.out + logged.err and emu.adb_pwd(emu.ids[0]) not in logged.out + logged.err


def test_a_python_module_that_cannot_run_fails_saying_why(connect, emu):
    connection = connect(emu.ids[0])
    rc, stdout, stderr = connection.exec_command(
        "/usr/bin/python3 /data/local/tmp/.ansible/tmp/ansible-tmp-1/AnsiballZ_ping.py && sleep 0")
    result = json.loads(stdout)  # the module's result, as Ansible reads it: its msg becomes the task's message
    assert rc == 1 and stderr == b"" and result["failed"] is True
    assert result["msg"].startswith("ping cannot run on GeeLark phone %s: Android has no Python" % emu.ids[0])
    assert "geelark.cloudphone.phone_copy" in result["msg"] and "delegate_to: localhost" in result["msg"]
    assert "/usr/bin/python3" in result["shell_said"] and "not found" in result["shell_said"]
    rc, stdout, stderr = connection.exec_command(
        "/usr/bin/python3 /data/local/tmp/.ansible/tmp/ansible-tmp-2/AnsiballZ_command.py && sleep 0")
    assert json.loads(stdout)["msg"].startswith("command (which ansible.builtin.command and ansible.builtin.shell run "
                                                "on the host) cannot run on GeeLark phone %s" % emu.ids[0])
    rc, stdout, stderr = connection.exec_command("nosuchcommand")
    assert rc == 127 and b"not found" in stdout and stderr == b""  # a plain command keeps its own answer


def test_pipelining_is_refused(connect, emu):
    with pytest.raises(AnsibleError, match="does not support pipelining"):
        connect(emu.ids[0]).exec_command("cat", in_data=b"data")


def test_the_play_ids_come_from_the_geelark_inventory_of_this_run(connect, emu, monkeypatch):
    hosts = ["phone-a", "phone-b", "phone-c"]
    for host, phone_id in zip(hosts, emu.ids):
        monkeypatch.setitem(geelark_inventory.PHONE_IDS_BY_HOST, host, phone_id)
    batch = hosts + ["static-host"]  # a host of another inventory: not known here
    connect(emu.ids[0], ansible_play_batch=batch).exec_command("true")
    assert emu.request_bodies(GETDATA) == [{"ids": emu.ids[:3]}]
    for phone_id in emu.ids[1:3]:
        assert connect(phone_id, ansible_play_batch=batch).exec_command("true")[0] == 0
    assert len(emu.request_bodies(GETDATA)) == 1


def test_files_go_to_the_phone_and_come_back(connect, emu, tmp_path):
    connection = connect(emu.ids[0])
    data = os.urandom(200 * 1024)
    (tmp_path / "in.bin").write_bytes(data)
    connection.put_file(str(tmp_path / "in.bin"), "/sdcard/Download/in.bin")
    assert emu.device_file(emu.ids[0], "/sdcard/Download/in.bin") == data
    connection.fetch_file("/sdcard/Download/in.bin", str(tmp_path / "out.bin"))
    assert (tmp_path / "out.bin").read_bytes() == data
    with pytest.raises(AnsibleFileNotFound, match=r"file or module does not exist: .*missing\.bin"):
        connection.put_file(str(tmp_path / "missing.bin"), "/sdcard/x")
    with pytest.raises(AnsibleError) as refused:  # the phone answered: the task fails, the host is reachable
        connection.fetch_file("/sdcard/none", str(tmp_path / "none"))
    assert not isinstance(refused.value, AnsibleConnectionFailure)
    assert str(refused.value) == ("geelark.cloudphone.adb: phone %s refused: /sdcard/none could not be read from it: "
                                  "No such file or directory" % emu.ids[0])


def test_a_local_destination_that_cannot_be_written_is_a_task_error_not_an_unreachable_phone(connect, emu, tmp_path):
    emu.put_device_file(emu.ids[0], "/sdcard/f.txt", b"f")
    with pytest.raises(AnsibleError) as failed:
        connect(emu.ids[0]).fetch_file("/sdcard/f.txt", str(tmp_path / "missing-dir" / "f.txt"))
    assert not isinstance(failed.value, AnsibleConnectionFailure)
    assert str(tmp_path / "missing-dir" / "f.txt") in str(failed.value)


def test_reset_connection_reads_the_info_and_connects_again(connect, emu):
    phone = emu.ids[0]
    idle = connect(phone)
    idle.reset()  # before any command: the broker has nothing of this phone to drop
    assert emu.stats()["requests"].get(GETDATA) is None
    connection = connect(phone)
    connection.exec_command("true")
    connection.reset()
    connection.exec_command("true")
    stats = emu.stats()
    assert stats["requests"][GETDATA] == 2 and stats["adb_connections"][phone] == 2


@pytest.mark.parametrize(("variables", "message"), [
    ({"geelark_adb_command_timeout": -1}, "command_timeout (host variable geelark_adb_command_timeout) must be a "
                                          "number of seconds above 0, not -1.0; nothing was sent"),
    ({"geelark_adb_timeout": 0}, "adb_timeout (host variable geelark_adb_timeout) must be a number of seconds above 0"),
    ({"geelark_adb_poll_interval": -2, "geelark_enable_adb": True},
     "adb_poll_interval (host variable geelark_adb_poll_interval) must be a number of seconds above 0"),
    ({"geelark_adb_enable_timeout": -1, "geelark_enable_adb": True},
     "enable_timeout (host variable geelark_adb_enable_timeout) must be a number of seconds of 0 or more, not -1.0"),
    ({"geelark_enable_adb": "maybe"}, "enable_adb (host variable geelark_enable_adb, or GEELARK_ENABLE_ADB) must be "
                                      "true or false, not 'maybe'; nothing was sent"),
])
def test_an_adb_option_out_of_range_fails_before_any_request_naming_its_variable(connect, emu, variables, message):
    emu.configure_adb(disabled=[emu.ids[6]])
    with pytest.raises(AnsibleError, match=re.escape("geelark.cloudphone.adb: " + message)) as refused:
        connect(emu.ids[6], **variables).exec_command("touch /sdcard/ran")
    assert not isinstance(refused.value, AnsibleConnectionFailure)  # a bad setting, not an unreachable phone
    assert emu.stats()["requests"] == {} and emu.stats()["adb_commands"] == {}


def test_no_credentials_names_the_host_variables_the_connection_reads(connect, emu):
    with pytest.raises(AnsibleError, match=r"No GeeLark credentials were given.* The connection reads the host "
                       r"variables geelark_token \(or geelark_app_id and geelark_api_key\) and the environment; an "
                       r"inventory file's own token: option does not reach it"):
        connect(emu.ids[0], geelark_token=None).exec_command("true")
    assert emu.stats()["requests"] == {}


def test_enable_adb_from_the_environment_is_checked_too(connect, emu, monkeypatch):
    monkeypatch.setenv("GEELARK_ENABLE_ADB", "sometimes")
    with pytest.raises(AnsibleError, match="must be true or false, not 'sometimes'"):
        connect(emu.ids[0]).exec_command("true")
    monkeypatch.setenv("GEELARK_ENABLE_ADB", "no")
    assert connect(emu.ids[0]).exec_command("echo ok") == (0, b"ok\n", b"")


def test_turning_adb_on_is_said_once_at_v(connect, emu, capsys, monkeypatch):
    monkeypatch.setattr(adb_module().display, "verbosity", 1)  # -v
    phone = emu.ids[6]
    assert connect(phone, geelark_enable_adb=True).exec_command("true")[0] == 0
    assert connect(phone, geelark_enable_adb=True).exec_command("true")[0] == 0
    logged = capsys.readouterr()
    said = "ADB of phone %s was off and was turned on (enable_adb)" % phone
    assert (logged.out + logged.err).count(said) == 1, logged


def test_a_phone_with_adb_off_is_unreachable_without_enable_adb_and_works_with_it(connect, emu):
    off = emu.ids[6]
    with pytest.raises(AnsibleConnectionFailure, match=r"ADB is off on phone %s \(49001\): set enable_adb: true" % off):
        connect(off).exec_command("true")
    assert emu.stats()["requests"].get(SETSTATUS) is None
    assert connect(emu.ids[7], geelark_enable_adb=True).exec_command("echo on") == (0, b"on\n", b"")
    # Only the phone whose host asked: the one whose host said no stays off, and is refused again.
    assert [(b["ids"], b["open"]) for b in emu.request_bodies(SETSTATUS)] == [([emu.ids[7]], True)]
    with pytest.raises(AnsibleConnectionFailure, match=r"ADB is off on phone %s \(49001\)" % off):
        connect(off, geelark_enable_adb=False).exec_command("true")
    assert connect(off, geelark_enable_adb=True).exec_command("echo on") == (0, b"on\n", b"")
    assert [b["ids"] for b in emu.request_bodies(SETSTATUS)] == [[emu.ids[7]], [off]]


def test_a_command_on_a_connection_that_broke_is_reported_as_maybe_run(connect, emu):
    connection = connect(emu.ids[0])
    connection.exec_command("true")
    emu.configure_adb(disabled=[emu.ids[0]])
    with pytest.raises(AnsibleConnectionFailure, match="it may have run; check the phone"):
        connection.exec_command("echo lost")


def brokers_serving(socket_path):
    """The PIDs of the processes that hold Unix sockets bound to the path (found through Linux's /proc)."""
    with open("/proc/net/unix") as table:
        inodes = [line.split()[6] for line in table if line.rstrip().endswith(" " + socket_path)]
    wanted = set("socket:[%s]" % inode for inode in inodes)
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if any(os.readlink("/proc/%s/fd/%s" % (entry, fd)) in wanted
                       for fd in os.listdir("/proc/%s/fd" % entry)):
                    found.add(int(entry))
            except OSError:  # gone meanwhile, or not ours to look at
                continue
    return found


def wait_for_a_running_command(emu, phone_id):
    """Until the phone's ADB daemon runs a shell command for one of its connections (its stream is open)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with emu.adb._lock:
            connections = list(emu.adb.connections.get(phone_id, ()))
        if any(stream.sync is None for connection in connections for stream in list(connection.streams.values())):
            return
        time.sleep(0.001)
    raise AssertionError("no command started on phone %s" % phone_id)


@pytest.mark.skipif(not os.path.exists("/proc/net/unix"), reason="finds the broker's process in Linux's /proc")
def test_a_broker_that_dies_during_a_command_makes_the_host_unreachable_saying_it_may_have_run(connect, emu):
    connection = connect(emu.ids[0])
    connection.exec_command("true")
    (broker,) = brokers_serving(connection._link.socket_path)
    failures = []

    def long_command():
        try:
            connection.exec_command("sleep 10")
        except AnsibleConnectionFailure as failure:
            failures.append(str(failure))

    running = threading.Thread(target=long_command)
    running.start()
    wait_for_a_running_command(emu, emu.ids[0])
    os.kill(broker, signal.SIGKILL)
    running.join(20)
    assert failures == ["phone %s: the ADB broker of this run ended while it handled the request; it may have run"
                        % emu.ids[0]]


def test_an_empty_geelark_id_is_refused_naming_the_inventory(connect, emu):
    with pytest.raises(AnsibleError, match=r"host phone- has no geelark_id: the adb connection works on the phones "
                       r"of the geelark\.cloudphone\.geelark inventory"):
        connect("").exec_command("true")
    assert emu.stats()["total_requests"] == 0


def test_a_host_without_geelark_id_is_refused_naming_the_inventory(connect, emu):
    with pytest.raises(AnsibleError, match=r"host phone-None has no geelark_id: the adb connection works on the "
                       r"phones of the geelark\.cloudphone\.geelark inventory"):
        connect(None).exec_command("true")


def test_become_is_refused(connect, emu):
    context = PlayContext()
    context.become = True
    with pytest.raises(AnsibleError, match="does not support become: a GeeLark phone gives ADB the shell user"):
        connect(emu.ids[0], play_context=context).exec_command("true")


def test_without_adb_shell_it_says_what_to_install(connect, emu, monkeypatch, socket_dir):
    monkeypatch.setattr(adb_module(), "HAS_ADB_SHELL", False)
    with pytest.raises(AnsibleError, match="needs the Python library adb-shell on the controller: pip install "
                       "adb-shell"):
        connect(emu.ids[0]).exec_command("true")
    assert sockets_in(socket_dir) == []


def test_a_bad_api_setting_fails_before_any_broker_or_key_is_made(connect, emu, socket_dir, tmp_path):
    key = tmp_path / "keys" / "adbkey"
    with pytest.raises(AnsibleError, match="rate_limit"):  # not a number: Ansible's own option check
        connect(emu.ids[0], geelark_rate_limit="abc", geelark_adb_key_file=str(key)).exec_command("true")
    with pytest.raises(AnsibleError) as failed:  # a number out of bounds: the collection's settings
        connect(emu.ids[0], geelark_rate_limit=-3, geelark_adb_key_file=str(key)).exec_command("true")
    assert str(failed.value).startswith("geelark.cloudphone.adb: ") and "rate_limit" in str(failed.value)
    assert TOKEN not in str(failed.value)
    assert sockets_in(socket_dir) == [] and not key.parent.exists()
    assert emu.stats()["total_requests"] == 0


def test_a_missing_key_is_made_private_and_used(connect, emu, tmp_path):
    key = tmp_path / "home" / ".android" / "adbkey"
    assert connect(emu.ids[0], geelark_adb_key_file=str(key)).exec_command("echo signed") == (0, b"signed\n", b"")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and (tmp_path / "home" / ".android" / "adbkey.pub").is_file()
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    made = key.read_bytes()
    adb_module()._ensure_key(str(key))
    assert key.read_bytes() == made  # an existing key is kept


def _flock_waiters(path):
    """How many open file descriptions wait for a flock on `path` (Linux's /proc/locks marks them "->")."""
    inode = os.stat(path).st_ino
    with open("/proc/locks") as locks:
        return sum(1 for line in locks if "->" in line and line.split()[-3].endswith(":%d" % inode))


def _wait_for_flock_waiters(path, count):
    deadline = time.monotonic() + 10
    while _flock_waiters(path) < count and time.monotonic() < deadline:
        time.sleep(0.001)
    assert _flock_waiters(path) == count


@pytest.mark.skipif(not os.path.exists("/proc/locks"), reason="needs Linux's /proc/locks to see a waiting lock")
def test_a_key_made_meanwhile_by_another_host_is_not_made_again(tmp_path):
    key = str(tmp_path / "adbkey")
    with open(key + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another host makes the key
        maker = threading.Thread(target=adb_module()._ensure_key, args=(key,))
        maker.start()
        _wait_for_flock_waiters(key + ".lock", 1)
        with open(key, "w") as made:
            made.write("the other host's key")
    maker.join(10)
    with open(key) as kept:
        assert kept.read() == "the other host's key"


def test_a_socket_directory_others_may_enter_makes_the_host_unreachable(connect, emu, socket_dir):
    planted = os.path.join(socket_dir, "geelark-adb-%d" % os.getuid())
    os.mkdir(planted)
    os.chmod(planted, 0o777)  # noqa: S103 (what the plugin must refuse)
    with pytest.raises(AnsibleConnectionFailure, match="geelark-adb-%d has mode 0777, open to others" % os.getuid()):
        connect(emu.ids[0]).exec_command("true")
    assert emu.stats()["total_requests"] == 0


@pytest.mark.skipif(not os.path.exists("/proc/locks"), reason="needs Linux's /proc to see waiting locks and brokers")
def test_hosts_that_find_no_broker_at_once_start_one_between_them(connect, emu):
    connections = [connect(phone_id) for phone_id in emu.ids[:3]]
    link = adb_module().BrokerLink(connections[0]._config(), adb_module().COLLECTIONS_ROOT)  # the run's broker
    answers = {}

    def task(connection):
        answers[connection.get_option("geelark_id")] = connection.exec_command("getprop ro.gl.serialno")

    with open(link.lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # so that every host has found no broker before one starts it
        workers = [threading.Thread(target=task, args=(connection,)) for connection in connections]
        for worker in workers:
            worker.start()
        _wait_for_flock_waiters(link.lock_path, 3)
    for worker in workers:
        worker.join(30)
    assert answers == dict((p, (0, p.encode() + b"\n", b"")) for p in emu.ids[:3])
    assert len(brokers_serving(link.socket_path)) == 1


def test_a_broker_that_cannot_start_makes_the_host_unreachable(connect, emu, monkeypatch, tmp_path):
    monkeypatch.setattr(adb_module(), "COLLECTIONS_ROOT", str(tmp_path))  # no collection there: it cannot start
    monkeypatch.delenv("PYTHONPATH", raising=False)
    with pytest.raises(AnsibleConnectionFailure, match=r"phone %s: the ADB broker of this run could not start: "
                       r"it ended at once" % emu.ids[0]):
        connect(emu.ids[0]).exec_command("true")
