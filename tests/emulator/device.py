# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A phone as ADB and shell/execute see it: its ADB switch and glogin state, its files, and its shell.

DeviceBook (state.devices) holds one Device per phone, made the first time a phone is touched, and the
settings of the ADB routes. Like the fleet, devices and settings outlive reset(). A phone's Android
version is always read from its equipmentInfo.osVersion ("Android 12.0" -> 12); configure(android=...)
rewrites that field, so phone/list tells the same story.

The file system holds directories and files (bytes, mode, mtime). Everything is readable; only
/sdcard/... and /data/local/tmp/... can be written ("Read-only file system" elsewhere).

run(device, command) is the device shell, a small POSIX sh as Android's mksh and toybox answer it:
quoting ('...', "...", backslash), `;` `&&` `||` `|` `!`, ( ... ) subshells, NAME=value, $NAME ${NAME}
$? $# $0-$9 $@ $*, ~ (the shell user's home: /), `...` and $(...), redirections (> >> < n>&m n>file
>/dev/null), and the commands of BUILTINS. A path runs its file's text with this shell (when it has an
execute bit; 126 otherwise). An unknown command prints "/system/bin/sh: NAME: inaccessible or not found"
and gives 127. There is no python. stdout and stderr come back as one stream, in order, as the ADB shell
service (protocol v1) gives them. `cmd &` runs in the foreground. Not supported: if/for/while/case,
{ ...; } groups, functions, globs, here-documents, arithmetic.

adb_command() puts the glogin gate in front of run(), for the ADB shell service only.
"""

from __future__ import annotations

import hashlib
import posixpath
import random
import re
import shlex
import stat
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

from .checks import is_whole

ADB_VERSIONS = frozenset((9, 11, 12, 13, 14, 15, 16))  # Android versions with ADB (adb/setStatus)
SHELL_VERSIONS = frozenset((10, 12, 13, 14, 15, 16))  # Android versions with /open/v1/shell/execute
SDK_LEVELS = {9: 28, 10: 29, 11: 30, 12: 31, 13: 33, 14: 34, 15: 35, 16: 36}
WRITABLE_ROOTS = ("/sdcard", "/data/local/tmp")
SHELL = "/system/bin/sh"
GATE_MESSAGE = b"error: you should run glogin to login first\n"
GLOGIN_OK = b"success\n"
GLOGIN_WRONG = b"error: glogin failed, wrong connection code\n"
MAX_DEPTH = 50  # nested shells (sh -c, scripts, subshells, substitutions) before the shell gives up

ENOENT = "No such file or directory"
EROFS = "Read-only file system"
EISDIR = "Is a directory"
ENOTDIR = "Not a directory"
EEXIST = "File exists"
EACCES = "Permission denied"

Wait = Callable[[float], None]


# The device ------------------------------------------------------------------------------------------

class Node:
    """A file ("f"), a directory ("d") or a character device ("c", /dev/null: reads empty, swallows writes)."""

    __slots__ = ("kind", "mode", "mtime", "data")

    def __init__(self, kind: str, mode: int, mtime: int, data: Optional[bytearray] = None) -> None:
        self.kind = kind
        self.mode = mode  # the permission bits only
        self.mtime = mtime
        self.data = data if data is not None else bytearray()

    @property
    def st_mode(self) -> int:
        return {"d": stat.S_IFDIR, "f": stat.S_IFREG, "c": stat.S_IFCHR}[self.kind] | self.mode

    @property
    def size(self) -> int:
        return len(self.data) if self.kind == "f" else (4096 if self.kind == "d" else 0)


_DIRECTORIES = ("/", "/data", "/data/local", "/data/local/tmp", "/dev", "/sdcard", "/sdcard/Download",
                "/sdcard/DCIM", "/sdcard/Pictures", "/sdcard/Documents", "/storage", "/system", "/system/bin")


def android_version(phone: Dict) -> Optional[int]:
    """The phone's Android major version, from equipmentInfo.osVersion ("Android 12.0" -> 12), or None."""
    info = phone.get("equipmentInfo")
    text = info.get("osVersion") if isinstance(info, dict) else None
    found = re.search(r"\d+", text) if isinstance(text, str) else None
    return int(found.group()) if found else None


class Device:
    """One phone's ADB state and files. `phone` is its fleet entry (the book keeps it current)."""

    def __init__(self, phone: Dict) -> None:
        self.phone = phone
        self.adb_enabled = False
        self.pwd = ""  # the glogin code, new each time ADB is turned on
        self.port: Optional[int] = None  # the daemon's port for this phone, once handed out
        self.logged_in = False  # shared by every ADB connection to the phone
        self.enable_reads_left = 0  # getData reads still answering 49001 after an enable
        now = int(time.time())
        self.nodes: Dict[str, Node] = dict((path, Node("d", 0o771, now)) for path in _DIRECTORIES)
        self.nodes["/dev/null"] = Node("c", 0o666, now)
        props = "".join("%s=%s\n" % item for item in sorted(self.props().items()))
        self.nodes["/system/build.prop"] = Node("f", 0o644, now, bytearray(props.encode()))

    @property
    def phone_id(self) -> str:
        return self.phone["id"]

    @property
    def android(self) -> Optional[int]:
        return android_version(self.phone)

    def props(self) -> Dict[str, str]:
        """What getprop knows (ro.gl.serialno is the GeeLark phone ID, as on the real phones)."""
        found = self.phone.get("equipmentInfo")
        info: Dict = found if isinstance(found, dict) else {}
        version = self.android
        model = str(info.get("deviceModel") or "GeeLark Cloud Phone")
        brand = str(info.get("deviceBrand") or "geelark")
        name = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")
        return {
            "ro.gl.serialno": self.phone_id, "ro.build.version.release": str(version or ""),
            "ro.build.version.sdk": str(SDK_LEVELS.get(version or 0, "")), "ro.product.model": model,
            "ro.product.brand": brand, "ro.product.manufacturer": brand, "ro.product.name": name,
            "ro.product.device": name, "ro.product.cpu.abi": "arm64-v8a", "sys.boot_completed": "1",
            "persist.sys.timezone": str(info.get("timeZone") or ""),
            "persist.sys.locale": str(info.get("language") or ""),
        }

    # Paths and nodes.
    @staticmethod
    def writable(path: str) -> bool:
        return any(path == root or path.startswith(root + "/") for root in WRITABLE_ROOTS)

    def children(self, path: str) -> List[str]:
        prefix = path.rstrip("/") + "/"
        return sorted(p[len(prefix):] for p in self.nodes if p.startswith(prefix) and "/" not in p[len(prefix):]
                      and p != prefix)

    def create_file(self, path: str, mode: int, truncate: bool = True) -> Union[Node, str]:
        """The file at `path`, made (or emptied, with truncate) for writing; or why it cannot be."""
        node = self.nodes.get(path)
        if node is not None:
            if node.kind == "d":
                return EISDIR
            if node.kind == "f" and not self.writable(path):
                return EROFS
            if truncate and node.kind == "f":
                node.data = bytearray()
                node.mtime = int(time.time())
            return node
        parent = self.nodes.get(posixpath.dirname(path))
        if parent is None:
            return ENOENT
        if parent.kind != "d":
            return ENOTDIR
        if not self.writable(path):
            return EROFS
        node = self.nodes[path] = Node("f", mode, int(time.time()))
        return node

    def mkdir(self, path: str, mode: int, parents: bool = False) -> Optional[str]:
        node = self.nodes.get(path)
        if node is not None:
            return None if parents and node.kind == "d" else EEXIST
        parent_path = posixpath.dirname(path)
        parent = self.nodes.get(parent_path)
        if parent is None:
            if not parents:
                return ENOENT
            error = self.mkdir(parent_path, mode | 0o300, parents=True)
            if error:
                return error
            parent = self.nodes[parent_path]
        if parent.kind != "d":
            return ENOTDIR
        if not self.writable(path):
            return EROFS
        self.nodes[path] = Node("d", mode, int(time.time()))
        return None

    def remove(self, path: str) -> Optional[str]:
        """Remove a node and everything below it."""
        if path in WRITABLE_ROOTS or path == "/":
            return EACCES
        if not self.writable(path):
            return EROFS
        prefix = path + "/"
        for name in [p for p in self.nodes if p == path or p.startswith(prefix)]:
            del self.nodes[name]
        return None

    def put_file(self, path: str, data: bytes, mode: int = 0o644, mtime: Optional[int] = None) -> None:
        """Write a file anywhere, making its directories (the test door; ValueError when it cannot be)."""
        if not path.startswith("/"):
            raise ValueError("a device path must be absolute, got %r" % (path,))
        path = posixpath.normpath(path)
        now = int(time.time())
        parts = path.split("/")
        for depth in range(2, len(parts)):
            parent = "/".join(parts[:depth])
            node = self.nodes.setdefault(parent, Node("d", 0o771, now))
            if node.kind != "d":
                raise ValueError("%s is a file, not a directory" % parent)
        if path in self.nodes and self.nodes[path].kind == "d":
            raise ValueError("%s is a directory" % path)
        self.nodes[path] = Node("f", mode & 0o7777, mtime if mtime is not None else now, bytearray(data))

    # The sync service (adb push, pull, stat, ls).
    def sync_stat(self, path: str) -> Tuple[int, int, int]:
        node = self.nodes.get(_normal(path))
        return (node.st_mode, node.size, node.mtime) if node else (0, 0, 0)

    def sync_list(self, path: str) -> List[Tuple[str, int, int, int]]:
        path = _normal(path)
        node = self.nodes.get(path)
        if node is None or node.kind != "d":
            return []
        entries = [(".", node), ("..", self.nodes.get(posixpath.dirname(path)) or node)]
        entries += [(name, self.nodes[posixpath.join(path, name)]) for name in self.children(path)]
        return [(name, n.st_mode, n.size, n.mtime) for name, n in entries]

    def sync_read(self, path: str) -> Union[bytes, str]:
        node = self.nodes.get(_normal(path))
        if node is None:
            return ENOENT
        if node.kind == "d":
            return EISDIR
        return bytes(node.data)

    def sync_check(self, path: str) -> Optional[str]:
        """Why a file cannot be sent to `path` (None: it can); its missing directories are made on receipt."""
        path = _normal(path)
        if not self.writable(path):
            return EROFS
        node = self.nodes.get(path)
        if node is not None and node.kind == "d":
            return EISDIR
        return None

    def sync_write(self, path: str, mode: int, data: bytes, mtime: int) -> Optional[str]:
        path = _normal(path)
        error = self.sync_check(path)
        if error:
            return error
        error = self.mkdir(posixpath.dirname(path), 0o771, parents=True)
        if error:
            return error
        self.nodes[path] = Node("f", mode & 0o7777 or 0o644, mtime or int(time.time()), bytearray(data))
        return None


