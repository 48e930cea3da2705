# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Copy a file from the controller to a phone, without Python on the phone (see module phone_copy)."""

from __future__ import annotations

import os
import shlex
import tempfile

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase
from ansible.utils.hashing import checksum as local_sha1

from ansible_collections.geelark.cloudphone.plugins.plugin_utils._phone_files import (
    MISSING,
    boolean_arg,
    remote_mode,
    remote_sha1,
    run_on_phone,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False  # put_file sends to dest itself: no remote temporary directory
    _VALID_ARGS = frozenset(("src", "content", "dest", "mode", "force"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        try:
            return self._copy(result, args)
        except AnsibleError as error:
            result.update(failed=True, msg=to_text(error))
            return result

    def _copy(self, result, args):
        src, content, dest = args.get("src"), args.get("content"), args.get("dest")
        if not dest or not isinstance(dest, str):
            raise AnsibleError("dest is required: the path of the file on the phone")
        if not dest.startswith("/"):
            raise AnsibleError("dest must be an absolute path on the phone, such as /sdcard/Download/%s, got %s (the "
                               "shell user can write under /sdcard/ and /data/local/tmp/)"
                               % (os.path.basename(dest), dest))
        if (src is None) == (content is None):
            raise AnsibleError("give either src (a file on the controller) or content (the text to write), one of them")
        if src is not None and (not isinstance(src, str) or not src.strip()):
            raise AnsibleError("src is empty: name a file on the controller, or give content")
        mode = args.get("mode")
        if mode is not None and not (isinstance(mode, str) and mode.isdigit() and len(mode) in (3, 4)
                                     and set(mode) <= set("01234567")):
            raise AnsibleError("mode must be an octal mode in quotes, for example '0644', got %r" % (mode,))
        force = boolean_arg(args.get("force", True), "force")
        temporary = None
        try:
            if content is not None:
                handle, temporary = tempfile.mkstemp()
                with os.fdopen(handle, "wb") as out:
                    out.write(to_bytes(content))
                source = temporary
            else:
                try:
                    source = self._find_needle("files", src)
                except AnsibleError:
                    raise AnsibleError("src %s was not found on the controller (looked in the role's and the "
                                       "playbook's files/ and next to the playbook)" % src) from None
                if os.path.isdir(source):
                    raise AnsibleError("src %s is a directory; phone_copy copies one file" % src)
            if dest.endswith("/"):
                if content is not None:
                    raise AnsibleError("dest must name a file when content is given, got the directory %s" % dest)
                dest = dest + os.path.basename(source)
            wanted = local_sha1(source)
            before = remote_sha1(self, dest)
            result.update(dest=dest, checksum=wanted, size=os.path.getsize(source))
            if before == wanted or (before is not MISSING and not force):
                # The content stays; a mode that differs is still a change.
                result["changed"] = mode is not None and remote_mode(self, dest) != int(mode, 8) & 0o777
                if result["changed"] and not self._task.check_mode:
                    run_on_phone(self, "chmod %s %s" % (mode, shlex.quote(dest)), "chmod %s" % dest)
                return result
            # Changed before the transfer: a refusal may come after the phone opened (and emptied) the file at
            # dest, so a failed send is never reported as unchanged.
            result["changed"] = True
            if self._task.check_mode:
                return result
            self._connection.put_file(source, dest)
            if mode is not None:
                run_on_phone(self, "chmod %s %s" % (mode, shlex.quote(dest)), "chmod %s" % dest)
            after = remote_sha1(self, dest)
            if after != wanted:
                raise AnsibleError("the copy of %s on the phone has checksum %s, not %s: it did not arrive intact"
                                   % (dest, after, wanted))
            return result
        finally:
            if temporary is not None:
                os.unlink(temporary)
