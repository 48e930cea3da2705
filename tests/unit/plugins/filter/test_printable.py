# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.geelark.cloudphone.plugins.filter.printable import printable


@pytest.mark.parametrize("text, shown", [
    ("\x1b[2Jwiped", "\\x1b[2Jwiped"),
    ("a\r\nok: [forged]", "a\\x0d\\x0aok: [forged]"),
    ("\tbell\x07\x7f\x9b", "\\x09bell\\x07\\x7f\\x9b"),
    ("evil\u202etxt.exe\u2028", "evil\\u202etxt.exe\\u2028"),
])
def test_control_characters_are_shown_as_escapes(text, shown):
    assert printable(text) == shown


@pytest.mark.parametrize("text", ["tk-warm-01", "中文 手机", "a\\b", "emoji \U0001f468\u200d\U0001f469", ""])
def test_printable_text_is_kept_as_it_is(text):
    assert printable(text) == text


def test_none_and_numbers_become_text():
    assert printable(None) == "" and printable(42) == "42"
