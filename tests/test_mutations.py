# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Each protection the collection relies on is removed in turn, and the tests named for it must then fail.

A test that still passes with its protection removed protects nothing. Each entry of MUTATIONS names
the file, the exact text it changes, what it puts there, and the tests (pytest node IDs) that must
catch it. First every target is checked to be in the code exactly once and every named test to
exist, so a refactoring that moves a protection makes this file fail naming the stale entry instead
of silently testing nothing. Then the mutations are applied, one at a time, to a copy of the tree
(never the working tree: other people and processes use it meanwhile), and only the named tests run
there, with -x.

Run by `make mutations` and as a step of `make test`; it is not under tests/unit, so neither
`ansible-test units` nor the ansible-core matrix runs it (it tests the tests, once is enough).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import typing as t

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE_UTILS = "plugins/module_utils/"
UNIT = "tests/unit/plugins/module_utils/"
INVENTORY_TESTS = "tests/unit/plugins/inventory/test_geelark.py"
ADB_LINK = "plugins/plugin_utils/_adb_link.py"
ADB_BROKER = "plugins/plugin_utils/_adb_broker.py"
PLUGIN_UTILS_TESTS = "tests/unit/plugins/plugin_utils/"


class Mutation(t.NamedTuple):
    name: str  # the protection that is removed
    path: str  # the file, relative to the tree
    old: str  # the exact text, which must occur once
    new: str  # what replaces it
    tests: tuple[str, ...]  # pytest node IDs, at least one of which must fail


