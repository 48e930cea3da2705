# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.geelark.cloudphone.plugins.filter.counted import counted


@pytest.mark.parametrize("value, shown", [
    (1, "1 phone"), (0, "0 phones"), (2, "2 phones"), ("1", "1 phone"), (" 12 ", "12 phones"),
    (["601876382020062634"], "1 phone"), ([], "0 phones"), ({"a": 1, "b": 2}, "2 phones"),
])
def test_the_noun_is_singular_only_for_one(value, shown):
    assert counted(value, "phone") == shown


def test_an_irregular_plural_is_given():
    assert counted(1, "batch", "batches") == "1 batch" and counted(3, "batch", "batches") == "3 batches"


def test_text_that_is_not_a_number_is_refused():
    with pytest.raises(ValueError):
        counted("many", "phone")
