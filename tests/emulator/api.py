# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a route handler is given and how it refuses a request with an API code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional

if TYPE_CHECKING:
    from .state import EmulatorState


class ApiFailure(Exception):
    """A refusal in GeeLark's envelope: HTTP 200 with this code and msg."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


class ApiCall(NamedTuple):
    """One authenticated API request, as its handler sees it (called with the state's lock held)."""

    state: EmulatorState
    body: Dict[str, Any]
    fault: Optional[Dict[str, Any]]  # the queued fault this request plays, for kinds that shape the answer


def required_ids(body: Dict[str, Any], limit: int) -> List[str]:
    """The request's "ids": a non-empty list of strings, at most `limit` of them (40004 otherwise)."""
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ApiFailure(40004, "ids is required and must be a list of strings")
    if len(ids) > limit:
        raise ApiFailure(40004, "ids must not hold more than %d entries" % limit)
    return ids
