# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`make mutations`: remove each protection in a scratch copy and check that its tests then fail.

A test that still passes with its protection removed protects nothing; this proves they do not.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (what is removed, file, text, replacement, tests that must then fail)
MUTATIONS = [
    ("proxy passwords stripped from hosts and cache", "plugins/inventory/geelark.py",
     'if isinstance(proxy, dict) and "password" in proxy:', "if False:",
     "tests/unit/plugins/inventory/test_geelark.py -k 'proxy_password or cache_hit'"),
    ("no_log on the token", "plugins/module_utils/_module.py",
     'token=dict(type="str", no_log=True,', 'token=dict(type="str", no_log=False,',
     "tests/unit/plugins/modules/test_geelark_phone_status.py -k returns_every_phone"),
    ("the API key kept out of the headers", "plugins/module_utils/_auth.py",
     'return {"appId": app_id, "traceId": trace_id,',
     'return {"apiKey": api_key, "appId": app_id, "traceId": trace_id,',
     "tests/unit/plugins/module_utils/test__transport.py -k key_never_leaves"),
    ("secrets scrubbed from quoted bodies", "plugins/module_utils/_transport.py",
     'text = text.replace(secret, "********")', "pass",
     "tests/unit/plugins/module_utils/test__transport.py -k redacted"),
    ("retries on HTTP 5xx", "plugins/module_utils/_transport.py",
     "if status == 429 or status >= 500:", "if status == 429:",
     "tests/unit/plugins/module_utils/test__transport.py -k transient"),
    ("retries on rate limit codes", "plugins/module_utils/_errors.py",
     "RETRYABLE_CODES = frozenset((40007, 40017, 50000))", "RETRYABLE_CODES = frozenset((50000,))",
     "tests/unit/plugins/module_utils/test__transport.py -k transient"),
    ("no retry of auth errors", "plugins/module_utils/_errors.py",
     "RETRYABLE_CODES = frozenset((40007, 40017, 50000))", "RETRYABLE_CODES = frozenset((40007, 40017, 50000, 40003))",
     "tests/unit/plugins/module_utils/test__transport.py -k fail_fast"),
    ("TLS verification", "plugins/module_utils/_transport.py",
     "verify=self.validate_certs,", "verify=False,",
     "tests/unit/plugins/module_utils/test__transport_tls.py"),
    ("IDs answered for in neither list reported", "plugins/module_utils/_phones.py",
     "if phone_id not in report.phones and phone_id not in report.failures:", "if False:",
     "tests/unit/plugins/module_utils/test__phones.py -k missing_from_both"),
    ("pages checked against total", "plugins/module_utils/_phones.py",
     'if len(page["items"]) != expected:', "if False:",
     "tests/unit/plugins/module_utils/test__phones.py -k short_page"),
    ("status batches of at most 100", "plugins/module_utils/_phones.py",
     "MAX_IDS_PER_CALL = 100", "MAX_IDS_PER_CALL = 101",
     "tests/unit/plugins/module_utils/test__phones.py -k never_exceed_100"),
    ("status merged by ID, not position", "plugins/module_utils/_phones.py",
     '        report.phones[phone["id"]] = phone',
     '        position = batch[len(report.phones) % len(batch)]\n'
     '        report.phones[position] = dict(phone, id=position)',
     "tests/unit/plugins/module_utils/test__phones.py -k merged_by_id"),
    ("malformed answers turned into typed errors", "plugins/module_utils/_phones.py",
     "    if not _is_int(status):\n", "    if False:\n",
     "tests/unit/plugins/module_utils/test__phones.py -k malformed_status"),
    ("rate budget per sliding window", "plugins/module_utils/_ratelimit.py",
     "if len(self._grants) < self.per_minute:", "if True:",
     "tests/unit/plugins/module_utils/test__ratelimit.py"),
]


def tracked_files():
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name]


def main():
    failures = []
    with tempfile.TemporaryDirectory() as scratch:
        copy = os.path.join(scratch, "cloudphone")
        for name in tracked_files():
            target = os.path.join(copy, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.isfile(os.path.join(ROOT, name)):
                shutil.copy2(os.path.join(ROOT, name), target)
        for what, path, old, new, tests in MUTATIONS:
            source = os.path.join(copy, path)
            with open(source) as handle:
                original = handle.read()
            if original.count(old) != 1:
                failures.append("%s: the text to remove is not in %s exactly once" % (what, path))
                continue
            with open(source, "w") as handle:
                handle.write(original.replace(old, new))
            try:
                command = [sys.executable, "-m", "pytest", "--import-mode=importlib", "-q", "-x",
                           "-p", "no:cacheprovider", *shlex.split(tests)]
                run = subprocess.run(command, cwd=copy, capture_output=True, text=True, check=False)
            finally:
                with open(source, "w") as handle:
                    handle.write(original)
            caught = run.returncode == 1
            print("%-7s %s (%s)" % ("caught" if caught else "MISSED", what, tests), flush=True)
            if not caught:
                failures.append("%s: tests exit %d\n%s" % (what, run.returncode, run.stdout[-1500:]))
    if failures:
        raise SystemExit("\n".join(failures))
    print("%d of %d removed protections were caught by the tests" % (len(MUTATIONS), len(MUTATIONS)))


if __name__ == "__main__":
    main()
