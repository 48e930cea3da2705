# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The apps runbook, run by its FQCN with ansible-playbook against the emulator."""

from __future__ import annotations

import csv
import json
import os

import pytest

from .conftest import BIN, TOKEN, ansible_env, run_command

PLAYBOOK = os.path.join(BIN, "ansible-playbook")
TIKTOK = "com.zhiliaoapp.musically"
STARTED, STARTING, SHUT_DOWN, EXPIRED = range(4)
# The catalogue's TikTok versions, oldest first; the tests install the middle one, so a phone can hold an
# older version (upgraded), the same (left alone) or a newer one (42004: GeeLark refuses downgrades).
OLDER, WANTED, NEWER = "35.0.0", "36.4.0", "36.5.4"
NEWER_ID = "1793552962140770305"
REPORT_FIELDS = ["id", "serial_name", "package", "version_before", "version_after", "status", "code", "msg", "power"]


def runbook(emulator, *args):
    env = ansible_env(GEELARK_TOKEN=TOKEN, GEELARK_API_URL=emulator.url)
    # rate_limit 0: the budget is tested elsewhere; here 300 phones' app reads would wait for it for minutes.
    return run_command([PLAYBOOK, "geelark.cloudphone.apps", "-e", "rate_limit=0", *args], env=env)


def flat(run):
    """The output on one line (a long message is wrapped in the task's output)."""
    return " ".join(run.out.split())


def fatal(run, text):
    """The task failures (fatal: lines) whose message holds text: an error is said by one task, once."""
    return [line for line in run.out.splitlines() if line.startswith("fatal: [localhost]: FAILED!") and text in line]


def with_status(emulator, status, count):
    ids = [i for i, s in emulator.true_status().items() if s == status][:count]
    assert len(ids) == count
    return ids


def tiktok(version):
    return {TIKTOK: {"versionName": version}}


def writes(emulator):
    """Every app and power write the emulator received: installs, uninstalls, starts and stops per phone."""
    stats = emulator.stats()
    return {"app_installs": stats["app_installs"], "app_uninstalls": stats["app_uninstalls"],
            "power_writes": stats["power_writes"]}


NO_WRITES = {"app_installs": {}, "app_uninstalls": {}, "power_writes": {}}


@pytest.fixture
def mixed_fleet(emulator):
    """The 300 phones in four shapes: no TikTok, an older one, the wanted one, a newer one; in every status.

    The starting phones are scripted to stay starting, so that reads do not boot them halfway through a run.
    Returns {"ids", "need" (started phones without the wanted version or older), "already", "newer",
    "not_running" (other phones without it or older, by status)}.
    """
    truth = emulator.true_status()
    ids = list(truth)
    emulator.set_status([i for i in ids if truth[i] == STARTING], STARTING)
    shapes = [None, OLDER, WANTED, NEWER]
    emulator.set_apps(dict((phone_id, tiktok(shapes[n % 4])) for n, phone_id in enumerate(ids) if shapes[n % 4]))
    lacking = [i for n, i in enumerate(ids) if n % 4 in (0, 1)]
    fleet = {"ids": ids, "need": [i for i in lacking if truth[i] == STARTED],
             "already": [i for n, i in enumerate(ids) if n % 4 == 2],
             "newer": [i for n, i in enumerate(ids) if n % 4 == 3]}
    fleet["not_running"] = dict((status, [i for i in lacking if truth[i] == status])
                                for status in (STARTING, SHUT_DOWN, EXPIRED))
    assert all(len(group) > 5 for group in [fleet["need"], fleet["newer"]] + list(fleet["not_running"].values()))
    return fleet


