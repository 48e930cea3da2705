# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The emulator's phones over ADB (adb-shell as the real client) and the ADB and shell API routes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shlex
import socket
import stat
import struct
import subprocess
import sys

import pytest
import requests

from ansible_collections.geelark.cloudphone.tests.emulator import geelark_emulator as g
from ansible_collections.geelark.cloudphone.tests.emulator.adb_daemon import MAX_DATA
from ansible_collections.geelark.cloudphone.tests.emulator.device import Device, run
from ansible_collections.geelark.cloudphone.tests.emulator.routes import (ADB_GET_DATA_PATH, ADB_PATHS,
                                                                          ADB_SET_STATUS_PATH, SHELL_EXECUTE_PATH)

from .conftest import TOKEN

adb_shell = pytest.importorskip("adb_shell")
from adb_shell.adb_device import AdbDeviceTcp
from adb_shell.auth.keygen import keygen
from adb_shell.auth.sign_pythonrsa import PythonRSASigner
from adb_shell.exceptions import AdbCommandFailureException, DeviceAuthError, PushFailedError

HEADERS = {"Authorization": "Bearer " + TOKEN, "traceId": "B" * 32}
MARKER = "__GEELARK_RC_3f9a__:"
GATE = "error: you should run glogin to login first\n"
TIKTOK = "com.zhiliaoapp.musically"
TELEGRAM = "org.telegram.messenger"


class CountingSigner:
    """An adb-shell signer that counts what the daemon made it do."""

    def __init__(self, signer):
        self.signer = signer
        self.signs = 0
        self.public_keys = 0

    def Sign(self, data):  # adb-shell's name
        self.signs += 1
        return self.signer.Sign(data)

    def GetPublicKey(self):  # adb-shell's name
        self.public_keys += 1
        return self.signer.GetPublicKey()


@pytest.fixture(scope="module")
def key_paths(tmp_path_factory):
    """Two ADB keys for the module (making RSA keys takes a while)."""
    paths = []
    for name in ("first", "second"):
        path = str(tmp_path_factory.mktemp("adbkey") / name)
        keygen(path)
        paths.append(path)
    return paths


def signer(path):
    return CountingSigner(PythonRSASigner.FromRSAKeyPath(path))


def api(emu, path, body):
    return requests.post(emu.url + path, json=body, headers=HEADERS, timeout=10).json()


def control(emu, name, payload):
    return requests.post(emu.url + "/_emulator/" + name, data=json.dumps(payload), timeout=10)


def get_data(emu, ids):
    return api(emu, ADB_GET_DATA_PATH, {"ids": ids})


def set_adb(emu, ids, on):
    return api(emu, ADB_SET_STATUS_PATH, {"ids": ids, "open": on})


def execute(emu, phone_id, cmd):
    return api(emu, SHELL_EXECUTE_PATH, {"id": phone_id, "cmd": cmd})


def started(emu, index=0, android=12, adb=True):
    """The fleet's index-th phone, running, on that Android version, with ADB on (or off)."""
    phone_id = list(emu.true_status())[index]
    emu.set_status([phone_id], 0)
    emu.configure_adb(android={phone_id: android}, **({"enabled": [phone_id]} if adb else {"disabled": [phone_id]}))
    return phone_id


@pytest.fixture
def connect(emulator, key_paths):
    """connect(phone): an adb-shell connection to the phone at the address getData gives, logged in with glogin."""
    opened = []

    def open_connection(phone_id, login=True, keys=None, timeout=10):
        item = get_data(emulator, [phone_id])["data"]["items"][0]
        assert item["code"] == 0, item
        device = AdbDeviceTcp(item["ip"], int(item["port"]), default_transport_timeout_s=timeout)
        opened.append(device)
        device.connect(rsa_keys=keys if keys is not None else [signer(key_paths[0])], auth_timeout_s=10,
                       read_timeout_s=10)
        if login:
            assert device.shell("glogin " + item["pwd"]) == "success\n"
        return device

    yield open_connection
    for device in opened:
        device.close()


def wrapped(device, command):
    """(exit status, output before the marker) of a command sent as the collection's connection sends it."""
    output = device.shell("sh -c %s; echo \"%s$?\"" % (shlex.quote(command), MARKER))
    before, marker, status = output.rpartition(MARKER)
    assert marker, output
    return int(status), before


# The handshake.

def test_a_new_key_is_asked_for_and_remembered_then_a_known_key_signs_in(emulator, connect, key_paths):
    phone = started(emulator)
    known, unknown = signer(key_paths[0]), signer(key_paths[1])
    assert connect(phone, keys=[known], login=False).available
    assert (known.signs, known.public_keys) == (1, 1)  # its signature was unknown: the key itself was accepted
    again = signer(key_paths[0])
    connect(phone, keys=[unknown, again], login=False)
    assert (unknown.signs, unknown.public_keys) == (1, 0)  # refused with a new token...
    assert (again.signs, again.public_keys) == (1, 0)  # ...which the known key signed
    assert emulator.stats()["adb_connections"] == {phone: 2}


def test_without_auth_a_host_connects_with_no_key_and_with_auth_it_cannot(emulator, connect):
    phone = started(emulator)
    with pytest.raises(DeviceAuthError):
        connect(phone, keys=[], login=False)
    emulator.configure_adb(auth=False)
    device = connect(phone, keys=[], login=False)
    assert device.available and device._maxdata == MAX_DATA == 256 * 1024


