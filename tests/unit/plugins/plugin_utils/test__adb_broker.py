# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ADB broker in this process, against the emulator's API and its ADB daemon (the real peer, over TCP).

A real GeeLarkClient reads the connection info; adb-shell connects, signs in with a real RSA key, logs
in with glogin and runs commands and file transfers on the emulated phones.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils._client import GeeLarkClient
from ansible_collections.geelark.cloudphone.plugins.module_utils._settings import API_OPTIONS, resolve
from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import Emulator

from ...conftest import TOKEN

pytest.importorskip("adb_shell")

from ansible_collections.geelark.cloudphone.plugins.plugin_utils import _adb_broker
from ansible_collections.geelark.cloudphone.plugins.plugin_utils._adb_broker import (
    Broker,
    BrokerServer,
    CommandLost,
    FileRefused,
    PhoneUnreachable,
    connection_limit,
)

GETDATA = "/open/v1/adb/getData"
SETSTATUS = "/open/v1/adb/setStatus"
COUNT_FILE = "/data/local/tmp/count"
WRONG_CODE = "zzzzzz"  # the emulator's codes are six hex digits: never this one


@pytest.fixture(scope="module")
def adb_key(tmp_path_factory):
    """One ADB key for the module (adb-shell signs the daemon's AUTH tokens with it)."""
    from adb_shell.auth.keygen import keygen

    path = str(tmp_path_factory.mktemp("adbkey") / "adbkey")
    keygen(path)
    return path


@pytest.fixture
def emu():
    """Six running phones with ADB on, and their IDs as emu.ids."""
    with Emulator(phones=6, token=TOKEN) as emulator:
        emulator.ids = sorted(emulator.true_status())
        emulator.set_status(emulator.ids, 0)
        emulator.configure_adb(enabled=emulator.ids)
        yield emulator


@pytest.fixture
def make_broker(emu, adb_key):
    """make_broker(**settings): a Broker with a real client of the emulator; closed after the test."""
    made = []

    def factory(**settings):
        options = dict(timeout=5, command_timeout=30, poll_interval=0.01, enable_timeout=5)
        options.update(settings)
        client = GeeLarkClient(api_url=emu.url, token=TOKEN, retries=1, retry_backoff=0.01, timeout=5)
        broker = Broker(client, adb_key, **options)
        made.append(broker)
        return broker

    yield factory
    for broker in made:
        broker.close()
        broker.client.close()


@pytest.fixture
def broker(make_broker):
    return make_broker()


