# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ADB broker: one process per ansible-playbook run and API account, holding the phones' ADB connections.

Private to this collection: the API of this file may change without notice.

Ansible runs each task of each host in a worker process of its own, which ends with the task. A
phone's ADB connection and glogin, and the connection info of every phone of the play, must outlive
that: the first worker that needs a phone starts this broker (see _adb_link), and every worker of
the run asks it, over a Unix socket only this user can open, to run a command or move a file. The
broker:

- reads the connection info (ip, port and the glogin code) with adb/getData for every phone of the
  play at once, 200 IDs a request, when the first of them is asked for, under the run's rate budget;
- turns ADB on (adb/setStatus, 200 IDs a request) only for phones whose hosts asked with enable_adb,
  together with the others asking so at the same moment, and reads getData again until they are ready;
  a phone whose host says enable_adb false is never turned on, whatever the other hosts of the play say;
- connects once per phone, logs in with `glogin <code>`, and keeps the connection for the run;
- runs each command as `sh -c <command>; echo "<marker>$?"`, so the command's own exit status comes
  back after its output; output without the marker and with the glogin refusal means the login
  lapsed and the command did not run: it reads a fresh code, logs in again and runs it once more.

The glogin code lives in this process's memory only; every message it sends back is masked with the
credentials' secrets, the codes included. It ends when the ansible-playbook process that started the
run is gone.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import os
import secrets
import shlex
import socketserver
import sys
import threading
import time
import typing as t

try:
    from adb_shell.adb_device import AdbDeviceTcp
    from adb_shell.auth.sign_pythonrsa import PythonRSASigner
    from adb_shell.exceptions import (
        AdbCommandFailureException,
        DevicePathInvalidError,
        PushFailedError,
        TcpTimeoutException,
    )

    # What the phone's file sync service answers with FAIL (a refusal: the connection is fine).
    SYNC_REFUSALS: t.Tuple[t.Type[Exception], ...] = (
        AdbCommandFailureException, PushFailedError, DevicePathInvalidError)

    HAS_ADB_SHELL = True
except ImportError:  # the connection plugin says what to install before it starts a broker
    HAS_ADB_SHELL = False
    SYNC_REFUSALS = ()
    TcpTimeoutException = TimeoutError

from ansible_collections.geelark.cloudphone.plugins.module_utils._client import GeeLarkClient
from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import AuthError, GeeLarkError, LockedError
from ansible_collections.geelark.cloudphone.plugins.module_utils._settings import ClientSettings
from ansible_collections.geelark.cloudphone.plugins.module_utils._transport import mask_secrets

# What a phone prints, with exit status 0, for a command sent before glogin or after the login lapsed.
LOGIN_REFUSAL = b"run glogin"
GETDATA_CODES = {
    42001: "was not found (42001): check its ID; it may have been deleted",
    42002: "is not running (42002): start it first (geelark.cloudphone.geelark_phone_power, or the power "
           "runbook), or target only started phones (hosts: status_started); an expired phone must be renewed "
           "in GeeLark first",
    49002: "has no ADB (49002: its model does not support ADB; Android 10 phones have none): run commands on it "
           "with geelark.cloudphone.geelark_phone_shell",
}
ADB_OFF = 49001
# The requests about one phone, which may need its connection info first.
PHONE_OPS = frozenset(("exec", "put", "fetch"))
ENABLE_ADVICE = ("set enable_adb: true (host variable geelark_enable_adb, or GEELARK_ENABLE_ADB=true) to let "
                 "the connection turn ADB on, or turn it on in the GeeLark app")


class PhoneUnreachable(Exception):
    """The phone cannot be reached over ADB; the message is complete and safe to show."""


class CommandLost(Exception):
    """The connection broke after a command was sent: it may have run."""


class CommandSilent(CommandLost):
    """No word from the phone within command_timeout: the command may have run."""


class FileRefused(Exception):
    """The phone refused a file transfer (read-only, no such file): the task fails, the connection stays."""


