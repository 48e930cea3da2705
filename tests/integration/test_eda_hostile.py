# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The example rulebooks under hostile conditions: real ansible-rulebook runs against the emulator.

Callbacks that name several phones in any of their shapes, repeated callbacks, a transient 42001,
and variables that are missing or would watch nothing. Every wait ends on an output line or the
end of the process, never on a sleep: ansible-rulebook runs the actions of a ruleset one after the
other, so once a later callback's action printed its line, the earlier callbacks were handled.
"""

from __future__ import annotations

import collections
import os

import yaml

from ansible_collections.geelark.cloudphone.tests.emulator.geelark_emulator import START_PATH

from . import test_eda
from .conftest import API_KEY, APP_ID, TOKEN
from .test_eda import LINE_TIMEOUT, free_ports, wait_for_port

# test_eda's fixtures (the collection installed from its tarball, running rulebooks), shared by name.
eda_requirements = test_eda.eda_requirements
installed = test_eda.installed
rulebook = test_eda.rulebook
pytestmark = test_eda.pytestmark

RULEBOOKS = "ansible_collections/geelark/cloudphone/extensions/eda/rulebooks"
INVENTORY = "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"


def started_ids(emulator):
    """How many start requests named each phone."""
    return collections.Counter(i for body in emulator.request_bodies(START_PATH) for i in body["ids"])


def write_files(tmp_path, variables):
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "vars.yml").write_text(variables if isinstance(variables, str) else yaml.safe_dump(variables))


class CallbacksRulebook:
    """The shipped callbacks rulebook, listening on a free loopback port instead of 0.0.0.0:5000."""

    def __init__(self, emulator, rulebook, tmp_path, installed, watched):
        self.emulator = emulator
        port = free_ports(1)[0]
        with open(os.path.join(installed, RULEBOOKS, "callbacks.yml")) as handle:
            rulesets = yaml.safe_load(handle)
        rulesets[0]["sources"][0]["eda.builtin.webhook"].update(host="127.0.0.1", port=port)
        (tmp_path / "callbacks.yml").write_text(yaml.safe_dump(rulesets, sort_keys=False))
        write_files(tmp_path, {"phone_ids": watched})
        self.process = rulebook(None, env_extra={"GEELARK_APP_ID": APP_ID, "GEELARK_API_KEY": API_KEY,
                                                 "GEELARK_API_URL": emulator.url},
                                args=["-r", "callbacks.yml", "-i", "inventory.yml", "--vars", "vars.yml"])
        wait_for_port(port, self.process)
        self.url = "http://127.0.0.1:%d/geelark" % port
        self.rounds = 0

    def send_round(self, callbacks):
        """Send the callbacks, and return once the rulebook has handled every one of them."""
        for payload in callbacks:
            assert self.emulator.send_callback(payload, url=self.url)["status"] == 200
        # A callback of another type: its debug line comes after every action of the callbacks above.
        self.rounds += 1
        sentinel = "9000000000000000%02d" % self.rounds
        assert self.emulator.send_callback({"type": 1, "id": sentinel}, url=self.url)["status"] == 200
        self.process.wait_for(r"GeeLark callback phone_started for \['%s'\]" % sentinel)


def stopped(**shape):
    return dict(type=8, username="GeeLark", **shape)


def test_the_callbacks_rulebook_starts_only_watched_phones_once_per_phone_in_every_callback_shape(
        emulator, rulebook, tmp_path, installed):
    w1, w2, w3, u1, u2 = list(emulator.true_status())[:5]
    emulator.set_status([w1, w2, w3, u1, u2], 2)
    callbacks = CallbacksRulebook(emulator, rulebook, tmp_path, installed, [w1, w2, w3])
    process, send_round = callbacks.process, callbacks.send_round

    # Each shape the filter reads: id, items[].id, envIds; watched and unwatched phones mixed, in any order.
    send_round([stopped(id=w1), stopped(items=[{"id": u1}, {"id": w2}]), stopped(envIds=[w3, u2])])
    assert started_ids(emulator) == {w1: 1, w2: 1, w3: 1}, process.text

    # The same phones stop again within the throttle window, each in another shape: no second start.
    emulator.set_status([w1, w2, w3], 2)
    send_round([stopped(items=[{"id": w1}]), stopped(envIds=[w2]), stopped(id=w3),
                stopped(items=[{"id": u1}, {"id": u2}])])
    process.stop()
    assert started_ids(emulator) == {w1: 1, w2: 1, w3: 1}, process.text
    assert emulator.true_status()[u1] == 2 and emulator.true_status()[u2] == 2
    assert API_KEY not in process.text


def test_the_callbacks_rulebook_starts_a_padded_id_and_warns_about_ids_it_cannot_read(
        emulator, rulebook, tmp_path, installed):
    padded, floated, other = list(emulator.true_status())[:3]
    emulator.set_status([padded, floated, other], 2)
    callbacks = CallbacksRulebook(emulator, rulebook, tmp_path, installed, [padded, floated, other])
    callbacks.send_round([
        stopped(id=" %s " % padded),
        # An 18-digit ID that went through a float names no phone: its last digits are gone.
        stopped(id=float(floated)),
        stopped(items="x"),
        stopped(items=[None, 5, {"id": None}]),
    ])
    process = callbacks.process
    process.stop()
    assert started_ids(emulator) == {padded: 1}, process.text
    assert emulator.true_status()[floated] == 2 and emulator.true_status()[other] == 2
    warnings = [line for line in process.text.splitlines() if "names phones that cannot be read" in line]
    assert len(warnings) == 3, process.text
    assert "id is the number 6." in warnings[0] and "lost its last digits and cannot name a phone" in warnings[0]
    assert "items is a str, not a list of phones" in warnings[1]
    assert ("items[0] is None, not an object with an id; items[1] is 5, not an object with an id; "
            "items[2].id is missing") in warnings[2]
    assert all("type 8 phone_stopped" in w and "goes on to the rules with no phone ID" in w for w in warnings)
    assert API_KEY not in process.text


def test_a_transient_42001_does_not_stop_the_self_healing_rulebook_from_restarting_the_phone(
        emulator, rulebook, tmp_path):
    phone, other = list(emulator.true_status())[:2]
    emulator.set_status([phone, other], 0)
    # The second poll claims the phone does not exist; it really stops two polls later.
    emulator.queue_faults({"kind": "fail_detail", "ids": [phone], "code": 42001, "msg": "env not found",
                           "skip": 1})
    emulator.set_status([phone], 2, on_read=4)
    write_files(tmp_path, {"phone_ids": [phone, other], "poll_interval": 0.2})
    process = rulebook(None, env_extra={"GEELARK_TOKEN": TOKEN, "GEELARK_API_URL": emulator.url},
                       args=["-r", "geelark.cloudphone.self_healing", "-i", "inventory.yml", "--vars", "vars.yml"])
    process.wait_for(r"PLAY RECAP")
    process.stop()
    assert started_ids(emulator) == {phone: 1}, process.text
    assert TOKEN not in process.text


def run_until_it_ends(rulebook, tmp_path, emulator, variables):
    write_files(tmp_path, variables)
    process = rulebook(None, env_extra={"GEELARK_TOKEN": TOKEN, "GEELARK_API_URL": emulator.url},
                       args=["-r", "geelark.cloudphone.self_healing", "-i", "inventory.yml", "--vars", "vars.yml"])
    process.proc.wait(timeout=LINE_TIMEOUT)
    process.stop()
    return process


def test_the_self_healing_rulebook_names_a_missing_phone_ids_variable(emulator, rulebook, tmp_path):
    process = run_until_it_ends(rulebook, tmp_path, emulator, "poll_interval: 1\n")
    assert process.proc.returncode != 0
    assert "the rulebook variable 'phone_ids' is not defined" in process.text, process.text
    assert "StrictUndefined" not in process.text
    assert emulator.stats()["total_requests"] == 0


def test_the_self_healing_rulebook_refuses_an_empty_phone_ids(emulator, rulebook, tmp_path):
    process = run_until_it_ends(rulebook, tmp_path, emulator, "phone_ids: []\n")
    assert process.proc.returncode != 0
    assert "ids is empty, so the source would watch nothing" in process.text, process.text
    assert emulator.stats()["total_requests"] == 0


def test_the_self_healing_rulebook_refuses_an_id_that_went_through_a_float(emulator, rulebook, tmp_path):
    # PyYAML reads this unquoted number as the text "6.01876382020062634e17": it must not be sent.
    process = run_until_it_ends(rulebook, tmp_path, emulator, "phone_ids: [6.01876382020062634e17]\n")
    assert process.proc.returncode != 0
    assert "floating point" in process.text, process.text
    assert emulator.stats()["total_requests"] == 0


# A new user's trial: `phone_ids: "601876382020000000"` (one ID, quoted, instead of a list) reaches the
# source as a whole number, because ansible-rulebook renders "{{ phone_ids }}" to a native type.
def test_the_self_healing_rulebook_watches_one_phone_id_given_alone(emulator, rulebook, tmp_path):
    phone = list(emulator.true_status())[0]
    emulator.set_status([phone], 0)
    emulator.set_status([phone], 2, on_read=2)
    write_files(tmp_path, 'phone_ids: "%s"\npoll_interval: 0.2\n' % phone)
    process = rulebook(None, env_extra={"GEELARK_TOKEN": TOKEN, "GEELARK_API_URL": emulator.url},
                       args=["-r", "geelark.cloudphone.self_healing", "-i", "inventory.yml", "--vars", "vars.yml"])
    process.wait_for(r"PLAY RECAP")
    process.stop()
    assert started_ids(emulator) == {phone: 1}, process.text


def test_the_self_healing_rulebook_refuses_ids_separated_by_spaces_and_shows_the_list_form(
        emulator, rulebook, tmp_path):
    first, second = list(emulator.true_status())[:2]
    process = run_until_it_ends(rulebook, tmp_path, emulator, 'phone_ids: "%s %s"\n' % (first, second))
    assert process.proc.returncode != 0
    assert "geelark.cloudphone.phone_status: ids must be a list of phone IDs, got the str" in process.text, \
        process.text
    assert 'phone_ids: ["601876382020062634", "601876382020062635"]' in process.text
    assert emulator.stats()["total_requests"] == 0
