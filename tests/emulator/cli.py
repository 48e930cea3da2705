# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The command line: run the emulator in the foreground; --help lists the API routes and the controls."""

from __future__ import annotations

import argparse
import textwrap
from typing import List, Optional, Sequence

from .control import CONTROL_PREFIX, CONTROLS
from .emulator import Emulator
from .faults import FAULT_KINDS
from .routes import ROUTES

_WIDTH = 116


def _wrap(first: str, indent: int) -> List[str]:
    return textwrap.wrap(first, _WIDTH, subsequent_indent=" " * indent, break_on_hyphens=False)


def _epilog() -> str:
    """The routes and controls, from their tables, so --help never falls behind them."""
    lines = ["control endpoints (no auth, loopback only; JSON bodies; an unknown key is refused with 400):"]
    for control in CONTROLS:
        text = "  ".join(part for part in (control.usage, control.help) if part)
        lines += _wrap("  %-4s %-25s %s" % (control.method, CONTROL_PREFIX + control.name, text), 33)
        if control.name == "faults":
            for name, kind in FAULT_KINDS.items():
                lines += _wrap("%s%-7s %s" % (" " * 35, name if len(name) <= 7 else name + " ", kind.help), 43)
    lines += ["", "API endpoints (POST, authenticated like GeeLark's; --token, or --app-id with --api-key):"]
    for route in ROUTES:
        lines += _wrap("  %-29s %s" % (route.path, route.summary), 32)
    # argparse fills in %(prog)s; a per cent sign of the tables must stay one.
    lines.append("Example:  %(prog)s --phones 300 --token demo-token --url-file /tmp/geelark-url")
    return "\n".join(line.replace("%", "%%") for line in lines[:-1]) + "\n" + lines[-1] + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="A GeeLark Open API emulator on 127.0.0.1 for trying playbooks safely: a deterministic "
                    "fleet of phones behind /open/v1/phone/list, /status, /start and /stop, their apps "
                    "behind /open/v1/app/list, /installable/list, /install and /uninstall, and their shells "
                    "behind /open/v1/shell/execute and ADB (/open/v1/adb/setStatus and /getData hand out "
                    "ports on 127.0.0.1 where the phones speak the ADB protocol, glogin included).",
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phones", type=int, default=300, help="phones in the fleet (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1,
                        help="seed of the fleet's statuses, tags and device data (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--token", help="the Bearer token the API accepts (GEELARK_TOKEN)")
    parser.add_argument("--app-id", help="the app ID of key signature auth (GEELARK_APP_ID); goes with --api-key")
    parser.add_argument("--api-key", help="the API key of key signature auth (GEELARK_API_KEY)")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds added to every API answer (default: %(default)s)")
    parser.add_argument("--rate-limit", type=int, default=0,
                        help="requests per minute per API path before error 40007 (default: 0, no limit)")
    parser.add_argument("--max-in-flight", type=int, default=0,
                        help="answer 47002 (too many concurrent requests) above this many API requests in flight "
                             "(default: 0, no cap)")
    parser.add_argument("--url-file", help="write the base URL (http://127.0.0.1:PORT) to this file once listening")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    emulator = Emulator(phones=args.phones, token=args.token, app_id=args.app_id, api_key=args.api_key,
                        latency=args.latency, rate_limit=args.rate_limit, seed=args.seed, port=args.port,
                        max_in_flight=args.max_in_flight)
    if args.url_file:
        with open(args.url_file, "w") as handle:
            handle.write(emulator.url + "\n")
    emulator.adb.start()  # the phones' ADB ports, opened as adb/getData hands them out
    print("GeeLark emulator with %d phones listening on %s" % (args.phones, emulator.url), flush=True)
    try:
        emulator.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.adb.stop()
        emulator.server.server_close()
