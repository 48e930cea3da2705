# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A clock for tests: time passes only when the code under test sleeps, or when a test moves it."""

from __future__ import annotations


class FakeClock:
    """Call it for the time; give `sleep` to the code under test. Waits end by counts, never by the wall clock.

    `hook`, when set, runs after each sleep (a test's way to change the world between two polls).
    """

    hook = None

    def __init__(self, now=0.0):
        self.now = now
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        if self.hook is not None:
            self.hook()
