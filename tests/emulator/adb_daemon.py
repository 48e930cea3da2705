# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The emulated phones' ADB daemon: the ADB wire protocol on 127.0.0.1, one listening port per phone.

A phone listens while it takes ADB connections (DeviceBook.ready: in the fleet, running, a model with
ADB, ADB on and done enabling) and once its port was handed out (adb/getData, or the adb_port door).
The port stays the phone's: when ADB goes off or the phone stops, its listener and connections close,
and they open again on the same port (when it is free) once the phone is ready again. One thread
accepts on every listener with `selectors` and reconciles the listeners with the state ten times a
second; the API routes and the controls reconcile at once (sync()). Each connection has a thread.

The protocol, as adbd speaks it to adb-shell 0.4.4 and `adb`:
- Messages: a 24-byte header (command, arg0, arg1, data length, data checksum = byte sum, magic =
  command ^ 0xFFFFFFFF; little-endian), then the data.
- CNXN: the host sends version and maxdata; when AUTH is on (DeviceBook.auth), the daemon answers AUTH
  TOKEN (20 random bytes). AUTH SIGNATURE made with a key this daemon knows: CNXN at once; with another:
  a new TOKEN. AUTH RSAPUBLICKEY: the key is remembered (as if the user tapped "allow") and CNXN
  follows. CNXN carries version 0x01000000, maxdata 256 KiB and the banner
  "device::ro.product.name=...;ro.product.model=...;ro.product.device=...;".
- OPEN(local id, 0, "service\\0") -> OKAY(our id, their id), or CLSE(0, their id) for an unknown service.
  Every WRTE is answered with OKAY, and the daemon sends its next WRTE of a stream only after the host's
  OKAY for the last one. Several streams may be open on one connection.
- shell:CMD and exec:CMD run CMD behind the glogin gate (device.adb_command), write its output (stdout
  and stderr as one stream) in WRTEs of at most maxdata, then CLSE.
- sync: STAT, LIST (DENT entries, "." and ".." included, then DONE), RECV (DATA chunks of at most
  64 KiB, then DONE; FAIL "No such file or directory"), SEND "path,mode" + DATA + DONE mtime (OKAY, or
  FAIL "Read-only file system"; missing directories are made), QUIT. No glogin needed.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import hmac
import os
import selectors
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING, Callable, Deque, Dict, List, Optional, Set, Tuple, TypeVar, Union

from .device import Device, adb_command

if TYPE_CHECKING:
    from .state import EmulatorState

HOST = "127.0.0.1"
VERSION = 0x01000000
MAX_DATA = 256 * 1024
SYNC_DATA_MAX = 64 * 1024
AUTH_TOKEN, AUTH_SIGNATURE, AUTH_RSAPUBLICKEY = 1, 2, 3
POLL_SECONDS = 0.1
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only
_HEADER = struct.Struct("<6I")
_SYNC = struct.Struct("<2I")


def _wire(name: bytes) -> int:
    return struct.unpack("<I", name)[0]


CNXN, AUTH, OPEN, OKAY, CLSE, WRTE = (_wire(name) for name in (b"CNXN", b"AUTH", b"OPEN", b"OKAY", b"CLSE", b"WRTE"))
# The sync service's requests and answers.
STAT, LIST, SEND, RECV, DATA, DONE, DENT, QUIT, FAIL, SYNC_OKAY = (
    _wire(name) for name in (b"STAT", b"LIST", b"SEND", b"RECV", b"DATA", b"DONE", b"DENT", b"QUIT", b"FAIL", b"OKAY"))
# The DigestInfo prefix of a SHA-1 PKCS#1 v1.5 signature: adb signs the 20-byte token as if it were a SHA-1 hash.
_SHA1_PREFIX = bytes.fromhex("3021300906052b0e03021a05000414")
RsaKey = Tuple[int, int]  # (modulus, public exponent)
T = TypeVar("T")


class _Closed(Exception):
    """The connection ends: the host hung up or broke the protocol, or the phone stopped taking ADB."""