class LocalFileError(Exception):
    """The controller's side of a transfer cannot be read or written: the task fails, the connection stays."""


class Broker:
    """The run's phones: their connection info, their ADB connections and what runs on them."""

    def __init__(self, client, key_file, timeout=30.0, command_timeout=600.0, poll_interval=3.0,
                 enable_timeout=60.0, max_connections=None):
        self.client = client
        self.key_file = key_file
        self.timeout = timeout
        self.command_timeout = command_timeout
        self.poll_interval = poll_interval
        self.enable_timeout = enable_timeout
        self._signer = None
        self._info: t.Dict[str, dict] = {}  # phone ID -> getData item with code 0
        self._refused: t.Dict[str, dict] = {}  # phone ID -> getData item with another code
        self._info_lock = threading.Lock()
        self._waiting_lock = threading.Lock()
        self._waiting: t.Counter[str] = collections.Counter()  # phones whose info a request waits for
        self._enable_asked: t.Set[str] = set()  # phones whose host asked with enable_adb (under _waiting_lock)
        self._untold: t.Set[str] = set()  # phones turned on whose hosts were not told yet (under _waiting_lock)
        self._turned_on: t.Set[str] = set()  # phones this run turned ADB on for
        # The API refused the run's credentials (or locked them): every later host fails with it, unasked.
        self._refused_run: t.Optional[str] = None
        # Open connections, least recently used first; at most max_connections (each holds a file descriptor).
        self._devices: t.MutableMapping[str, t.Any] = collections.OrderedDict()
        self.max_connections = max_connections if max_connections is not None else connection_limit()
        self._phone_locks: t.DefaultDict[str, threading.Lock] = collections.defaultdict(threading.Lock)
        self.counts: t.Counter[str] = collections.Counter()
        self.codes: t.Set[str] = set()  # every glogin code read: masked in all the broker says

    # Connection info -----------------------------------------------------------------------------
    def _read_info(self, ids):
        """getData for the IDs (200 a request); sorts the items into ready and refused.

        Credentials the API refuses (or a locked account) would be refused for every host of the run:
        the first refusal is kept and given to the others without another request.
        """
        if self._refused_run is not None:
            raise PhoneUnreachable(self._refused_run)
        self.counts["getdata_requests"] += (len(ids) + 199) // 200
        try:
            found = self.client.adb_data(ids)
        except (AuthError, LockedError) as error:
            self._refused_run = ("the GeeLark API refused the run's credentials, so no phone's ADB connection info "
                                 "can be read: %s" % error)
            raise PhoneUnreachable(self._refused_run) from None
        for phone_id in ids:
            item = found.get(phone_id)
            if item is None:
                self._refused[phone_id] = {"code": None, "msg": "the answer of adb/getData left this phone out"}
            elif item.get("code") == 0 and item.get("ip") and str(item.get("port") or "").isdigit():
                if item.get("pwd"):
                    self.codes.add(str(item["pwd"]))
                self._info[phone_id] = item
                self._refused.pop(phone_id, None)
            else:
                self._info.pop(phone_id, None)
                self._refused[phone_id] = item

    def connection_info(self, phone_id, play_ids=(), enable=False):
        """The phone's ready getData item; the first call of a play reads every phone of it at once."""
        with self._waiting_lock:
            self._waiting[phone_id] += 1
            if enable:
                self._enable_asked.add(phone_id)
        try:
            with self._info_lock:
                if phone_id not in self._info and phone_id not in self._refused:
                    # The play's phones, and every phone asked for meanwhile (hosts of another inventory).
                    with self._waiting_lock:
                        waiting = list(self._waiting)
                    wanted = [phone_id] + [i for i in dict.fromkeys(list(play_ids) + waiting)
                                           if i != phone_id and i not in self._info and i not in self._refused]
                    self._read_info(wanted)
                return self._ready_info(phone_id, enable)
        finally:
            with self._waiting_lock:
                self._waiting[phone_id] -= 1
                if not self._waiting[phone_id]:
                    del self._waiting[phone_id]

    def _ready_info(self, phone_id, enable):
        """The phone's ready item, turning ADB on first when it is off and `enable` (with the info lock held)."""
        if phone_id in self._info:
            return self._info[phone_id]
        item = self._refused[phone_id]
        with self._waiting_lock:  # only phones whose hosts asked for it: this one and those asking meanwhile
            asked = set(self._enable_asked)
        off = [i for i, r in self._refused.items()
               if r.get("code") == ADB_OFF and i not in self._turned_on and i in asked]
        if item.get("code") == ADB_OFF and enable and off:
            self._enable(off)
            if phone_id in self._info:
                return self._info[phone_id]
            item = self._refused[phone_id]
        raise PhoneUnreachable(self._refusal(phone_id, item))

    def _enable(self, ids):
        """Turn ADB on for the phones and read getData until they are ready (or enable_timeout passes)."""
        self.client.adb_enable(ids)
        self._turned_on.update(ids)
        with self._waiting_lock:
            self._untold.update(ids)
        self.counts["enabled"] += len(ids)
        deadline = time.monotonic() + self.enable_timeout
        waiting = list(ids)
        while waiting:
            self._read_info(waiting)
            waiting = [i for i in waiting if self._refused.get(i, {}).get("code") == ADB_OFF]
            if not waiting or time.monotonic() >= deadline:
                break
            time.sleep(self.poll_interval)

    def _refusal(self, phone_id, item):
        code = item.get("code")
        if code == ADB_OFF:
            if phone_id in self._turned_on:
                return ("ADB of phone %s was turned on but is still not ready after %.0f s (49001); run the task "
                        "again in a minute" % (phone_id, self.enable_timeout))
            return "ADB is off on phone %s (49001): %s" % (phone_id, ENABLE_ADVICE)
        if code in GETDATA_CODES:
            return "phone %s %s" % (phone_id, GETDATA_CODES[code])
        if code == 0:
            return "adb/getData gave phone %s no address (code 0 without ip and port); try again later" % phone_id
        return "adb/getData refused phone %s: %s%s" % (
            phone_id, item.get("msg") or "no message", " (code %s)" % code if code is not None else "")

    def tell_turned_on(self, phone_id):
        """True once, for the first answer about a phone this run turned ADB on for (the host's log says so)."""
        with self._waiting_lock:
            if phone_id in self._untold:
                self._untold.discard(phone_id)
                return True
        return False

    def knows(self, phone_id):
        """True once the phone's connection info was read (ready or refused) or it is connected."""
        return phone_id in self._info or phone_id in self._refused or phone_id in self._devices

    def forget(self, phone_id):
        """Drop the phone's connection and cached info (meta: reset_connection)."""
        with self._phone_locks[phone_id]:
            device = self._devices.pop(phone_id, None)
            if device is not None:
                _close(device)
            with self._info_lock:
                self._info.pop(phone_id, None)
                self._refused.pop(phone_id, None)

    # ADB ------------------------------------------------------------------------------------------
    def _signers(self):
        if self._signer is None:
            try:
                if os.path.isdir(self.key_file):
                    raise IsADirectoryError("%s is a directory" % self.key_file)
                self._signer = PythonRSASigner.FromRSAKeyPath(self.key_file)
            except Exception as exc:  # a missing .pub, a directory, text that is no key: each says why in its own way
                raise PhoneUnreachable(
                    "the ADB key %s could not be read (%s): private_key_file (host variable geelark_adb_key_file, or "
                    "GEELARK_ADB_KEY_FILE) must be an RSA key as adb keeps it, with its public key in %s.pub; or "
                    "name a file that does not exist, and a key is made there" % (
                        self.key_file, _reason(exc), self.key_file)) from None
        return [self._signer]

    def _device(self, phone_id, play_ids, enable):
        """The phone's open connection (called with the phone's lock held), made and logged in when needed."""
        device = self._devices.get(phone_id)
        if device is not None:
            t.cast(collections.OrderedDict, self._devices).move_to_end(phone_id)
            return device
        info = self.connection_info(phone_id, play_ids, enable)
        self._make_room()
        device = self._connect(phone_id, info)
        self._login(phone_id, device, info)
        self._devices[phone_id] = device
        return device

    def _make_room(self):
        """Close the least recently used connections beyond max_connections (a play on more phones than the
        process may hold sockets for): those phones connect and log in again when next used."""
        for other in list(self._devices):
            if len(self._devices) < self.max_connections:
                return
            lock = self._phone_locks[other]
            if lock.acquire(blocking=False):  # a connection in use is never closed under its command
                try:
                    device = self._devices.pop(other, None)
                    if device is not None:
                        _close(device)
                        self.counts["closed_for_room"] += 1
                finally:
                    lock.release()

    def _connect(self, phone_id, info):
        signers = self._signers()
        device = AdbDeviceTcp(info["ip"], int(info["port"]), default_transport_timeout_s=self.timeout)
        try:
            device.connect(rsa_keys=signers, auth_timeout_s=self.timeout, read_timeout_s=self.timeout)
        except Exception as exc:  # adb-shell raises many kinds; every one means "not connected"
            _close(device)
            raise PhoneUnreachable("could not connect to phone %s over ADB at %s:%s: %s" % (
                phone_id, info["ip"], info["port"], _reason(exc))) from None
        self.counts["connects"] += 1
        return device

    def _login(self, phone_id, device, info):
        """glogin with the phone's code; a refused code is read again from getData once.

        The read again is for every phone this run knows (one request per 200): logins lapse for all
        phones about together, and a code that changed for one has likely changed for the others.
        """
        for attempt in (1, 2):
            pwd = info.get("pwd") or ""
            if not pwd:  # no code: the phone needs no login
                return
            output = self._shell(device, phone_id, "glogin " + pwd, self.timeout)
            self.counts["glogins"] += 1
            if b"success" in output.lower():
                return
            if attempt == 1:
                with self._info_lock:
                    self._read_info(list(dict.fromkeys([phone_id] + list(self._info))))
                    if phone_id not in self._info:
                        raise PhoneUnreachable(self._refusal(phone_id, self._refused[phone_id]))
                    info = self._info[phone_id]
        raise PhoneUnreachable("phone %s refused the glogin code from adb/getData twice: %s" % (
            phone_id, _text(output).strip() or "no answer"))

    def _shell(self, device, phone_id, command, timeout):
        try:
            return device.shell(command, read_timeout_s=timeout, decode=False)
        except Exception as exc:
            self._devices.pop(phone_id, None)
            _close(device)
            if isinstance(exc, (TcpTimeoutException, TimeoutError)):
                raise CommandSilent("no word from the phone for %g s, the command_timeout (host variable "
                                    "geelark_adb_command_timeout): give a longer one for a command that runs silent "
                                    "longer" % timeout) from None
            raise CommandLost(_reason(exc)) from None

    def run(self, phone_id, command, play_ids=(), enable=False):
        """(exit status, output) of the command on the phone; the output is stdout and stderr as one stream."""
        marker = "__GEELARK_RC_%s__:" % secrets.token_hex(4)
        wrapped = "sh -c %s; echo \"%s$?\"" % (shlex.quote(command), marker)
        with self._phone_locks[phone_id]:
            device = self._device(phone_id, play_ids, enable)
            for attempt in (1, 2):
                try:
                    output = self._shell(device, phone_id, wrapped, self.command_timeout)
                except CommandSilent as silent:
                    raise CommandLost("the command on phone %s timed out (%s): it may have run; check the phone before "
                                      "running it again" % (phone_id, silent)) from None
                except CommandLost as lost:
                    raise CommandLost("the ADB connection to phone %s broke while the command ran (%s): it may "
                                      "have run; check the phone before running it again" % (phone_id, lost)) from None
                self.counts["commands"] += 1
                at = output.rfind(marker.encode())
                if at >= 0:
                    status = output[at + len(marker):].strip()
                    if status.isdigit():
                        return int(status), output[:at]
                if LOGIN_REFUSAL in output and attempt == 1:
                    # The login lapsed and the command did not run: log in again (the code held first,
                    # a fresh one when it is refused) and run it once more.
                    self.counts["relogins"] += 1
                    self._login(phone_id, device, self._info.get(phone_id) or {})
                    continue
                break
        raise CommandLost("phone %s did not report the command's exit status (the output ended early): it may have "
                          "run; output: %s" % (phone_id, _text(output[-300:]).strip() or "none"))

    def put(self, phone_id, source, dest, play_ids=(), enable=False):
        # adb-shell opens the local file inside the transfer, where its error would look like a broken connection.
        if not os.path.isfile(source) or not os.access(source, os.R_OK):
            raise LocalFileError("%s cannot be read on the controller (missing or not a readable file)" % source)
        self._transfer(phone_id, play_ids, enable, "sent to", dest,
                       lambda device: device.push(source, dest, read_timeout_s=self.command_timeout))

    def fetch(self, phone_id, source, dest, play_ids=(), enable=False):
        directory = os.path.dirname(dest) or "."
        if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
            raise LocalFileError("%s cannot be written on the controller (its directory is missing or not writable)"
                                 % dest)
        self._transfer(phone_id, play_ids, enable, "read from", source,
                       lambda device: device.pull(source, dest, read_timeout_s=self.command_timeout))

    def _transfer(self, phone_id, play_ids, enable, verb, path, move):
        """A file sync transfer: a refusal (FAIL) is the phone's answer; a broken connection is dropped."""
        with self._phone_locks[phone_id]:
            device = self._device(phone_id, play_ids, enable)
            try:
                move(device)
            except SYNC_REFUSALS as exc:
                hint = " (the shell user can write under /sdcard/ and /data/local/tmp/)" if verb == "sent to" else ""
                raise FileRefused("phone %s refused: %s could not be %s it: %s%s"
                                  % (phone_id, path, verb, _refusal_text(exc), hint)) from None
            except Exception as exc:
                self._devices.pop(phone_id, None)
                _close(device)
                raise CommandLost("the ADB connection to phone %s broke while %s was %s it: %s" % (
                    phone_id, path, verb, _reason(exc))) from None

    def close(self):
        for device in list(self._devices.values()):
            _close(device)
        self._devices.clear()