def _normal(path: str, cwd: str = "/") -> str:
    return posixpath.normpath(posixpath.join(cwd, path)).replace("//", "/")


class DeviceBook:
    """Every phone's Device, and how the ADB routes behave. Setters check all before they change anything."""

    def __init__(self, seed: int = 1) -> None:
        self.devices: Dict[str, Device] = {}
        self.rng = random.Random(seed * 7919 + 26)  # the glogin codes: deterministic for a seed
        self.enable_reads = 1  # getData reads answering 49001 after setStatus turned ADB on
        self.auth = True  # the daemon asks for an RSA key (AUTH) before it answers CNXN
        self.shell_fail: Dict[str, int] = {}  # shell/execute answers this code for the phone

    def of(self, phone: Dict) -> Device:
        device = self.devices.get(phone["id"])
        if device is None:
            device = self.devices[phone["id"]] = Device(phone)
        device.phone = phone  # a phone replaced in the fleet under the same ID keeps its device
        return device

    def ready(self, phones: Dict[str, Dict], phone_id: str) -> bool:
        """Whether the phone takes ADB connections now: in the fleet, running, its model has ADB, ADB on."""
        phone = phones.get(phone_id)
        device = self.devices.get(phone_id)
        if phone is None or device is None:
            return False
        device.phone = phone
        return (phone.get("status") == 0 and device.android in ADB_VERSIONS and device.adb_enabled
                and not device.enable_reads_left)

    def new_pwd(self) -> str:
        return "%06x" % self.rng.getrandbits(24)

    def enable(self, device: Device, reads: int) -> None:
        """ADB on: a new glogin code, ready after `reads` getData reads. On already: nothing changes."""
        if device.adb_enabled:
            return
        device.adb_enabled = True
        device.pwd = self.new_pwd()
        device.logged_in = False
        device.enable_reads_left = reads

    @staticmethod
    def disable(device: Device) -> None:
        device.adb_enabled = False
        device.logged_in = False
        device.enable_reads_left = 0

    def configure(self, phones: Dict[str, Dict], enabled: Optional[Sequence[str]] = None,
                  disabled: Optional[Sequence[str]] = None, android: Optional[Dict[str, int]] = None,
                  enable_reads: Optional[int] = None, auth: Optional[bool] = None,
                  lapse: Union[Sequence[str], bool, None] = None, rotate: Union[Sequence[str], bool, None] = None,
                  shell_fail: Optional[Dict[str, Optional[int]]] = None) -> None:
        """Set how ADB behaves; a setting left None stays as it is. All is checked before anything changes.

        enabled/disabled: turn ADB on (ready at once, a new code when it was off) or off, whatever the
        phone's status; android: {ID: version} (osVersion becomes "Android N.0"; ADB goes off on a
        version without it); lapse: log the phones out; rotate: a new code (and logged out); lapse and
        rotate take a list of IDs or true (every phone); shell_fail: {ID: code or None} for shell/execute.
        """
        def phone_ids(name: str, value: object, everyone: bool = False) -> List[str]:
            if everyone and value is True:
                return list(phones)
            if not isinstance(value, (list, tuple)) or not all(isinstance(i, str) for i in value):
                raise ValueError("%s must be a list of phone IDs%s, got %r"
                                 % (name, " or true" if everyone else "", value))
            missing = [i for i in value if i not in phones]
            if missing:
                raise ValueError("%s: no phone %s in the fleet" % (name, ", ".join(missing)))
            return list(value)

        turn_on = phone_ids("enabled", enabled) if enabled is not None else []
        turn_off = phone_ids("disabled", disabled) if disabled is not None else []
        both = set(turn_on) & set(turn_off)
        if both:
            raise ValueError("phone %s cannot be both enabled and disabled" % ", ".join(sorted(both)))
        logged_out = phone_ids("lapse", lapse, everyone=True) if lapse is not None else []
        new_codes = phone_ids("rotate", rotate, everyone=True) if rotate is not None else []
        versions: Dict[str, int] = {}
        if android is not None:
            if not isinstance(android, dict) or not all(is_whole(v) and 1 <= v <= 99 for v in android.values()):
                raise ValueError("android must map phone IDs to a version (a whole number 1-99), got %r" % (android,))
            versions = dict(zip(phone_ids("android", list(android)), android.values()))
        for phone_id in turn_on:
            version = versions.get(phone_id, android_version(phones[phone_id]))
            if version not in ADB_VERSIONS:
                raise ValueError("phone %s runs Android %s, which has no ADB (ADB: Android %s)"
                                 % (phone_id, version, ", ".join(str(v) for v in sorted(ADB_VERSIONS))))
        if enable_reads is not None and not (is_whole(enable_reads) and enable_reads >= 0):
            raise ValueError("enable_reads must be a whole number of at least 0, got %r" % (enable_reads,))
        if auth is not None and not isinstance(auth, bool):
            raise ValueError("auth must be true or false, got %r" % (auth,))
        if shell_fail is not None and (not isinstance(shell_fail, dict) or not all(
                isinstance(k, str) and (v is None or is_whole(v)) for k, v in shell_fail.items())):
            raise ValueError("shell_fail must map phone IDs to an API code or null, got %r" % (shell_fail,))

        for phone_id, version in versions.items():
            phone = phones[phone_id]
            phone["equipmentInfo"] = dict(phone.get("equipmentInfo") or {}, osVersion="Android %d.0" % version)
            device = self.of(phone)
            if version not in ADB_VERSIONS:
                self.disable(device)
        for phone_id in turn_off:
            self.disable(self.of(phones[phone_id]))
        for phone_id in turn_on:
            device = self.of(phones[phone_id])
            self.enable(device, 0)
            device.enable_reads_left = 0
        for phone_id in logged_out:
            self.of(phones[phone_id]).logged_in = False
        for phone_id in new_codes:
            device = self.of(phones[phone_id])
            device.pwd = self.new_pwd()
            device.logged_in = False
        if enable_reads is not None:
            self.enable_reads = enable_reads
        if auth is not None:
            self.auth = auth
        for phone_id, code in (shell_fail or {}).items():
            if code is None:
                self.shell_fail.pop(phone_id, None)
            else:
                self.shell_fail[phone_id] = code


