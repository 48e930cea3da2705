# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The real ansible-rulebook against the emulator, with the collection installed from its Galaxy tarball.

ansible-rulebook runs event sources and filters with runpy, without Ansible's collection loader;
running them from an installed tarball proves they import the collection's client there. Every
wait is bounded and ends on something observed (an output line, an open port), never on a sleep.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import threading
import time

import pytest
import yaml

from .conftest import API_KEY, APP_ID, BIN, ROOT, TOKEN, ansible_env, run_command

RULEBOOK = os.path.join(BIN, "ansible-rulebook")
# ansible-rulebook starts a JVM: allow a busy 2-core machine plenty of time for each expected line.
LINE_TIMEOUT = 180


def _requirements():
    if not shutil.which("java"):
        if os.environ.get("CI"):
            pytest.fail("Java 17 or later is needed by ansible-rulebook and must be installed on CI machines")
        pytest.skip("ansible-rulebook needs Java 17 or later, which this machine lacks "
                    "(apt-get install openjdk-17-jre-headless)")
    if not os.path.exists(RULEBOOK):
        pytest.skip("ansible-rulebook is not installed next to this Python: pip install -r "
                    "tests/integration/requirements-eda.txt")


pytestmark = pytest.mark.usefixtures("eda_requirements")


@pytest.fixture(scope="module")
def eda_requirements():
    _requirements()


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The collection built with ansible-galaxy and installed from the tarball: its collections path."""
    _requirements()
    work = tmp_path_factory.mktemp("eda-tarball")
    env = ansible_env()
    built = run_command([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path",
                         str(work / "dist"), "--force", ROOT], env=env)
    assert built.rc == 0, built.text
    tarball = next((work / "dist").glob("geelark-cloudphone-*.tar.gz"))
    done = run_command([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "-p",
                        str(work / "collections"), str(tarball), "--force"], env=env)
    assert done.rc == 0, done.text
    source = work / "collections/ansible_collections/geelark/cloudphone/extensions/eda/plugins/event_source"
    assert (source / "phone_status.py").exists()
    return str(work / "collections")


class Rulebook:
    """A running ansible-rulebook whose output lines a thread collects, to wait on."""

    def __init__(self, args, collections, cwd, env_extra=None):
        env = ansible_env(ANSIBLE_COLLECTIONS_PATH=collections, **(env_extra or {}))
        self.lines: list = []
        self._queue: queue.Queue = queue.Queue()
        self.proc = subprocess.Popen([RULEBOOK, "-v"] + args, cwd=cwd, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern):
        """The first output line, already read or to come, matching the regex; fails if the process ends first."""
        for line in self.lines:
            if re.search(pattern, line):
                return line
        deadline = time.monotonic() + LINE_TIMEOUT
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError("no line matching %r within %ss:\n%s"
                                     % (pattern, LINE_TIMEOUT, self.text)) from None
            if line is None:
                self._queue.put(None)  # later waits see the end too
                raise AssertionError("ansible-rulebook ended (rc %s) before a line matched %r:\n%s"
                                     % (self.proc.wait(), pattern, self.text))
            self.lines.append(line)
            if re.search(pattern, line):
                return line

    @property
    def text(self):
        return "\n".join(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=60)
        while not self._queue.empty():
            line = self._queue.get()
            if line is not None:
                self.lines.append(line)


@pytest.fixture
def rulebook(tmp_path, installed):
    running = []

    def start(rulesets, env_extra=None, args=None):
        """Run the given rulesets, or (args) ansible-rulebook with those arguments."""
        if args is None:
            path = tmp_path / "rulebook.yml"
            path.write_text(yaml.safe_dump(rulesets, sort_keys=False))
            args = ["-r", str(path), "-i", "localhost,"]
        process = Rulebook(args, installed, str(tmp_path), env_extra)
        running.append(process)
        return process

    yield start
    for process in running:
        process.stop()


def free_ports(count):
    """Ports free on 127.0.0.1, distinct: all are held open until every one is chosen."""
    sockets = [socket.socket() for _n in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_for_port(port, process):
    """Until the webhook listens: each try either connects or is refused at once, and the process must live."""
    for _attempt in range(LINE_TIMEOUT * 10):
        assert process.proc.poll() is None, "ansible-rulebook ended:\n" + process.text
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("nothing listened on port %d:\n%s" % (port, process.text))


def test_a_status_change_fires_the_rule(emulator, rulebook):
    phone = list(emulator.true_status())[0]
    other = list(emulator.true_status())[1]
    emulator.set_status([phone, other], 0)
    emulator.set_status([phone], 2, on_read=3)
    process = rulebook([{
        "name": "GeeLark phones",
        "hosts": "all",
        "sources": [{"geelark.cloudphone.phone_status": {
            "api_url": emulator.url, "ids": [phone, other], "interval": 0.2, "emit_initial": True}}],
        "rules": [
            {"name": "First sight", "condition": 'event.type == "initial"',
             "action": {"debug": {"msg": "INITIAL {{ event.id }} {{ event.status_name }}"}}},
            {"name": "A phone stopped", "condition": 'event.type == "changed" and event.status_name == "shut_down"',
             "action": {"debug": {"msg": "STOPPED {{ event.id }} was {{ event.previous_status_name }}"}}},
        ],
    }], env_extra={"GEELARK_TOKEN": TOKEN})
    process.wait_for("INITIAL %s started" % phone)
    process.wait_for("STOPPED %s was started" % phone)
    process.stop()
    assert "STOPPED %s" % other not in process.text
    assert TOKEN not in process.text
    assert emulator.status_reads(phone) >= 3


def test_signed_callbacks_reach_the_rules_and_forged_ones_do_not(emulator, rulebook, tmp_path, installed):
    key_port, token_port = free_ports(2)
    callback_url = "http://127.0.0.1:%d/geelark" % key_port
    process = rulebook([{
        "name": "GeeLark callbacks",
        "hosts": "all",
        "sources": [
            {"eda.builtin.webhook": {"host": "127.0.0.1", "port": key_port},
             "filters": [{"geelark.cloudphone.verify_callback": {"max_age": 300}}]},
            {"eda.builtin.webhook": {"host": "127.0.0.1", "port": token_port, "token": TOKEN},
             "filters": [{"geelark.cloudphone.verify_callback": {"verify": "none"}}]},
        ],
        "rules": [
            {"name": "A phone stopped", "condition": 'event.geelark.type_name == "phone_stopped"',
             "action": {"debug": {"msg": "CALLBACK stopped {{ event.geelark.ids[0] }}"}}},
        ],
    }], env_extra={"GEELARK_APP_ID": APP_ID, "GEELARK_API_KEY": API_KEY})

    # The account's callback URL, set with the module from the installed collection.
    env = ansible_env(ANSIBLE_COLLECTIONS_PATH=installed, GEELARK_TOKEN=TOKEN)
    module = run_command([os.path.join(BIN, "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m",
                          "geelark.cloudphone.geelark_webhook", "-a",
                          "url=%s api_url=%s" % (callback_url, emulator.url)], env=env)
    assert module.rc == 0 and '"changed": true' in module.out, module.text
    assert emulator.state.callback_url == callback_url

    wait_for_port(key_port, process)
    wait_for_port(token_port, process)

    def stopped(phone_id):
        return {"type": 8, "id": phone_id, "username": "GeeLark", "ip": "203.0.113.9",
                "eventTime": int(time.time()), "useMin": 12}

    forged = emulator.send_callback(stopped("111"), tamper=True)
    stale = emulator.send_callback(stopped("222"), ts_offset_ms=-3600 * 1000)
    good = emulator.send_callback(stopped("333"))
    repeat = emulator.send_callback(stopped("333"), trace_id=good["trace_id"])
    # The webhook source answers 200 to every JSON body; the filter decides what reaches the rules.
    assert [r["status"] for r in (forged, stale, good, repeat)] == [200, 200, 200, 200]
    refused = emulator.send_callback(stopped("444"), url="http://127.0.0.1:%d/geelark" % token_port, auth="token",
                                     tamper=True)
    assert refused["status"] == 401
    by_token = emulator.send_callback(stopped("555"), url="http://127.0.0.1:%d/geelark" % token_port,
                                      auth="token")
    assert by_token["status"] == 200

    # Callbacks are handled in the order they arrive on each source: once 333 fired, 111 and 222 had
    # their turn before it.
    process.wait_for("CALLBACK stopped 333")
    process.wait_for("CALLBACK stopped 555")
    process.stop()
    fired = re.findall(r"CALLBACK stopped (\d+)", process.text)
    assert sorted(fired) == ["333", "555"], process.text
    assert "the signature does not match" in process.text
    assert "before now" in process.text
    assert "already received" in process.text
    assert API_KEY not in process.text and TOKEN not in process.text


POWER_STAND_IN = """\
---
- name: Stand-in for geelark.cloudphone.power, for the test of the self-healing rulebook
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Say what would be started
      ansible.builtin.debug:
        msg: "POWER {{ state }} {{ phone_ids | join(',') }}"