MUTATIONS = (
    # Batching and paging: the API's limits and a listing that does not add up.
    Mutation("status calls carry at most 100 IDs", MODULE_UTILS + "_phones.py",
             "MAX_IDS_PER_CALL = 100", "MAX_IDS_PER_CALL = 101",
             (UNIT + "test__phones.py::test_status_batches_never_exceed_100_ids",)),
    Mutation("status merged by ID, not by position", MODULE_UTILS + "_phones.py",
             '        report.phones[phone["id"]] = phone\n',
             '        report.phones[list(asked)[len(report.phones) % len(asked)]] = phone\n',
             (UNIT + "test__phones.py::test_status_is_merged_by_id_not_by_position",)),
    Mutation("an ID answered in neither status list becomes a failure", MODULE_UTILS + "_phones.py",
             "if phone_id not in report.phones and phone_id not in report.failures:", "if False:",
             (UNIT + "test__phones.py::test_an_id_missing_from_both_answer_lists_becomes_a_failure",)),
    Mutation("a page shorter than the total allows is refused", MODULE_UTILS + "_phones.py",
             'if len(page["items"]) != expected:', "if False:",
             (UNIT + "test__phones.py::test_a_short_page_is_detected",
              UNIT + "test__phones.py::test_a_short_page_is_detected_also_by_fleet_status")),
    Mutation("a malformed status entry is a typed error", MODULE_UTILS + "_phones.py",
             "    if not _is_int(status):\n", "    if False:\n",
             (UNIT + "test__phones.py::test_malformed_status_answers_raise_a_typed_error",)),
    Mutation("a phone on two pages is refused", MODULE_UTILS + "_phones.py",
             'if item["id"] in self.seen:', "if False:",
             (UNIT + "test__phones.py::test_a_pager_that_repeats_page_1_fails_after_reading_page_2_of_each_attempt",)),
    # Reads are retried, writes never blindly.
    Mutation("a read whose answer was lost is retried", MODULE_UTILS + "_transport.py",
             "return _Retry(TransportError(message, **details), retry_after, outcome=outcome)",
             "return TransportError(message, **details)",
             (UNIT + "test__transport.py::test_transient_faults_are_retried_until_success",)),
    Mutation("a write whose answer was lost is never sent again", MODULE_UTILS + "_transport.py",
             '    if write:\n        details["advice"]', '    if False:\n        details["advice"]',
             (UNIT + "test__transport.py::test_a_write_whose_answer_was_lost_is_never_sent_again",)),
    Mutation("a write answered 50000 is uncertain, not sent again", MODULE_UTILS + "_transport.py",
             "            if write:\n                error.uncertain = True",
             "            if False:\n                error.uncertain = True",
             (UNIT + "test__transport.py::test_a_write_refused_by_http_429_or_50000_is_not_sent_again",)),
    Mutation("an authentication error is not retried", MODULE_UTILS + "_errors.py",
             "RETRYABLE_CODES = frozenset((40007, 40017, 47002, 50000))",
             "RETRYABLE_CODES = frozenset((40007, 40017, 47002, 50000, 40003))",
             (UNIT + "test__transport.py::test_bad_credentials_fail_fast_with_40003_and_advice",)),
    Mutation("a lost write answer is read back before anything is sent again", MODULE_UTILS + "_write.py",
             "moved = rules.read_back(result, list(settle))", "moved = set()",
             (UNIT + "test__write.py"
              "::test_a_lost_answer_is_read_back_and_only_the_targets_that_did_not_move_are_sent_again",)),
    Mutation("a write that may have been applied is never unchanged", MODULE_UTILS + "_write.py",
             "return bool(self.changed) or bool(self.uncertain_ids())", "return bool(self.changed)",
             (UNIT + "test__write.py::test_only_uncertain_targets_still_make_a_change",)),
    # Secrets.
    Mutation("credentials masked in quoted answers", MODULE_UTILS + "_transport.py",
             'text = text.replace(form, "********")', "pass",
             (UNIT + "test__transport.py::test_secrets_are_redacted_from_body_excerpts",
              UNIT + "test__transport_messages.py::test_an_answer_that_quotes_a_credential_is_masked")),
    Mutation("live-view URLs masked in quoted answers (mask_urls)", MODULE_UTILS + "_transport.py",
             "    if not text:\n        return text\n    text = _URL_VALUE_RE",
             "    if True:\n        return text\n    text = _URL_VALUE_RE",
             (UNIT + "test__transport_hostile.py::test_an_answer_excerpt_never_shows_a_live_view_url",
              UNIT + "test__transport_hostile.py::test_an_api_message_never_shows_a_url_token")),
    Mutation("the token is no_log in every module", MODULE_UTILS + "_settings.py",
             'Option("token", "str", env="GEELARK_TOKEN", no_log=True)',
             'Option("token", "str", env="GEELARK_TOKEN", no_log=False)',
             ("tests/unit/plugins/modules/test_geelark_phone_status.py"
              "::test_returns_every_phone_in_request_order_with_names",)),
    Mutation("the API key never leaves in a header", MODULE_UTILS + "_auth.py",
             'return {"appId": app_id, "traceId": trace_id,',
             'return {"apiKey": api_key, "appId": app_id, "traceId": trace_id,',
             (UNIT + "test__transport.py::test_signature_auth_is_accepted_and_the_key_never_leaves",)),
    Mutation("TLS certificates are verified", MODULE_UTILS + "_transport.py",
             "verify=self.validate_certs,", "verify=False,",
             ("tests/unit/plugins/module_utils/test__transport_tls.py"
              "::test_an_untrusted_certificate_fails_fast_and_says_so",)),
    Mutation("proxy passwords never reach host variables", "plugins/inventory/geelark.py",
             'if isinstance(proxy, dict) and "password" in proxy:', "if False:",
             (INVENTORY_TESTS + "::test_host_variables_are_complete_and_hold_no_proxy_password",)),
    # The inventory's host names and the shared rate budget.
    Mutation("host names are unique (host_names)", "plugins/inventory/geelark.py",
             "            if name not in taken:\n", "            if True:\n",
             (INVENTORY_TESTS + "::test_host_names_rule",)),
    Mutation("the budget file is never followed through a link (O_NOFOLLOW)", MODULE_UTILS + "_ratelimit.py",
             'getattr(os, "O_NOFOLLOW", 0)', "0",
             (UNIT + "test__transport_hostile.py"
              "::test_a_planted_budget_file_is_left_untouched_and_the_run_warns_and_goes_on[symlink]",)),
    Mutation("no sliding window holds more than the budget", MODULE_UTILS + "_ratelimit.py",
             "    if len(grants) >= per_minute:\n", "    if False:\n",
             (UNIT + "test__ratelimit.py::test_no_sliding_window_ever_holds_more_than_the_budget",)),
    # Commands on phones: the shell API's writes and the adb connection's broker.
    Mutation("a shell command is a write: never sent again after a lost answer", MODULE_UTILS + "_client.py",
             'SHELL_PATH, {"id": phone_id, "cmd": cmd}, write=True)', 'SHELL_PATH, {"id": phone_id, "cmd": cmd})',
             ("tests/unit/plugins/modules/test_geelark_phone_shell.py"
              "::test_a_lost_answer_leaves_the_command_run_exactly_once_on_the_phone",)),
    Mutation("a write that could not connect is not reported as possibly applied", MODULE_UTILS + "_transport.py",
             "            if not _never_sent(exc):\n", "            if True:\n",
             (UNIT + "test__transport.py::test_a_write_that_could_not_connect_was_not_sent_and_is_certain",)),
    Mutation("the broker's socket directory is never a planted link", ADB_LINK,
             "    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):\n", "    if False:\n",
             (PLUGIN_UTILS_TESTS + "test__adb_link.py::test_a_planted_symlink_is_refused",)),
    Mutation("the broker's socket directory is never open to others", ADB_LINK,
             "    if info.st_mode & 0o077:\n", "    if False:\n",
             (PLUGIN_UTILS_TESTS + "test__adb_link.py::test_a_directory_others_may_enter_is_refused",)),
    Mutation("glogin codes never leave the broker", ADB_BROKER,
             "return mask_secrets(text, tuple(self.broker.client.secrets) + tuple(self.broker.codes))",
             "return text",
             (PLUGIN_UTILS_TESTS
              + "test__adb_broker.py::test_answers_over_the_socket_mask_the_glogin_codes_and_the_token",)),
    Mutation("a command refused by a lapsed login runs once more after a new login", ADB_BROKER,
             "                if LOGIN_REFUSAL in output and attempt == 1:\n", "                if False:\n",
             (PLUGIN_UTILS_TESTS + "test__adb_broker.py::test_a_lapsed_login_is_renewed_and_the_command_runs_once",)),
    Mutation("a play's connection info is read at once", ADB_BROKER,
             "dict.fromkeys(list(play_ids) + waiting)", "dict.fromkeys(waiting)",
             (PLUGIN_UTILS_TESTS + "test__adb_broker.py::test_one_getdata_request_reads_every_phone_of_the_play",)),
    Mutation("ADB is turned on only for phones whose hosts ask for it", ADB_BROKER,
             "if r.get(\"code\") == ADB_OFF and i not in self._turned_on and i in asked]",
             "if r.get(\"code\") == ADB_OFF and i not in self._turned_on]",
             (PLUGIN_UTILS_TESTS + "test__adb_broker.py"
              "::test_enable_turns_adb_on_only_for_phones_whose_hosts_ask_those_asking_together_in_one_request",)),
    Mutation("phone_fetch never writes outside dest", "plugins/action/phone_fetch.py",
             "os.path.commonpath([inside, path]) != inside:", "False:",
             ("tests/unit/plugins/action/test_phone_fetch.py::test_a_src_that_climbs_out_of_dest_fails_before_anything_runs",)),
    Mutation("refused credentials stop the run's reads", ADB_BROKER,
             "        if self._refused_run is not None:\n", "        if False:\n",
             (PLUGIN_UTILS_TESTS
              + "test__adb_broker.py::test_refused_credentials_fail_every_phone_of_the_run_with_one_request",)),
)

