# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Value checks shared by the control routes and the fault queue."""

from __future__ import annotations

from typing import Any, Iterable


class ControlError(ValueError):
    """A control request or fault the emulator refuses (answered with HTTP 400)."""


def check_keys(what: str, body: Any, allowed: Iterable[str], required: Iterable[str] = ()) -> None:
    """Refuse a control body that is not an object, holds a key `what` does not take, or lacks a required one."""
    if not isinstance(body, dict):
        raise ControlError("%s takes a JSON object, got %r" % (what, body))
    unknown = set(body) - set(allowed)
    if unknown:
        raise ControlError("%s does not take %s; it takes: %s"
                           % (what, ", ".join(sorted(unknown)), ", ".join(sorted(allowed)) or "nothing"))
    missing = set(required) - set(body)
    if missing:
        raise ControlError("%s needs %s" % (what, ", ".join(sorted(missing))))


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