"""


def test_the_self_healing_rulebook_starts_a_phone_that_stopped(emulator, rulebook, tmp_path, installed):
    phone, other = list(emulator.true_status())[:2]
    emulator.set_status([phone, other], 0)
    emulator.set_status([phone], 2, on_read=3)
    power = os.path.join(installed, "ansible_collections/geelark/cloudphone/playbooks/power.yml")
    real_power = os.path.exists(power)
    if not real_power:
        with open(power, "w") as handle:
            handle.write(POWER_STAND_IN)
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    (tmp_path / "phones.yml").write_text(yaml.safe_dump({"phone_ids": [phone, other], "poll_interval": 0.2}))
    process = rulebook(None, env_extra={"GEELARK_TOKEN": TOKEN, "GEELARK_API_URL": emulator.url},
                       args=["-r", "geelark.cloudphone.self_healing", "-i", "inventory.yml", "--vars", "phones.yml"])
    if real_power:
        process.wait_for(r"PLAY RECAP")
        process.stop()
        starts = emulator.request_bodies("/open/v1/phone/start")
        assert [body["ids"] for body in starts] == [[phone]], process.text
    else:
        process.wait_for('"msg": "POWER started %s"' % phone)
        process.stop()
        assert "POWER started %s" % other not in process.text
    assert TOKEN not in process.text