def _message(sock):
    header = b""
    while len(header) < 24:
        header += sock.recv(24 - len(header))
    command, arg0, arg1, length, checksum, magic = struct.unpack("<6I", header)
    data = b""
    while len(data) < length:
        data += sock.recv(length - len(data))
    assert magic == command ^ 0xFFFFFFFF and checksum == sum(data) & 0xFFFFFFFF
    return header[:4], arg0, arg1, data


def _send(sock, command, arg0, arg1, data=b""):
    wire = struct.unpack("<I", command)[0]
    sock.sendall(struct.pack("<6I", wire, arg0, arg1, len(data), sum(data), wire ^ 0xFFFFFFFF) + data)


def test_the_wire_carries_checksums_and_magic_a_token_first_and_streams_side_by_side(emulator):
    phone = started(emulator)
    port = emulator.adb_port(phone)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        _send(sock, b"CNXN", 0x01000000, 1024 * 1024, b"host::test\0")
        command, kind, _arg1, token = _message(sock)
        assert (command, kind, len(token)) == (b"AUTH", 1, 20)
    emulator.configure_adb(auth=False)
    emulator.put_device_file(phone, "/sdcard/big.bin", b"x" * (MAX_DATA + 10))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        _send(sock, b"CNXN", 0x01000000, 1024 * 1024, b"host::test\0")
        command, version, max_data, banner = _message(sock)
        assert (command, version, max_data) == (b"CNXN", 0x01000000, MAX_DATA)
        assert banner.startswith(b"device::ro.product.name=") and b";ro.product.model=" in banner
        _send(sock, b"OPEN", 7, 0, b"shell:glogin %s\0" % emulator.adb_pwd(phone).encode())
        _send(sock, b"OPEN", 8, 0, b"shell:cat /sdcard/big.bin\0")
        _send(sock, b"OPEN", 9, 0, b"reboot:\0")
        received, closed, unacknowledged, held = {}, set(), set(), []
        while len(closed) < 3:
            command, theirs, ours, data = _message(sock)
            if command == b"WRTE":
                assert len(data) <= MAX_DATA and ours not in unacknowledged  # one WRTE a stream until its OKAY
                received[ours] = received.get(ours, b"") + data
                unacknowledged.add(ours)
                if ours == 8 and 7 not in closed:
                    held.append(theirs)  # stream 8's OKAY waits until stream 7 is done: nothing more may come
                else:
                    unacknowledged.discard(ours)
                    _send(sock, b"OKAY", ours, theirs)
            elif command == b"CLSE":
                closed.add(ours)
                if theirs:
                    _send(sock, b"CLSE", ours, theirs)
                if ours == 7:
                    assert received[8] == b"x" * MAX_DATA
                    unacknowledged.discard(8)
                    _send(sock, b"OKAY", 8, held.pop())
        assert received == {7: b"success\n", 8: b"x" * (MAX_DATA + 10)}  # an unknown service is closed at once
    assert emulator.stats()["adb_commands"] == {phone: 1} and emulator.stats()["glogins"] == {phone: 1}


# The glogin gate.

def test_before_glogin_every_command_prints_the_gate_error_with_status_0_and_runs_nothing(emulator, connect):
    phone = started(emulator)
    device = connect(phone, login=False)
    assert device.shell("echo x > /sdcard/gated; echo ran") == GATE
    assert device.exec_out("echo ran") == GATE
    assert device.shell("sh -c 'exit 3'; echo \"%s$?\"" % MARKER) == GATE
    assert emulator.device_file(phone, "/sdcard/gated") is None
    assert emulator.stats()["adb_gated"] == {phone: 3} and emulator.stats()["adb_commands"] == {}
    assert execute(emulator, phone, "echo no gate here")["data"] == {"status": True, "output": "no gate here\n"}
    device.push(io.BytesIO(b"files need no login"), "/sdcard/file.txt")  # nor does the sync service
    assert emulator.device_file(phone, "/sdcard/file.txt") == b"files need no login"


def test_glogin_with_a_wrong_code_is_refused_and_with_the_code_logs_in_every_connection(emulator, connect):
    phone = started(emulator)
    device = connect(phone, login=False)
    assert device.shell("glogin 000000") == "error: glogin failed, wrong connection code\n"
    assert device.shell("glogin") == "error: glogin failed, wrong connection code\n"
    assert device.shell("echo hi") == GATE
    assert device.shell("glogin %s" % emulator.adb_pwd(phone)) == "success\n"
    assert device.shell("echo hi") == "hi\n"
    assert connect(phone, login=False).shell("echo second connection") == "second connection\n"
    stats = emulator.stats()
    assert (stats["glogins"], stats["glogin_failures"], stats["adb_gated"]) == ({phone: 1}, {phone: 2}, {phone: 1})
    assert stats["adb_commands"] == {phone: 2}