def test_install_on_300_phones_sends_installs_only_where_needed_and_fails_for_the_rest(
        emulator, mixed_fleet, tmp_path):
    fleet = mixed_fleet
    need, down = fleet["need"], fleet["not_running"][SHUT_DOWN]
    cannot = len(fleet["newer"]) + sum(len(group) for group in fleet["not_running"].values())
    report = tmp_path / "apps.json"
    args = ["-e", "package=%s" % TIKTOK, "-e", "version=%s" % WANTED, "-e", "max_changes=300"]
    run = runbook(emulator, *args, "-e", json.dumps({"phone_ids": fleet["ids"], "poll_interval": 1,
                                                     "report_file": str(report)}))
    assert run.rc == 2, run.text
    # Installs went to the started phones that lack it or hold an older version, one each, and nowhere else.
    assert emulator.stats()["app_installs"] == dict((i, 1) for i in need)
    assert emulator.stats()["power_writes"] == {}
    assert all(emulator.apps_of(i)[0]["versionName"] == WANTED for i in need)
    # The plan's read is the only one of a phone that needs no install: its apps are not read twice.
    reads = emulator.stats()["app_list_reads"]
    assert [i for i in fleet["ids"] if reads[i] != 1] == [i for i in fleet["ids"] if i in need]
    text = flat(run)
    assert "install %s %s on 300 phones: %d need it, %d have it already, %d cannot take it (%d shut down, " \
           "%d starting, %d expired, %d a higher version installed (42004))" % (
               TIKTOK, WANTED, len(need), len(fleet["already"]), cannot, len(down),
               len(fleet["not_running"][STARTING]), len(fleet["not_running"][EXPIRED]), len(fleet["newer"])) in text
    assert "install %s %s on 300 phones: %d installed, %d had it already, %d failed" % (
        TIKTOK, WANTED, len(need), len(fleet["already"]), cannot) in text
    assert "%d failed phones are shut down: -e start_stopped=true starts such phones" % len(down) in text
    assert "%d of 300 phones were not given %s %s, and %d were sent the install: see the summary above, and every " \
           "phone in %s." % (cannot, TIKTOK, WANTED, len(need), report) in text
    assert "... and %d more: all of them are in %s" % (cannot - 20, report) in text
    assert len(run.text) < 16000  # the first 20 failed phones, not 160
    written = json.loads(report.read_text())
    assert [p["id"] for p in written["phones"]] == fleet["ids"]
    assert all(sorted(p) == sorted(REPORT_FIELDS) for p in written["phones"])
    by_id = dict((p["id"], p) for p in written["phones"])
    assert written["counts"] == {"installed": len(need), "already": len(fleet["already"]), "failed": cannot}
    newer = by_id[fleet["newer"][0]]
    assert (newer["status"], newer["code"], newer["version_before"], newer["version_after"]) == (
        "failed", 42004, NEWER, NEWER)
    assert by_id[down[0]]["code"] == 42002 and by_id[down[0]]["msg"].startswith("shut_down: ")
    assert by_id[need[0]]["status"] == "installed" and by_id[need[0]]["version_after"] == WANTED
    assert written["msg"] is not None and written["msg"] in text

    # The same run again sends no install: every phone that could take it has it. It still fails for the others.
    emulator.reset()
    report_csv = tmp_path / "apps.csv"
    again = runbook(emulator, *args, "-e", json.dumps({"phone_ids": fleet["ids"], "poll_interval": 1,
                                                       "report_file": str(report_csv)}))
    assert again.rc == 2, again.text
    assert emulator.stats()["app_installs"] == {}
    assert emulator.stats()["app_list_reads"] == dict((i, 1) for i in fleet["ids"])
    assert "on 300 phones: 0 installed, %d had it already, %d failed" % (len(need) + len(fleet["already"]), cannot) \
        in flat(again)
    with report_csv.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == REPORT_FIELDS
    assert [row[0] for row in rows[1:]] == fleet["ids"]
    statuses = dict((row[0], row[5]) for row in rows[1:])
    assert set(statuses[i] for i in need + fleet["already"]) == {"already"}
    assert set(statuses[i] for i in fleet["newer"]) == {"failed"}