@pytest.fixture
def socket_dir():
    """A short private directory for Unix sockets (their paths hold at most 107 bytes)."""
    path = tempfile.mkdtemp(prefix="gl-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def getdata_bodies(emu):
    return [body["ids"] for body in emu.request_bodies(GETDATA)]


def getdata_answer(*items):
    """A getData envelope with these items, as a raw fault body."""
    return json.dumps({"traceId": "trace-adb-1", "code": 0, "msg": "success", "data": {"items": list(items)}})


def ready_item(emu, phone_id, pwd):
    return {"code": 0, "id": phone_id, "ip": "127.0.0.1", "port": str(emu.adb_port(phone_id)), "pwd": pwd}


def drop_daemon_connections(emu, phone_id):
    """Close the daemon's side of the phone's ADB connections, as a phone that goes away does.

    Returns once the daemon's connection threads have let them go (their reset is sent then).
    """
    with emu.adb._lock:
        connections = list(emu.adb.connections.get(phone_id, ()))
    assert connections, "the phone had no ADB connection to drop"
    for connection in connections:
        connection.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with emu.adb._lock:
            if not emu.adb.connections.get(phone_id):
                return
        time.sleep(0.001)
    raise AssertionError("the daemon kept the connections of phone %s" % phone_id)


# Commands and exit codes ------------------------------------------------------------------------------
def test_exit_codes_and_output_come_back_through_the_marker(emu, broker):
    phone = emu.ids[0]
    assert broker.run(phone, "echo hello; exit 3") == (3, b"hello\n")
    assert broker.run(phone, "false") == (1, b"")
    assert broker.run(phone, "getprop ro.gl.serialno") == (0, phone.encode() + b"\n")
    # Quotes and a marker-like text in the command reach the phone's shell as written.
    assert broker.run(phone, "echo \"it's __GEELARK_RC_0__:7\"") == (0, b"it's __GEELARK_RC_0__:7\n")
    stats = emu.stats()
    assert stats["adb_connections"][phone] == 1 and stats["glogins"][phone] == 1  # kept for every command
    assert broker.counts["commands"] == 4 and broker.counts["connects"] == 1


def test_one_getdata_request_reads_every_phone_of_the_play(emu, broker):
    first, *others = emu.ids
    broker.run(first, "true", play_ids=emu.ids)
    assert getdata_bodies(emu) == [emu.ids]  # the asking phone first, then the rest of the play
    for phone in others:
        assert broker.run(phone, "true", play_ids=emu.ids) == (0, b"")
    assert getdata_bodies(emu) == [emu.ids]
    assert emu.stats()["adb_reads"] == dict((i, 1) for i in emu.ids)
    assert broker.counts["getdata_requests"] == 1


def test_requests_for_phones_outside_the_play_that_wait_together_share_one_read(emu, broker, monkeypatch):
    first, second, third = emu.ids[:3]
    real_read = broker.client.adb_data
    reading = threading.Event()

    def held_first_read(ids):
        if not reading.is_set():
            reading.set()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # until the two other requests wait for the info lock
                with broker._waiting_lock:
                    if sum(broker._waiting.values()) >= 3:
                        break
                time.sleep(0.001)
        return real_read(ids)

    monkeypatch.setattr(broker.client, "adb_data", held_first_read)
    results = {}

    def run(phone):
        results[phone] = broker.run(phone, "getprop ro.gl.serialno")

    threads = [threading.Thread(target=run, args=(first,))]
    threads[0].start()
    assert reading.wait(10)
    threads += [threading.Thread(target=run, args=(phone,)) for phone in (second, third)]
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == dict((p, (0, p.encode() + b"\n")) for p in (first, second, third))
    bodies = getdata_bodies(emu)
    assert bodies[0] == [first]
    assert len(bodies) == 2 and sorted(bodies[1]) == sorted([second, third])


# Refusals ----------------------------------------------------------------------------------------------
def test_a_phone_not_found_is_refused_naming_42001(emu, broker):
    with pytest.raises(PhoneUnreachable, match=r"phone nosuchphone was not found \(42001\): check its ID"):
        broker.run("nosuchphone", "true")


def test_a_stopped_phone_is_refused_naming_42002_and_how_to_start_it(emu, broker):
    emu.set_status([emu.ids[1]], 2)
    with pytest.raises(PhoneUnreachable, match=r"is not running \(42002\).*geelark_phone_power"):
        broker.run(emu.ids[1], "true")


def test_adb_off_without_enable_names_enable_adb_and_turns_nothing_on(emu, broker):
    phone = emu.ids[2]
    emu.configure_adb(disabled=[phone])
    with pytest.raises(PhoneUnreachable) as refused:
        broker.run(phone, "true")
    assert "ADB is off on phone %s (49001)" % phone in str(refused.value)
    assert "enable_adb: true" in str(refused.value) and "GEELARK_ENABLE_ADB" in str(refused.value)
    assert emu.stats()["requests"].get(SETSTATUS) is None
    with pytest.raises(PhoneUnreachable, match="ADB is off"):  # known refused: not read again
        broker.run(phone, "true")
    assert len(getdata_bodies(emu)) == 1


def test_android_10_is_refused_naming_the_shell_module(emu, broker):
    phone = emu.ids[3]
    emu.configure_adb(android={phone: 10})
    with pytest.raises(PhoneUnreachable, match=r"has no ADB \(49002.*geelark\.cloudphone\.geelark_phone_shell"):
        broker.run(phone, "true")


def test_refused_credentials_fail_every_phone_of_the_run_with_one_request(emu, broker):
    emu.queue_faults({"kind": "code", "path": GETDATA, "code": 40003, "msg": "signature refused", "times": 5})
    with pytest.raises(PhoneUnreachable, match=r"the GeeLark API refused the run's credentials, so no phone's ADB "
                       r"connection info can be read: .*40003") as first:
        broker.run(emu.ids[0], "true")
    with pytest.raises(PhoneUnreachable) as second:
        broker.run(emu.ids[1], "true")
    assert str(second.value) == str(first.value) and TOKEN not in str(first.value)
    assert len(getdata_bodies(emu)) == 1


def test_a_phone_the_answer_leaves_out_is_refused_saying_so(emu, broker):
    emu.queue_faults({"kind": "raw", "path": GETDATA, "body": getdata_answer()})
    with pytest.raises(PhoneUnreachable, match="the answer of adb/getData left this phone out"):
        broker.run(emu.ids[0], "true")


@pytest.mark.parametrize(("ip", "port"), [("", ""), ("", "5555"), ("127.0.0.1", ""), ("127.0.0.1", "adb")])
def test_code_0_without_an_address_is_refused(emu, broker, ip, port):
    phone = emu.ids[0]
    emu.queue_faults({"kind": "raw", "path": GETDATA,
                      "body": getdata_answer({"code": 0, "id": phone, "ip": ip, "port": port, "pwd": ""})})
    with pytest.raises(PhoneUnreachable, match=r"gave phone %s no address \(code 0 without ip and port\)" % phone):
        broker.run(phone, "true")


def test_an_unknown_getdata_code_is_refused_with_its_message_and_code(emu, broker):
    phone = emu.ids[0]
    emu.queue_faults({"kind": "raw", "path": GETDATA,
                      "body": getdata_answer({"code": 48888, "id": phone, "msg": "something new"})})
    with pytest.raises(PhoneUnreachable, match=r"adb/getData refused phone %s: something new \(code 48888\)" % phone):
        broker.run(phone, "true")


def test_an_address_nobody_listens_on_is_refused_naming_it(emu, broker):
    phone = emu.ids[0]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    emu.queue_faults({"kind": "raw", "path": GETDATA, "body": getdata_answer(
        {"code": 0, "id": phone, "ip": "127.0.0.1", "port": str(port), "pwd": "abc123"})})
    with pytest.raises(PhoneUnreachable, match=r"could not connect to phone %s over ADB at 127\.0\.0\.1:%d"
                       % (phone, port)):
        broker.run(phone, "true")


# Turning ADB on ------------------------------------------------------------------------------------------
def test_enable_turns_adb_on_only_for_phones_whose_hosts_ask_those_asking_together_in_one_request(emu, broker):
    emu.configure_adb(disabled=emu.ids)
    quiet = emu.ids[0]  # its host says enable_adb false
    with pytest.raises(PhoneUnreachable, match=r"ADB is off on phone %s \(49001\)" % quiet):
        broker.run(quiet, "true", play_ids=emu.ids)
    asking, results = emu.ids[1:5], {}

    def ask(phone):
        results[phone] = broker.run(phone, "echo on", play_ids=emu.ids, enable=True)

    threads = [threading.Thread(target=ask, args=(phone,)) for phone in asking]
    with broker._info_lock:  # another request holds the phones' info while these hosts ask
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while sum(broker._waiting[phone] for phone in asking) < len(asking):  # every one of them is waiting
            assert time.monotonic() < deadline, dict(broker._waiting)
            time.sleep(0.001)
    for thread in threads:
        thread.join(60)
    assert results == dict((phone, (0, b"on\n")) for phone in asking)
    assert [sorted(b["ids"]) for b in emu.request_bodies(SETSTATUS)] == [sorted(asking)]
    assert emu.request_bodies(SETSTATUS)[0]["open"] is True
    # Another host turning ADB on never turns on the phone whose host said no, nor one that did not ask yet.
    with pytest.raises(PhoneUnreachable, match=r"ADB is off on phone %s \(49001\)" % quiet):
        broker.run(quiet, "true", play_ids=emu.ids)
    assert broker.run(emu.ids[5], "echo on", play_ids=emu.ids, enable=True) == (0, b"on\n")
    assert [sorted(b["ids"]) for b in emu.request_bodies(SETSTATUS)] == [sorted(asking), [emu.ids[5]]]
    assert broker.counts["enabled"] == 5


def test_phones_still_not_ready_after_enable_timeout_are_refused_saying_so(emu, make_broker):
    broker = make_broker(enable_timeout=0.05)
    emu.configure_adb(disabled=emu.ids[:2], enable_reads=10 ** 6)
    with pytest.raises(PhoneUnreachable, match=r"ADB of phone %s was turned on but is still not ready after 0 s "
                       r"\(49001\); run the task again in a minute" % emu.ids[0]):
        broker.run(emu.ids[0], "true", play_ids=emu.ids[:2], enable=True)
    # The play's read, then one every poll_interval until enable_timeout: a handful, however busy the machine.
    assert 2 <= emu.stats()["adb_reads"][emu.ids[0]] <= 2 + 0.05 / 0.01
    with pytest.raises(PhoneUnreachable, match="still not ready"):  # turned on already: not again
        broker.run(emu.ids[0], "true", play_ids=emu.ids[:2], enable=True)
    assert [b["ids"] for b in emu.request_bodies(SETSTATUS)] == [[emu.ids[0]]]


# Logins --------------------------------------------------------------------------------------------------
def test_a_lapsed_login_is_renewed_and_the_command_runs_once(emu, broker):
    phone = emu.ids[0]
    assert broker.run(phone, "echo one >> %s" % COUNT_FILE)[0] == 0
    emu.configure_adb(lapse=[phone])
    assert broker.run(phone, "echo two >> %s" % COUNT_FILE) == (0, b"")
    assert emu.device_file(phone, COUNT_FILE) == b"one\ntwo\n"
    stats = emu.stats()
    assert stats["glogins"][phone] == 2 and stats["adb_gated"][phone] == 1 and stats["adb_commands"][phone] == 2
    assert getdata_bodies(emu) == [[phone]]  # the code held still logs in: no request
    assert broker.counts["relogins"] == 1 and broker.counts["connects"] == 1


def test_a_lapsed_login_with_a_new_code_reads_the_codes_again_and_runs_the_command_once(emu, broker):
    first, second = emu.ids[:2]
    broker.run(first, "true", play_ids=[first, second])
    broker.run(second, "true", play_ids=[first, second])
    emu.configure_adb(rotate=[first])  # a new code, and logged out
    assert broker.run(first, "echo once >> %s" % COUNT_FILE) == (0, b"")
    assert emu.device_file(first, COUNT_FILE) == b"once\n"
    stats = emu.stats()
    assert stats["glogin_failures"][first] == 1 and stats["glogins"][first] == 2 and stats["adb_gated"][first] == 1
    # The codes of every phone the run knows are read again, in one request: logins lapse for all about together.
    bodies = getdata_bodies(emu)
    assert len(bodies) == 2 and bodies[1][0] == first and sorted(bodies[1]) == [first, second]


def test_a_lapsed_login_whose_fresh_read_refuses_the_phone_gives_that_reason(emu, broker):
    phone = emu.ids[0]
    broker.run(phone, "true")
    emu.configure_adb(rotate=[phone])  # the code held is refused, so the codes are read again
    emu.queue_faults({"kind": "raw", "path": GETDATA, "body": getdata_answer(
        {"code": 42002, "id": phone, "ip": "", "port": "", "pwd": ""})})
    with pytest.raises(PhoneUnreachable, match=r"phone %s is not running \(42002\)" % phone):
        broker.run(phone, "echo never >> %s" % COUNT_FILE)
    assert emu.device_file(phone, COUNT_FILE) is None


def test_a_rotated_code_is_refused_once_then_read_again(emu, broker):
    first, second = emu.ids[:2]
    broker.run(first, "true", play_ids=[first, second])
    emu.configure_adb(rotate=[second])  # the code read with the play is stale now
    assert broker.run(second, "echo in", play_ids=[first, second]) == (0, b"in\n")
    stats = emu.stats()
    assert stats["glogin_failures"][second] == 1 and stats["glogins"][second] == 1
    assert getdata_bodies(emu) == [[first, second], [second, first]]


def test_a_code_refused_twice_makes_the_phone_unreachable(emu, broker):
    phone = emu.ids[0]
    emu.queue_faults({"kind": "raw", "path": GETDATA, "body": getdata_answer(ready_item(emu, phone, WRONG_CODE)),
                      "times": 2})
    with pytest.raises(PhoneUnreachable, match=r"phone %s refused the glogin code from adb/getData twice: "
                       r"error: glogin failed, wrong connection code" % phone):
        broker.run(phone, "true")
    assert emu.stats()["glogin_failures"][phone] == 2
    assert WRONG_CODE in broker.codes  # every code read is masked, a wrong one too


def test_output_without_the_exit_status_is_a_lost_command(emu, broker):
    phone = emu.ids[0]
    # No code: the broker sends no glogin, the phone refuses the command, and again after a fresh read.
    emu.queue_faults({"kind": "raw", "path": GETDATA, "body": getdata_answer(ready_item(emu, phone, ""))})
    emu.configure_adb(lapse=[phone])
    with pytest.raises(CommandLost, match=r"phone %s did not report the command's exit status .*: it may have run; "
                       r"output: error: you should run glogin to login first" % phone):
        broker.run(phone, "true")
    assert emu.stats()["adb_gated"][phone] == 2 and emu.stats()["adb_commands"].get(phone) is None
    assert emu.stats()["glogins"].get(phone) is None  # no code, no login


# Broken connections --------------------------------------------------------------------------------------
def test_a_command_silent_past_command_timeout_names_the_setting_and_may_have_run(emu, make_broker):
    broker = make_broker(command_timeout=0.5)
    phone = emu.ids[0]
    with pytest.raises(CommandLost, match=r"the command on phone %s timed out \(no word from the phone for 0\.5 s, the "
                       r"command_timeout \(host variable geelark_adb_command_timeout\): give a longer one for a "
                       r"command that runs silent longer\): it may have run; check the phone" % phone):
        broker.run(phone, "sleep 60")
    assert broker.run(phone, "echo next") == (0, b"next\n")  # a new connection for the next command


def test_an_adb_key_that_cannot_be_read_names_the_setting(emu, adb_key, tmp_path):
    shutil.copyfile(adb_key, str(tmp_path / "lonely"))  # no lonely.pub beside it
    (tmp_path / "text").write_text("not a key")
    (tmp_path / "text.pub").write_text("not a key either")
    (tmp_path / "folder").mkdir()
    client = GeeLarkClient(api_url=emu.url, token=TOKEN, retries=1, retry_backoff=0.01, timeout=5)
    for key in ("lonely", "text", "folder"):
        broker = Broker(client, str(tmp_path / key), timeout=5, command_timeout=30, poll_interval=0.01,
                        enable_timeout=5)
        try:
            with pytest.raises(PhoneUnreachable, match=r"the ADB key %s could not be read \(.+\): private_key_file "
                               r"\(host variable geelark_adb_key_file, or GEELARK_ADB_KEY_FILE\) must be an RSA key"
                               % re.escape(str(tmp_path / key))):
                broker.run(emu.ids[0], "true")
        finally:
            broker.close()
    client.close()
    assert emu.stats()["adb_connections"] == {}


def test_adb_turned_off_mid_run_loses_the_command_and_the_next_one_reconnects(emu, broker):
    phone = emu.ids[0]
    broker.run(phone, "true")
    emu.configure_adb(disabled=[phone])
    with pytest.raises(CommandLost, match=r"the ADB connection to phone %s broke while the command ran \(.*\): it "
                       r"may have run; check the phone before running it again" % phone):
        broker.run(phone, "echo lost")
    emu.configure_adb(enabled=[phone])  # on again, with a new code
    assert broker.run(phone, "echo back") == (0, b"back\n")
    assert broker.counts["connects"] == 2
    assert emu.stats()["adb_connections"][phone] == 2


def test_a_connection_the_phone_drops_is_made_again_for_the_next_command(emu, broker):
    phone = emu.ids[1]
    broker.run(phone, "true")
    drop_daemon_connections(emu, phone)
    with pytest.raises(CommandLost, match="it may have run"):
        broker.run(phone, "echo once >> %s" % COUNT_FILE)
    assert broker.run(phone, "echo again") == (0, b"again\n")
    assert emu.stats()["adb_connections"][phone] == 2 and emu.stats()["glogins"][phone] == 2  # a new login
    assert emu.stats()["adb_commands"][phone] == 2  # the lost command never reached the phone's shell


def test_a_transfer_on_a_broken_connection_is_lost_and_the_next_one_reconnects(emu, broker, tmp_path):
    phone = emu.ids[2]
    source = tmp_path / "small.txt"
    source.write_bytes(b"small\n")
    broker.put(phone, str(source), "/sdcard/small.txt")
    drop_daemon_connections(emu, phone)
    with pytest.raises(CommandLost, match=r"broke while /sdcard/again\.txt was sent to it"):
        broker.put(phone, str(source), "/sdcard/again.txt")
    broker.fetch(phone, "/sdcard/small.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_bytes() == b"small\n"


# Files ---------------------------------------------------------------------------------------------------
def test_files_of_a_few_megabytes_travel_both_ways_intact(emu, broker, tmp_path):
    phone = emu.ids[0]
    blob = os.urandom(3 * 1024 * 1024 + 5)
    (tmp_path / "blob.bin").write_bytes(blob)
    broker.put(phone, str(tmp_path / "blob.bin"), "/sdcard/Download/blob.bin")
    assert emu.device_file(phone, "/sdcard/Download/blob.bin") == blob
    emu.put_device_file(phone, "/data/local/tmp/other.bin", blob[::-1])
    broker.fetch(phone, "/data/local/tmp/other.bin", str(tmp_path / "other.bin"))
    assert (tmp_path / "other.bin").read_bytes() == blob[::-1]


def test_fetching_a_missing_file_is_refused_naming_the_path_and_keeps_the_connection(emu, broker, tmp_path):
    phone = emu.ids[0]
    with pytest.raises(FileRefused) as refused:
        broker.fetch(phone, "/sdcard/none.txt", str(tmp_path / "none.txt"))
    assert str(refused.value) == ("phone %s refused: /sdcard/none.txt could not be read from it: No such file or "
                                  "directory" % phone)
    assert broker.run(phone, "true") == (0, b"")
    assert emu.stats()["adb_connections"][phone] == 1  # a refusal is the phone's answer, not a broken connection


def test_sending_to_a_read_only_path_is_refused_naming_the_path_and_keeps_the_connection(emu, broker, tmp_path):
    phone = emu.ids[0]
    (tmp_path / "x").write_bytes(b"x")
    with pytest.raises(FileRefused) as refused:
        broker.put(phone, str(tmp_path / "x"), "/system/x")
    assert str(refused.value) == ("phone %s refused: /system/x could not be sent to it: Read-only file system (the "
                                  "shell user can write under /sdcard/ and /data/local/tmp/)" % phone)
    assert emu.device_file(phone, "/system/x") is None
    assert broker.run(phone, "true") == (0, b"")
    assert emu.stats()["adb_connections"][phone] == 1  # a refusal is the phone's answer, not a broken connection


def test_a_local_file_that_cannot_be_written_is_named_and_the_connection_kept(emu, broker, tmp_path):
    phone = emu.ids[0]
    broker.run(phone, "true")
    emu.put_device_file(phone, "/sdcard/f.txt", b"f")
    dest = str(tmp_path / "missing-dir" / "f.txt")
    with pytest.raises(Exception) as failed:
        broker.fetch(phone, "/sdcard/f.txt", dest)
    assert not isinstance(failed.value, CommandLost) and dest in str(failed.value)
    assert broker.run(phone, "true") == (0, b"")
    assert emu.stats()["adb_connections"][phone] == 1


def test_beyond_max_connections_the_least_recently_used_connection_is_closed(emu, make_broker):
    broker = make_broker(max_connections=2)
    first, second, third = emu.ids[:3]
    for phone_id in (first, second, first, third):  # `second` is then the least recently used
        assert broker.run(phone_id, "true") == (0, b"")
    assert set(broker._devices) == {first, third} and broker.counts["closed_for_room"] == 1
    assert broker.run(second, "getprop ro.gl.serialno") == (0, second.encode() + b"\n")  # connected again
    assert emu.stats()["adb_connections"][second] == 2 and emu.stats()["adb_connections"][first] == 1


def test_the_connection_limit_follows_the_file_descriptors_the_process_may_have():
    import resource

    limit = connection_limit()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert limit == max(16, soft - 64)
    assert soft == hard or hard == resource.RLIM_INFINITY  # raised as far as allowed


def test_forget_drops_the_connection_and_the_info(emu, broker):
    phone = emu.ids[0]
    broker.run(phone, "true")
    broker.forget(phone)
    broker.forget(emu.ids[1])  # never connected: nothing to drop
    broker.run(phone, "true")
    assert getdata_bodies(emu) == [[phone], [phone]]
    assert broker.counts["connects"] == 2


# The socket server ----------------------------------------------------------------------------------------
@pytest.fixture
def server(broker, socket_dir):
    made = BrokerServer(os.path.join(socket_dir, "b.sock"), broker)
    thread = threading.Thread(target=made.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield made
    made.shutdown()
    made.server_close()
    thread.join(10)


def over_socket(server, raw):
    """The broker server's answer line to `raw` (one request line), as a worker reads it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(server.server_address)
        sock.sendall(raw + b"\n")
        return sock.makefile("rb").readline().decode("utf-8")


def test_the_server_answers_every_operation(emu, server, tmp_path):
    phone = emu.ids[0]
    (tmp_path / "in.txt").write_bytes(b"\x00binary\xff")
    answer = server.answer({"op": "exec", "id": phone, "cmd": "echo out; exit 4", "play_ids": emu.ids[:2]})
    assert answer == {"ok": True, "rc": 4, "out": base64.b64encode(b"out\n").decode("ascii")}
    assert getdata_bodies(emu) == [emu.ids[:2]]
    assert server.answer({"op": "put", "id": phone, "src": str(tmp_path / "in.txt"), "dest": "/sdcard/in"}) == {
        "ok": True}
    assert server.answer({"op": "fetch", "id": phone, "src": "/sdcard/in", "dest": str(tmp_path / "out")}) == {
        "ok": True}
    assert (tmp_path / "out").read_bytes() == b"\x00binary\xff"
    assert server.answer({"op": "ping"}) == {"ok": True}
    stats = server.answer({"op": "stats"})
    assert stats["ok"] and stats["counts"]["commands"] == 1 and stats["counts"]["connects"] == 1
    assert stats["api"]["requests"] >= 1
    assert server.answer({"op": "reset", "id": phone}) == {"ok": True}
    assert phone not in server.broker._devices and phone not in server.broker._info
    assert server.answer({"op": "launch", "id": phone}) == {
        "ok": False, "kind": "error", "msg": "unknown request 'launch'"}


def test_the_play_is_asked_for_only_while_the_phone_is_unknown(emu, server):
    phone = emu.ids[0]
    assert server.answer({"op": "exec", "id": phone, "cmd": "true"}) == {"ok": False, "kind": "need_play"}
    assert emu.stats()["requests"].get(GETDATA) is None  # nothing read, nothing run
    assert server.answer({"op": "exec", "id": phone, "cmd": "true", "play_ids": emu.ids})["rc"] == 0
    assert server.answer({"op": "exec", "id": emu.ids[1], "cmd": "true"})["rc"] == 0  # read with the play
    assert len(getdata_bodies(emu)) == 1


def test_the_server_sorts_failures_into_unreachable_lost_and_api_errors(emu, server):
    phone, off = emu.ids[:2]
    emu.configure_adb(disabled=[off])
    refused = server.answer({"op": "exec", "id": off, "cmd": "true", "play_ids": []})
    assert refused["kind"] == "unreachable" and "enable_adb" in refused["msg"] and not refused["ok"]
    server.answer({"op": "exec", "id": phone, "cmd": "true", "play_ids": []})
    drop_daemon_connections(emu, phone)
    lost = server.answer({"op": "exec", "id": phone, "cmd": "true", "play_ids": []})
    assert lost["kind"] == "lost" and "may have run" in lost["msg"]
    emu.queue_faults({"kind": "code", "path": GETDATA, "code": 40004, "msg": "bad ids"})
    api = server.answer({"op": "exec", "id": emu.ids[2], "cmd": "true", "play_ids": []})
    assert api["kind"] == "unreachable"
    assert api["msg"].startswith("the GeeLark API could not give phone %s's ADB connection info: " % emu.ids[2])
    assert "40004" in api["msg"]


def test_answers_over_the_socket_mask_the_glogin_codes_and_the_token(emu, server, tmp_path):
    phone = emu.ids[0]
    server.answer({"op": "exec", "id": phone, "cmd": "true", "play_ids": []})
    code = emu.adb_pwd(phone)
    assert code in server.broker.codes
    request = {"op": "fetch", "id": phone, "src": "/sdcard/%s-%s" % (code, TOKEN), "dest": str(tmp_path / "f")}
    direct = server.answer(request)
    assert code in direct["msg"] and TOKEN in direct["msg"]  # what the mask has to take out
    line = over_socket(server, json.dumps(request).encode("utf-8"))
    answer = json.loads(line)
    assert answer["kind"] == "failed" and "/sdcard/********-********" in answer["msg"]
    assert code not in line and TOKEN not in line


def test_a_request_that_is_not_json_gets_an_error_answer(server):
    answer = json.loads(over_socket(server, b"{not json"))
    assert answer["ok"] is False and answer["kind"] == "error" and answer["msg"].startswith("JSONDecodeError")


# main(): the broker process --------------------------------------------------------------------------------
class _Said:
    """A stdout that remembers what main() said and tells when it said something."""

    def __init__(self):
        self.text = ""
        self.said = threading.Event()

    def write(self, text):
        self.text += text
        self.said.set()

    def flush(self):
        pass


def broker_config(emu, adb_key, socket_path, parent):
    given = dict((option.name, None) for option in API_OPTIONS)
    given.update(api_url=emu.url, token=TOKEN, retries=1, retry_backoff=0.01)
    values, sources = resolve(given, "the test")
    return {"values": values, "sources": sources, "key_file": adb_key, "timeout": 5, "command_timeout": 30,
            "poll_interval": 0.01, "enable_timeout": 5, "socket": socket_path, "parent": parent}


def test_main_serves_until_the_run_that_started_it_ends(emu, adb_key, socket_dir, monkeypatch):
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # the ansible-playbook run
    socket_path, lock_path = os.path.join(socket_dir, "main.sock"), os.path.join(socket_dir, "main.lock")
    open(socket_path, "w").close()  # left by an earlier broker: replaced
    open(lock_path, "w").close()  # the lock the run's workers started it under
    said = _Said()
    config = dict(broker_config(emu, adb_key, socket_path, parent.pid), lock=lock_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(config)))
    monkeypatch.setattr(sys, "stdout", said)
    monkeypatch.setattr(_adb_broker.os, "dup2", lambda fd, fd2: None)  # keep pytest's own stdout
    ended = {}
    thread = threading.Thread(target=lambda: ended.setdefault("rc", _adb_broker.main()), daemon=True)
    thread.start()
    try:
        assert said.said.wait(10) and said.text == "ready\n"
        assert os.stat(socket_path).st_mode & 0o777 == 0o600  # only this user may ask the broker
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(socket_path)
            sock.sendall(json.dumps({"op": "exec", "id": emu.ids[0], "cmd": "echo served", "play_ids": []}).encode()
                         + b"\n")
            answer = json.loads(sock.makefile("rb").readline())
        assert base64.b64decode(answer["out"]) == b"served\n" and answer["rc"] == 0
    finally:
        parent.kill()
        parent.wait()
    thread.join(15)
    assert ended == {"rc": 0}
    assert not os.path.exists(socket_path) and not os.path.exists(lock_path)  # nothing of the run is left behind


def test_main_says_why_it_could_not_start(adb_key, socket_dir, monkeypatch):
    config = {"values": {"token": TOKEN, "rate_limit": -3}, "sources": {}, "key_file": adb_key, "timeout": 5,
              "command_timeout": 30, "poll_interval": 0.01, "enable_timeout": 5,
              "socket": os.path.join(socket_dir, "bad.sock"), "parent": os.getpid()}
    said = _Said()
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(config)))
    monkeypatch.setattr(sys, "stdout", said)
    assert _adb_broker.main() == 1
    assert said.text.startswith("error: ") and "rate_limit" in said.text
    assert TOKEN not in said.text
    assert not os.path.exists(config["socket"])
