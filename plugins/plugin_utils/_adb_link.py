# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A worker's side of the ADB broker (_adb_broker): find the run's broker, start it when there is none, ask it.

Private to this collection: the API of this file may change without notice.

One broker serves one ansible-playbook run (the process whose workers run the tasks, their parent)
and one set of API settings; its socket lives in a directory only this user can enter, named by a
hash of the two. Starting it is done under a lock, so the workers of one task that all find no broker
start one between them. The settings, secrets included, reach the broker on its standard input, never
in its arguments or environment.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import multiprocessing
import os
import socket
import stat
import subprocess
import sys
import tempfile
import typing as t

BROKER_MODULE = "ansible_collections.geelark.cloudphone.plugins.plugin_utils._adb_broker"
# A Unix socket path holds at most 107 bytes on Linux.
_MAX_SOCKET_PATH = 100


class LinkError(Exception):
    """The broker could not be found or started, or did not answer; `kind` says how the host failed."""

    def __init__(self, message, kind="unreachable"):
        super().__init__(message)
        self.kind = kind


def private_dir(base=None):
    """This user's directory for broker sockets, made 0700; refused when it is anything else.

    A directory someone else made, a symlink planted in its place, or one others may enter, could let
    another user talk to the broker (and through it run commands on the phones): never used.
    """
    base = base or tempfile.gettempdir()
    path = os.path.join(base, "geelark-adb-%d" % os.getuid())
    if len(path) + 22 > _MAX_SOCKET_PATH:
        path = os.path.join("/tmp", "geelark-adb-%d" % os.getuid())  # noqa: S108 (checked below like any other)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        why = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a directory"
        raise LinkError("%s is %s, not a private directory of this user; remove it and run again" % (path, why))
    if info.st_uid != os.getuid():
        raise LinkError("%s belongs to user %d, not to this user; remove it and run again" % (path, info.st_uid))
    if info.st_mode & 0o077:
        raise LinkError("%s has mode %04o, open to others; remove it (or chmod 700 it) and run again"
                        % (path, stat.S_IMODE(info.st_mode)))
    return path


def run_process():
    """The PID of the ansible-playbook (or ansible) process of this run.

    Tasks run in its worker processes (multiprocessing children: their parent); a few things, such as
    `meta: reset_connection`, run in that process itself.
    """
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None and parent.pid else os.getpid()


class BrokerLink:
    """Talks to the run's broker for one worker; `config` is what the broker needs (secrets included)."""

    def __init__(self, config, collections_root, run_id=None, base_dir=None):
        self.config = dict(config)
        self.collections_root = collections_root
        self.run_id = run_id if run_id is not None else run_process()
        directory = private_dir(base_dir)
        digest = hashlib.sha256(json.dumps([self.run_id, self.config], sort_keys=True).encode("utf-8")).hexdigest()
        self.socket_path = os.path.join(directory, digest[:16] + ".sock")
        self.lock_path = os.path.join(directory, digest[:16] + ".lock")

    def ask(self, request, timeout=None):
        """The broker's answer to one request (started first when needed)."""
        try:
            return self._send(request, timeout)
        except (FileNotFoundError, ConnectionRefusedError):
            pass  # no broker yet, or one that ended
        self._start()
        try:
            return self._send(request, timeout)
        except OSError as exc:
            raise LinkError("the ADB broker of this run does not answer (%s)" % exc) from None

    def _send(self, request, timeout):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            # A blocking connect waits while the broker's backlog is full (many hosts at once); with a
            # timeout Linux refuses at once (EAGAIN) and a busy broker would look like none.
            sock.connect(self.socket_path)
            sock.settimeout(timeout)
            sock.sendall(json.dumps(request).encode("utf-8") + b"\n")
            reader = sock.makefile("rb")
            line = reader.readline()
        if not line:
            raise LinkError("the ADB broker of this run ended while it handled the request; it may have run")
        return json.loads(line.decode("utf-8"))

    def _start(self):
        """Start the broker unless another worker did meanwhile (under the lock), and wait for its "ready"."""
        with open(self.lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._send({"op": "ping"}, None)
                return  # another worker started it
            except (FileNotFoundError, ConnectionRefusedError):
                pass  # none listens: start one
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (self.collections_root, env.get("PYTHONPATH")) if p)
            config = dict(self.config, socket=self.socket_path, lock=self.lock_path, parent=self.run_id)
            process = subprocess.Popen([sys.executable, "-m", BROKER_MODULE], stdin=subprocess.PIPE,  # noqa: S603
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd="/",
                                       close_fds=True, start_new_session=True)
            stdin, stdout = t.cast(t.IO[bytes], process.stdin), t.cast(t.IO[bytes], process.stdout)
            try:
                with stdin:
                    stdin.write(json.dumps(config).encode("utf-8"))
            except BrokenPipeError:
                pass  # it ended before it read its settings: what it said, if anything, is read next
            said = stdout.readline().decode("utf-8", "replace").strip()
            stdout.close()
            if said != "ready":
                process.wait()
                raise LinkError("the ADB broker of this run could not start: %s" % (said or "it ended at once"))


def decode_output(answer):
    return base64.b64decode(answer.get("out") or "")