IDS = [re.sub(r"\W+", "-", m.name).strip("-") for m in MUTATIONS]
PYTEST = (sys.executable, "-m", "pytest", "--import-mode=importlib", "-q", "-p", "no:cacheprovider")


def _test_function(node_id):
    """(file, test function) of a node ID such as tests/x.py::test_y[param]."""
    path, _sep, test = node_id.partition("::")
    return path, re.sub(r"\[.*\]$", "", test)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=IDS)
def test_each_mutation_target_and_its_tests_exist(mutation):
    source = os.path.join(ROOT, mutation.path)
    assert os.path.isfile(source), "stale mutation %r: %s does not exist" % (mutation.name, mutation.path)
    with open(source, encoding="utf-8") as handle:
        count = handle.read().count(mutation.old)
    assert count == 1, ("stale mutation %r: the text %r occurs %d times in %s, not once; point the entry in "
                        "tests/test_mutations.py at where the protection lives now"
                        % (mutation.name, mutation.old, count, mutation.path))
    assert mutation.tests
    for node_id in mutation.tests:
        path, function = _test_function(node_id)
        assert function, "mutation %r: %r names no test function" % (mutation.name, node_id)
        with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
            assert re.search(r"^def %s\(" % re.escape(function), handle.read(), re.MULTILINE), (
                "stale mutation %r: %s has no test %s" % (mutation.name, path, function))


