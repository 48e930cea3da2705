# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The GeeLark Open API emulator's public face: every name the tests and tools use, and the program.

Run it:  python tests/emulator/geelark_emulator.py --phones 300 --token demo-token
(--help lists every option, the API routes, the /_emulator/ control routes and the fault kinds.)
In process:  `with Emulator(phones=10, token="t") as emu: emu.url`. The package's docstring
(__init__.py) maps its modules and shows how to add a route.
"""

from __future__ import annotations

import os
import sys

if not __package__:
    # Run as a script (tools/lib.sh) or imported from this folder (tools/bench.py): there is no parent
    # package, so load this folder as one under a private name for the relative imports below. No
    # sys.path entry is added, and the package's modules stay ordinary relative-import modules.
    import importlib.util

    _HERE = os.path.dirname(os.path.abspath(__file__))
    _SPEC = importlib.util.spec_from_file_location("_geelark_emulator_package", os.path.join(_HERE, "__init__.py"),
                                                   submodule_search_locations=[_HERE])
    assert _SPEC is not None and _SPEC.loader is not None  # a file location always has both
    sys.modules[_SPEC.name] = importlib.util.module_from_spec(_SPEC)
    _SPEC.loader.exec_module(sys.modules[_SPEC.name])
    __package__ = _SPEC.name  # the import system reads it for the relative imports below

from .adb import MAX_ADB_IDS
from .adb_daemon import AdbDaemon
from .api import ApiCall, ApiFailure, required_ids
from .app_state import DEFAULT_CATALOGUE, DEFAULT_TEAM_APPS, AppBook
from .apps import MAX_APP_PAGE, MAX_TEAM_APP_PAGE
from .auth import authenticate, expected_signature
from .callbacks import send_callback
from .checks import ControlError
from .cli import build_parser, main
from .control import ADB_SETTINGS, APP_SETTINGS, CONFIG_CHECKS, CONTROL_PREFIX, CONTROLS, Control
from .device import ADB_VERSIONS, SHELL_VERSIONS, Device, DeviceBook
from .emulator import Emulator
from .faults import (DRIP_DEFAULTS, FAULT_COMMON_KEYS, FAULT_KEYS, FAULT_KINDS, FAULT_ONLY_PATH, FAULT_REQUIRED,
                     FAULT_VALUE_CHECKS, FaultKind, check_fault)
from .fleet import make_fleet, make_phone
from .phones import MAX_IDS
from .power import MAX_POWER_IDS
from .routes import (ADB_GET_DATA_PATH, ADB_PATHS, ADB_ROUTES, ADB_SET_STATUS_PATH, API_PATHS, API_ROUTES,
                     APP_INSTALL_PATH, APP_INSTALLABLE_PATH, APP_LIST_PATH, APP_PATHS,
                     APP_ROUTES, APP_TEAM_PATH, APP_UNINSTALL_PATH, CALLBACK_GET_PATH, CALLBACK_SET_PATH, LIST_PATH,
                     PHONE_ROUTES, ROUTES, START_PATH, STATUS_PATH, SHELL_EXECUTE_PATH, STOP_PATH, Route)
from .server import Handler, Server
from .state import KEEP, EmulatorState

__all__ = [
    "ADB_GET_DATA_PATH", "ADB_PATHS", "ADB_ROUTES", "ADB_SETTINGS", "ADB_SET_STATUS_PATH", "ADB_VERSIONS",
    "API_PATHS", "API_ROUTES", "APP_INSTALLABLE_PATH", "APP_INSTALL_PATH", "APP_LIST_PATH", "APP_PATHS",
    "APP_ROUTES", "APP_SETTINGS", "APP_TEAM_PATH", "APP_UNINSTALL_PATH", "CALLBACK_GET_PATH", "CALLBACK_SET_PATH",
    "CONFIG_CHECKS", "CONTROLS", "CONTROL_PREFIX", "DEFAULT_CATALOGUE", "DEFAULT_TEAM_APPS", "DRIP_DEFAULTS",
    "FAULT_COMMON_KEYS", "FAULT_KEYS", "FAULT_KINDS", "FAULT_ONLY_PATH", "FAULT_REQUIRED", "FAULT_VALUE_CHECKS",
    "KEEP", "LIST_PATH", "MAX_ADB_IDS", "MAX_APP_PAGE", "MAX_IDS", "MAX_POWER_IDS", "MAX_TEAM_APP_PAGE",
    "PHONE_ROUTES", "ROUTES", "SHELL_EXECUTE_PATH", "SHELL_VERSIONS", "START_PATH", "STATUS_PATH", "STOP_PATH",
    "AdbDaemon", "ApiCall", "ApiFailure", "AppBook", "Control", "ControlError", "Device", "DeviceBook", "Emulator",
    "EmulatorState", "FaultKind", "Handler", "Route", "Server", "authenticate", "build_parser", "check_fault",
    "expected_signature", "main", "make_fleet", "make_phone", "required_ids", "send_callback",
]

if __name__ == "__main__":
    main()
