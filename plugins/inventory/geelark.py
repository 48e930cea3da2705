# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: geelark
short_description: GeeLark cloud phones as hosts, grouped by status
version_added: 1.0.0
description:
  - Lists every GeeLark cloud phone through C(/open/v1/phone/list), all pages, then asks
    C(/open/v1/phone/status) 100 phones at a time; the status endpoint is the authority (only it
    reports V(3), expired).
  - Puts every phone in the group C(geelark) and in a status group, C(status_started),
    C(status_starting), C(status_shut_down) or C(status_expired) (C(status_unknown) for codes
    outside 0 to 3). The four status groups always exist, so a play for an empty one matches
    nothing instead of failing.
  - Host names are the phones' serial names (or IDs, see O(hostname)); every phone appears exactly
    once, under a host name no other phone has, and a warning lists every phone named otherwise.
    GeeLark does not keep serial names unique; phones that share a name are each named
    C(<serial name>_<ID>). A phone without a name is named by its ID, which it keeps before a phone
    whose name is that ID.
  - A host name is never the name of a group of this inventory (C(all), C(ungrouped), C(geelark),
    the status groups and every group O(groups) and O(keyed_groups) make). A phone whose name is a
    group name is named C(<serial name>_<ID>) (an ID that is a group name gets C(_2), C(_3) ...).
  - Control characters in a name (ESC, CR, LF, BEL, DEL, C1 codes, line separators and bidirectional
    overrides) are replaced by C(_) in the host name, so a name never reaches a terminal raw;
    C(geelark_serial_name) keeps the name as the API gave it.
  - A listing whose pages do not add up (a page that repeats a phone, holds fewer or more phones than
    the first page's total allows, or announces another total) is read again, up to 3 times; then
    the inventory fails rather than hold part of the fleet. A first page whose total exceeds
    200,000 phones fails at once (split such a fleet with O(filters)).
  - An option whose value is empty (an empty string, or a template that renders empty, such as
    C(token) set to C({{ geelark_token }}) with C(-e geelark_token=)) counts as not set, as an empty
    environment variable does. The environment variable is used instead, then the default.
  - Every shared API option (O(api_url), O(token), O(validate_certs), O(timeout) ...) may be a template,
    rendered with the extra vars (C(-e)), lookups and vault. The result is converted strictly by the
    option's type - a boolean is V(true)/V(false), V(yes)/V(no), V(on)/V(off) or V(1)/V(0) in any case,
    a number must parse - and anything else fails, naming the option and the value.
  - A phone deleted between the list call and the status call (status failure 42001) is left out
    with a warning. A phone the status call does not answer for keeps the status from the list,
    with a warning.
  - The raw API data is cached (without proxy passwords) when O(cache) is on; groups and
    variables are rebuilt from it on every run, and a cache hit sends no request at all.
  - Strings that come from the API are never templated, so a template inside a phone's name or
    remark is shown as it is and never rendered (ansible-core 2.19 and later leave them untrusted;
    on earlier releases they are marked unsafe).
  - Uses a YAML configuration file whose name ends with C(.geelark.yml) or C(.geelark.yaml).
  - "Every host gets these host variables: C(geelark_id) (string), C(geelark_serial_name),
    C(geelark_serial_no), C(geelark_status) (the status code), C(geelark_status_name) (V(started),
    V(starting), V(shut_down), V(expired) or V(unknown)), C(geelark_group) (a dict of C(id), C(name) and
    C(remark)), C(geelark_tags) (a list of tag names), C(geelark_remark), C(geelark_charge_mode) (V(0) per
    minute, V(1) monthly, or V(null)), C(geelark_equipment) (the API's C(equipmentInfo) dict),
    C(geelark_proxy) (the proxy dict without its password), C(geelark_fetched_at) (when the data was
    fetched from the API, UTC, for example V(2026-11-28T07:30:00Z); on a cache hit it tells the cache's
    age) and C(geelark_api_url) (the normalised O(api_url) the phones were read from, so playbooks and
    the runbooks call the same site; never a credential). Fields the API leaves empty (C(null)) become
    empty strings, lists and dicts."
  - "The group C(geelark) carries C(ansible_connection=local) and
    C(ansible_python_interpreter={{ ansible_playbook_python }}): phones are API objects, not SSH hosts,
    so a task of a C(hosts: status_shut_down) play runs on the controller, with the Python that runs
    C(ansible-playbook) (which has C(requests)). C(compose), C(group_vars/geelark.yml) and host_vars
    override them."
  - Templates in O(token), O(app_id), O(api_key) and O(api_url) are rendered with the extra vars
    (C(-e NAME=VALUE), C(-e @vars.yml), vault-encrypted files with C(--vault-password-file)), lookups and
    inline C(!vault) values. Variables from group_vars, host_vars or a play cannot be used there; the
    inventory is read before they exist.
author:
  - geelark.cloudphone maintainers (@geelark-cloudphone)
extends_documentation_fragment:
  - constructed
  - inventory_cache
  - geelark.cloudphone.api
  - geelark.cloudphone.api.plugins
requirements:
  - requests
options:
  plugin:
    description: The name of this plugin; makes the file an inventory source of it.
    required: true
    type: str
    choices: [geelark.cloudphone.geelark]
  filters:
    description:
      - Server-side filters of the phone list, sent with every list call.
      - V(group_name) (GeeLark group name), V(serial_name), V(remark), V(tags) (list of tag names),
        V(charge_mode) (0 per minute, 1 monthly), V(open_status) (0 off, 1 on), V(ids) (list of
        phone IDs; any number, asked 100 at a time) and V(serial_nos) (list).
      - An unknown name is an error, so a typo never widens the listing silently.
    type: dict
    default: {}
  statuses:
    description:
      - Keep only phones whose status name is in this list. Empty keeps every phone.
    type: list
    elements: str
    choices: [started, starting, shut_down, expired, unknown]
    default: []
  status_group_prefix:
    description: Prefix of the status group names.
    type: str
    default: status_
  hostname:
    description:
      - What names the hosts. V(serial_name) uses the phone's name (shared names get the ID appended),
        V(id) uses the phone's ID.
    type: str
    choices: [serial_name, id]
    default: serial_name
"""

EXAMPLES = r"""
# fleet.geelark.yml: every phone, token from the GEELARK_TOKEN environment variable
plugin: geelark.cloudphone.geelark

---
# warmup.geelark.yml: one GeeLark group, cached for 10 minutes; app ID and key from extra vars:
#   ansible-playbook -i warmup.geelark.yml -e @geelark-vault.yml --vault-password-file ~/.vault-pass play.yml
# where geelark-vault.yml (encrypted with ansible-vault) holds geelark_app_id and geelark_api_key.
# group_vars cannot hold them: the inventory is read before group_vars.
plugin: geelark.cloudphone.geelark
app_id: "{{ geelark_app_id }}"
api_key: "{{ geelark_api_key }}"
filters:
  group_name: warmup
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/geelark-inventory
cache_timeout: 600

---
# token.geelark.yml: the token from a file, read by a lookup (no extra vars needed)
plugin: geelark.cloudphone.geelark
token: "{{ lookup('ansible.builtin.file', '~/.config/geelark/token') }}"

---
# by-group.geelark.yml: running phones only, named by ID, grouped by GeeLark group and tag
plugin: geelark.cloudphone.geelark
hostname: id
statuses: [started, starting]
keyed_groups:
  - key: geelark_group.name
    prefix: group
  - key: geelark_tags
    prefix: tag
groups:
  uk: geelark_equipment.countryName == 'United Kingdom'
compose:
  phone_label: geelark_serial_name ~ ' (' ~ geelark_status_name ~ ')'
"""

import collections
import difflib
import hashlib
import json
import os
import re
import time
import typing as t

from ansible.errors import AnsibleError, AnsibleUndefinedVariable
from ansible.inventory.group import to_safe_group_name
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.release import __version__ as ansible_core_version
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.geelark.cloudphone.plugins.module_utils._client import GeeLarkClient
from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import GeeLarkError
from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import (
    STATUS_NAMES,
    UNKNOWN_STATUS,
    list_filter_body,
    status_name,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._settings import (
    API_OPTIONS,
    DEFAULT_API_URL,
    OPTIONS,
    ClientSettings,
    is_unset,
    normalize_api_url,
    resolve,
    typed,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._transport import HAS_REQUESTS, mask_secrets

display = Display()

# From ansible-core 2.19 only strings tagged as trusted are ever templated, and API data is never
# tagged; earlier releases template any string unless it is wrapped as unsafe.
_CORE_TEMPLATES_UNTRUSTED = tuple(int(p) for p in ansible_core_version.split(".")[:2]) < (2, 19)
mark_unsafe = wrap_var if _CORE_TEMPLATES_UNTRUSTED else (lambda value: value)


def _trusted_template(value):
    """A template string ansible-core will render: from 2.19 only strings tagged as trusted are."""
    if _CORE_TEMPLATES_UNTRUSTED:
        return value
    from ansible.template import trust_as_template  # exists from ansible-core 2.19 on

    return trust_as_template(value)


# Phones are API objects, not SSH hosts: a task run for one of them runs on the controller, with
# the Python that runs ansible-playbook (it has requests). Set on the geelark group, so group_vars,
# host_vars and compose override them.
CONNECTION_DEFAULTS = {
    "ansible_connection": "local",
    "ansible_python_interpreter": "{{ ansible_playbook_python }}",
}
# Host name -> phone ID of every phone this process's geelark inventories hold (see _populate).
PHONE_IDS_BY_HOST: t.Dict[str, str] = {}
# When the data was fetched from the API (UTC), kept in the cached payload so a cache hit tells its age.
FETCHED_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# Bumped when the cached payload changes shape; an older entry is treated as a miss.
CACHE_FORMAT = 1
# Where the file's values come from, as advice names it.
INVENTORY_FILE = "the inventory file"


class PhoneHostVars(t.TypedDict):
    """What every host carries; the one place this is written down."""

    geelark_id: str
    geelark_serial_name: str
    geelark_serial_no: str
    geelark_status: int
    geelark_status_name: str
    geelark_group: dict
    geelark_tags: list
    geelark_remark: str
    geelark_charge_mode: t.Optional[int]
    geelark_equipment: dict
    geelark_proxy: dict


def strip_secrets(item):
    """A list item without the proxy password, the one secret the API hands out."""
    proxy = item.get("proxy")
    if isinstance(proxy, dict) and "password" in proxy:
        item = dict(item, proxy=dict((k, v) for k, v in proxy.items() if k != "password"))
    return item


def direct_host_store(inventory):
    """The hosts of the inventory data behind ansible-core's proxy, to write their variables into; or None.

    From ansible-core 2.19 the inventory a plugin gets is a proxy whose set_variable walks and tags
    every value and checks every name: most of the CPU time at fleet scale. Our names are fixed and
    valid, and API data stays untrusted without tags, so host variables go straight into each host.
    The proxy's `__wrapped__` and `Host.vars` are ansible-core internals: when they are not there as
    expected (releases before 2.19, or a later change), None, and the public set_variable is used.
    """
    hosts = getattr(getattr(inventory, "__wrapped__", None), "hosts", None)
    return hosts if isinstance(hosts, dict) else None


def host_vars(item, status):
    """The host variables of one phone, from an item already through strip_secrets."""
    group = item.get("group") if isinstance(item.get("group"), dict) else {}
    tags = item.get("tags") if isinstance(item.get("tags"), list) else []
    charge_mode = item.get("chargeMode")
    return PhoneHostVars(
        geelark_id=item["id"],
        geelark_serial_name=_text(item.get("serialName")),
        geelark_serial_no=_text(item.get("serialNo")),
        geelark_status=status,
        geelark_status_name=status_name(status),
        geelark_group={"id": _text(group.get("id")), "name": _text(group.get("name")),
                       "remark": _text(group.get("remark"))},
        geelark_tags=[_text(tag.get("name")) for tag in tags if isinstance(tag, dict)],
        geelark_remark=_text(item.get("remark")),
        geelark_charge_mode=charge_mode if isinstance(charge_mode, int) and not isinstance(charge_mode, bool) else None,
        geelark_equipment=item.get("equipmentInfo") if isinstance(item.get("equipmentInfo"), dict) else {},
        geelark_proxy=item.get("proxy") if isinstance(item.get("proxy"), dict) else {},
    )


# What a host name never holds: C0 and C1 control characters, DEL, line and paragraph separators and
# bidirectional overrides. They would reach the terminal raw (ok: [<ESC>[2J...]) and forge or hide output.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
HOST_NAME_REPLACEMENT = "_"
_ALL_STATUS_NAMES = tuple(STATUS_NAMES.values()) + (UNKNOWN_STATUS,)
# Group names every inventory has, besides those this plugin and its keyed_groups/groups make.
BUILTIN_GROUPS = frozenset(("all", "ungrouped"))
# ansible-core's names for the controller: a phone named so would take the place of the implicit localhost.
LOCAL_HOST_NAMES = frozenset(("localhost", "127.0.0.1", "::1"))


def printable_name(text):
    """The text with every control character replaced by HOST_NAME_REPLACEMENT."""
    return _UNPRINTABLE.sub(HOST_NAME_REPLACEMENT, text)


def base_host_name(phone, hostname):
    """The name a phone asks for: its serial name (its ID when it has none, or with hostname: id), printable."""
    name = _text(phone.get("serialName")).strip() if hostname == "serial_name" else ""
    return printable_name(name or phone["id"])


def host_names(phones, hostname, reserved=frozenset()):
    """Inventory name of each phone ID: unique, printable, and never one of the `reserved` group names.

    A phone keeps the name it asks for (base_host_name) unless another phone asks for it too or a
    group has it; then it is named <name>_<ID>. A phone named after its own ID keeps that first: IDs
    are unique, names are chosen by people. Whatever still clashes gets its ID, then a _2, _3 ...
    suffix, so no phone is ever dropped and no two phones share a host name.
    """
    base = dict((p["id"], base_host_name(p, hostname)) for p in phones)
    own_id = dict((phone_id, printable_name(phone_id)) for phone_id in base)
    counts = collections.Counter(base.values())
    taken = set(reserved)
    names: dict = {}
    ordered = sorted(base)  # the same names whatever order the API lists the phones in

    def claim(phone_id, candidates):
        for name in candidates:
            if name not in taken:
                names[phone_id] = name
                taken.add(name)
                return

    for phone_id in ordered:
        if base[phone_id] == own_id[phone_id]:
            claim(phone_id, [base[phone_id]])
    for phone_id in ordered:
        if phone_id not in names and counts[base[phone_id]] == 1:
            claim(phone_id, [base[phone_id]])
    for phone_id in ordered:
        if phone_id in names:
            continue
        candidates = [] if base[phone_id] == own_id[phone_id] else ["%s_%s" % (base[phone_id], own_id[phone_id])]
        candidates.append(own_id[phone_id])
        claim(phone_id, candidates)
        suffix = 2
        while phone_id not in names:
            claim(phone_id, ["%s_%d" % (candidates[0], suffix)])
            suffix += 1
    return names


class _GroupRecorder:
    """Stands in for the inventory while compose, groups and keyed_groups run for each phone.

    ansible-core links a *group* when a host is added to a group under a name that is also a group's
    (add_child looks groups up first), so host names must be chosen knowing every group name. The
    Constructable helpers run once against this recorder, under a provisional host object; the
    recorded steps are then replayed onto the real inventory under the final host names.
    """

    def __init__(self, source):
        self.groups: set = set()
        self.steps: dict = {}
        self._source = source
        self._host: t.Any = None
        self._key: t.Any = None
        self._vars: dict = {}
        self._memberships: list = []

    def start(self, key, provisional, variables, groups):
        """Record the steps of one host under `key`; it is known as `provisional` (a unique object) until named."""
        self._host = provisional
        self._key = key
        self._vars = dict(variables, inventory_file=self._source,
                          inventory_dir=os.path.dirname(self._source) if self._source else None)
        self._memberships = list(groups)
        self.steps[key] = []

    def add_group(self, name):
        if not name:
            raise AnsibleError("Invalid empty/false group name provided: %s" % name)
        name = to_safe_group_name(name)
        self.groups.add(name)
        return name

    def add_child(self, group, child):
        if child is self._host:
            self._member(group)
        else:
            self.steps[self._key].append(("child", group, child))
        return True

    def add_host(self, host, group=None, port=None):
        if group:
            self._member(group)
        return host

    def set_variable(self, host, name, value):
        self._vars[name] = value
        self.steps[self._key].append(("var", name, value))

    def get_host(self, host):
        return self

    def get_vars(self):
        """The provisional host's variables with the magic ones a real Host adds (Host.get_magic_vars)."""
        name = str(self._host)
        return dict(self._vars, inventory_hostname=name, inventory_hostname_short=name.split(".", 1)[0],
                    group_names=sorted(set(self._memberships)))

    def _member(self, group):
        self._memberships.append(group)
        self.steps[self._key].append(("member", group))


class _ProvisionalHost(str):
    """A host name stand-in told apart from any group name by identity, not by its text."""


# A compose or keyed_groups expression that only names a variable, or a key of a mapping in one
# (geelark_group.name), is read directly: ansible-core compiles the expression again for every host,
# which at fleet scale costs more than everything else the inventory does (two keyed groups on 10,000
# phones: about 7 s of CPU). Any other expression goes through ansible-core, and so does any value whose
# templated form differs between ansible-core releases (before 2.19 a text that reads like a list, a
# mapping or a boolean becomes one; a number becomes text): the result is the same on every release.
_PLAIN_REFERENCE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\Z")
# Names Jinja reads as constants or operators, never as variables.
_JINJA_WORDS = frozenset(("true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if",
                          "else", "recursive"))
NOT_PLAIN = object()


def _plain_text(value):
    return isinstance(value, str) and not value.startswith(("{", "[")) and value not in ("True", "False")


def plain_reference(expression, variables):
    """The value a plain variable reference names, or NOT_PLAIN: then ansible-core is to template it.

    A key of a mapping is followed as Jinja does only where the mapping has no attribute of that name
    (geelark_group.items is the method, in Jinja too); the value must be text, or a list of texts.
    """
    match = _PLAIN_REFERENCE.match(expression) if isinstance(expression, str) else None
    if match is None:
        return NOT_PLAIN
    first, *keys = match.group(1).split(".")
    if first in _JINJA_WORDS or first not in variables:
        return NOT_PLAIN
    value = variables[first]
    for key in keys:
        if not isinstance(value, dict) or hasattr(value, key) or key not in value:
            return NOT_PLAIN
        value = value[key]
    if _plain_text(value):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return NOT_PLAIN


def _some(names, limit=20):
    """The first `limit` names, comma-separated, with ", ..." when there are more."""
    names = sorted(names)
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")


def _undefined_name(error):
    """The name of the undefined variable an AnsibleUndefinedVariable is about, or None."""
    match = re.search(r"'([A-Za-z_][A-Za-z0-9_]*)' is undefined", to_native(error))
    return match.group(1) if match else None


def _text(value):
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _names_this_plugin(path):
    """Whether a YAML file's `plugin:` key names this plugin (read as text: it need not parse)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536).decode("utf-8", "replace")
    except OSError:
        return False
    match = re.search(r"^plugin:\s*['\"]?([\w.]+)['\"]?\s*(#.*)?$", head, re.MULTILINE)
    return match is not None and match.group(1) in ("geelark.cloudphone.geelark", "geelark")


def _valid_cache_data(data):
    """Whether a cache entry has the shape _fetch writes: phones with IDs, and an int status for each."""
    phones, statuses = data.get("phones"), data.get("statuses")
    if not isinstance(phones, list) or not isinstance(statuses, dict):
        return False
    for phone in phones:
        if not isinstance(phone, dict) or not isinstance(phone.get("id"), str):
            return False
        status = statuses.get(phone["id"])
        if not isinstance(status, int) or isinstance(status, bool):
            return False
    return True


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "geelark.cloudphone.geelark"

    def verify_file(self, path):
        if not super().verify_file(path):
            return False
        if path.endswith((".geelark.yml", ".geelark.yaml")):
            return True
        why = "the file name must end with .geelark.yml or .geelark.yaml"
        if _names_this_plugin(path):
            # Meant for this plugin, so a quiet skip would leave the user with only "could not be verified".
            display.warning("%s: %s names this plugin but is not read: %s (for example fleet.geelark.yml)"
                            % (self.NAME, to_native(path), why))
        else:
            display.vvv("Skipping %s for %s: %s" % (to_native(path), self.NAME, why))
        return False

    inventory: t.Any  # set by parse; _construct stands a _GroupRecorder in for it for a while
    _secrets: tuple = ()
    _sources: dict = {}
    _config: dict = {}
    _config_keys: frozenset = frozenset()

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        self._config_keys = frozenset(config)
        self._config = config
        self._warn_unknown_keys(path, config)
        self._check_options()
        if not HAS_REQUESTS:
            raise AnsibleError("The %s inventory needs the Python library 'requests' on the controller: "
                               "pip install requests" % self.NAME)
        options = self._client_options()
        api_url = self._exposed_api_url(options)
        query = self._query_fingerprint(options)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache")
        data = self._read_cache(cache_key, query) if use_cache and cache else None
        if data is None:
            data = self._fetch(options, query)
            if use_cache:
                self._cache[cache_key] = data
        else:
            display.vvv("%s: %d phones from the inventory cache, no API request" % (self.NAME, len(data["phones"])))
        cpu = time.process_time()
        self._populate(data, api_url)
        display.vvv("%s: inventory built in %.3fs CPU" % (self.NAME, time.process_time() - cpu))

    def _warn_unknown_keys(self, path, config):
        """A key this plugin does not know is ignored by ansible-core; say so, since it is usually a typo."""
        for key in sorted(set(config) - set(self._options)):
            close = difflib.get_close_matches(key, self._options, n=1)
            display.warning("%s: %s has the key %r, which is not an option of this plugin and is ignored%s"
                            % (self.NAME, to_native(path), key, "; did you mean %r?" % close[0] if close else ""))

    def _read_cache(self, cache_key, query):
        """The cached data for this query, or None: a miss, an old format, or an entry that cannot be used."""
        try:
            data = self._cache[cache_key]
        except KeyError:
            return None
        except Exception as exc:  # a cut-short or unreadable entry makes the cache plugin raise
            display.warning("%s: the inventory cache entry %s could not be read (%s); fetching from the API "
                            "and writing a new entry" % (self.NAME, cache_key, self._mask(_first_line(exc))))
            return None
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or data.get("query") != query:
            return None
        if not _valid_cache_data(data):
            display.warning("%s: the inventory cache entry %s does not have the expected shape; fetching from "
                            "the API and writing a new entry" % (self.NAME, cache_key))
            return None
        return data

    def _mask(self, text):
        """The text with every credential of this inventory masked: API messages may quote them."""
        return mask_secrets(text, self._secrets)

    def set_options(self, task_keys=None, var_options=None, direct=None):
        """The plugin's options, except the shared API options: _client_options reads those from the file.

        ansible-core would refuse a template for a number option and read any text it cannot parse
        (a template, "maybe") as a false validate_certs, turning TLS checks off without a word.
        """
        if direct:
            direct = dict((key, value) for key, value in direct.items() if key not in OPTIONS)
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)

    def _client_options(self):
        """The shared options (None: the default), and where each credential and api_url came from (self._sources).

        Any of them may be a template in the file; once rendered, its value is converted through
        the table's type strictly (a bool is true/false, yes/no, on/off or 1/0; anything else is
        refused). The settings' one rule: the file, else the environment variable, else the default;
        an empty value counts as not set, so a file's `token: "{{ geelark_token }}"` with
        `-e geelark_token=` falls back to GEELARK_TOKEN, then to the default, instead of hiding them.
        """
        given = {}
        for option in API_OPTIONS:
            if option.name not in self._config_keys:
                continue
            value = self._config.get(option.name)
            if isinstance(value, str) and self.templar.is_template(value):
                value = self._template_option(option.name, value)
            if is_unset(value):
                given[option.name] = ""  # not set; resolve notes a credential given empty, for the advice
                continue
            try:
                given[option.name] = typed(option, value, INVENTORY_FILE)
            except GeeLarkError as error:
                raise AnsibleError("%s: %s" % (self.NAME, error)) from None
        options, self._sources = resolve(given, INVENTORY_FILE)
        self._secrets = tuple(v for v in (options.get("token"), options.get("api_key")) if isinstance(v, str) and v)
        return options

    def _exposed_api_url(self, options):
        """The normalised api_url for the geelark_api_url host variable: where the phones were read, no credential."""
        try:
            url = normalize_api_url(options.get("api_url") or DEFAULT_API_URL, self._sources.get("api_url"))
        except GeeLarkError as error:
            raise AnsibleError("%s: %s" % (self.NAME, error)) from None
        return re.sub(r"^(https?://)[^/@]*@", r"\1", url)  # user:password@ never leaves the inventory

    def _template_option(self, name, value):
        """An option's template, rendered with the extra vars (-e), lookups and vault.

        The inventory is read before group_vars, host_vars and play vars exist; extra vars are the
        only variables there are at this point (BaseInventoryPlugin.parse loads them into _vars).
        """
        templar = self.templar
        previous = templar.available_variables
        templar.available_variables = dict(getattr(self, "_vars", None) or {})
        env = OPTIONS[name].env
        try:
            return templar.template(value)
        except AnsibleUndefinedVariable as exc:
            undefined = _undefined_name(exc)
            raise AnsibleError(
                "%s: the %s option could not be templated: %s. The inventory is read before group_vars and "
                "host_vars exist: give the variable as an extra var (-e NAME=VALUE, or -e @vars.yml, vault-encrypted "
                "or not), use a lookup or an inline !vault value, or leave the option out%s"
                % (self.NAME, name, ("the variable %r is undefined" % undefined) if undefined
                   else "a variable is undefined", (" and set %s" % env) if env else "")) from None
        except Exception as exc:  # the message of any other failure may quote the value: name the type only
            raise AnsibleError("%s: the %s option could not be templated: %s"
                               % (self.NAME, name, type(exc).__name__)) from None
        finally:
            templar.available_variables = previous

    def _query_fingerprint(self, options):
        """What the cached data answers for; a change of account, URL or filters is a miss."""
        identity = options.get("token") or "%s/%s" % (options.get("app_id"), options.get("api_key"))
        source = json.dumps([options.get("api_url"), self.get_option("filters"), identity], sort_keys=True,
                            default=str)
        return hashlib.sha256(source.encode("utf-8")).hexdigest()

    def _fetch(self, options, query):
        wall, cpu = time.monotonic(), time.process_time()
        try:
            with GeeLarkClient(ClientSettings(options, self._sources), log=self._log_request,
                               notice=self._notice) as client:
                items, report = client.fleet_status(self.get_option("filters"))
                requests = client.summary()["requests"]
        except GeeLarkError as error:
            raise AnsibleError(self._mask("%s: %s" % (self.NAME, error))) from None
        display.vvv("%s: %d phones fetched with %d requests in %.3fs (%.3fs CPU)"
                    % (self.NAME, len(items), requests, time.monotonic() - wall, time.process_time() - cpu))
        for warning in report.warnings:
            display.warning(self._mask("%s: %s" % (self.NAME, warning)))
        statuses = dict((phone["id"], phone["status"]) for phone in report.phone_list())
        phones = []
        for item in items:
            phone_id = item["id"]
            failure = report.failures.get(phone_id)
            if failure is not None and failure["code"] == 42001:
                display.warning("%s: phone %s (%s) was listed but no longer exists (42001) when its status was "
                                "asked; it is left out" % (self.NAME, phone_id, _text(item.get("serialName"))))
                continue
            if failure is not None:
                display.warning(self._mask("%s: no status for phone %s (%s: %s); using the status from the list"
                                           % (self.NAME, phone_id, failure["code"], failure["msg"])))
                listed = item.get("status")
                statuses[phone_id] = listed if isinstance(listed, int) and not isinstance(listed, bool) else -1
            phones.append(strip_secrets(item))
        return {"format": CACHE_FORMAT, "query": query, "phones": phones, "statuses": statuses,
                "fetched_at": time.strftime(FETCHED_AT_FORMAT, time.gmtime())}

    def _notice(self, sentence):
        """Told once when the run waits a while (rate budget, 40007): shown by default, not only at -vvv."""
        display.warning(self._mask("%s: %s" % (self.NAME, sentence)))

    def _log_request(self, line):
        display.vvv(self._mask("%s: %s" % (self.NAME, line)))

    def _check_options(self):
        """What the option types cannot say, checked before any request (or cache read)."""
        try:
            list_filter_body(self.get_option("filters"))
        except GeeLarkError as error:
            raise AnsibleError("%s: %s" % (self.NAME, error)) from None

    def _populate(self, data, api_url):
        wanted = set(self.get_option("statuses") or ())
        prefix = self.get_option("status_group_prefix")
        hostname = self.get_option("hostname")
        inventory: t.Any = self.inventory
        inventory.add_group("geelark")
        for name, value in CONNECTION_DEFAULTS.items():  # group variables: group_vars and compose override them
            inventory.set_variable("geelark", name, _trusted_template(value))
        # Entries cached before the fetch time was stored have none: their age is unknown.
        shared = mark_unsafe({"geelark_fetched_at": data.get("fetched_at") or "", "geelark_api_url": api_url})
        status_groups: dict = {}

        def status_group(name):
            """The group of a status name, made (as a child of geelark) the first time it is needed."""
            if name not in status_groups:
                status_groups[name] = inventory.add_group(prefix + name)
                inventory.add_child("geelark", status_groups[name])
            return status_groups[name]

        for name in STATUS_NAMES.values():  # these always exist, so a play for an empty one matches nothing
            status_group(name)
        phones = [p for p in data["phones"] if not wanted or status_name(data["statuses"][p["id"]]) in wanted]
        if not phones:
            # Not an error (an empty fleet or group is real), but a filter typo looks just like it.
            display.warning("%s: the inventory holds no phone: the API listed %d%s%s" % (
                self.NAME, len(data["phones"]),
                " with filters %s" % json.dumps(self.get_option("filters"), sort_keys=True)
                if self.get_option("filters") else "",
                "; none has a status in %s" % ", ".join(sorted(wanted)) if wanted and data["phones"] else ""))
        variables = dict((p["id"], mark_unsafe(host_vars(p, data["statuses"][p["id"]]))) for p in phones)
        recorder = self._construct(phones, variables, shared, prefix, hostname)
        # No host may take a group's name: neither ours, nor keyed_groups/groups', nor another source's;
        # nor the name of a host another source holds, or localhost, which the runbooks' plays run on.
        reserved = (BUILTIN_GROUPS | {"geelark"} | set(prefix + n for n in _ALL_STATUS_NAMES) | recorder.groups
                    | set(getattr(inventory, "groups", None) or ()) | set(getattr(inventory, "hosts", None) or ())
                    | LOCAL_HOST_NAMES)
        names = host_names(phones, hostname, reserved)
        self._warn_renamed(phones, names, hostname, reserved)
        direct = direct_host_store(inventory)
        display.vvv("%s: host variables written %s" % (
            self.NAME, "through set_variable" if direct is None else "directly into the inventory data"))
        # Each host's phone ID, kept in this process for the adb connection: its tasks run in processes
        # forked from this one, and it reads the connection info of a play's phones at once with it.
        PHONE_IDS_BY_HOST.update((names[p["id"]], p["id"]) for p in phones)
        for phone in phones:
            host = names[phone["id"]]
            own = variables[phone["id"]]
            inventory.add_host(host)  # in geelark through its status group, a child of geelark
            inventory.add_child(status_group(own["geelark_status_name"]), host)
            # A Host without a plain `vars` dict is another ansible-core than the fast path knows.
            host_own_vars = getattr(direct.get(host), "vars", None) if direct is not None else None
            if isinstance(host_own_vars, dict):
                host_own_vars.update(own)
                host_own_vars.update(shared)
            else:
                for name, value in [*own.items(), *shared.items()]:
                    inventory.set_variable(host, name, value)
            for step in recorder.steps.get(phone["id"], ()):
                if step[0] == "var":
                    inventory.set_variable(host, step[1], step[2])
                elif step[0] == "member":
                    inventory.add_child(inventory.add_group(step[1]), host)
                else:
                    inventory.add_child(inventory.add_group(step[1]), inventory.add_group(step[2]))

    def _construct(self, phones, variables, shared, prefix, hostname):
        """Run compose, groups and keyed_groups for every phone against a _GroupRecorder, steps keyed by ID."""
        inventory: t.Any = self.inventory
        recorder = _GroupRecorder(getattr(inventory, "current_source", None))
        compose, groups, keyed = (self.get_option(k) for k in ("compose", "groups", "keyed_groups"))
        if not (compose or groups or keyed):
            return recorder
        strict = self.get_option("strict")
        self.inventory = recorder
        try:
            for phone in phones:
                own = variables[phone["id"]]
                provisional = _ProvisionalHost(base_host_name(phone, hostname))
                recorder.start(phone["id"], provisional, dict(own, **shared),
                               ("geelark", prefix + own["geelark_status_name"]))
                # Every variable the host will have (geelark_api_url, geelark_fetched_at, inventory_hostname...),
                # as groups and keyed_groups see them; compose entries do not see each other's results.
                self._set_composite_vars(compose, recorder.get_vars(), provisional, strict=strict)
                self._add_host_to_composed_groups(groups, own, provisional, strict=strict)
                self._add_host_to_keyed_groups(keyed, own, provisional, strict=strict)
        finally:
            self.inventory = inventory
        return recorder

    def _compose(self, template, variables, *args, **kwargs):
        """Constructable's expression evaluation, with plain variable references read directly."""
        value = NOT_PLAIN if self.get_option("use_extra_vars") else plain_reference(template, variables)
        return super()._compose(template, variables, *args, **kwargs) if value is NOT_PLAIN else value

    def _warn_renamed(self, phones, names, hostname, reserved):
        """One warning per reason a phone's host name is not its serial name."""
        shared: list = []
        grouped: list = []
        unprintable: list = []
        for phone in phones:
            asked = base_host_name(phone, hostname)
            raw = (_text(phone.get("serialName")).strip() if hostname == "serial_name" else "") or phone["id"]
            if asked != raw:
                unprintable.append(names[phone["id"]])
            if names[phone["id"]] != asked:
                (grouped if asked in reserved else shared).append((asked, names[phone["id"]]))
        if shared:
            display.warning("%s: %d phones share a serial name with another phone (or with a phone's ID) and are "
                            "named <serial name>_<ID>: %s" % (self.NAME, len(shared), _some(n for _a, n in shared)))
        if grouped:
            display.warning("%s: %d phones have a serial name that is also a group name, localhost or the name of "
                            "a host of another inventory source (%s); a phone never takes such a name, so they are "
                            "named <serial name>_<ID>: %s"
                            % (self.NAME, len(grouped), _some(sorted(set(a for a, _n in grouped))),
                               _some(n for _a, n in grouped)))
        if unprintable:
            display.warning("%s: %d phones have control characters in their serial name; their host names have %r "
                            "in their place (geelark_serial_name keeps the name as the API gave it): %s"
                            % (self.NAME, len(unprintable), HOST_NAME_REPLACEMENT, _some(unprintable)))