def parse_public_key(blob: bytes) -> Optional[RsaKey]:
    """An adb public key ("<base64 of Android's RSAPublicKey struct> user@host\\0") as (n, e), or None."""
    text = blob.rstrip(b"\0").split(b" ", 1)[0]
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 524 or struct.unpack_from("<I", raw)[0] != 64:  # 2048-bit keys: 64 words of modulus
        return None
    return int.from_bytes(raw[8:264], "little"), struct.unpack_from("<I", raw, 520)[0]


def signature_matches(key: RsaKey, token: bytes, signature: bytes) -> bool:
    """Whether `signature` is `token` signed with the private half of `key` (RSA PKCS#1 v1.5, SHA-1 prefix)."""
    modulus, exponent = key
    size = (modulus.bit_length() + 7) // 8
    if len(signature) != size:
        return False
    block = pow(int.from_bytes(signature, "big"), exponent, modulus).to_bytes(size, "big")
    digest_info = _SHA1_PREFIX + token
    expected = b"\x00\x01" + b"\xff" * (size - 3 - len(digest_info)) + b"\x00" + digest_info
    return hmac.compare_digest(block, expected)


def _chunks(data: bytes, size: int) -> List[memoryview]:
    view = memoryview(data)
    return [view[start:start + size] for start in range(0, len(data), size)]


class AdbDaemon:
    """The listeners of every phone that takes ADB connections, and their connections."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.selector = selectors.DefaultSelector()
        # Guards listeners, connections and the selector's registrations. Lock order: the state's lock
        # first. The selector is changed from other threads while the accept thread waits in select():
        # epoll (and kqueue) allow that, and the selector drops events of keys unregistered meanwhile.
        self._lock = threading.Lock()
        self.listeners: Dict[str, socket.socket] = {}
        self.connections: Dict[str, Set[_Connection]] = collections.defaultdict(set)
        self.keys: Set[RsaKey] = set()  # the public keys hosts sent (RSAPUBLICKEY), as a phone remembers them
        self._wake_read, self._wake_write = socket.socketpair()
        self.selector.register(self._wake_read, selectors.EVENT_READ, None)
        self._thread: Optional[threading.Thread] = None
        self._stopping = False
        state.adb_daemon = self

    def start(self) -> AdbDaemon:
        self._thread = threading.Thread(target=self._serve, name="geelark-emulator-adb", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every listener and connection, and end the accept thread (a second call does nothing)."""
        if self._stopping:
            return
        self._stopping = True
        self._wake_write.send(b"x")
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            for phone_id in list(self.listeners):
                self._close_listener(phone_id)
            for connections in self.connections.values():
                for connection in list(connections):
                    connection.close()
        self.selector.close()
        self._wake_read.close()
        self._wake_write.close()

    # Called with the state's lock held.
    def listen(self, phone_id: str) -> Optional[int]:
        """The phone's port, its listener opened now when needed (None: the phone takes no ADB connections)."""
        book = self.state.devices
        if self._stopping or not book.ready(self.state.phones, phone_id):
            return None
        device = book.devices[phone_id]
        with self._lock:
            if phone_id not in self.listeners:
                self._open_listener(phone_id, device)
        return device.port

    def sync(self) -> None:
        """Close the listeners (and connections) of phones no longer ready; reopen those ready again."""
        state = self.state
        book = state.devices
        with self._lock:
            if self._stopping:
                return
            for phone_id, device in book.devices.items():
                wanted = device.port is not None and book.ready(state.phones, phone_id)
                if phone_id in self.listeners and not wanted:
                    self._close_listener(phone_id)
                    if state.phones.get(phone_id, {}).get("status") != 0:
                        device.logged_in = False  # it boots afresh
                elif wanted and phone_id not in self.listeners:
                    self._open_listener(phone_id, device)

    # Called with self._lock held.
    def _open_listener(self, phone_id: str, device: Device) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((HOST, device.port or 0))
        except OSError:  # its old port is taken meanwhile: a new one, which getData hands out from now on
            listener.bind((HOST, 0))
        listener.listen(64)
        listener.setblocking(False)
        device.port = listener.getsockname()[1]
        self.listeners[phone_id] = listener
        self.selector.register(listener, selectors.EVENT_READ, phone_id)

    def _close_listener(self, phone_id: str) -> None:
        listener = self.listeners.pop(phone_id)
        self.selector.unregister(listener)
        listener.close()
        for connection in list(self.connections.pop(phone_id, ())):
            connection.close()

    # The accept thread.
    def _serve(self) -> None:
        while not self._stopping:
            for key, _events in self.selector.select(timeout=POLL_SECONDS):
                if key.data is None:
                    self._wake_read.recv(64)
                else:
                    self._accept(key.fileobj, key.data)  # type: ignore[arg-type]
            if not self._stopping:
                with self.state.lock:
                    self.sync()

    def _accept(self, listener: socket.socket, phone_id: str) -> None:
        try:
            sock, _address = listener.accept()
        except OSError:  # closed meanwhile, or another accept took it
            return
        state = self.state
        with state.lock:
            ready = state.devices.ready(state.phones, phone_id)
            if ready:
                state.adb_connections[phone_id] += 1
        if not ready:
            sock.close()
            return
        sock.setblocking(True)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = _Connection(self, phone_id, sock)
        with self._lock:
            self.connections[phone_id].add(connection)
        threading.Thread(target=connection.serve, name="geelark-emulator-adb-%s" % phone_id, daemon=True).start()

    def forget(self, connection: _Connection) -> None:
        with self._lock:
            self.connections.get(connection.phone_id, set()).discard(connection)

    def known_keys(self) -> List[RsaKey]:
        with self._lock:
            return list(self.keys)

    def remember(self, key: RsaKey) -> None:
        with self._lock:
            self.keys.add(key)

    # What a connection asks of the phone, under the state's lock.
    def on_device(self, phone_id: str, action: Callable[[Device], T]) -> T:
        """Run `action` on the phone's device with the state's lock held; _Closed when it takes no ADB now."""
        state = self.state
        with state.lock:
            if not state.devices.ready(state.phones, phone_id):
                raise _Closed()
            return action(state.devices.devices[phone_id])

    def run_command(self, phone_id: str, command: str) -> bytes:
        """A shell service command, behind the glogin gate, counted."""
        state = self.state

        def run(device: Device) -> bytes:
            output, _status, what = adb_command(device, command, wait=self._wait_unlocked)
            counter = {"glogin": state.glogins, "glogin_failed": state.glogin_failures, "gated": state.adb_gated,
                       "ran": state.adb_commands}[what]
            counter[phone_id] += 1
            return output

        return self.on_device(phone_id, run)

    def _wait_unlocked(self, seconds: float) -> None:
        """`sleep N` in a command: the state's lock is let go meanwhile, so other phones go on."""
        self.state.lock.release()
        try:
            time.sleep(seconds)
        finally:
            self.state.lock.acquire()

    def banner(self, phone_id: str) -> bytes:
        def describe(device: Device) -> bytes:
            props = device.props()
            return ("device::ro.product.name=%s;ro.product.model=%s;ro.product.device=%s;" % (
                props["ro.product.name"], props["ro.product.model"], props["ro.product.device"])).encode()
        return self.on_device(phone_id, describe)


