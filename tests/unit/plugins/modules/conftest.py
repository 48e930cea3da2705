# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run a module's main() in this process against the emulator, as Ansible would run it."""

from __future__ import annotations

import contextlib
import json
import sys

import pytest

from ansible.module_utils import basic

from ...conftest import API_KEY, TOKEN

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    from unittest import mock

    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()):
            yield


@pytest.fixture
def run_module(emulator, capsys, monkeypatch):
    """run_module(main, **args): the module's result, checked to hold no secret and to match its exit code.

    Unless the args say otherwise the module talks to the emulator with its token; an arg given as None
    is left out, as when a task omits it.
    """
    for name in ("GEELARK_TOKEN", "GEELARK_APP_ID", "GEELARK_API_KEY", "GEELARK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    # Once controller code is imported (the inventory tests do), ansible-core 2.19 sends module warnings
    # to the controller's display instead of the result; a module run by Ansible never sees that.
    internal = sys.modules.get("ansible.module_utils._internal")
    if internal is not None and hasattr(internal, "is_controller"):
        monkeypatch.setattr(internal, "is_controller", False)

    def runner(main, **args):
        args.setdefault("api_url", emulator.url)
        args.setdefault("retry_backoff", 0.01)
        if "app_id" not in args:
            args.setdefault("token", TOKEN)
        args = dict((k, v) for k, v in args.items() if v is not None)
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exit_info:
                main()
        result = json.loads(capsys.readouterr().out)
        # ansible-core 2.22+ hands the no_log values to the controller in this key, which masks them
        # in everything it shows and drops the key; no other part of the answer may hold a secret.
        result.pop("_ansible_new_secrets", None)
        text = json.dumps(result)
        for secret in (TOKEN, API_KEY, emulator.state.live_view_secret):
            assert secret not in text
        assert (exit_info.value.code == 0) == (not result.get("failed"))
        return result

    return runner


def warning_texts(result):
    """The module's warnings as text (ansible-core 2.19 returns them as structured events)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
