# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fetch a file from a phone to the controller, without Python on the phone (see module phone_fetch)."""

from __future__ import annotations

import os
import tempfile

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.hashing import checksum as local_sha1

from ansible_collections.geelark.cloudphone.plugins.plugin_utils._phone_files import (
    MISSING,
    boolean_arg,
    remote_sha1,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("src", "dest", "flat", "fail_on_missing"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        try:
            return self._fetch(result, self._task.args, task_vars or {})
        except AnsibleError as error:
            result.update(failed=True, msg=to_text(error))
            return result

    def _fetch(self, result, args, task_vars):
        src, dest = args.get("src"), args.get("dest")
        if not src or not isinstance(src, str):
            raise AnsibleError("src is required: the path of the file on the phone")
        if not dest or not isinstance(dest, str):
            raise AnsibleError("dest is required: where on the controller the file goes")
        flat = boolean_arg(args.get("flat", False), "flat")
        fail_on_missing = boolean_arg(args.get("fail_on_missing", True), "fail_on_missing")
        dest = self._local_path(src, os.path.expanduser(dest), flat, task_vars)
        wanted = remote_sha1(self, src)
        result.update(file=src, dest=dest)
        if wanted is MISSING:
            result["changed"] = False
            if fail_on_missing:
                raise AnsibleError("the file %s is not on the phone (or is not a regular file); set "
                                   "fail_on_missing: false to accept that" % src)
            result["msg"] = "the file %s is not on the phone; nothing was fetched" % src
            return result
        result["checksum"] = wanted
        if os.path.isfile(dest) and local_sha1(dest) == wanted:
            result.update(changed=False, size=os.path.getsize(dest))
            return result
        result["changed"] = True
        if self._task.check_mode:
            return result
        directory = os.path.dirname(dest)
        try:
            os.makedirs(directory, exist_ok=True)
            handle, partial = tempfile.mkstemp(dir=directory, prefix=".phone_fetch-")
        except OSError as error:
            result["changed"] = False  # nothing was written
            raise AnsibleError("%s cannot be written on the controller (%s): give a dest in a directory this user may "
                               "write, without a file where a directory of the path should be (flat: true writes to "
                               "dest itself); nothing was fetched" % (dest, error.strerror or error)) from None
        os.close(handle)
        try:
            self._connection.fetch_file(src, partial)
            got = local_sha1(partial)
            if got != wanted:
                raise AnsibleError("%s arrived with checksum %s, not the phone's %s: it did not arrive intact; "
                                   "nothing was written to %s" % (src, got, wanted, dest))
            os.replace(partial, dest)
        finally:
            if os.path.exists(partial):  # not moved into place: the transfer failed
                os.unlink(partial)
        result["size"] = os.path.getsize(dest)
        return result

    def _local_path(self, src, dest, flat, task_vars):
        """Where the file goes on the controller; never outside dest, whatever src says (checked before any read)."""
        if not os.path.isabs(dest):
            dest = os.path.join(self._loader.get_basedir(), dest)
        if flat and not dest.endswith(os.sep):
            return dest
        top = os.path.normpath(dest)
        if flat:
            inside, name = top, os.path.basename(src)
        else:  # the host's directory under dest, which a host name cannot leave either
            host = task_vars.get("inventory_hostname") or self._play_context.remote_addr
            inside, name = os.path.normpath(os.path.join(top, host)), src.lstrip("/")
        path = os.path.normpath(os.path.join(inside, name))
        # '..' in src would climb out of dest (as ansible.builtin.fetch refuses too): the file must land below it.
        if path == inside or os.path.commonpath([top, inside]) != top or os.path.commonpath([inside, path]) != inside:
            where = "dest %s" % top if flat else "%s, the host's folder under dest" % inside
            raise AnsibleError("src %s would be written to %s, outside %s ('..' climbs out of it); nothing was "
                               "fetched: name the file on the phone without '..'" % (src, path, where))
        return path
