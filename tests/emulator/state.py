# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The emulator's state: the fleet, the test switches and the counters, shared by the handler threads."""

from __future__ import annotations

import collections
import random
import threading
import time
from typing import TYPE_CHECKING, Any, Counter, DefaultDict, Deque, Dict, List, Optional, Set, Tuple

from .app_state import AppBook
from .checks import is_whole
from .device import DeviceBook
from .fleet import Phone, make_phone

if TYPE_CHECKING:
    from .adb_daemon import AdbDaemon

KEEP = object()  # "not given": a control setting that stays as it is


class EmulatorState:
    """Fleet, switches and counters, shared by the handler threads under one lock."""

    def __init__(self, phones: List[Phone], token: Optional[str] = None, app_id: Optional[str] = None,
                 api_key: Optional[str] = None, latency: float = 0.0, rate_limit: int = 0, seed: int = 1,
                 max_in_flight: int = 0) -> None:
        self.lock = threading.Lock()
        self.phones = collections.OrderedDict((p["id"], p) for p in phones)
        self.token = token
        self.app_id = app_id
        self.api_key = api_key
        self.latency = latency
        self.rate_limit = rate_limit
        self.max_in_flight = max_in_flight  # GeeLark's concurrency cap: above it, 47002 (0: none)
        self.rng = random.Random(seed)
        self.faults: Deque[Dict[str, Any]] = collections.deque()
        # Pending status changes: timed ones [(when, id, status)], and per phone, read-counted ones
        # [[reads_left, status], ...] that fire on that phone's status reads.
        self.transitions: List[Tuple[float, str, int]] = []
        self.read_transitions: DefaultDict[str, List[List[int]]] = collections.defaultdict(list)
        self.next_index = len(phones)
        # Power: how many status reads a boot and a stop take, busy phones, scripted refusals.
        self.boot_reads = 2
        self.stop_reads = 1
        self.busy: Set[str] = set()
        self.refuse: Dict[str, Dict[str, int]] = {"start": {}, "stop": {}}
        self.live_view_secret = "lv%032x" % random.Random(seed * 7 + 3).getrandbits(128)
        self.callback_url: Optional[str] = None  # the account's one webhook URL (callback/set)
        # Apps: the catalogue, the team library, app write settings and pending row changes (apps.py);
        # each phone's installed apps are its "apps" rows. Like the fleet, they outlive reset().
        self.app_book = AppBook()
        # ADB and the shell: each phone's device (ADB switch, glogin code, files) and the ADB settings
        # (device.py); the daemon serving the phones' ADB ports sets itself here (adb_daemon.py).
        self.devices = DeviceBook(seed)
        self.adb_daemon: Optional[AdbDaemon] = None
        # Phones created `starting` boot like started ones: counted from their first status read, so
        # a boot_reads set before that read applies (see count_status_read).
        self.cold_boot = set(phone_id for phone_id, phone in self.phones.items() if phone.get("status") == 1)
        self.reset()

    def reset(self):
        """Zero the counters, drop queued faults and put the pager back to telling the truth."""
        self.reset_stats()
        self.pager_repeat = False  # serve page 1's items for every page
        self.pager_total: Optional[int] = None  # the total claimed on every list answer (None: the true one)

    def set_pager(self, repeat: Any = KEEP, total: Any = KEEP) -> None:
        """Make the list endpoint lie, until reset; a setting not given stays as it is (both checked first)."""
        if repeat is not KEEP and not isinstance(repeat, bool):
            raise ValueError("repeat must be true or false, got %r" % (repeat,))
        if total is not KEEP and total is not None and not (is_whole(total) and total >= 0):
            raise ValueError("total must be a whole number of at least 0 or null, got %r" % (total,))
        if isinstance(repeat, bool):  # given (checked above)
            self.pager_repeat = repeat
        if total is not KEEP:
            self.pager_total = total

    def rename(self, names):
        """Give phones new serial names, any text (checked in full before any is changed)."""
        if not isinstance(names, dict) or not all(isinstance(n, str) or n is None for n in names.values()):
            raise ValueError("names must map phone IDs to text (or null), got %r" % (names,))
        missing = [phone_id for phone_id in names if phone_id not in self.phones]
        if missing:
            raise ValueError("no phone %s in the fleet" % ", ".join(missing))
        for phone_id, name in names.items():
            self.phones[phone_id]["serialName"] = name

    def reset_stats(self):
        self.requests: Counter[str] = collections.Counter()
        self.codes: Counter[int] = collections.Counter()
        self.arrivals: DefaultDict[str, Deque[float]] = collections.defaultdict(collections.deque)
        self.busiest_minute: Counter[str] = collections.Counter()
        self.status_reads: Counter[str] = collections.Counter()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.over_cap = 0
        self.secret_leaks = 0
        self.user_agents: Set[str] = set()
        self.trace_ids: List[str] = []
        self.bodies: List[Tuple[str, bytes]] = []
        self.power_writes: Counter[str] = collections.Counter()
        self.largest_write_batch = 0
        # App routes, per phone: install and uninstall requests naming it, app/list and installable/list reads.
        self.app_installs: Counter[str] = collections.Counter()
        self.app_uninstalls: Counter[str] = collections.Counter()
        self.app_list_reads: Counter[str] = collections.Counter()
        self.installable_reads: Counter[str] = collections.Counter()
        # ADB and shell, per phone: getData items, setStatus mentions, ADB connections accepted, glogins
        # (right and wrong codes), commands refused by the glogin gate, commands run over ADB, shell/execute calls.
        self.adb_reads: Counter[str] = collections.Counter()
        self.adb_enables: Counter[str] = collections.Counter()
        self.adb_connections: Counter[str] = collections.Counter()
        self.glogins: Counter[str] = collections.Counter()
        self.glogin_failures: Counter[str] = collections.Counter()
        self.adb_gated: Counter[str] = collections.Counter()
        self.adb_commands: Counter[str] = collections.Counter()
        self.shell_executes: Counter[str] = collections.Counter()
        self.faults.clear()

    def stats(self):
        return {
            "requests": dict(self.requests),
            "total_requests": sum(self.requests.values()),
            "codes": {str(k): v for k, v in self.codes.items()},
            "peak_in_flight": self.peak_in_flight,
            "over_cap": self.over_cap,
            "busiest_minute": dict(self.busiest_minute),
            "status_reads": dict(self.status_reads),
            "secret_leaks": self.secret_leaks,
            "user_agents": sorted(self.user_agents),
            "trace_ids": list(self.trace_ids[-50:]),
            "phones": len(self.phones),
            "power_writes": dict(self.power_writes),
            "largest_write_batch": self.largest_write_batch,
            "app_installs": dict(self.app_installs),
            "app_uninstalls": dict(self.app_uninstalls),
            "app_list_reads": dict(self.app_list_reads),
            "installable_reads": dict(self.installable_reads),
            "adb_reads": dict(self.adb_reads),
            "adb_enables": dict(self.adb_enables),
            "adb_connections": dict(self.adb_connections),
            "glogins": dict(self.glogins),
            "glogin_failures": dict(self.glogin_failures),
            "adb_gated": dict(self.adb_gated),
            "adb_commands": dict(self.adb_commands),
            "shell_executes": dict(self.shell_executes),
        }

    def apply_transitions(self):
        now = time.monotonic()
        due = [t for t in self.transitions if t[0] <= now]
        self.transitions = [t for t in self.transitions if t[0] > now]
        for _when, phone_id, status in due:
            if phone_id in self.phones:
                self.phones[phone_id]["status"] = status

    def schedule(self, ids, status, on_read=None, after=None):
        """Change the status of `ids` on their `on_read`-th status read from now, or `after` seconds.

        A scripted phone moves only as scripted: a phone created `starting` no longer boots by itself.
        """
        if on_read is not None:
            if isinstance(on_read, bool) or not isinstance(on_read, int) or on_read < 1:
                raise ValueError("on_read must be a whole number of at least 1, got %r" % (on_read,))
            for phone_id in ids:
                self.read_transitions[phone_id].append([on_read, status])
            self.cold_boot.difference_update(ids)
        else:
            when = time.monotonic() + float(after or 0)
            self.transitions.extend((when, phone_id, status) for phone_id in ids)
            self.cold_boot.difference_update(ids)
            self.apply_transitions()

    def count_status_read(self, phone_id):
        """One status read of a phone: count it, and fire the read-counted changes now due."""
        self.status_reads[phone_id] += 1
        if phone_id in self.cold_boot:  # its first read: a phone created `starting` boots from now
            self.cold_boot.discard(phone_id)
            phone = self.phones.get(phone_id)
            if phone is not None and phone["status"] == 1 and not self.read_transitions.get(phone_id):
                self.read_transitions[phone_id].append([self.boot_reads, 0])
        steps = self.read_transitions.get(phone_id)
        if not steps:
            return
        for step in steps:
            step[0] -= 1
            if step[0] == 0 and phone_id in self.phones:
                self.phones[phone_id]["status"] = step[1]
        self.read_transitions[phone_id] = [step for step in steps if step[0] > 0]

    def configure_power(self, boot_reads=None, stop_reads=None, busy=(), idle=(), refuse=None):
        """Set how power writes behave: boot and stop length in status reads, busy phones, refusals."""
        if boot_reads is not None:
            self.boot_reads = max(1, int(boot_reads))
        if stop_reads is not None:
            self.stop_reads = max(0, int(stop_reads))
        self.busy.update(busy)
        self.busy.difference_update(idle)
        for kind, codes in (refuse or {}).items():
            self.refuse[kind].update((phone_id, int(code)) for phone_id, code in codes.items())

    def add_phones(self, specs):
        added = []
        for spec in specs:
            phone = make_phone(self.next_index, self.rng)
            self.next_index += 1
            phone.update(spec)
            self.phones[phone["id"]] = phone
            if phone.get("status") == 1:
                self.cold_boot.add(phone["id"])
            added.append(phone["id"])
        return added