def connection_limit():
    """How many phone connections the broker keeps open: most of the file descriptors it may have.

    The soft limit is raised to the hard one first (often 1024 -> 1048576), so a play on thousands of
    phones keeps each connection for the run where the system allows it.
    """
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard > soft:
            wanted = 65536 if hard == resource.RLIM_INFINITY else hard
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    except (ImportError, ValueError, OSError):
        soft = 1024
    return max(16, soft - 64)  # room for the socket server, the API's connections and the log


def _close(device):
    with contextlib.suppress(Exception):  # closing a broken connection may fail too; it is gone either way
        device.close()


def _refusal_text(exc):
    """The phone's words in a sync refusal (adb-shell may give them as bytes inside its exception)."""
    detail = exc.args[0] if exc.args else ""
    if isinstance(detail, (bytes, bytearray)):
        detail = bytes(detail).decode("utf-8", "replace")
    return str(detail).replace("Command failed: ", "").strip() or type(exc).__name__


def _reason(exc):
    text = str(exc).strip().splitlines()
    return "%s%s" % (type(exc).__name__, ": " + text[0] if text else "")


def _text(data):
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)


# The server side of the socket ----------------------------------------------------------------------
class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline()
        try:
            request = json.loads(line.decode("utf-8"))
            answer = self.server.answer(request)  # type: ignore[attr-defined]
        except Exception as exc:  # every failure goes back to the worker as a message
            answer = {"ok": False, "kind": "error", "msg": "%s" % _reason(exc)}
        text = json.dumps(answer)
        self.wfile.write(self.server.mask(text).encode("utf-8") + b"\n")  # type: ignore[attr-defined]


class BrokerServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 256  # every fork of the run may ask at once

    def __init__(self, path, broker):
        self.broker = broker
        socketserver.UnixStreamServer.__init__(self, path, _Handler)

    def mask(self, text):
        return mask_secrets(text, tuple(self.broker.client.secrets) + tuple(self.broker.codes))

    def _told(self, phone_id, answer):
        if self.broker.tell_turned_on(phone_id):
            answer["turned_on"] = True
        return answer

    def answer(self, request):
        broker = self.broker
        op = request.get("op")
        phone_id = str(request.get("id") or "")
        if op in PHONE_OPS and request.get("play_ids") is None and not broker.knows(phone_id):
            # The play's phone IDs are sent only when they are needed (the first hosts of a play): at
            # 10,000 hosts they are a large message, and every task of every host asks the broker.
            return {"ok": False, "kind": "need_play"}
        play_ids = [str(i) for i in request.get("play_ids") or ()]
        enable = bool(request.get("enable_adb"))
        try:
            if op == "exec":
                status, output = broker.run(phone_id, request["cmd"], play_ids, enable)
                return self._told(phone_id, {"ok": True, "rc": status, "out": base64.b64encode(output).decode("ascii")})
            if op == "put":
                broker.put(phone_id, request["src"], request["dest"], play_ids, enable)
                return self._told(phone_id, {"ok": True})
            if op == "fetch":
                broker.fetch(phone_id, request["src"], request["dest"], play_ids, enable)
                return self._told(phone_id, {"ok": True})
            if op == "reset":
                broker.forget(phone_id)
                return {"ok": True}
            if op == "ping":
                return {"ok": True}
            if op == "stats":
                return {"ok": True, "counts": dict(broker.counts), "api": broker.client.summary()}
            return {"ok": False, "kind": "error", "msg": "unknown request %r" % op}
        except PhoneUnreachable as exc:
            return {"ok": False, "kind": "unreachable", "msg": str(exc)}
        except CommandLost as exc:
            return {"ok": False, "kind": "lost", "msg": str(exc)}
        except (FileRefused, LocalFileError) as exc:
            return {"ok": False, "kind": "failed", "msg": str(exc)}
        except GeeLarkError as exc:
            return {"ok": False, "kind": "unreachable", "msg": "the GeeLark API could not give phone %s's ADB "
                    "connection info: %s" % (phone_id, exc)}