def test_the_guard_counts_the_phones_start_stopped_would_start_and_refuses_before_any_write(emulator, tmp_path):
    down, up = with_status(emulator, SHUT_DOWN, 3), with_status(emulator, STARTED, 2)
    report = tmp_path / "apps.json"
    target = ["-e", "package=%s" % TIKTOK, "-e", json.dumps({"phone_ids": down + up}), "-e", "start_stopped=true",
              "-e", "report_file=%s" % report]
    run = runbook(emulator, *target, "-e", "max_changes=4")
    assert run.rc == 2, run.text
    refusal = "5 phones would change (2 installs on running phones, and 3 shut-down phones started for it and " \
              "stopped again), more than max_changes=4; nothing was changed. Check the target, then allow it with " \
              "-e max_changes=5"
    assert refusal in flat(run)
    assert writes(emulator) == NO_WRITES
    # The refusal is said once, by the guard; the run then fails pointing at it, and the report says it once.
    assert len(fatal(run, "more than max_changes=4")) == 1, run.out
    assert fatal(run, "The run stopped before any install was sent: see the error above.")
    written = json.loads(report.read_text())
    assert written["msg"] == refusal and written["phones"] == [] and written["error"] == refusal


def test_a_phone_the_install_failed_on_is_named_before_phones_it_was_never_sent_to(emulator):
    down, up = with_status(emulator, SHUT_DOWN, 22), with_status(emulator, STARTED, 1)
    emulator.configure_apps(fail={"install": up})  # the install ends with installStatus 2
    run = runbook(emulator, "-e", "package=%s" % TIKTOK, "-e", "version=%s" % WANTED,
                  "-e", json.dumps({"phone_ids": down + up, "poll_interval": 1}))
    assert run.rc == 2, run.text
    assert emulator.stats()["app_installs"] == {up[0]: 1}
    text = flat(run)
    # The summary names 20 failed phones: the one the install was sent to first, though it was targeted last.
    sent = "(%s): [the install was sent] the install of" % up[0]
    assert sent in text and text.index(sent) < text.index("22 phones: 42002")
    assert "... and 3 more" in text


def test_start_stopped_installs_on_shut_down_phones_and_leaves_them_shut_down(emulator, tmp_path):
    emulator.configure_power(boot_reads=1)
    down, up = with_status(emulator, SHUT_DOWN, 5), with_status(emulator, STARTED, 3)
    has_it, install_fails, busy = down[3], down[2], down[4]
    emulator.set_apps({has_it: tiktok(NEWER), up[2]: tiktok(NEWER)})
    emulator.configure_apps(fail={"install": [install_fails]})  # the install ends with installStatus 2
    emulator.configure_power(busy=[busy])  # a task runs on it: its stop is refused (43005)
    report = tmp_path / "apps.json"
    run = runbook(emulator, "-e", "package=%s" % TIKTOK, "-e", "version_id=%s" % NEWER_ID, "-e", "start_stopped=true",
                  "-e", json.dumps({"phone_ids": down + up, "poll_interval": 1, "report_file": str(report)}))
    assert run.rc == 2, run.text
    needed = [i for i in down + up if i not in (has_it, up[2])]
    assert emulator.stats()["app_installs"] == dict((i, 1) for i in needed)
    # Each shut-down phone that needed it was started once and stopped once, the failed install's too; the
    # others were never started, and the running phones never stopped.
    power = emulator.stats()["power_writes"]
    assert power == dict((i, 2) for i in down if i != has_it), power
    truth = emulator.true_status()
    assert [truth[i] for i in down] == [SHUT_DOWN, SHUT_DOWN, SHUT_DOWN, SHUT_DOWN, STARTED]
    assert [truth[i] for i in up] == [STARTED] * 3
    assert [r["installStatus"] for i in down[:2] + up[:2] for r in emulator.apps_of(i)] == [1] * 4
    text = flat(run)
    assert "8 phones: 6 need it (4 of them shut down: to be started for it, then stopped again), 2 have it " \
           "already, 0 cannot take it" in text
    assert "4 shut-down phones were started for the install: 3 stopped again, 1 STILL RUNNING" in text
    assert "(%s): [the install was sent] the install of %s failed on the phone (installStatus 2)" % (
        install_fails, NEWER) in text
    assert "1 of 8 phones was not given %s version_id %s, and 6 were sent the install; 1 phone started for the " \
           "install is still running (billed by the minute): %s; stop it with geelark.cloudphone.power " \
           "-e state=stopped" % (TIKTOK, NEWER_ID, busy) in text
    written = json.loads(report.read_text())
    power_of = dict((p["id"], p["power"]) for p in written["phones"])
    assert power_of == dict([(i, "started_and_stopped") for i in down[:3]] + [(has_it, ""), (busy, "left_running")]
                            + [(i, "") for i in up])
    assert written["left_running"] == [busy] and sorted(written["started_ids"]) == sorted(down[:3] + [busy])