def adb_command(device: Device, command: str, wait: Optional[Wait] = None) -> Tuple[bytes, int, str]:
    """A command the ADB shell service received, behind the glogin gate: (output, status, what happened).

    `glogin <code>` (the whole command) logs the phone in when the code is its current one ("glogin");
    a wrong code answers the refusal and changes nothing ("glogin_failed"). Any other command runs
    only while the phone is logged in ("ran"); otherwise it prints the gate's error with status 0 and
    runs nothing ("gated"), as GeeLark phones do.
    """
    try:
        words = shlex.split(command)
    except ValueError:
        words = []
    if words[:1] == ["glogin"] and len(words) <= 2:
        if device.pwd and words[1:] == [device.pwd]:
            device.logged_in = True
            return GLOGIN_OK, 0, "glogin"
        return GLOGIN_WRONG, 1, "glogin_failed"
    if not device.logged_in:
        return GATE_MESSAGE, 0, "gated"
    output, status = run(device, command, wait)
    return output, status, "ran"


def run(device: Device, command: str, wait: Optional[Wait] = None, stdin: bytes = b"") -> Tuple[bytes, int]:
    """Run a command line in the device shell: (stdout and stderr as one stream, exit status)."""
    terminal = _Buffer()
    shell = _Shell(device, [SHELL], wait or time.sleep)
    io = _Io(stdin, {1: terminal, 2: terminal})
    try:
        status = shell.run_text(command, io)
    except _Exit as stop:
        status = stop.code
    except _TooDeep:
        io.err("%s: too deeply nested\n" % SHELL)
        status = 1
    return bytes(terminal.data), status


# The parser: a command line -> a tree of the nodes below ----------------------------------------------

class Lit(NamedTuple):
    text: str
    quoted: bool


class Param(NamedTuple):
    name: str
    quoted: bool


class Subst(NamedTuple):
    body: Tuple[AndOr, ...]
    quoted: bool


Part = Union[Lit, Param, Subst]
Word = Tuple[Part, ...]


class Redirect(NamedTuple):
    fd: int
    op: str  # ">", ">>", "<", ">&", "<&"
    target: Word


class Simple(NamedTuple):
    assigns: Tuple[Tuple[str, Word], ...]
    words: Tuple[Word, ...]
    redirects: Tuple[Redirect, ...]


class Group(NamedTuple):  # ( ... ): a subshell
    body: Tuple[AndOr, ...]
    redirects: Tuple[Redirect, ...]


class Pipeline(NamedTuple):
    commands: Tuple[Union[Simple, Group], ...]
    negate: bool


class AndOr(NamedTuple):
    first: Pipeline
    rest: Tuple[Tuple[str, Pipeline], ...]  # ("&&" or "||", pipeline)


Script = Tuple[AndOr, ...]


class ShellSyntaxError(Exception):
    pass


