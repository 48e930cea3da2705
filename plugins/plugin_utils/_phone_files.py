# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What phone_copy and phone_fetch share: checksums on the phone, through the connection, without Python.

Private to this collection: the API of this file may change without notice.

Android has no Python, so the usual way of ansible.builtin.copy and fetch (the stat module on the
host) cannot work on a phone. These actions ask the phone's own shell for a file's SHA-1
(`sha1sum`, part of Android's toybox) and move the bytes with the connection's put_file and
fetch_file (ADB's file sync service with the geelark.cloudphone.adb connection).
"""

from __future__ import annotations

import shlex

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text

MISSING = None


def remote_sha1(action, path):
    """The SHA-1 of the file at `path` on the phone, or MISSING when there is no such file.

    `executable=False` sends the command as written: the phone's shell is not the controller's /bin/sh.
    """
    quoted = shlex.quote(path)
    command = "[ -f %s ] && sha1sum %s || echo __GEELARK_NO_FILE__" % (quoted, quoted)
    result = action._low_level_execute_command(command, sudoable=False, executable=False)
    output = to_text(result.get("stdout", "")).strip()
    if result.get("rc") != 0:
        raise AnsibleError("could not read the checksum of %s on the phone (rc %s): %s"
                           % (path, result.get("rc"), output or to_text(result.get("stderr", "")).strip()))
    if output.endswith("__GEELARK_NO_FILE__"):
        return MISSING
    digest = output.split()[0] if output else ""
    if len(digest) != 40 or any(c not in "0123456789abcdef" for c in digest.lower()):
        raise AnsibleError("the phone's sha1sum answered something that is not a checksum for %s: %s"
                           % (path, output[:200]))
    return digest.lower()


def remote_mode(action, path):
    """The permission bits (0o777) of the file at `path` on the phone, from `ls -ld` (toybox's and any POSIX ls)."""
    result = run_on_phone(action, "ls -ld %s" % shlex.quote(path), "reading the mode of %s" % path)
    listing = to_text(result.get("stdout", "")).strip().split()
    letters = listing[0] if listing else ""
    if len(letters) < 10:
        raise AnsibleError("could not read the mode of %s on the phone: %s" % (path, " ".join(listing)[:200]))
    mode = 0
    for position, letter in enumerate(letters[1:10]):
        if letter not in "-ST":  # S and T: set-ID or sticky without the execute bit
            mode |= 1 << (8 - position)
    return mode


def run_on_phone(action, command, what):
    """Run a short command on the phone; fail naming `what` when it does not exit 0."""
    result = action._low_level_execute_command(command, sudoable=False, executable=False)
    if result.get("rc") != 0:
        raise AnsibleError("%s failed on the phone (rc %s): %s" % (
            what, result.get("rc"), to_text(result.get("stdout", "")).strip()[:300]))
    return result


def boolean_arg(value, name):
    """A task argument that must be a boolean, as YAML and Ansible spell them; anything else is refused."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("yes", "true", "on", "1"):
        return True
    if word in ("no", "false", "off", "0"):
        return False
    raise AnsibleError("%s must be true or false, got %r" % (name, value))