def test_check_mode_says_it_is_a_plan_and_writes_nothing_whatever_python_the_inventory_gives_localhost(
        emulator, inventory_file, tmp_path):
    fleet = inventory_file(api_url=emulator.url, keyed_groups=[{"key": "geelark_group.name", "prefix": "group"}])
    # An explicit localhost whose interpreter does not exist: the runbook's modules run with ansible-playbook's own.
    local = tmp_path / "local.ini"
    local.write_text("localhost ansible_connection=local ansible_python_interpreter=/nonexistent/python\n")
    warmup = [p["id"] for p in emulator.state.phones.values() if p["group"]["name"] == "warmup"]
    truth = emulator.true_status()
    started = [i for i in warmup if truth[i] == STARTED]
    down = [i for i in warmup if truth[i] == SHUT_DOWN]
    newer = started[3]  # 42004: GeeLark refuses a downgrade
    emulator.set_apps(dict([(i, tiktok(WANTED)) for i in started[:3]] + [(newer, tiktok(NEWER))]))
    report = tmp_path / "plan.json"
    run = runbook(emulator, "-i", fleet, "-i", str(local), "-e", "phones=group_warmup:!status_expired:!status_starting",
                  "--check", "-e", "package=%s" % TIKTOK, "-e", "version=%s" % WANTED, "-e", "start_stopped=true",
                  "-e", "max_changes=1000", "-e", "report_file=%s" % report)
    assert run.rc == 2, run.text
    assert "/nonexistent/python" not in run.text
    assert writes(emulator) == NO_WRITES
    phones, would = len(started) + len(down), len(started) + len(down) - 4
    text = flat(run)
    assert "Plan (check mode, nothing was changed): install %s %s on %d phones: %d would be installed, 3 have it " \
           "already, 1 would fail" % (TIKTOK, WANTED, phones, would) in text
    assert "%d shut-down phones would be started for the install and stopped again afterwards." % len(down) in text
    message = "Plan (check mode, nothing was sent): 1 of %d phones would not be given %s %s, and %d would be sent " \
              "the install: see the summary above, and every phone in %s." % (phones, TIKTOK, WANTED, would, report)
    assert message in text
    assert "were sent the install" not in text
    written = json.loads(report.read_text())
    assert written["check_mode"] is True and written["msg"] == message
    assert written["counts"] == {"would_install": would, "already": 3, "failed": 1}
    status = dict((p["id"], p["status"]) for p in written["phones"])
    assert sorted(i for i in status if status[i] == "would_install") == sorted(started[4:] + down)
    assert status[newer] == "failed"
    assert sorted(p["id"] for p in written["phones"] if p["power"] == "would_start_and_stop") == sorted(down)
    assert sorted(status) == sorted(started + down)


