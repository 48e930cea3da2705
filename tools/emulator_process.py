# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one way tools/ starts the GeeLark API emulator in a process of its own, and learns its URL.

The emulator program (tests/emulator/geelark_emulator.py) writes its base URL to a file once it
listens: DIR/emulator-PID.url, named by its process ID, so that no file of an earlier run is ever
taken for its answer. Its output goes to DIR/emulator.log. tools/bench.py imports `start`; the shell
scripts use it through tools/lib.sh, which runs the two commands below so that the emulator is the
shell's own child (the shell can `wait` for it):

    python tools/emulator_process.py exec DIR [emulator options...]   # becomes the emulator
    python tools/emulator_process.py wait DIR PID                     # prints its URL once it listens
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMULATOR = os.path.join(ROOT, "tests", "emulator", "geelark_emulator.py")
START_TIMEOUT = 60.0  # seconds; building a fleet of 50,000 phones on a busy machine takes a few


def url_file(workdir: str, pid: int) -> str:
    return os.path.join(workdir, "emulator-%d.url" % pid)


def wait_for_url(workdir: str, pid: int, running, timeout: float = START_TIMEOUT) -> str:
    """The URL of emulator `pid` once it listens; RuntimeError with its log if it ends or does not start in time.

    `running()` tells whether the emulator process is still there.
    """
    path = url_file(workdir, pid)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(path) as handle:
                text = handle.read()
        except FileNotFoundError:
            text = ""
        if text.endswith("\n"):  # written whole: the emulator ends the line last
            os.unlink(path)  # read; nothing else needs it
            return text.strip()
        if not running():
            raise RuntimeError("the emulator ended before it listened:\n" + _log(workdir))
        if time.monotonic() > deadline:
            raise RuntimeError("the emulator did not listen within %.0f s:\n%s" % (timeout, _log(workdir)))
        time.sleep(0.05)


def _log(workdir: str) -> str:
    try:
        with open(os.path.join(workdir, "emulator.log"), errors="replace") as handle:
            return handle.read()[-3000:]
    except OSError:
        return "(no emulator.log)"


class EmulatorProcess:
    """An emulator started by `start`; `stop()` ends it."""

    def __init__(self, proc: subprocess.Popen, url: str) -> None:
        self.proc = proc
        self.url = url

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def start(workdir: str, *options: str) -> EmulatorProcess:
    """Start the emulator with `options` (its command-line flags) and wait until it listens."""
    with open(os.path.join(workdir, "emulator.log"), "w") as log:
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "exec", workdir, *options],
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        return EmulatorProcess(proc, wait_for_url(workdir, proc.pid, lambda: proc.poll() is None))
    except BaseException:
        proc.kill()
        proc.wait()
        raise


def _alive(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "exec":
        # This process becomes the emulator: same process ID, so the URL file bears the ID its starter knows.
        os.execv(sys.executable, [sys.executable, EMULATOR, "--url-file", url_file(argv[1], os.getpid()), *argv[2:]])  # noqa: S606
    if len(argv) == 3 and argv[0] == "wait":
        pid = int(argv[2])
        try:
            print(wait_for_url(argv[1], pid, lambda: _alive(pid)))
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    print("usage: emulator_process.py exec DIR [emulator options...] | wait DIR PID", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