def test_a_lapse_logs_the_phone_out_and_the_same_code_logs_it_in_again(emulator, connect):
    phone, other = started(emulator, 0), started(emulator, 1)
    device, untouched = connect(phone), connect(other)
    code = emulator.adb_pwd(phone)
    assert control(emulator, "adb", {"lapse": [phone]}).json() == {"ok": True}
    assert device.shell("echo hi") == GATE
    assert untouched.shell("echo hi") == "hi\n"
    assert device.shell("glogin " + code) == "success\n" and device.shell("echo hi") == "hi\n"
    emulator.configure_adb(lapse=True)
    assert untouched.shell("echo hi") == GATE


def test_a_rotated_code_replaces_the_old_one_in_get_data(emulator, connect):
    phone = started(emulator)
    device = connect(phone)
    old = emulator.adb_pwd(phone)
    emulator.configure_adb(rotate=[phone])
    new = get_data(emulator, [phone])["data"]["items"][0]["pwd"]
    assert new == emulator.adb_pwd(phone) != old and len(new) == 6 and int(new, 16) >= 0
    assert device.shell("echo hi") == GATE
    assert device.shell("glogin " + old).startswith("error: glogin failed")
    assert device.shell("glogin " + new) == "success\n"


# Commands.

@pytest.mark.parametrize("command, status, output", [
    ("true", 0, ""),
    ("false", 1, ""),
    ("exit 3", 3, ""),
    ("echo 'single \"quotes\"' \"double 'quotes'\" back\\ slash", 0, "single \"quotes\" double 'quotes' back slash\n"),
    ("no-such-tool --version", 127, "/system/bin/sh: no-such-tool: inaccessible or not found\n"),
    ("python3 -c 'print(1)'", 127, "/system/bin/sh: python3: inaccessible or not found\n"),
    ("echo $((1 + 1)); echo never", 1, "/system/bin/sh: syntax error: arithmetic expansion is not supported\n"),
    ("echo 'it'\\''s' \"a  b\" $HOME ~", 0, "it's a  b / /\n"),
])
def test_the_sh_c_wrapper_reports_the_commands_own_exit_status(emulator, connect, command, status, output):
    device = connect(started(emulator))
    assert wrapped(device, command) == (status, output)


def test_stdout_and_stderr_arrive_as_one_stream_in_order(emulator, connect):
    device = connect(started(emulator))
    status, output = wrapped(device, "echo 1; echo 2 >&2; echo 3; ls /nope; cat /sdcard/none 2>/dev/null; echo 4")
    assert (status, output) == (0, "1\n2\n3\nls: /nope: No such file or directory\n4\n")
    assert wrapped(device, "echo quiet > /dev/null 2>&1; ls /nope 2>&1 >/dev/null | grep -c nope") == (0, "1\n")


# The strings Ansible's sh shell plugin sends (mkdtemp with umask 77, chmod, the checksum probe, remove), as the
# connection plugin gets them, in the order a task sends them: (command, output).
ANSIBLE_STEPS = [
    ('( umask 77 && mkdir -p "` echo /data/local/tmp/.ansible/tmp `"&& mkdir "` echo '
     '/data/local/tmp/.ansible/tmp/ansible-tmp-1-2 `" && echo ansible-tmp-1-2="` echo '
     '/data/local/tmp/.ansible/tmp/ansible-tmp-1-2 `" ) && sleep 0',
     "ansible-tmp-1-2=/data/local/tmp/.ansible/tmp/ansible-tmp-1-2\n"),
    ("echo ~", "/\n"),
    ("echo '#!/system/bin/sh' > /data/local/tmp/.ansible/tmp/ansible-tmp-1-2/x.sh", ""),
    ("chmod u+rwx,u+x /data/local/tmp/.ansible/tmp/ansible-tmp-1-2/ "
     "/data/local/tmp/.ansible/tmp/ansible-tmp-1-2/x.sh && sleep 0", ""),
    ("ls -l /data/local/tmp/.ansible/tmp/ansible-tmp-1-2 | grep -c '^-rwxr--r-- '", "1\n"),
    ("rc=flag; [ -r /data/local/tmp/.ansible/tmp/ansible-tmp-1-2/x.sh ] || rc=2; [ -f "
     "/data/local/tmp/.ansible/tmp/ansible-tmp-1-2/x.sh ] || rc=1; [ -d "
     "/data/local/tmp/.ansible/tmp/ansible-tmp-1-2/x.sh ] && rc=3; /usr/bin/python -V 2>/dev/null || rc=4; "
     "[ x\"$rc\" != \"xflag\" ] && echo \"${rc}  \"/data/local/tmp/.ansible/tmp/ansible-tmp-1-2/x.sh && exit 0",
     "4  /data/local/tmp/.ansible/tmp/ansible-tmp-1-2/x.sh\n"),
    ("rm -f -r /data/local/tmp/.ansible/tmp/ansible-tmp-1-2/ > /dev/null 2>&1 && sleep 0", ""),
    ("ls -a /data/local/tmp/.ansible/tmp", ".\n..\n"),
]


def test_the_strings_ansible_sends_work_in_turn(emulator, connect):
    device = connect(started(emulator))
    assert [wrapped(device, command) for command, dummy in ANSIBLE_STEPS] == [(0, out) for dummy, out in ANSIBLE_STEPS]