class _Stream:
    """One open stream of a connection: what is still to be written, and whether the host's OKAY is awaited."""

    def __init__(self, local: int, remote: int, sync: Optional[_SyncSession] = None) -> None:
        self.local = local
        self.remote = remote
        self.pending: Deque[memoryview] = collections.deque()
        self.awaiting_okay = False
        self.finished = False  # CLSE once the pending data is written and acknowledged
        self.sync = sync


class _Connection:
    """One host connection: the handshake, then its streams, on a thread of its own."""

    def __init__(self, daemon: AdbDaemon, phone_id: str, sock: socket.socket) -> None:
        self.daemon = daemon
        self.phone_id = phone_id
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.streams: Dict[int, _Stream] = {}
        self.next_id = 1
        self.max_data = MAX_DATA
        self._closed = False

    def close(self) -> None:
        """Drop the connection with a reset, as a phone that goes away does.

        The host's next read fails at once: adb-shell reads an orderly end of stream (FIN) as "no data
        yet" and would spin until its read timeout.
        """
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):  # already gone
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # Wakes the connection's thread, blocked in a read; SHUT_WR would send a FIN before the reset.
            self.sock.shutdown(socket.SHUT_RD)
        self.sock.close()

    def serve(self) -> None:
        try:
            self._handshake()
            while True:
                self._handle(*self._read())
        except (_Closed, OSError, ValueError):
            pass
        finally:
            self.close()
            self.reader.close()
            self.daemon.forget(self)

    # Messages.
    def _read(self) -> Tuple[int, int, int, bytes]:
        if _QUICKACK is not None:
            # adb-shell writes a message's header and data apart, without TCP_NODELAY: its data waits for our
            # ACK of the header, which Linux would delay by 40 ms. Acknowledging at once keeps a command fast.
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        header = self.reader.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise _Closed()
        command, arg0, arg1, length, checksum, magic = _HEADER.unpack(header)
        if magic != command ^ 0xFFFFFFFF or length > 16 * 1024 * 1024:
            raise _Closed()
        data = self.reader.read(length) if length else b""
        if len(data) < length or (sum(data) & 0xFFFFFFFF) != checksum:
            raise _Closed()
        return command, arg0, arg1, data

    def _send(self, command: int, arg0: int, arg1: int, data: Union[bytes, memoryview] = b"") -> None:
        header = _HEADER.pack(command, arg0, arg1, len(data), sum(data) & 0xFFFFFFFF, command ^ 0xFFFFFFFF)
        self.sock.sendall(header + data)

    def _handshake(self) -> None:
        command, _version, host_max_data, _banner = self._read()
        if command != CNXN:
            raise _Closed()
        self.max_data = min(MAX_DATA, host_max_data or MAX_DATA)
        with self.daemon.state.lock:
            auth = self.daemon.state.devices.auth
        if not auth:
            self._connected()
            return
        token = os.urandom(20)
        self._send(AUTH, AUTH_TOKEN, 0, token)
        while True:
            command, kind, _arg1, data = self._read()
            if command == CNXN:  # the host started over
                token = os.urandom(20)
                self._send(AUTH, AUTH_TOKEN, 0, token)
                continue
            if command != AUTH:
                raise _Closed()
            if kind == AUTH_SIGNATURE:
                if any(signature_matches(key, token, data) for key in self.daemon.known_keys()):
                    self._connected()
                    return
                token = os.urandom(20)  # not a key this phone knows: the host may try another, or send its key
                self._send(AUTH, AUTH_TOKEN, 0, token)
            elif kind == AUTH_RSAPUBLICKEY:
                key = parse_public_key(data)
                if key is None:
                    raise _Closed()
                self.daemon.remember(key)
                self._connected()
                return
            else:
                raise _Closed()

    def _connected(self) -> None:
        self._send(CNXN, VERSION, MAX_DATA, self.daemon.banner(self.phone_id))

    # Streams.
    def _handle(self, command: int, arg0: int, arg1: int, data: bytes) -> None:
        if command == OPEN:
            self._open(arg0, data)
        elif command == OKAY:
            stream = self.streams.get(arg1)
            if stream is not None:
                stream.awaiting_okay = False
                self._pump(stream)
        elif command == WRTE:
            stream = self.streams.get(arg1)
            if stream is None:
                self._send(CLSE, 0, arg0)
                return
            self._send(OKAY, stream.local, stream.remote)  # before any answer: the host waits for it first
            if stream.sync is not None:
                answer, done = stream.sync.feed(data)
                stream.pending.extend(_chunks(answer, self.max_data))
                stream.finished = stream.finished or done
                self._pump(stream)
        elif command == CLSE:
            stream = self.streams.pop(arg1, None)
            if stream is not None:
                self._send(CLSE, stream.local, stream.remote)
        elif command == CNXN:
            raise _Closed()  # a host that starts over mid-connection: as adbd does, drop it

    def _open(self, remote: int, data: bytes) -> None:
        destination = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
        service, _colon, argument = destination.partition(":")
        service = service.split(",")[0]  # "shell,v2,raw" names the shell too
        if service not in ("shell", "exec", "sync"):
            self._send(CLSE, 0, remote)
            return
        local = self.next_id
        self.next_id += 1
        stream = _Stream(local, remote, _SyncSession(self.daemon, self.phone_id) if service == "sync" else None)
        self.streams[local] = stream
        self._send(OKAY, local, remote)
        if stream.sync is None:
            stream.pending.extend(_chunks(self.daemon.run_command(self.phone_id, argument), self.max_data))
            stream.finished = True
            self._pump(stream)

    def _pump(self, stream: _Stream) -> None:
        """Write the stream's next chunk (once the last was acknowledged), or close it when all is written."""
        if stream.awaiting_okay:
            return
        if stream.pending:
            self._send(WRTE, stream.local, stream.remote, stream.pending.popleft())
            stream.awaiting_okay = True
        elif stream.finished and self.streams.pop(stream.local, None) is not None:
            self._send(CLSE, stream.local, stream.remote)