def test_absent_removes_the_app_only_where_it_is_installed(emulator):
    up, expired = with_status(emulator, STARTED, 4), with_status(emulator, EXPIRED, 1)
    emulator.set_apps({up[0]: tiktok(WANTED), up[1]: tiktok(NEWER), expired[0]: tiktok(WANTED)})
    run = runbook(emulator, "-e", "package=%s" % TIKTOK, "-e", "state=absent",
                  "-e", json.dumps({"phone_ids": up + expired, "poll_interval": 1}))
    assert run.rc == 2, run.text
    assert emulator.stats()["app_uninstalls"] == {up[0]: 1, up[1]: 1}
    assert emulator.stats()["app_installs"] == {} and [emulator.apps_of(i) for i in up] == [[]] * 4
    text = flat(run)
    # The IDs of the phones that have it are on a line of their own, not after the reasons the others cannot.
    assert '"uninstall %s from 5 phones: 2 have it (to remove), 2 do not have it, 1 cannot take it (1 expired)", ' \
           '"Have it (to remove): %s, %s"' % (TIKTOK, up[0], up[1]) in text
    assert "uninstall %s from 5 phones: 2 removed, 2 did not have it, 1 failed" % TIKTOK in text
    assert "1 of 5 phones could not be cleared of %s, and 2 were sent the uninstall: see the summary above." % (
        TIKTOK) in text


@pytest.mark.parametrize("args, message", [
    ([], "Give -e package=NAME, the app's package name exactly as Android knows it"),
    (["-e", "package=%s" % TIKTOK, "-e", "version=36.5.4", "-e", "version_id=%s" % NEWER_ID],
     "Give version or version_id, not both"),
    (["-e", "package=%s" % TIKTOK, "-e", "state=removed"],
     "Give -e state=present (the default) or absent (got removed)"),
    (["-e", "pakage=%s" % TIKTOK], "pakage is not a variable of the apps runbook: did you mean package?"),
])
def test_a_bad_input_fails_before_any_request(emulator, args, message):
    run = runbook(emulator, *args, "-e", "phone_ids=601876382020000000")
    assert run.rc == 2, run.text
    assert message in flat(run)
    assert len(fatal(run, message)) == 1, run.out  # said once, by the check that refused it
    assert emulator.stats()["total_requests"] == 0


def test_a_report_file_in_a_missing_directory_is_refused_before_any_request(emulator, tmp_path):
    report = tmp_path / "nodir" / "apps.json"
    run = runbook(emulator, "-e", "package=%s" % TIKTOK, "-e", "phone_ids=601876382020000000",
                  "-e", "report_file=%s" % report)
    assert run.rc == 2, run.text
    message = "report_file %s is to be written in %s, which is not a directory" % (report, report.parent)
    assert len(fatal(run, message)) == 1, run.out
    assert emulator.stats()["total_requests"] == 0
    assert not report.parent.exists()


@pytest.mark.parametrize("name", ["apps", "notes.txt"])
def test_a_refused_report_file_name_is_never_written(emulator, tmp_path, name):
    report = tmp_path / name
    run = runbook(emulator, "-e", "package=%s" % TIKTOK, "-e", "phone_ids=601876382020000000",
                  "-e", "report_file=%s" % report)
    assert run.rc == 2, run.text
    assert "report_file must name a file ending in .json" in flat(run)
    assert emulator.stats()["total_requests"] == 0
    assert not report.exists()


def test_one_phone_not_given_the_app_is_said_in_the_singular(emulator):
    (down,) = with_status(emulator, SHUT_DOWN, 1)
    run = runbook(emulator, "-e", "package=%s" % TIKTOK, "-e", "version=%s" % WANTED, "-e", "phone_ids=%s" % down)
    assert run.rc == 2, run.text
    assert "1 of 1 phone was not given %s %s, and 0 were sent the install" % (TIKTOK, WANTED) in flat(run)


def test_a_version_read_as_a_number_is_named_as_one_in_the_message(emulator):
    run = runbook(emulator, "-e", json.dumps({"package": TIKTOK, "version": 36.10, "phone_ids": "601876382020000000"}))
    assert run.rc == 2, run.text
    text = flat(run).replace('\\"', '"')  # ansible-core before 2.19 shows the message JSON-escaped
    assert 'quote it in JSON and YAML ("36.10"; unquoted, 36.10 is the number 36.1), not the number 36.1.' in text
    assert emulator.stats()["total_requests"] == 0