def test_ansible_s_temporary_directory_is_private_and_gone_after_remove(emulator, connect):
    phone = started(emulator)
    device = connect(phone)
    wrapped(device, '( umask 77 && mkdir -p "` echo /data/local/tmp/.ansible/tmp `"&& mkdir "` echo '
                    '/data/local/tmp/.ansible/tmp/ansible-tmp-1-2 `" ) && sleep 0')
    mode, _size, _mtime = device.stat("/data/local/tmp/.ansible/tmp/ansible-tmp-1-2")
    assert stat.S_ISDIR(mode) and stat.S_IMODE(mode) == 0o700
    assert wrapped(device, "rm -f -r /data/local/tmp/.ansible/tmp/ansible-tmp-1-2/ > /dev/null 2>&1") == (0, "")
    assert device.stat("/data/local/tmp/.ansible/tmp/ansible-tmp-1-2") == (0, 0, 0)


def test_a_pushed_script_runs_with_its_arguments_once_it_may_execute(emulator, connect):
    phone = started(emulator)
    device = connect(phone)
    script = b"#!/system/bin/sh\necho \"hello $1 and $2 ($#) from $(getprop ro.gl.serialno)\"\nexit 4\n"
    device.push(io.BytesIO(script), "/data/local/tmp/hello.sh", st_mode=stat.S_IFREG | 0o644)
    assert wrapped(device, "/data/local/tmp/hello.sh a b") == (
        126, "/system/bin/sh: /data/local/tmp/hello.sh: can't execute: Permission denied\n")
    assert wrapped(device, "sh /data/local/tmp/hello.sh a b") == (4, "hello a and b (2) from %s\n" % phone)
    wrapped(device, "chmod u+x /data/local/tmp/hello.sh")
    assert wrapped(device, "cd /data/local/tmp && ./hello.sh 'one arg'") == (4, "hello one arg and  (1) from %s\n"
                                                                             % phone)


# Files.

def test_five_megabytes_of_random_bytes_travel_both_ways_intact(emulator, connect):
    phone = started(emulator)
    device = connect(phone, timeout=30)  # as the collection connects: a transport timeout (non-blocking socket)
    sent = os.urandom(5 * 1024 * 1024 + 17)
    device.push(io.BytesIO(sent), "/sdcard/Download/new/blob.bin")  # missing directories are made
    assert emulator.device_file(phone, "/sdcard/Download/new/blob.bin") == sent
    stored = os.urandom(5 * 1024 * 1024 + 3)
    emulator.put_device_file(phone, "/sdcard/Download/other.bin", stored)
    received = io.BytesIO()
    device.pull("/sdcard/Download/other.bin", received)
    assert hashlib.sha256(received.getvalue()).digest() == hashlib.sha256(stored).digest()
    assert wrapped(device, "sha1sum /sdcard/Download/other.bin") == (
        0, "%s  /sdcard/Download/other.bin\n" % hashlib.sha1(stored, usedforsecurity=False).hexdigest())


def test_stat_and_list_describe_files_and_directories(emulator, connect):
    phone = started(emulator)
    device = connect(phone)
    device.push(io.BytesIO(b"12345"), "/sdcard/Download/a.txt", st_mode=stat.S_IFREG | 0o640, mtime=1700000000)
    assert device.stat("/sdcard/Download/a.txt") == (stat.S_IFREG | 0o640, 5, 1700000000)
    assert device.stat("/sdcard/Download/none") == (0, 0, 0)
    assert stat.S_ISDIR(device.stat("/sdcard")[0])
    entries = dict((bytes(f.filename), f) for f in device.list("/sdcard/Download"))
    assert sorted(entries) == [b".", b"..", b"a.txt"]
    assert (entries[b"a.txt"].size, entries[b"a.txt"].mode) == (5, stat.S_IFREG | 0o640)
    assert stat.S_ISDIR(entries[b"."].mode)
    assert device.list("/sdcard/none") == []


def test_only_sdcard_and_data_local_tmp_can_be_written(emulator, connect):
    phone = started(emulator)
    device = connect(phone)
    with pytest.raises(PushFailedError, match="Read-only file system"):
        device.push(io.BytesIO(b"x"), "/system/x")
    with pytest.raises(AdbCommandFailureException, match="No such file or directory"):
        device.pull("/sdcard/none", io.BytesIO())
    assert wrapped(device, "echo x > /system/x") == (1, "/system/bin/sh: can't create /system/x: Read-only file "
                                                        "system\n")
    assert wrapped(device, "mkdir /data/x") == (1, "mkdir: '/data/x': Read-only file system\n")
    assert wrapped(device, "rm /system/build.prop") == (1, "rm: /system/build.prop: Read-only file system\n")
    assert wrapped(device, "cat /system/build.prop | grep ro.gl.serialno") == (0, "ro.gl.serialno=%s\n" % phone)
    assert wrapped(device, "echo ok > /data/local/tmp/f && echo ok >> /sdcard/f && cat /data/local/tmp/f /sdcard/f") \
        == (0, "ok\nok\n")
    assert emulator.device_file(phone, "/system/x") is None


# The device shell itself.

@pytest.fixture
def phone_device(emulator):
    phone_id = started(emulator, adb=False)
    emulator.set_apps({phone_id: {TIKTOK: {}, TELEGRAM: {"installStatus": 0}}})
    return emulator.state.devices.of(emulator.state.phones[phone_id])