def _tree_files():
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
                         cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name]


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory):
    """A copy of the working tree (tracked and untracked, not ignored files), as it is right now."""
    scratch = tmp_path_factory.mktemp("mutations")
    copy = scratch / "cloudphone"
    for name in _tree_files():
        source = os.path.join(ROOT, name)
        if os.path.isfile(source) and not os.path.islink(source):
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    # The copy's tests link the collection into the temp directory (tests/conftest.py): keep that
    # link, and the rate budget, inside the scratch directory, which pytest cleans up.
    # No pytest plugin is loaded by its entry point (xdist, pytest-cov, hypothesis's): none is needed to run a
    # few named tests, and loading them would be most of each run's start.
    env = dict(os.environ, TMPDIR=str(scratch), PYTHONDONTWRITEBYTECODE="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    env.pop("PYTEST_ADDOPTS", None)
    return copy, env


def _run(tree_copy, node_ids, *options):
    copy, env = tree_copy
    return subprocess.run([*PYTEST, *options, *node_ids], cwd=copy, env=env, capture_output=True, text=True,
                          check=False, timeout=600)


def test_the_named_tests_pass_on_the_unmutated_copy(tree_copy):
    # Otherwise a failure below could come from the copy, not from the mutation.
    node_ids = sorted(set(n for m in MUTATIONS for n in m.tests))
    run = _run(tree_copy, node_ids)
    assert run.returncode == 0, "the named tests do not pass on an unmutated copy:\n" + run.stdout[-3000:]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=IDS)
def test_the_tests_catch_the_removal_of(tree_copy, mutation):
    source = tree_copy[0] / mutation.path
    original = source.read_text(encoding="utf-8")
    if original.count(mutation.old) != 1:
        pytest.fail("stale mutation %r: see test_each_mutation_target_and_its_tests_exist" % mutation.name)
    source.write_text(original.replace(mutation.old, mutation.new), encoding="utf-8")
    try:
        run = _run(tree_copy, mutation.tests, "-x")
    finally:
        source.write_text(original, encoding="utf-8")
    # 1 is "tests failed"; 2 to 5 (interrupted, internal error, usage, nothing collected) prove nothing.
    assert run.returncode == 1, ("%s: with it removed, %s exited %d (1 = a test failed):\n%s"
                                 % (mutation.name, " ".join(mutation.tests), run.returncode, run.stdout[-3000:]))