def _watch_parent(parent, server):
    """Stop the server once the process that started the run is gone."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            break
        except PermissionError:  # alive, someone else's (cannot happen for our own parent); keep going
            continue
    server.shutdown()


def main():
    """Read the configuration from stdin, listen, say "ready" on stdout, serve until the run ends."""
    config = json.loads(sys.stdin.read())
    try:
        settings = ClientSettings(config["values"], config["sources"])
        client = GeeLarkClient(settings)
        broker = Broker(client, config["key_file"], timeout=config["timeout"],
                        command_timeout=config["command_timeout"], poll_interval=config["poll_interval"],
                        enable_timeout=config["enable_timeout"])
        if os.path.exists(config["socket"]):
            os.unlink(config["socket"])
        old_umask = os.umask(0o177)
        try:
            server = BrokerServer(config["socket"], broker)
        finally:
            os.umask(old_umask)
    except Exception as exc:
        sys.stdout.write("error: %s\n" % _reason(exc))
        sys.stdout.flush()
        return 1
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    threading.Thread(target=_watch_parent, args=(config["parent"], server), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        broker.close()
        server.server_close()
        for path in (config["socket"], config.get("lock")):  # the run has ended: no worker of it starts another
            if path:
                with contextlib.suppress(OSError):
                    os.unlink(path)
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