@pytest.mark.parametrize("command, output, status", [
    ("x=$(printf 'a   b'); echo \"$x\" $x `echo c`", "a   b a b c\n", 0),
    ("set -- one 'two words' three; echo $# \"$2\"", "3 two words\n", 0),
    ("echo parsed first; f() { :; }", "/system/bin/sh: syntax error: '(' unexpected\n", 1),
    ("set -- a 'b c'; sh -c 'echo $0 $# $1' zero \"$@\"", "zero 2 a\n", 0),
    ("printf '%s=%d\\n' a 1 b 2; printf '%5s|%-3s|\\n' x y", "a=1\nb=2\n    x|y  |\n", 0),
    ("echo -n no newline; echo; echo -e 'a\\tb'", "no newline\na\tb\n", 0),
    ("echo abc > /sdcard/f; md5sum /sdcard/f; wc -c /sdcard/f; cat /sdcard/f | wc -c",
     "0bee89b07a248e27c83fc3d5951213c1  /sdcard/f\n4 /sdcard/f\n4\n", 0),
    ("id -un; id -u; whoami; uname; uname -m", "shell\n2000\nshell\nLinux\naarch64\n", 0),
    ("command -v ls sh echo; command -v python python3; echo $?", "/system/bin/ls\n/system/bin/sh\n/system/bin/echo\n"
     "1\n", 0),
    ("getprop ro.build.version.release; getprop ro.build.version.sdk; getprop no.such.prop; getprop x dflt",
     "12\n31\n\ndflt\n", 0),
    ("pm list packages; pm list packages tele", "package:%s\n" % TIKTOK, 0),
    ("umask; umask 027; mkdir -p /sdcard/a/b; ls -ld /sdcard/a/b | grep -c '^drwxr-x--- '", "0022\n1\n", 0),
    ("mkdir /sdcard/a/b; mkdir /sdcard/a; mkdir /sdcard/a", "mkdir: '/sdcard/a/b': No such file or directory\n"
     "mkdir: '/sdcard/a': File exists\n", 1),
    ("touch /sdcard/t; chmod 640 /sdcard/t; chmod g+w,o=r /sdcard/t; ls -l /sdcard/t | grep -c '^-rw-rw-r-- '",
     "1\n", 0),
    ("chmod bad /sdcard; echo $?; chmod 644 /nope", "chmod: bad mode 'bad'\n1\nchmod: /nope: No such file or "
     "directory\n", 1),
    ("rm /sdcard/none; rm -f /sdcard/none; echo $?; mkdir /sdcard/d; rm /sdcard/d; rm -r /sdcard/d && ls /sdcard/d",
     "rm: /sdcard/none: No such file or directory\n0\nrm: /sdcard/d: Is a directory\nls: /sdcard/d: No such file or "
     "directory\n", 1),
    ("[ -d /sdcard ] && [ ! -f /sdcard ] && [ -n x ] && [ -z '' ] && [ 2 -gt 1 ] && test a = a -a b != c; echo $?",
     "0\n", 0),
    ("[ -e /sdcard; echo $?; test 1 -lt x; echo $?", "[: missing ]\n2\ntest: x: bad number\n2\n", 0),
    ("false && echo no || echo yes; ! false && echo negated; (exit 5); echo $?", "yes\nnegated\n5\n", 0),
    ("( cd /sdcard && pwd ); pwd; cd /nope", "/sdcard\n/\n/system/bin/sh: cd: /nope: No such file or directory\n", 1),
    ("echo one two | grep two; echo x | grep -q y; echo $?", "one two\n1\n", 0),
    ("echo 'unterminated", "/system/bin/sh: syntax error: unterminated quoted string\n", 1),
    ("sleep 0 && sleep x", "sleep: invalid number 'x'\n", 1),
    ("exit 300", "", 44),
    ("echo $UNSET_VAR. ${HOME}x \"$@\"end", ". /x end\n", 0),
    ("A=1; B=\"$A 2\"; echo \"$B\"; export C=3; echo $C", "1 2\n3\n", 0),
])
def test_the_device_shell_speaks_enough_sh(phone_device, command, output, status):
    assert run(phone_device, command) == (output.encode(), status)


def test_a_script_calling_itself_stops_when_too_deeply_nested(phone_device):
    phone_device.put_file("/sdcard/loop.sh", b"sh /sdcard/loop.sh\n")
    assert run(phone_device, "sh /sdcard/loop.sh; echo never") == (b"/system/bin/sh: too deeply nested\n", 1)


def test_a_device_starts_with_androids_directories_and_no_files_of_its_own(emulator):
    device = Device(g.make_fleet(3)[2])
    assert run(device, "ls /; ls /sdcard") == (b"data\ndev\nsdcard\nstorage\nsystem\nDCIM\nDocuments\nDownload\n"
                                               b"Pictures\n", 0)
    assert run(device, "getprop ro.build.version.release") == (b"13\n", 0)


# The API routes.