_WORD_END = frozenset(" \t\n;&|()<>")
_REDIRECT = re.compile(r"(\d?)(>>|>&|>\||<&|>|<)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
_SPECIAL_PARAMS = "?@*#$!0123456789"


class _Parser:
    """Recursive descent over the characters: list, and-or, pipeline, command, word."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def script(self) -> Script:
        body = self._list(None)
        if self.pos < len(self.text):
            raise ShellSyntaxError("'%s' unexpected" % self.text[self.pos:self.pos + 2].strip())
        return body

    def _peek(self) -> str:
        return self.text[self.pos:self.pos + 1]

    def _skip(self, newlines: bool = False) -> None:
        """Blanks, line continuations and comments (and newlines, when asked)."""
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t" or (newlines and char == "\n"):
                self.pos += 1
            elif text.startswith("\\\n", self.pos):
                self.pos += 2
            elif char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                break

    def _list(self, closer: Optional[str]) -> Script:
        items: List[AndOr] = []
        while True:
            self._skip(newlines=True)
            if self.pos >= len(self.text) or (closer is not None and self._peek() == closer):
                return tuple(items)
            items.append(self._and_or())
            self._skip()
            if self._peek() in ("\n", ";", "&") and not self.text.startswith(("&&", ";;"), self.pos):
                self.pos += 1
                continue
            return tuple(items)

    def _and_or(self) -> AndOr:
        first = self._pipeline()
        rest: List[Tuple[str, Pipeline]] = []
        while True:
            self._skip()
            op = self.text[self.pos:self.pos + 2]
            if op not in ("&&", "||"):
                return AndOr(first, tuple(rest))
            self.pos += 2
            self._skip(newlines=True)
            rest.append((op, self._pipeline()))

    def _pipeline(self) -> Pipeline:
        self._skip()
        negate = self._peek() == "!" and self.text[self.pos + 1:self.pos + 2] in ("", " ", "\t", "\n")
        if negate:
            self.pos += 1
        commands = [self._command()]
        while True:
            self._skip()
            if self._peek() != "|" or self.text.startswith("||", self.pos):
                return Pipeline(tuple(commands), negate)
            self.pos += 1
            self._skip(newlines=True)
            commands.append(self._command())

    def _command(self) -> Union[Simple, Group]:
        self._skip()
        if self._peek() == "(":
            self.pos += 1
            body = self._list(")")
            if self._peek() != ")":
                raise ShellSyntaxError("missing )")
            self.pos += 1
            return Group(body, self._redirects())
        assigns: List[Tuple[str, Word]] = []
        words: List[Word] = []
        redirects: List[Redirect] = []
        while True:
            self._skip()
            char = self._peek()
            if not char or char in ";&|)\n":
                break
            if char == "(":
                raise ShellSyntaxError("'(' unexpected")
            found = _REDIRECT.match(self.text, self.pos)
            if found:
                redirects.append(self._redirect(found))
                continue
            word = self._word()
            first = word[0] if word else None
            assignment = _ASSIGNMENT.match(first.text) if isinstance(first, Lit) and not first.quoted else None
            if not words and isinstance(first, Lit) and assignment:
                value = (Lit(first.text[assignment.end():], False),) + word[1:]
                assigns.append((assignment.group(1), value))
            else:
                words.append(word)
        if not (assigns or words or redirects):
            raise ShellSyntaxError("'%s' unexpected" % (self.text[self.pos:self.pos + 2].strip() or "end of input"))
        return Simple(tuple(assigns), tuple(words), tuple(redirects))

    def _redirects(self) -> Tuple[Redirect, ...]:
        redirects: List[Redirect] = []
        while True:
            self._skip()
            found = _REDIRECT.match(self.text, self.pos)
            if not found:
                return tuple(redirects)
            redirects.append(self._redirect(found))

    def _redirect(self, found: re.Match) -> Redirect:
        op = ">" if found.group(2) == ">|" else found.group(2)
        fd = int(found.group(1)) if found.group(1) else (0 if op[0] == "<" else 1)
        self.pos = found.end()
        self._skip()
        if not self._peek() or self._peek() in _WORD_END:
            raise ShellSyntaxError("a redirection needs a target")
        return Redirect(fd, op, self._word())

    def _word(self) -> Word:
        text = self.text
        start = self.pos
        parts: List[Part] = []
        literal: List[str] = []

        def flush() -> None:
            if literal:
                parts.append(Lit("".join(literal), False))
                del literal[:]

        while self.pos < len(text):
            char = text[self.pos]
            if char in _WORD_END:
                break
            if char == "'":
                end = text.find("'", self.pos + 1)
                if end < 0:
                    raise ShellSyntaxError("unterminated quoted string")
                flush()
                parts.append(Lit(text[self.pos + 1:end], True))
                self.pos = end + 1
            elif char == '"':
                flush()
                parts.extend(self._double_quoted())
            elif char == "\\":
                following = text[self.pos + 1:self.pos + 2]
                if following and following != "\n":
                    flush()
                    parts.append(Lit(following, True))
                elif not following:
                    literal.append("\\")
                self.pos += 2
            elif char == "$":
                flush()
                parts.append(self._dollar(False))
            elif char == "`":
                flush()
                parts.append(self._backtick(False))
            elif char == "~" and self.pos == start and text[self.pos + 1:self.pos + 2] in ("", "/", *_WORD_END):
                # The shell user's home is /: "~" is "/", and "~/x" is "/x".
                parts.append(Lit("" if text[self.pos + 1:self.pos + 2] == "/" else "/", True))
                self.pos += 1
            else:
                literal.append(char)
                self.pos += 1
        flush()
        return tuple(parts)

    def _double_quoted(self) -> List[Part]:
        text = self.text
        self.pos += 1
        parts: List[Part] = [Lit("", True)]  # "" alone is one empty word
        buffer: List[str] = []
        while True:
            if self.pos >= len(text):
                raise ShellSyntaxError("unterminated quoted string")
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                break
            if char == "\\":
                following = text[self.pos + 1:self.pos + 2]
                if following in ("$", "`", '"', "\\"):
                    buffer.append(following)
                elif following != "\n":
                    buffer.append("\\" + following)
                self.pos += 2
            elif char in "$`":
                parts.append(Lit("".join(buffer), True))
                buffer = []
                parts.append(self._dollar(True) if char == "$" else self._backtick(True))
            else:
                buffer.append(char)
                self.pos += 1
        parts.append(Lit("".join(buffer), True))
        return parts

    def _dollar(self, quoted: bool) -> Part:
        text = self.text
        following = text[self.pos + 1:self.pos + 2]
        if following == "(":
            if text.startswith("$((", self.pos):
                raise ShellSyntaxError("arithmetic expansion is not supported")
            self.pos += 2
            body = self._list(")")
            if self._peek() != ")":
                raise ShellSyntaxError("missing )")
            self.pos += 1
            return Subst(body, quoted)
        if following == "{":
            end = text.find("}", self.pos)
            name = text[self.pos + 2:end] if end > 0 else ""
            if not (_NAME.fullmatch(name) or name.isdigit() or (len(name) == 1 and name in _SPECIAL_PARAMS)):
                raise ShellSyntaxError("${%s}: bad substitution" % name)
            self.pos = end + 1
            return Param(name, quoted)
        if following and following in _SPECIAL_PARAMS:
            self.pos += 2
            return Param(following, quoted)
        found = _NAME.match(text, self.pos + 1)
        if found:
            self.pos = found.end()
            return Param(found.group(), quoted)
        self.pos += 1
        return Lit("$", quoted)

    def _backtick(self, quoted: bool) -> Subst:
        text = self.text
        self.pos += 1
        buffer: List[str] = []
        while True:
            if self.pos >= len(text):
                raise ShellSyntaxError("unterminated `")
            char = text[self.pos]
            if char == "`":
                self.pos += 1
                break
            following = text[self.pos + 1:self.pos + 2]
            if char == "\\" and (following in ("$", "`", "\\") or (quoted and following == '"')):
                buffer.append(following)
                self.pos += 2
            else:
                buffer.append(char)
                self.pos += 1
        return Subst(_Parser("".join(buffer)).script(), quoted)


# The interpreter --------------------------------------------------------------------------------------

class _Exit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _TooDeep(Exception):
    pass


class _Sink:
    def write(self, data: bytes) -> None:
        pass  # /dev/null and a closed descriptor swallow what they get


class _Buffer(_Sink):
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data


class _FileSink(_Sink):
    def __init__(self, node: Node) -> None:
        self.node = node

    def write(self, data: bytes) -> None:
        if self.node.kind == "f":
            self.node.data += data
            self.node.mtime = int(time.time())


_NULL = _Sink()


class _Io:
    """A command's standard input (bytes) and its output descriptors (1, 2, ...)."""

    def __init__(self, stdin: bytes, fds: Dict[int, _Sink]) -> None:
        self.stdin = stdin
        self.fds = fds

    def copy(self) -> _Io:
        return _Io(self.stdin, dict(self.fds))

    def out(self, data: Union[str, bytes]) -> None:
        self.fds.get(1, _NULL).write(_bytes(data))

    def err(self, data: Union[str, bytes]) -> None:
        self.fds.get(2, _NULL).write(_bytes(data))


def _bytes(data: Union[str, bytes]) -> bytes:
    return data if isinstance(data, bytes) else data.encode("utf-8", "surrogateescape")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


_IFS = re.compile(r"[ \t\n]+")
_VARIABLES = {
    "HOME": "/", "PATH": "/product/bin:/apex/com.android.runtime/bin:/apex/com.android.art/bin:/system_ext/bin:"
    "/system/bin:/system/xbin:/odm/bin:/vendor/bin:/vendor/xbin", "USER": "shell", "LOGNAME": "shell",
    "SHELL": SHELL, "TMPDIR": "/data/local/tmp", "HOSTNAME": "localhost", "EXTERNAL_STORAGE": "/sdcard",
    "ANDROID_DATA": "/data", "ANDROID_ROOT": "/system", "IFS": " \t\n",
}


class _Shell:
    """One shell: its positional arguments, variables, last status, directory and umask."""

    def __init__(self, device: Device, args: List[str], wait: Wait, depth: int = 0,
                 variables: Optional[Dict[str, str]] = None, cwd: str = "/", umask: int = 0o022) -> None:
        if depth > MAX_DEPTH:
            raise _TooDeep()
        self.device = device
        self.args = args  # $0, $1, ...
        self.wait = wait
        self.depth = depth
        self.vars = dict(_VARIABLES) if variables is None else dict(variables)
        self.cwd = cwd
        self.umask = umask
        self.status = 0
        self.subst_status: Optional[int] = None

    def child(self, args: Optional[List[str]] = None) -> _Shell:
        child = _Shell(self.device, list(self.args if args is None else args), self.wait, self.depth + 1, self.vars,
                       self.cwd, self.umask)
        child.status = self.status
        return child

    def path(self, name: str) -> str:
        return _normal(name, self.cwd)

    # Running.
    def run_text(self, text: Union[str, bytes], io: _Io) -> int:
        try:
            script = _Parser(text if isinstance(text, str) else _text(text)).script()
        except ShellSyntaxError as exc:
            io.err("%s: syntax error: %s\n" % (SHELL, exc))
            return 1
        return self.run_script(script, io)

    def run_source(self, text: Union[str, bytes], args: List[str], io: _Io) -> int:
        """Text run by a new shell (sh -c, sh FILE, a script file): its exit ends only that shell."""
        try:
            return self.child(args).run_text(text, io)
        except _Exit as stop:
            return stop.code

    def run_script(self, script: Script, io: _Io) -> int:
        for and_or in script:
            self.status = self._and_or(and_or, io)
        return self.status

    def _and_or(self, node: AndOr, io: _Io) -> int:
        status = self._pipeline(node.first, io)
        for op, pipeline in node.rest:
            if (op == "&&") == (status == 0):
                status = self._pipeline(pipeline, io)
        return status

    def _pipeline(self, node: Pipeline, io: _Io) -> int:
        if len(node.commands) == 1:
            status = self._command(node.commands[0], io)
        else:
            data = io.stdin
            for index, command in enumerate(node.commands):
                last = index == len(node.commands) - 1
                sink = io.fds.get(1, _NULL) if last else _Buffer()
                stage = _Io(data, dict(io.fds))
                stage.fds[1] = sink
                try:
                    status = self.child()._command(command, stage)
                except _Exit as stop:
                    status = stop.code
                if isinstance(sink, _Buffer) and not last:
                    data = bytes(sink.data)
        if node.negate:
            status = int(status == 0)
        self.status = status
        return status

    def _command(self, command: Union[Simple, Group], io: _Io) -> int:
        if isinstance(command, Group):
            redirected = self._redirect(command.redirects, io)
            if redirected is None:
                return 1
            try:
                return self.child().run_script(command.body, redirected)
            except _Exit as stop:
                return stop.code
        self.subst_status = None
        argv = [field for word in command.words for field in self.expand(word, io)]
        assigns = [(name, self.expand_text(value, io)) for name, value in command.assigns]
        redirected = self._redirect(command.redirects, io)
        if redirected is None:
            return 1
        if not argv:
            self.vars.update(assigns)
            return self.subst_status or 0
        return self.call(argv, redirected)

    def call(self, argv: List[str], io: _Io) -> int:
        name = argv[0]
        builtin = BUILTINS.get(name)
        if builtin is None and posixpath.dirname(name) in ("/system/bin", "/bin", "/system/xbin"):
            base = posixpath.basename(name)
            builtin = BUILTINS.get(base) if base not in SHELL_ONLY else None
        if builtin is not None:
            return builtin(self, argv, io)
        if "/" in name:
            return self._run_file(argv, io)
        io.err("%s: %s: inaccessible or not found\n" % (SHELL, name))
        return 127

    def _run_file(self, argv: List[str], io: _Io) -> int:
        node = self.device.nodes.get(self.path(argv[0]))
        if node is None:
            io.err("%s: %s: inaccessible or not found\n" % (SHELL, argv[0]))
            return 127
        if node.kind != "f" or not node.mode & 0o111:
            io.err("%s: %s: can't execute: %s\n" % (SHELL, argv[0], EACCES))
            return 126
        return self.run_source(bytes(node.data), argv, io)

    # Expansion.
    def _param(self, name: str) -> str:
        if name == "?":
            return str(self.status)
        if name == "#":
            return str(len(self.args) - 1)
        if name == "$":
            return "4242"
        if name == "!":
            return ""
        if name in ("@", "*"):
            return " ".join(self.args[1:])
        if name.isdigit():
            index = int(name)
            return self.args[index] if index < len(self.args) else ""
        return self.vars.get(name, "")

    def _substitute(self, body: Script, io: _Io) -> str:
        captured = _Buffer()
        try:
            status = self.child().run_script(body, _Io(b"", {1: captured, 2: io.fds.get(2, _NULL)}))
        except _Exit as stop:
            status = stop.code
        self.subst_status = status
        return _text(bytes(captured.data)).rstrip("\n")

    def expand(self, word: Word, io: _Io) -> List[str]:
        """A word's fields: expansions outside quotes are split on blanks; "$@" gives one field per argument."""
        fields: List[str] = []
        current: Optional[str] = None
        for part in word:
            if isinstance(part, Lit):
                current = (current or "") + part.text
                continue
            if isinstance(part, Param) and part.name == "@" and part.quoted:
                for index, arg in enumerate(self.args[1:]):
                    if index:
                        fields.append(current or "")
                        current = ""
                    current = (current or "") + arg
                continue
            value = self._param(part.name) if isinstance(part, Param) else self._substitute(part.body, io)
            if part.quoted:
                current = (current or "") + value
                continue
            for index, piece in enumerate(_IFS.split(value)):
                if index and current is not None:
                    fields.append(current)
                    current = None
                if piece:
                    current = (current or "") + piece
        if current is not None:
            fields.append(current)
        return fields

    def expand_text(self, word: Word, io: _Io) -> str:
        """A word as one string (assignments, redirection targets): no splitting."""
        return "".join(part.text if isinstance(part, Lit) else
                       self._param(part.name) if isinstance(part, Param) else self._substitute(part.body, io)
                       for part in word)

    # Redirections.
    def _redirect(self, redirects: Tuple[Redirect, ...], io: _Io) -> Optional[_Io]:
        """The command's io after its redirections, or None (said on stderr) when one cannot be made."""
        if not redirects:
            return io
        new = io.copy()
        for redirect in redirects:
            target = self.expand_text(redirect.target, io)
            if redirect.op in (">", ">>"):
                sink = self._open_sink(target, append=redirect.op == ">>")
                if isinstance(sink, str):
                    io.err("%s: can't create %s: %s\n" % (SHELL, target, sink))
                    return None
                new.fds[redirect.fd] = sink
            elif redirect.op in (">&", "<&"):
                if target == "-":
                    new.fds[redirect.fd] = _NULL
                elif redirect.fd == 0 or target == "0":
                    pass  # duplicating standard input (0<&3, 1>&0) is not modelled: it stays as it is
                elif target.isdigit() and int(target) in new.fds:
                    new.fds[redirect.fd] = new.fds[int(target)]
                else:
                    io.err("%s: %s: bad file descriptor\n" % (SHELL, target))
                    return None
            else:  # "<"
                data = self.read_file(target)
                if isinstance(data, str):
                    io.err("%s: can't open %s: %s\n" % (SHELL, target, data))
                    return None
                if redirect.fd == 0:
                    new.stdin = data
        return new

    def _open_sink(self, name: str, append: bool) -> Union[_Sink, str]:
        path = self.path(name)
        if path == "/dev/null":
            return _NULL
        node = self.device.create_file(path, 0o666 & ~self.umask, truncate=not append)
        return node if isinstance(node, str) else _FileSink(node)

    def read_file(self, name: str) -> Union[bytes, str]:
        node = self.device.nodes.get(self.path(name))
        if node is None:
            return ENOENT
        if node.kind == "d":
            return EISDIR
        return bytes(node.data)

    def read_operand(self, name: str, io: _Io) -> Union[bytes, str]:
        return io.stdin if name == "-" else self.read_file(name)


# The commands ------------------------------------------------------------------------------------------

Builtin = Callable[[_Shell, List[str], _Io], int]


def _options(args: List[str], allowed: str) -> Tuple[Set[str], List[str], Optional[str]]:
    """(flags, operands, the first unknown flag) of toybox-style single-letter options before the operands."""
    flags: Set[str] = set()
    for index, arg in enumerate(args):
        if arg == "--":
            return flags, args[index + 1:], None
        if not arg.startswith("-") or arg == "-":
            return flags, args[index:], None
        for letter in arg[1:]:
            if letter not in allowed:
                return flags, [], letter
            flags.add(letter)
    return flags, [], None


def _unknown_option(io: _Io, name: str, letter: str) -> int:
    io.err("%s: Unknown option '%s'\n" % (name, letter))
    return 1


_ESCAPES = {"\\": "\\", "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "e": "\x1b"}
_ESCAPE = re.compile(r"\\(0[0-7]{0,3}|[0-7]{1,3}|c|.)", re.S)


def _unescape(text: str) -> Tuple[str, bool]:
    """Backslash escapes as echo -e and printf read them; True when a \\c stops the output there."""
    out: List[str] = []
    position = 0
    for found in _ESCAPE.finditer(text):
        out.append(text[position:found.start()])
        code = found.group(1)
        if code == "c":
            return "".join(out), True
        if code[0] in "01234567":
            out.append(chr(int(code, 8) & 0xFF))
        else:
            out.append(_ESCAPES.get(code, "\\" + code))
        position = found.end()
    out.append(text[position:])
    return "".join(out), False


def _true(sh: _Shell, argv: List[str], io: _Io) -> int:
    return 0


def _false(sh: _Shell, argv: List[str], io: _Io) -> int:
    return 1


def _exit(sh: _Shell, argv: List[str], io: _Io) -> int:
    if len(argv) > 1 and not re.fullmatch(r"-?\d+", argv[1]):
        io.err("%s: exit: %s: bad number\n" % (SHELL, argv[1]))
        raise _Exit(2)
    raise _Exit(int(argv[1]) & 0xFF if len(argv) > 1 else sh.status)


def _echo(sh: _Shell, argv: List[str], io: _Io) -> int:
    args = argv[1:]
    newline, escapes = True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        for letter in args[0][1:]:
            newline = newline and letter != "n"
            escapes = letter == "e" or (escapes and letter != "E")
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text, stop = _unescape(text)
        newline = newline and not stop
    io.out(text + ("\n" if newline else ""))
    return 0


_PRINTF = re.compile(r"%([-+ #0]*)(\d*)(?:\.(\d*))?([a-zA-Z%])|\\(0[0-7]{0,3}|[0-7]{1,3}|c|.)|[^%\\]+|.", re.S)


def _printf(sh: _Shell, argv: List[str], io: _Io) -> int:
    if len(argv) < 2:
        io.err("printf: Needs 1 argument\n")
        return 1
    fmt, args, status = argv[1], argv[2:], 0
    out: List[str] = []
    while True:
        used, stop = 0, False
        for found in _PRINTF.finditer(fmt):
            flags, width, precision, conversion, escape = found.groups()
            if escape is not None:
                text, stop = _unescape(found.group())
                out.append(text)
                if stop:
                    break
            elif conversion is None:
                out.append(found.group())
            elif conversion == "%":
                out.append("%")
            else:
                arg = args[used] if used < len(args) else None
                used += 1
                spec = "%" + flags + width + ("." + precision if precision is not None else "")
                if conversion in "sb":
                    value = arg or ""
                    if conversion == "b":
                        value, stop = _unescape(value)
                    out.append((spec + "s") % value)
                    if stop:
                        break
                elif conversion == "c":
                    out.append((spec + "s") % (arg or "")[:1])
                elif conversion in "diouxXeEfgG":
                    try:
                        number: Union[int, float] = (float(arg or 0) if conversion in "eEfgG"
                                                     else int(arg or "0", 0) if not (arg or "").startswith("'")
                                                     else ord((arg or "'\0")[1:2] or "\0"))
                    except ValueError:
                        io.err("printf: invalid number '%s'\n" % arg)
                        number, status = 0, 1
                    out.append((spec + conversion.replace("i", "d").replace("u", "d")) % number)
                else:
                    io.err("printf: %s: invalid conversion\n" % found.group())
                    return 1
        args = args[used:]
        if stop or not args or not used:
            break
    io.out("".join(out))
    return status


def _cat(sh: _Shell, argv: List[str], io: _Io) -> int:
    _flags, names, unknown = _options(argv[1:], "uv")
    if unknown:
        return _unknown_option(io, "cat", unknown)
    status = 0
    for name in names or ["-"]:
        data = sh.read_operand(name, io)
        if isinstance(data, str):
            io.err("cat: %s: %s\n" % (name, data))
            status = 1
        else:
            io.out(data)
    return status


def _long_line(name: str, node: Node) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(node.mtime))
    links = 2 if node.kind == "d" else 1
    return "%s %d shell shell %8d %s %s" % (stat.filemode(node.st_mode), links, node.size, when, name)


def _ls(sh: _Shell, argv: List[str], io: _Io) -> int:
    flags, names, unknown = _options(argv[1:], "1aAdlR")
    if unknown:
        return _unknown_option(io, "ls", unknown)
    status = 0
    files: List[Tuple[str, Node]] = []
    directories: List[Tuple[str, str]] = []
    for name in names or ["."]:
        path = sh.path(name)
        node = sh.device.nodes.get(path)
        if node is None:
            io.err("ls: %s: %s\n" % (name, ENOENT))
            status = 1
        elif node.kind == "d" and "d" not in flags:
            directories.append((name, path))
        else:
            files.append((name, node))
    lines = [_long_line(name, node) if "l" in flags else name for name, node in files]
    for index, (name, path) in enumerate(directories):
        if len(names) > 1:
            lines += ([""] if lines or index else []) + ["%s:" % name]
        entries = [child for child in sh.device.children(path) if "a" in flags or "A" in flags
                   or not child.startswith(".")]
        if "a" in flags:
            entries = [".", ".."] + entries
        for entry in entries:
            node = sh.device.nodes.get(_normal(entry, path)) or sh.device.nodes[path]
            lines.append(_long_line(entry, node) if "l" in flags else entry)
    io.out("".join(line + "\n" for line in lines))
    return status


def _mkdir(sh: _Shell, argv: List[str], io: _Io) -> int:
    args, parents, mode = argv[1:], False, 0o777 & ~sh.umask
    while args and args[0].startswith("-") and args[0] != "-":
        option = args.pop(0)
        if option == "--":
            break
        for index, letter in enumerate(option[1:]):
            if letter == "p":
                parents = True
            elif letter == "m":
                spec = option[index + 2:] or (args.pop(0) if args else "")
                try:
                    mode = _apply_mode(spec, 0o777, True, 0)
                except ValueError:
                    io.err("mkdir: bad mode '%s'\n" % spec)
                    return 1
                break
            else:
                return _unknown_option(io, "mkdir", letter)
    if not args:
        io.err("mkdir: Needs 1 argument\n")
        return 1
    status = 0
    for name in args:
        error = sh.device.mkdir(sh.path(name), mode, parents)
        if error:
            io.err("mkdir: '%s': %s\n" % (name, error))
            status = 1
    return status


def _rm(sh: _Shell, argv: List[str], io: _Io) -> int:
    flags, names, unknown = _options(argv[1:], "fiRrv")
    if unknown:
        return _unknown_option(io, "rm", unknown)
    status = 0
    for name in names:
        path = sh.path(name)
        node = sh.device.nodes.get(path)
        if node is None:
            if "f" not in flags:
                io.err("rm: %s: %s\n" % (name, ENOENT))
                status = 1
            continue
        if node.kind == "d" and not flags & {"r", "R"}:
            io.err("rm: %s: %s\n" % (name, EISDIR))
            status = 1
            continue
        error = sh.device.remove(path)
        if error:
            io.err("rm: %s: %s\n" % (name, error))
            status = 1
    return status


_WHO = {"u": 0o4700, "g": 0o2070, "o": 0o1007, "a": 0o7777}
_SYMBOLIC = re.compile(r"([ugoa]*)((?:[-+=][rwxXst]*)+)")


def _apply_mode(spec: str, mode: int, is_dir: bool, umask: int) -> int:
    """A chmod mode (octal, or symbolic such as u+rwx,go-w,a=rX) applied to `mode`; ValueError when invalid."""
    if re.fullmatch(r"[0-7]{1,4}", spec):
        return int(spec, 8)
    for clause in spec.split(","):
        found = _SYMBOLIC.fullmatch(clause)
        if not found:
            raise ValueError(spec)
        who = 0
        for letter in found.group(1) or "a":
            who |= _WHO[letter]
        mask = ~umask if not found.group(1) else 0o7777
        for op, perms in re.findall(r"([-+=])([rwxXst]*)", found.group(2)):
            bits = 0
            for letter in perms:
                bits |= {"r": 0o444, "w": 0o222, "x": 0o111, "s": 0o6000, "t": 0o1000,
                         "X": 0o111 if is_dir or mode & 0o111 else 0}[letter]
            bits &= who & mask
            if op == "+":
                mode |= bits
            elif op == "-":
                mode &= ~bits
            else:
                mode = (mode & ~who) | bits
    return mode & 0o7777


def _chmod(sh: _Shell, argv: List[str], io: _Io) -> int:
    args = argv[1:]
    recursive = bool(args) and args[0] == "-R"
    if recursive:
        args = args[1:]
    if len(args) < 2:
        io.err("chmod: Needs 2 arguments\n")
        return 1
    spec, status = args[0], 0
    try:
        _apply_mode(spec, 0, False, sh.umask)
    except ValueError:
        io.err("chmod: bad mode '%s'\n" % spec)
        return 1
    for name in args[1:]:
        path = sh.path(name)
        node = sh.device.nodes.get(path)
        if node is None:
            io.err("chmod: %s: %s\n" % (name, ENOENT))
            status = 1
            continue
        if not sh.device.writable(path):
            io.err("chmod: %s: %s\n" % (name, EROFS))
            status = 1
            continue
        targets = [path] + ([p for p in sh.device.nodes if p.startswith(path + "/")] if recursive else [])
        for target in targets:
            changed = sh.device.nodes[target]
            changed.mode = _apply_mode(spec, changed.mode, changed.kind == "d", sh.umask)
    return status


def _umask(sh: _Shell, argv: List[str], io: _Io) -> int:
    if len(argv) < 2:
        io.out("%04o\n" % sh.umask)
        return 0
    if not re.fullmatch(r"[0-7]{1,4}", argv[1]):
        io.err("%s: umask: bad number\n" % SHELL)
        return 1
    sh.umask = int(argv[1], 8)
    return 0


def _sleep(sh: _Shell, argv: List[str], io: _Io) -> int:
    try:
        seconds = float(argv[1].rstrip("s")) if len(argv) > 1 else -1.0
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        io.err("sleep: invalid number '%s'\n" % (argv[1] if len(argv) > 1 else ""))
        return 1
    if seconds:
        sh.wait(seconds)
    return 0


class _TestError(Exception):
    pass


_UNARY = frozenset("-%s" % letter for letter in "bcdefghknprsStuwxzLO")
_BINARY = frozenset(("=", "==", "!=", "-eq", "-ne", "-lt", "-le", "-gt", "-ge"))


class _Test:
    """test and [: ! -a -o ( ), the file tests, and string and number comparisons."""

    def __init__(self, sh: _Shell, args: List[str]) -> None:
        self.sh = sh
        self.args = args
        self.pos = 0

    def run(self) -> bool:
        if not self.args:
            return False
        value = self._or()
        if self.pos < len(self.args):
            raise _TestError("%s: unexpected operator" % self.args[self.pos])
        return value

    def _next(self) -> str:
        if self.pos >= len(self.args):
            raise _TestError("argument expected")
        self.pos += 1
        return self.args[self.pos - 1]

    def _left(self) -> int:
        return len(self.args) - self.pos

    def _or(self) -> bool:
        value = self._and()
        while self.pos < len(self.args) and self.args[self.pos] == "-o":
            self.pos += 1
            value = self._and() or value
        return value

    def _and(self) -> bool:
        value = self._not()
        while self.pos < len(self.args) and self.args[self.pos] == "-a":
            self.pos += 1
            value = self._not() and value
        return value

    def _not(self) -> bool:
        if self._left() > 1 and self.args[self.pos] == "!":
            self.pos += 1
            return not self._not()
        return self._primary()

    def _primary(self) -> bool:
        token = self._next()
        if token == "(" and self._left() > 1:
            value = self._or()
            if self._next() != ")":
                raise _TestError("missing )")
            return value
        if self._left() >= 2 and self.args[self.pos] in _BINARY:
            return self._binary(token, self._next(), self._next())
        if token in _UNARY and self._left() >= 1:
            return self._unary(token, self._next())
        return token != ""

    def _binary(self, left: str, op: str, right: str) -> bool:
        if op in ("=", "=="):
            return left == right
        if op == "!=":
            return left != right
        try:
            a, b = int(left), int(right)
        except ValueError:
            raise _TestError("%s: bad number" % (right if re.fullmatch(r"-?\d+", left) else left)) from None
        return {"-eq": a == b, "-ne": a != b, "-lt": a < b, "-le": a <= b, "-gt": a > b, "-ge": a >= b}[op]

    def _unary(self, op: str, arg: str) -> bool:
        if op == "-z":
            return arg == ""
        if op == "-n":
            return arg != ""
        path = self.sh.path(arg)
        node = self.sh.device.nodes.get(path)
        if node is None or op in ("-L", "-h", "-b", "-p", "-S", "-t", "-g", "-u", "-k"):
            return False
        return {"-e": True, "-f": node.kind == "f", "-d": node.kind == "d", "-c": node.kind == "c", "-r": True,
                "-O": True, "-G": True, "-s": node.size > 0, "-w": self.sh.device.writable(path),
                "-x": node.kind == "d" or bool(node.mode & 0o111)}.get(op, False)


def _test(sh: _Shell, argv: List[str], io: _Io) -> int:
    args = argv[1:]
    if posixpath.basename(argv[0]) == "[":
        if not args or args[-1] != "]":
            io.err("[: missing ]\n")
            return 2
        args = args[:-1]
    try:
        return 0 if _Test(sh, args).run() else 1
    except _TestError as exc:
        io.err("test: %s\n" % exc)
        return 2


def _digest(algorithm: str) -> Builtin:
    def digest(sh: _Shell, argv: List[str], io: _Io) -> int:
        _flags, names, unknown = _options(argv[1:], "b")
        if unknown:
            return _unknown_option(io, algorithm + "sum", unknown)
        status = 0
        for name in names or ["-"]:
            data = sh.read_operand(name, io)
            if isinstance(data, str):
                io.err("%ssum: %s: %s\n" % (algorithm, name, data))
                status = 1
                continue
            io.out("%s  %s\n" % (hashlib.new(algorithm, data).hexdigest(), name))
        return status
    return digest


def _wc(sh: _Shell, argv: List[str], io: _Io) -> int:
    flags, names, unknown = _options(argv[1:], "clmw")
    if unknown:
        return _unknown_option(io, "wc", unknown)
    shown = [letter for letter in "lwc" if letter in flags or (letter == "c" and "m" in flags)] or ["l", "w", "c"]
    status = 0
    for name in names or ["-"]:
        data = sh.read_operand(name, io)
        if isinstance(data, str):
            io.err("wc: %s: %s\n" % (name, data))
            status = 1
            continue
        counts = {"l": data.count(b"\n"), "w": len(data.split()), "c": len(data)}
        io.out(" ".join([str(counts[letter]) for letter in shown] + ([name] if name != "-" else [])) + "\n")
    return status


_ID = ("uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),1015(sdcard_rw),"
       "1028(sdcard_r),1078(ext_data_rw),1079(ext_obb_rw),3001(net_bt_admin),3002(net_bt),3003(inet),"
       "3006(net_bw_stats),3009(readproc),3011(uhid),3012(readtracefs) context=u:r:shell:s0")


def _id(sh: _Shell, argv: List[str], io: _Io) -> int:
    flags, _names, unknown = _options(argv[1:], "ugGnr")
    if unknown:
        return _unknown_option(io, "id", unknown)
    if flags & {"u", "g", "G"}:
        io.out(("shell" if "n" in flags else "2000") + "\n")
    else:
        io.out(_ID + "\n")
    return 0


def _whoami(sh: _Shell, argv: List[str], io: _Io) -> int:
    io.out("shell\n")
    return 0


_UNAME = (("s", "Linux"), ("n", "localhost"), ("r", "5.10.198-android12-9-g1f2f5f0e4d3a"),
          ("v", "#1 SMP PREEMPT Mon Jan 1 00:00:00 UTC 2024"), ("m", "aarch64"), ("o", "Toybox"))


def _uname(sh: _Shell, argv: List[str], io: _Io) -> int:
    flags, _names, unknown = _options(argv[1:], "asnrvmop")
    if unknown:
        return _unknown_option(io, "uname", unknown)
    if "a" in flags:
        flags = set("snrvmo")
    io.out(" ".join(value for letter, value in _UNAME if letter in (flags or {"s"})) + "\n")
    return 0


SHELL_ONLY = frozenset((":", "cd", "command", "exit", "export", "pwd", "set", "umask", "unset"))


def _command(sh: _Shell, argv: List[str], io: _Io) -> int:
    args = argv[1:]
    if args and args[0] in ("-v", "-V"):
        status = 0
        for name in args[1:]:
            node = sh.device.nodes.get(sh.path(name)) if "/" in name else None
            if name in BUILTINS:
                io.out((name if name in SHELL_ONLY else "/system/bin/" + name) + "\n")
            elif node is not None and node.kind == "f" and node.mode & 0o111:
                io.out(name + "\n")
            else:
                status = 1  # not here; there is no python on these phones
        return status
    return sh.call(args, io) if args else 0


def _getprop(sh: _Shell, argv: List[str], io: _Io) -> int:
    props = sh.device.props()
    if len(argv) < 2:
        io.out("".join("[%s]: [%s]\n" % item for item in sorted(props.items())))
    else:
        io.out(props.get(argv[1], argv[2] if len(argv) > 2 else "") + "\n")
    return 0


def _pm(sh: _Shell, argv: List[str], io: _Io) -> int:
    if argv[1:3] != ["list", "packages"]:
        io.err("Error: unknown command '%s' (this phone's pm knows 'list packages')\n" % " ".join(argv[1:3]))
        return 1
    wanted = [arg for arg in argv[3:] if not arg.startswith("-")]
    rows = sh.device.phone.get("apps") or {}
    packages = [row.get("packageName", package) for package, row in rows.items() if row.get("installStatus") == 1]
    io.out("".join("package:%s\n" % p for p in packages if not wanted or wanted[0] in p))
    return 0


def _sh(sh: _Shell, argv: List[str], io: _Io) -> int:
    args = argv[1:]
    if args and args[0] == "-c":
        if len(args) < 2:
            io.err("%s: -c: option requires an argument\n" % SHELL)
            return 1
        return sh.run_source(args[1], args[2:] or [SHELL], io)  # sh -c TEXT [$0 [$1 ...]]
    if args:
        data = sh.read_file(args[0])
        if isinstance(data, str):
            io.err("%s: can't open '%s': %s\n" % (SHELL, args[0], data))
            return 127
        return sh.run_source(data, args, io)
    return sh.run_source(io.stdin, [SHELL], io)


def _cd(sh: _Shell, argv: List[str], io: _Io) -> int:
    name = argv[1] if len(argv) > 1 else "/"
    path = sh.path(name)
    node = sh.device.nodes.get(path)
    if node is None or node.kind != "d":
        io.err("%s: cd: %s: %s\n" % (SHELL, name, ENOENT if node is None else ENOTDIR))
        return 1
    sh.cwd = path
    return 0


def _pwd(sh: _Shell, argv: List[str], io: _Io) -> int:
    io.out(sh.cwd + "\n")
    return 0


def _export(sh: _Shell, argv: List[str], io: _Io) -> int:
    for arg in argv[1:]:
        name, equals, value = arg.partition("=")
        if equals:
            sh.vars[name] = value
    return 0


def _set(sh: _Shell, argv: List[str], io: _Io) -> int:
    """set -- ARGS sets the positional arguments; shell options (-e, -x, ...) are taken and ignored."""
    args = argv[1:]
    while args and re.fullmatch(r"[-+][a-z]+", args[0]):
        args = args[1:]
    if args and args[0] == "--":
        sh.args = sh.args[:1] + args[1:]
    elif args:
        sh.args = sh.args[:1] + args
    return 0


def _unset(sh: _Shell, argv: List[str], io: _Io) -> int:
    for name in argv[1:]:
        sh.vars.pop(name, None)
    return 0


def _touch(sh: _Shell, argv: List[str], io: _Io) -> int:
    _flags, names, unknown = _options(argv[1:], "ac")
    if unknown:
        return _unknown_option(io, "touch", unknown)
    status = 0
    for name in names:
        path = sh.path(name)
        node = sh.device.nodes.get(path)
        if node is not None and (node.kind == "d" or sh.device.writable(path)):
            node.mtime = int(time.time())
            continue
        made = sh.device.create_file(path, 0o666 & ~sh.umask, truncate=False)
        if isinstance(made, str):
            io.err("touch: '%s': %s\n" % (name, made))
            status = 1
    return status


def _basic_regex(pattern: str) -> str:
    """A POSIX basic regular expression as Python's re writes it: \\( \\) \\{ \\} \\| are the operators."""
    out: List[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            following = pattern[index + 1]
            out.append(following if following in "(){}|+?" else "\\" + following)
            index += 2
            continue
        out.append("\\" + char if char in "(){}|+?" else char)
        index += 1
    return "".join(out)


def _grep(sh: _Shell, argv: List[str], io: _Io) -> int:
    args, patterns, flags = argv[1:], [], set()
    while args and args[0].startswith("-") and args[0] != "-":
        option = args.pop(0)
        if option == "--":
            break
        for index, letter in enumerate(option[1:]):
            if letter == "e":
                patterns.append(option[index + 2:] or (args.pop(0) if args else ""))
                break
            if letter not in "qvicFEnlsxw":
                io.err("grep: Unknown option '%s'\n" % letter)
                return 2
            flags.add(letter)
    if not patterns:
        if not args:
            io.err("grep: Needs 1 argument\n")
            return 2
        patterns.append(args.pop(0))
    sources = [re.escape(p) if "F" in flags else p if "E" in flags else _basic_regex(p) for p in patterns]
    if "w" in flags:
        sources = [r"\b(?:%s)\b" % s for s in sources]
    try:
        regex = re.compile("|".join("(?:%s)" % s for s in sources), re.IGNORECASE if "i" in flags else 0)
    except re.error:
        io.err("grep: bad regex '%s'\n" % "|".join(patterns))
        return 2
    matched, status = False, 0
    names = args or ["-"]
    for name in names:
        data = sh.read_operand(name, io)
        if isinstance(data, str):
            if "s" not in flags:
                io.err("grep: %s: %s\n" % (name, data))
            status = 2
            continue
        lines = _text(data).split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        found = [(number, line) for number, line in enumerate(lines, 1)
                 if bool(regex.fullmatch(line) if "x" in flags else regex.search(line)) != ("v" in flags)]
        matched = matched or bool(found)
        if "q" in flags:
            continue
        prefix = name + ":" if len(names) > 1 else ""
        if "l" in flags:
            io.out(name + "\n" if found else "")
        elif "c" in flags:
            io.out("%s%d\n" % (prefix, len(found)))
        else:
            io.out("".join("%s%s%s\n" % (prefix, "%d:" % number if "n" in flags else "", line)
                           for number, line in found))
    return 0 if matched else (status or 1)


BUILTINS: Dict[str, Builtin] = {
    ":": _true, "true": _true, "false": _false, "exit": _exit, "echo": _echo, "printf": _printf, "cat": _cat,
    "ls": _ls, "mkdir": _mkdir, "rm": _rm, "chmod": _chmod, "umask": _umask, "sleep": _sleep, "test": _test,
    "[": _test, "md5sum": _digest("md5"), "sha1sum": _digest("sha1"), "sha256sum": _digest("sha256"), "wc": _wc,
    "id": _id, "whoami": _whoami, "uname": _uname, "command": _command, "getprop": _getprop, "pm": _pm, "sh": _sh,
    "cd": _cd, "pwd": _pwd, "export": _export, "set": _set, "unset": _unset, "touch": _touch, "grep": _grep,
}
