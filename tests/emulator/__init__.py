# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A GeeLark Open API emulator on 127.0.0.1, for tests, the demo and the benchmark.

Use it through geelark_emulator.py (the one public face: `Emulator`, the path constants, `make_fleet`,
...), in process (`with Emulator(phones=10, token="t") as emu: emu.url`) or as a program
(`python tests/emulator/geelark_emulator.py --phones 300 --token demo-token`; `--help` lists the API
routes, the control routes under /_emulator/ and the fault kinds, from their tables).

One module per concern:
  fleet.py      the generated phones (deterministic for a seed)
  state.py      EmulatorState: the fleet, test switches and counters, under one lock
  api.py        ApiCall (what a route handler gets), ApiFailure (an API code), required_ids
  routes.py     ROUTES: the API route table, one entry per endpoint
  phones.py     phone/list and phone/status;  power.py  phone/start and phone/stop
  apps.py       app/list, installable/list, teamApp/list, install, uninstall (how they behave);
  app_state.py  AppBook: the catalogue, the team library, app write settings, pending row changes
  adb.py        adb/setStatus, adb/getData and shell/execute (how they behave)
  device.py     DeviceBook: each phone's ADB switch, glogin code and files; the device shell (a small sh)
  adb_daemon.py the phones' ADB daemon: the ADB wire protocol on 127.0.0.1, one port per phone
  callbacks.py  callback/get and callback/set, and send_callback (signs like GeeLark)
  auth.py       the token and signature schemes, and the secret-leak counter
  faults.py     FAULT_KINDS: each fault kind's keys, checks, help and player; the fault queue
  control.py    CONTROLS: the /_emulator/ control routes, one entry per route
  server.py     the HTTP handler: counting, faults, auth and dispatch by the two tables
  emulator.py   Emulator: the server and the ADB daemon in background threads, with direct doors for tests
  cli.py        the command line (also `python -m ...tests.emulator`)

Adding an API route is one handler and one entry. The handler gets an ApiCall (the state, the JSON
body, the queued fault this request plays) with the state's lock held; what it returns is the
envelope's "data", an ApiFailure it raises is the envelope's code and msg:

    # phones.py (or a new module for a new API area)
    def phone_detail(call: ApiCall) -> Dict[str, Any]:
        phone = call.state.phones.get(call.body.get("id"))
        if phone is None:
            raise ApiFailure(42001, "env not found")
        return {"id": phone["id"], "serialName": phone["serialName"]}

    # routes.py, in ROUTES
    Route("/open/v1/phone/detail", phone_detail, "one phone's details"),

The route is then authenticated, counted, rate limited, open to faults ("path" may name it) and
listed by --help. A control route is the same: a handler `(state, body) -> answer` and a Control
entry in control.py's CONTROLS, naming the keys it takes (others are refused with 400).
"""