def test_get_data_answers_each_phone_with_its_code_and_empty_fields_when_it_fails(emulator):
    ids = list(emulator.true_status())
    ready, stopped, android_10, off = ids[:4]
    emulator.set_status([ready, android_10, off], 0)
    emulator.set_status([stopped], 2)
    emulator.configure_adb(android={android_10: 10, ready: 12, off: 13}, enabled=[ready])
    answer = get_data(emulator, [ready, "999", stopped, android_10, off])
    assert answer["code"] == 0
    items = answer["data"]["items"]
    assert [item["code"] for item in items] == [0, 42001, 42002, 49002, 49001]
    assert [item["id"] for item in items] == [ready, "999", stopped, android_10, off]
    assert all(item == {"code": item["code"], "id": item["id"], "ip": "", "port": "", "pwd": ""} for item in items[1:])
    assert items[0] == {"code": 0, "id": ready, "ip": "127.0.0.1", "port": str(emulator.adb_port(ready)),
                        "pwd": emulator.adb_pwd(ready)}
    assert items[0]["port"].isdigit() and get_data(emulator, [ready])["data"]["items"] == items[:1]  # the same again
    assert emulator.stats()["adb_reads"] == {ready: 2, "999": 1, stopped: 1, android_10: 1, off: 1}


def test_set_status_turns_adb_on_only_for_running_phones_of_models_with_adb(emulator):
    ids = list(emulator.true_status())[:6]
    emulator.set_status(ids[:5], 0)
    emulator.set_status(ids[5:], 2)
    emulator.configure_adb(android=dict(zip(ids, [9, 11, 16, 10, 12, 12])))
    answer = set_adb(emulator, ids + ["999"], True)
    assert answer == {"traceId": "B" * 32, "code": 0, "msg": "success"}  # no per-item result
    get_data(emulator, ids)  # the enabling read
    codes = [item["code"] for item in get_data(emulator, ids)["data"]["items"]]
    assert codes == [0, 0, 0, 49002, 0, 42002]
    emulator.set_status(ids[5:], 0)
    assert get_data(emulator, ids[5:])["data"]["items"][0]["code"] == 49001  # it was skipped: still off
    assert set_adb(emulator, ids[:1], False)["code"] == 0
    assert get_data(emulator, ids[:1])["data"]["items"][0]["code"] == 49001
    assert emulator.stats()["adb_enables"] == dict(dict.fromkeys(ids, 1), **{"999": 1, ids[0]: 2})


def test_turning_adb_on_again_keeps_the_code_and_off_and_on_gives_a_new_one(emulator):
    phone = started(emulator, adb=False)
    set_adb(emulator, [phone], True)
    first = emulator.adb_pwd(phone)
    set_adb(emulator, [phone], True)
    get_data(emulator, [phone])
    assert get_data(emulator, [phone])["data"]["items"][0]["pwd"] == first
    set_adb(emulator, [phone], False)
    set_adb(emulator, [phone], True)
    assert emulator.adb_pwd(phone) not in ("", first)


@pytest.mark.parametrize("reads", [0, 1, 3])
def test_enabling_answers_49001_for_enable_reads_get_data_reads(emulator, reads):
    phone = started(emulator, adb=False)
    if reads != 1:  # 1 is the default
        assert control(emulator, "adb", {"enable_reads": reads}).json() == {"ok": True}
    set_adb(emulator, [phone], True)
    codes = [get_data(emulator, [phone])["data"]["items"][0]["code"] for dummy in range(reads + 2)]
    assert codes == [49001] * reads + [0, 0]
    assert emulator.adb_port(phone) is not None


@pytest.mark.parametrize("path, body", [
    (ADB_GET_DATA_PATH, {}),
    (ADB_GET_DATA_PATH, {"ids": []}),
    (ADB_GET_DATA_PATH, {"ids": "601876382020000000"}),
    (ADB_GET_DATA_PATH, {"ids": ["%d" % i for i in range(201)]}),
    (ADB_SET_STATUS_PATH, {"ids": ["601876382020000000"]}),
    (ADB_SET_STATUS_PATH, {"ids": ["601876382020000000"], "open": 1}),
    (ADB_SET_STATUS_PATH, {"ids": ["%d" % i for i in range(201)], "open": True}),
    (SHELL_EXECUTE_PATH, {"cmd": "echo"}),
    (SHELL_EXECUTE_PATH, {"id": 601876382020000000, "cmd": "echo"}),
    (SHELL_EXECUTE_PATH, {"id": "601876382020000000"}),
    (SHELL_EXECUTE_PATH, {"id": "601876382020000000", "cmd": ""}),
])
def test_a_request_without_its_fields_or_above_200_ids_gets_40004(emulator, path, body):
    answer = api(emulator, path, body)
    assert answer["code"] == 40004 and "data" not in answer, answer
    assert emulator.stats()["adb_reads"] == {} and emulator.stats()["adb_enables"] == {}


def test_300_phones_connection_info_comes_in_two_requests(key_paths):
    with g.Emulator(phones=300, token=TOKEN) as emu:
        ids = list(emu.true_status())
        emu.set_status(ids, 0)
        emu.configure_adb(android=dict.fromkeys(ids, 12), enabled=ids)
        items = get_data(emu, ids[:200])["data"]["items"] + get_data(emu, ids[200:])["data"]["items"]
        assert [item["id"] for item in items] == ids and {item["code"] for item in items} == {0}
        assert len(set(item["port"] for item in items)) == 300 and len(set(item["pwd"] for item in items)) > 290
        assert emu.stats()["requests"][ADB_GET_DATA_PATH] == 2
        last = items[-1]
        device = AdbDeviceTcp("127.0.0.1", int(last["port"]), default_transport_timeout_s=10)
        try:
            device.connect(rsa_keys=[signer(key_paths[0])], auth_timeout_s=10)
            device.shell("glogin " + last["pwd"])
            assert device.shell("getprop ro.gl.serialno") == last["id"] + "\n"
        finally:
            device.close()