class _Upload:
    def __init__(self, path: str, mode: int, error: Optional[str]) -> None:
        self.path = path
        self.mode = mode
        self.error = error  # why it will be refused, found when SEND named the path
        self.data = bytearray()


class _SyncSession:
    """The sync service of one stream: requests arrive in any WRTE boundaries; answers are bytes to write."""

    def __init__(self, daemon: AdbDaemon, phone_id: str) -> None:
        self.daemon = daemon
        self.phone_id = phone_id
        self.buffer = bytearray()
        self.upload: Optional[_Upload] = None

    def feed(self, data: bytes) -> Tuple[bytes, bool]:
        """Take the bytes of one WRTE; return the answers to the requests now complete, and whether QUIT came."""
        self.buffer += data
        answers: List[bytes] = []
        offset = 0
        done = False
        while len(self.buffer) - offset >= _SYNC.size:
            ident, length = _SYNC.unpack_from(self.buffer, offset)
            if ident in (DONE, QUIT):
                offset += _SYNC.size
                if ident == QUIT:
                    done = True
                    break
                answers.append(self._done(length))
                continue
            if length > 4 * SYNC_DATA_MAX:
                answers.append(_fail("sync request too long"))
                done = True
                break
            if len(self.buffer) - offset < _SYNC.size + length:
                break
            payload = bytes(self.buffer[offset + _SYNC.size:offset + _SYNC.size + length])
            offset += _SYNC.size + length
            answer = self._request(ident, payload)
            if answer:
                answers.append(answer)
        del self.buffer[:offset]
        return b"".join(answers), done

    def _request(self, ident: int, payload: bytes) -> bytes:
        if ident == DATA:
            if self.upload is None:
                return _fail("DATA without SEND")
            if self.upload.error is None:
                self.upload.data += payload
            return b""
        path = payload.decode("utf-8", "surrogateescape")
        if ident == STAT:
            mode, size, mtime = self.daemon.on_device(self.phone_id, lambda device: device.sync_stat(path))
            return struct.pack("<4I", STAT, mode, size, mtime)
        if ident == LIST:
            entries = self.daemon.on_device(self.phone_id, lambda device: device.sync_list(path))
            return b"".join([struct.pack("<5I", DENT, mode, size, mtime, len(name.encode())) + name.encode()
                             for name, mode, size, mtime in entries] + [struct.pack("<5I", DONE, 0, 0, 0, 0)])
        if ident == RECV:
            data = self.daemon.on_device(self.phone_id, lambda device: device.sync_read(path))
            if isinstance(data, str):
                return _fail(data)
            records = [_SYNC.pack(DATA, len(chunk)) + chunk for chunk in _chunks(data, SYNC_DATA_MAX)]
            return b"".join(records + [_SYNC.pack(DONE, 0)])
        if ident == SEND:
            target, comma, mode_text = path.rpartition(",")
            if not comma or not mode_text.isdigit():
                self.upload = _Upload(path, 0, "SEND needs path,mode")
            else:
                error = self.daemon.on_device(self.phone_id, lambda device: device.sync_check(target))
                self.upload = _Upload(target, int(mode_text), error)
            return b""
        return _fail("unknown sync request %r" % struct.pack("<I", ident))

    def _done(self, mtime: int) -> bytes:
        upload, self.upload = self.upload, None
        if upload is None:
            return _fail("DONE without SEND")
        error = upload.error or self.daemon.on_device(
            self.phone_id, lambda device: device.sync_write(upload.path, upload.mode, bytes(upload.data), mtime))
        return _fail(error) if error else _SYNC.pack(SYNC_OKAY, 0)


def _fail(message: str) -> bytes:
    text = message.encode()
    return _SYNC.pack(FAIL, len(text)) + text
