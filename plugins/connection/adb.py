# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: adb
short_description: Run tasks on GeeLark cloud phones over ADB
version_added: 1.1.0
description:
  - Runs commands on a GeeLark cloud phone, and sends and fetches files, over the phone's network ADB
    (Android Debug Bridge), so a play on the phones of the inventory (for example the group C(status_started))
    runs its tasks on the phones themselves.
  - The phone is named by its GeeLark ID, the host variable C(geelark_id) that the
    P(geelark.cloudphone.geelark#inventory) inventory sets. Its address and its connection code come
    from the API (C(/open/v1/adb/getData)), under the run's rate budget. When the inventory was read by
    the P(geelark.cloudphone.geelark#inventory) plugin in the same run, the first host of a play that
    needs them reads them for every host of the play at once, 200 phones a request. Hosts from another
    source (a static export of the inventory, an inventory imported into AWX) are read together with
    the hosts that ask at the same moment (several requests per C(forks) hosts).
  - After connecting, the connection logs in with C(glogin <code>). The code is a secret. It stays in the
    memory of the run's ADB broker (see below) and never reaches output, host variables, facts, results or
    logs. GeeLark ends a login after about ten minutes; a command refused for that reason did not run, so
    the connection reads a fresh code, logs in again and runs it once more.
  - A command's exit status reaches Ansible as its C(rc). V(false) fails with rc 1, V(exit 3) gives rc 3.
    ADB's shell service sends standard output and standard error as one stream, so everything a command
    prints is in C(stdout) and C(stderr) is empty.
  - Files go through ADB's file sync service (C(put_file) and C(fetch_file)), byte for byte, any size.
  - B(What works.) Android has no Python, so modules written in Python cannot run on a phone. What runs is
    C(ansible.builtin.raw), C(ansible.builtin.script) (Ansible's temporary files go to
    C(/data/local/tmp/.ansible/tmp) unless C(ansible_remote_tmp) says otherwise), and for files the collection's
    M(geelark.cloudphone.phone_copy) and M(geelark.cloudphone.phone_fetch).
    C(ansible.builtin.copy), C(ansible.builtin.fetch), C(ansible.builtin.command) and fact gathering run
    Python on the host and fail (set C(gather_facts) to V(false)).
  - B(The broker.) Ansible runs each task of each host in a process of its own. So that a phone's ADB
    connection and login last for the run (a second task costs no new login) and the connection info is
    read once, the first task starts a broker process for the run, reached over a Unix socket in a
    directory only this user can open. It ends when the C(ansible-playbook) run ends. It keeps as many
    connections as the process may hold open files; past that, the one used longest ago is closed.
  - Needs the Python library C(adb-shell) on the controller (a pure-Python ADB client from PyPI, so no
    Android SDK is needed) and C(requests).
  - Phones with Android 10 have no ADB (GeeLark answers 49002); run commands on them with
    M(geelark.cloudphone.geelark_phone_shell).
author:
  - geelark.cloudphone maintainers (@geelark-cloudphone)
requirements:
  - adb-shell
  - requests
extends_documentation_fragment:
  - geelark.cloudphone.api
options:
  geelark_id:
    description:
      - The GeeLark ID of the phone. The P(geelark.cloudphone.geelark#inventory) inventory sets it for
        every phone.
    type: str
    vars:
      - name: geelark_id
  enable_adb:
    description:
      - Turn ADB on (C(/open/v1/adb/setStatus)) for the host's phone when it has it off, then wait until it
        is ready (up to O(enable_timeout) seconds).
      - When false, a phone with ADB off fails (unreachable) with a message naming this option, and its ADB is
        never turned on, whatever the other hosts of the play say.
      - The phones of the hosts that ask at the same moment (up to C(forks) at a time) are turned on together,
        in one request per 200.
      - A value that is not a boolean (V(maybe)) fails the task before any request.
      - Each phone turned on is said once in the host's output at C(-v).
    type: bool
    default: false
    env:
      - name: GEELARK_ENABLE_ADB
    vars:
      - name: geelark_enable_adb
  enable_timeout:
    description: Seconds to wait for phones whose ADB was just turned on to be ready.
    type: float
    default: 60
    vars:
      - name: geelark_adb_enable_timeout
  adb_poll_interval:
    description: Seconds between the reads of the connection info while phones whose ADB was turned on get ready.
    type: float
    default: 3
    vars:
      - name: geelark_adb_poll_interval
  private_key_file:
    description:
      - The ADB key the connection signs in with (an RSA key, as C(adb) keeps it, with the public key beside
        it in C(<file>.pub)).
      - Made the first time it is needed when it does not exist, as C(adb) does.
    type: path
    default: ~/.android/adbkey
    env:
      - name: GEELARK_ADB_KEY_FILE
    vars:
      - name: geelark_adb_key_file
  adb_timeout:
    description: Seconds that connecting to a phone, signing in and logging in may take.
    type: float
    default: 30
    vars:
      - name: geelark_adb_timeout
  command_timeout:
    description:
      - Seconds a command or a file transfer may go without a word from the phone before it fails.
      - A command that failed so may have run; it is never run again by the connection.
    type: float
    default: 600
    vars:
      - name: geelark_adb_command_timeout
  play_hosts:
    description:
      - The hosts of the play whose connection info is read together; set by Ansible, not meant to be set.
    type: list
    elements: str
    vars:
      - name: ansible_play_batch
  api_url:
    vars:
      - name: geelark_api_url
  token:
    vars:
      - name: geelark_token
  app_id:
    vars:
      - name: geelark_app_id
  api_key:
    vars:
      - name: geelark_api_key
  validate_certs:
    vars:
      - name: geelark_validate_certs
  timeout:
    vars:
      - name: geelark_timeout
  retries:
    vars:
      - name: geelark_retries
  retry_backoff:
    vars:
      - name: geelark_retry_backoff
  retry_max_delay:
    vars:
      - name: geelark_retry_max_delay
  rate_limit:
    vars:
      - name: geelark_rate_limit
  rate_limit_scope:
    vars:
      - name: geelark_rate_limit_scope
  rate_limit_url:
    vars:
      - name: geelark_rate_limit_url
  rate_limit_password:
    vars:
      - name: geelark_rate_limit_password
  rate_limit_nodes:
    vars:
      - name: geelark_rate_limit_nodes
  rate_limit_wait:
    vars:
      - name: geelark_rate_limit_wait
  concurrency:
    vars:
      - name: geelark_concurrency
notes:
  - The API options (O(token), O(api_url), ...) are read from the host variables C(geelark_<option>) (for
    example C(geelark_token) from a vault file in C(group_vars)), else from their environment variables. The
    inventory sets C(geelark_api_url) to the API it read the phones from.
  - Privilege escalation (C(become)) is not supported, as GeeLark phones give ADB the shell user.
  - Pipelining is not supported.
"""

EXAMPLES = r"""
# In the inventory file (fleet.geelark.yml), make every phone use this connection:
#   plugin: geelark.cloudphone.geelark
#   compose:
#     ansible_connection: "'geelark.cloudphone.adb'"

- name: Check the Android release of every started phone
  hosts: status_started
  gather_facts: false
  vars:
    ansible_connection: geelark.cloudphone.adb
  tasks:
    - name: Read the release
      ansible.builtin.raw: getprop ro.build.version.release
      register: release
      changed_when: false

    - name: Send a file to the phone
      geelark.cloudphone.phone_copy:
        src: files/config.json
        dest: /sdcard/Download/config.json
"""

import fcntl
import json
import math
import os
import re
import sys
import typing as t

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes
from ansible.module_utils.parsing.convert_bool import BOOLEANS
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import GeeLarkError
from ansible_collections.geelark.cloudphone.plugins.module_utils._settings import API_OPTIONS, ClientSettings, resolve
from ansible_collections.geelark.cloudphone.plugins.plugin_utils._adb_link import BrokerLink, LinkError, decode_output

try:
    from adb_shell import __version__ as ADB_SHELL_VERSION  # the broker imports it; here to say what to install
except ImportError:
    ADB_SHELL_VERSION = None
HAS_ADB_SHELL = ADB_SHELL_VERSION is not None

display = Display()

PLACE = "the host variables"
# Where Ansible's controller assumes a POSIX shell, Android has /system/bin/sh on the PATH.
_CONTROLLER_SHELL = "/bin/sh -c "
NO_PYTHON_HINT = (
    "%s cannot run on GeeLark phone %s: Android has no Python, so modules written in Python (and fact gathering) "
    "cannot run on a phone. Use ansible.builtin.raw or ansible.builtin.script for commands, "
    "geelark.cloudphone.phone_copy and geelark.cloudphone.phone_fetch for files, and gather_facts: false. The "
    "collection's API modules (geelark_phone_status, geelark_phone_shell, ...) and template rendering run on the "
    "controller: add delegate_to: localhost to those tasks.")
# Modules Ansible's actions run on the host for their own work: named with the actions that run them.
HELPER_MODULES = {"stat": "stat (which copy, template and fetch run on the host)",
                  "slurp": "slurp (which fetch runs on the host)", "file": "file (which copy runs on the host)",
                  "command": "command (which ansible.builtin.command and ansible.builtin.shell run on the host)"}
_MODULE_FILE = re.compile(r"AnsiballZ_([A-Za-z0-9_]+)\.py")
# Android's writable temporary directory, for Ansible's remote_tmp when it is left at its default (the
# default, ~/.ansible/tmp, is under / on a phone: read-only).
ANDROID_REMOTE_TMP = "/data/local/tmp/.ansible/tmp"
_DEFAULT_REMOTE_TMP = "~/.ansible/tmp"
# The inventory plugin's module: it keeps the phone ID of each of its hosts (in this process, before the fork).
INVENTORY_MODULE = "ansible_collections.geelark.cloudphone.plugins.inventory.geelark"
# The ADB options that are seconds, with the least each may be (a timeout or an interval of 0 would never wait).
ADB_SECONDS = {"adb_timeout": 0.001, "command_timeout": 0.001, "adb_poll_interval": 0.001, "enable_timeout": 0}
ADB_VARIABLES = {"adb_timeout": "geelark_adb_timeout", "command_timeout": "geelark_adb_command_timeout",
                 "adb_poll_interval": "geelark_adb_poll_interval", "enable_timeout": "geelark_adb_enable_timeout"}
BOOLEAN_WORDS = frozenset(str(word).lower() for word in BOOLEANS)
# The collections directory this file is in (.../ansible_collections/geelark/cloudphone/plugins/connection/adb.py).
COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *([os.pardir] * 5)))


class Connection(ConnectionBase):
    """A GeeLark phone over ADB, through the run's ADB broker."""

    transport = "geelark.cloudphone.adb"
    has_pipelining = False
    has_tty = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._link: t.Optional[BrokerLink] = None
        self._var_options: dict = {}
        self._connected: bool = False
        self._android_remote_tmp()

    def _android_remote_tmp(self):
        """Make Ansible's remote_tmp default to a directory a phone's shell user may write.

        Ansible sets the shell plugin's options after the connection's, for each task; the default it
        leaves (~/.ansible/tmp, under / on Android) is replaced each time, a value the user set is kept.
        """
        shell = self._shell
        set_shell_options = shell.set_options

        def set_options(*args, **kwargs):
            set_shell_options(*args, **kwargs)
            if shell.get_option("remote_tmp") == _DEFAULT_REMOTE_TMP:
                shell.set_option("remote_tmp", ANDROID_REMOTE_TMP)

        shell.set_options = set_options

    def set_options(self, task_keys=None, var_options=None, direct=None):
        # The API options follow the one rule of the collection (resolve): a host variable, else the
        # environment variable, else the default; so the raw variables are kept to tell "not given".
        self._var_options = dict(var_options or {})
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)

    @property
    def _phone_id(self):
        phone_id = self.get_option("geelark_id")
        if not phone_id:
            raise AnsibleError("host %s has no geelark_id: the adb connection works on the phones of the "
                               "geelark.cloudphone.geelark inventory (or hosts given geelark_id)" % self._host)
        return str(phone_id)

    @property
    def _host(self):
        return self._play_context.remote_addr or "?"

    def _config(self):
        """What the broker needs: the API settings (checked here, so a bad one fails before any start) and ADB's."""
        given = dict((o.name, self._var_options.get("geelark_" + o.name)) for o in API_OPTIONS)
        values, sources = resolve(given, PLACE)
        try:
            ClientSettings(values, sources)
        except GeeLarkError as error:
            hint = ""
            if not any(values.get(name) for name in ("token", "app_id", "api_key")):
                hint = (" The connection reads the host variables geelark_token (or geelark_app_id and "
                        "geelark_api_key) and the environment; an inventory file's own token: option does not reach "
                        "it, so give the token as a variable too (-e @vault.yml with geelark_token) or in "
                        "GEELARK_TOKEN.")
            raise AnsibleError("geelark.cloudphone.adb: %s%s%s" % (error, "." if hint else "", hint)) from None
        seconds = dict((option, self._seconds(option, least)) for option, least in ADB_SECONDS.items())
        key_file = os.path.expanduser(self.get_option("private_key_file"))
        _ensure_key(key_file)
        return {
            "values": values, "sources": sources, "key_file": key_file,
            "timeout": seconds["adb_timeout"], "command_timeout": seconds["command_timeout"],
            "poll_interval": seconds["adb_poll_interval"], "enable_timeout": seconds["enable_timeout"],
        }

    def _seconds(self, option, least):
        """An ADB option in seconds; out of range, it is refused before any request, naming its variable."""
        value = self.get_option(option)
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not number >= least or math.isinf(number):  # also NaN
            raise AnsibleError("geelark.cloudphone.adb: %s (host variable %s) must be a number of seconds %s, not %r; "
                               "nothing was sent" % (option, ADB_VARIABLES[option],
                                                     "above 0" if least > 0 else "of 0 or more", value))
        return number

    def _enable_adb(self):
        """enable_adb as a boolean; a value that is not one ('maybe') is refused, as Ansible's own arguments are."""
        given = self._var_options.get("geelark_enable_adb", os.environ.get("GEELARK_ENABLE_ADB"))
        if given is not None and not isinstance(given, bool) and str(given).strip().lower() not in BOOLEAN_WORDS:
            raise AnsibleError("geelark.cloudphone.adb: enable_adb (host variable geelark_enable_adb, or "
                               "GEELARK_ENABLE_ADB) must be true or false, not %r; nothing was sent" % (given,))
        return bool(self.get_option("enable_adb"))

    def _connect(self):
        if not HAS_ADB_SHELL:
            raise AnsibleError("geelark.cloudphone.adb needs the Python library adb-shell on the controller: "
                               "pip install adb-shell (or use the collection's execution environment)")
        if self._play_context.become:
            raise AnsibleError("geelark.cloudphone.adb does not support become: a GeeLark phone gives ADB the "
                               "shell user; remove become from this task or play")
        if not self._connected:
            display.vvv("ESTABLISH GEELARK ADB CONNECTION FOR PHONE %s" % self._phone_id, host=self._host)
            try:
                self._link = BrokerLink(self._config(), COLLECTIONS_ROOT)
            except LinkError as error:
                raise AnsibleConnectionFailure(str(error)) from None
            self._connected = True
        return self

    def _play_ids(self):
        """The phone IDs of the play's hosts, when the geelark inventory of this run knows them."""
        inventory = sys.modules.get(INVENTORY_MODULE)
        known = getattr(inventory, "PHONE_IDS_BY_HOST", None) or {}
        hosts = self.get_option("play_hosts") or ()
        return [str(known[h]) for h in hosts if h in known]

    def _ask(self, request):
        if self._link is None:
            self._connect()
        link = t.cast(BrokerLink, self._link)
        request = dict(request, id=self._phone_id, enable_adb=self._enable_adb())
        try:
            answer = link.ask(request)
            if answer.get("kind") == "need_play":  # the broker has no info on this phone yet: give the play's
                answer = link.ask(dict(request, play_ids=self._play_ids()))
        except LinkError as error:
            raise AnsibleConnectionFailure("phone %s: %s" % (self._phone_id, error)) from None
        if answer.get("ok"):
            if answer.get("turned_on"):  # a write on the phone the task did not name: said, at -v
                display.v("ADB of phone %s was off and was turned on (enable_adb)" % self._phone_id, host=self._host)
            return answer
        message = answer.get("msg") or "the ADB broker gave no reason"
        if answer.get("kind") in ("error", "failed"):
            raise AnsibleError("geelark.cloudphone.adb: %s" % message)
        raise AnsibleConnectionFailure(message)

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        if in_data is not None:
            raise AnsibleError("geelark.cloudphone.adb does not support pipelining")
        if cmd.startswith(_CONTROLLER_SHELL):
            cmd = "sh -c " + cmd[len(_CONTROLLER_SHELL):]
        display.vvv("EXEC %s" % cmd, host=self._host)
        answer = self._ask({"op": "exec", "cmd": cmd})
        rc = int(answer["rc"])
        stdout = decode_output(answer)
        module = _MODULE_FILE.search(cmd)
        if rc in (126, 127) and module:
            # A module's Python could not start: say why, as the module's result, so Ansible shows it as the
            # task's message (the shell's own words in `shell_said`).
            name = module.group(1)
            name = HELPER_MODULES.get(name, name)
            failure = {"failed": True, "msg": NO_PYTHON_HINT % (name, self._phone_id),
                       "shell_said": stdout.decode("utf-8", "replace").strip()}
            return 1, to_bytes(json.dumps(failure)), b""
        return rc, stdout, b""

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        display.vvv("PUT %s TO %s" % (in_path, out_path), host=self._host)
        if not os.path.isfile(in_path):
            raise AnsibleFileNotFound("file or module does not exist: %s" % in_path)
        self._ask({"op": "put", "src": os.path.abspath(in_path), "dest": out_path})

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        display.vvv("FETCH %s TO %s" % (in_path, out_path), host=self._host)
        self._ask({"op": "fetch", "src": in_path, "dest": os.path.abspath(out_path)})

    def reset(self):
        """meta: reset_connection: the broker drops this phone's connection, login and connection info."""
        self._connect()
        self._ask({"op": "reset"})

    def close(self):
        # The phone's connection belongs to the run's broker and outlives this task.
        self._connected = False


def _ensure_key(path):
    """Make the ADB key pair when there is none, as adb does; under a lock, as several hosts may start at once."""
    if os.path.exists(path):
        return
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, 0o700, exist_ok=True)
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(path):
            return
        from adb_shell.auth.keygen import keygen

        keygen(path)
        os.chmod(path, 0o600)