def test_shell_execute_runs_without_glogin_and_answers_whether_the_status_was_0(emulator):
    phone = started(emulator, android=12, adb=False)
    assert execute(emulator, phone, "getprop ro.gl.serialno")["data"] == {"status": True, "output": phone + "\n"}
    answer = execute(emulator, phone, "echo out; echo err >&2; exit 2")["data"]
    assert answer == {"status": False, "output": "out\nerr\n"}
    assert execute(emulator, phone, "echo kept > /sdcard/kept.txt")["data"]["status"] is True
    assert emulator.device_file(phone, "/sdcard/kept.txt") == b"kept\n"
    assert emulator.stats()["shell_executes"] == {phone: 3} and emulator.stats()["adb_commands"] == {}


def test_shell_execute_refuses_unknown_stopped_and_shell_less_phones_and_plays_a_scripted_code(emulator):
    ids = list(emulator.true_status())[:5]
    emulator.set_status(ids[:4], 0)
    emulator.set_status(ids[4:], 2)
    emulator.configure_adb(android=dict(zip(ids, [9, 11, 10, 16, 12])))
    codes = [execute(emulator, phone, "true") for phone in ids + ["999"]]
    assert [(c["code"], c.get("data", {}).get("status")) for c in codes] == [
        (50001, None), (50001, None), (0, True), (0, True), (42002, None), (42001, None)]
    assert (codes[4]["msg"], codes[5]["msg"]) == ("env is not running", "env not found")
    emulator.configure_adb(shell_fail={ids[2]: 43006, ids[4]: 40005})
    assert execute(emulator, ids[2], "true")["code"] == 43006
    assert execute(emulator, ids[4], "true")["code"] == 40005  # the script comes before the status check
    control(emulator, "adb", {"shell_fail": {ids[2]: None}})
    assert execute(emulator, ids[2], "true")["code"] == 0
    assert emulator.stats()["shell_executes"] == dict(dict.fromkeys(ids, 1), **{"999": 1, ids[2]: 3, ids[4]: 2})


def test_faults_play_on_the_adb_and_shell_paths(emulator):
    phone = started(emulator, adb=False)
    emulator.queue_faults({"kind": "code", "code": 50000, "path": ADB_GET_DATA_PATH},
                          {"kind": "lose_answer", "path": ADB_SET_STATUS_PATH},
                          {"kind": "http", "status": 502, "path": SHELL_EXECUTE_PATH})
    assert get_data(emulator, [phone])["code"] == 50000
    with pytest.raises(requests.ConnectionError):
        set_adb(emulator, [phone], True)
    assert emulator.state.devices.devices[phone].adb_enabled  # the lost write was applied
    answer = requests.post(emulator.url + SHELL_EXECUTE_PATH, json={"id": phone, "cmd": "echo x > /sdcard/f"},
                           headers=HEADERS, timeout=10)
    assert answer.status_code == 502 and emulator.device_file(phone, "/sdcard/f") is None


# The listener follows the phone.

def test_adb_off_closes_the_phones_port_and_its_connections_at_once(emulator, connect):
    phone = started(emulator)
    device = connect(phone)
    port = emulator.adb_port(phone)
    set_adb(emulator, [phone], False)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    with pytest.raises(ConnectionError):  # reset at once (an orderly close would leave adb-shell waiting)
        device.shell("echo hi")
    assert emulator.adb_port(phone) is None
    set_adb(emulator, [phone], True)
    get_data(emulator, [phone])
    assert get_data(emulator, [phone])["data"]["items"][0]["port"] == str(port)  # the same port again


def test_a_stopped_phone_takes_no_command_closes_its_port_and_boots_logged_out(emulator, connect):
    phone = started(emulator)
    device = connect(phone)
    port = emulator.adb_port(phone)
    emulator.set_status([phone], 2)
    with pytest.raises(ConnectionError):  # the connection checks the phone before each command
        device.shell("echo hi")
    assert emulator.adb_port(phone) is None  # a door that reconciles the listeners at once
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert get_data(emulator, [phone])["data"]["items"][0]["code"] == 42002
    emulator.set_status([phone], 0)
    assert emulator.adb_port(phone) == port  # ADB stayed on
    assert connect(phone, login=False).shell("echo hi") == GATE


def test_the_daemon_stops_with_the_emulator(key_paths):
    emu = g.Emulator(phones=3, token=TOKEN).start()
    phone = started(emu)
    port = emu.adb_port(phone)
    device = AdbDeviceTcp("127.0.0.1", port, default_transport_timeout_s=10)
    device.connect(rsa_keys=[signer(key_paths[0])], auth_timeout_s=10)
    emu.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    with pytest.raises(ConnectionError):
        device.shell("echo hi")
    device.close()


# Controls, doors and counters.

@pytest.mark.parametrize("settings, fragment", [
    ({"enabled": ["999"]}, "enabled: no phone 999 in the fleet"),
    ({"enabled": "PHONE"}, "enabled must be a list of phone IDs"),
    ({"enabled": ["PHONE"], "android": {"PHONE": 10}}, "runs Android 10, which has no ADB"),
    ({"enabled": ["PHONE"], "disabled": ["PHONE"]}, "cannot be both enabled and disabled"),
    ({"android": {"PHONE": "12"}}, "android must map phone IDs to a version"),
    ({"android": {"999": 12}}, "android: no phone 999 in the fleet"),
    ({"enable_reads": -1}, "enable_reads must be a whole number of at least 0"),
    ({"auth": "no"}, "auth must be true or false"),
    ({"lapse": "all"}, "lapse must be a list of phone IDs or true"),
    ({"rotate": [1]}, "rotate must be a list of phone IDs or true"),
    ({"shell_fail": {"PHONE": "43006"}}, "shell_fail must map phone IDs to an API code or null"),
])
def test_a_wrong_adb_setting_is_refused_whole_by_the_door_and_with_400_by_the_control(emulator, settings, fragment):
    phone = started(emulator, adb=False)
    pwd = emulator.adb_pwd(phone)
    settings = json.loads(json.dumps(settings).replace("PHONE", phone))
    good = {"enable_reads": 4, "rotate": [phone], "auth": False}
    with pytest.raises(ValueError, match=fragment):
        emulator.configure_adb(**dict(good, **settings))
    answer = control(emulator, "adb", dict(good, **settings))
    assert answer.status_code == 400 and answer.json()["error"].startswith("/_emulator/adb: adb: ")
    assert fragment in answer.json()["error"]
    book = emulator.state.devices
    assert (book.enable_reads, book.auth, emulator.adb_pwd(phone)) == (1, True, pwd)
    assert not book.devices[phone].adb_enabled and book.shell_fail == {}
    assert control(emulator, "adb", {"enabled": [phone], "quiet": True}).status_code == 400


def test_the_file_doors_and_controls_read_and_write_any_path(emulator):
    phone = started(emulator, adb=False)
    emulator.put_device_file(phone, "/system/etc/hosts", b"127.0.0.1 localhost\n", mode=0o600)
    assert emulator.device_file(phone, "/system/etc/hosts") == b"127.0.0.1 localhost\n"
    assert emulator.device_file(phone, "/system/etc") is None and emulator.device_file(phone, "/none") is None
    answer = control(emulator, "adb/file", {"id": phone, "path": "/system/etc/hosts"}).json()
    assert answer == {"data_base64": "MTI3LjAuMC4xIGxvY2FsaG9zdAo=", "mode": 0o600}
    assert control(emulator, "adb/put", {"id": phone, "path": "/sdcard/b.bin", "data_base64": "AAEC"}).json() == {
        "ok": True}
    assert emulator.device_file(phone, "/sdcard/b.bin") == b"\x00\x01\x02"
    assert control(emulator, "adb/put", {"id": phone, "path": "rel", "data_base64": ""}).status_code == 400
    assert control(emulator, "adb/put", {"id": phone, "path": "/x", "data_base64": "!"}).status_code == 400
    assert control(emulator, "adb/file", {"id": "999", "path": "/x"}).status_code == 400
    with pytest.raises(ValueError, match="is a file"):
        emulator.put_device_file(phone, "/sdcard/b.bin/x", b"")
    with pytest.raises(KeyError):
        emulator.device_file("999", "/sdcard/b.bin")
    state = control(emulator, "adb/of", {"id": phone}).json()
    assert state == {"android": 12, "enabled": False, "port": None, "logged_in": False, "pwd": "",
                     "enable_reads_left": 0}


def test_the_adb_counters_are_in_stats_and_reset_leaves_adb_as_it_was(emulator, connect):
    phone = started(emulator)
    device = connect(phone)
    device.shell("echo one")
    set_adb(emulator, [phone], True)
    execute(emulator, phone, "true")
    stats = requests.get(emulator.url + "/_emulator/stats", timeout=10).json()
    counters = dict((key, stats[key]) for key in ("adb_reads", "adb_enables", "adb_connections", "glogins",
                                                  "glogin_failures", "adb_gated", "adb_commands", "shell_executes"))
    assert counters == {"adb_reads": {phone: 1}, "adb_enables": {phone: 1}, "adb_connections": {phone: 1},
                        "glogins": {phone: 1}, "glogin_failures": {}, "adb_gated": {}, "adb_commands": {phone: 1},
                        "shell_executes": {phone: 1}}
    assert control(emulator, "reset", {}).json() == {"ok": True}
    assert all(emulator.stats()[key] == {} for key in counters)
    assert device.shell("echo still logged in") == "still logged in\n"


def test_help_lists_the_adb_routes_and_controls():
    out = subprocess.run([sys.executable, g.__file__, "--help"], capture_output=True, text=True, check=True,
                         env=dict(os.environ, COLUMNS="200")).stdout
    for path in ADB_PATHS:
        assert "  %s " % path in out
    for name in ("adb", "adb/of", "adb/file", "adb/put"):
        assert "POST /_emulator/%s " % name in out
    assert ADB_PATHS == ("/open/v1/adb/setStatus", "/open/v1/adb/getData", "/open/v1/shell/execute")
