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
  - Host names are the phones' serial names (or IDs, see O(hostname)). GeeLark does not keep
    serial names unique; phones that share a name are each named C(<serial name>_<ID>), and a
    warning lists them. No phone is ever dropped for its name.
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
    C(geelark_proxy) (the proxy dict without its password) and C(geelark_fetched_at) (when the data was
    fetched from the API, UTC, for example V(2026-11-28T07:30:00Z); on a cache hit it tells the cache's
    age). Fields the API leaves empty (C(null)) become empty strings, lists and dicts."
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
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.release import __version__ as ansible_core_version
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.geelark.cloudphone.plugins.module_utils._auth import (
    ENV_API_KEY,
    ENV_API_URL,
    ENV_APP_ID,
    ENV_TOKEN,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._client import CLIENT_OPTION_DEFAULTS, GeeLarkClient
from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import GeeLarkError
from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import (
    STATUS_NAMES,
    list_filter_body,
    status_name,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._transport import HAS_REQUESTS

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
# When the data was fetched from the API (UTC), kept in the cached payload so a cache hit tells its age.
FETCHED_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# Bumped when the cached payload changes shape; an older entry is treated as a miss.
CACHE_FORMAT = 1
_CREDENTIAL_OPTIONS = ("token", "app_id", "api_key", "api_url")
_ENV_OF = {"token": ENV_TOKEN, "app_id": ENV_APP_ID, "api_key": ENV_API_KEY, "api_url": ENV_API_URL}


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


def host_names(phones, hostname):
    """Inventory name of each phone ID; a name shared by several phones gets their ID appended."""
    if hostname == "id":
        return dict((p["id"], p["id"]) for p in phones)
    serial = dict((p["id"], _text(p.get("serialName")).strip()) for p in phones)
    counts = collections.Counter(serial.values())
    names = {}
    for phone_id, name in serial.items():
        if not name:
            names[phone_id] = phone_id
        elif counts[name] > 1:
            names[phone_id] = "%s_%s" % (name, phone_id)
        else:
            names[phone_id] = name
    # A composed name that equals another phone's own name gives way: that phone keeps its name.
    plain = set(name for phone_id, name in names.items() if name == serial[phone_id])
    for phone_id, name in names.items():
        if name != serial[phone_id] and name in plain:
            names[phone_id] = phone_id
    return names


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

    _secrets: tuple = ()
    _config_keys: frozenset = frozenset()

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        self._config_keys = frozenset(config)
        self._warn_unknown_keys(path, config)
        self._check_options()
        if not HAS_REQUESTS:
            raise AnsibleError("The %s inventory needs the Python library 'requests' on the controller: "
                               "pip install requests" % self.NAME)
        options = self._client_options()
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
        self._populate(data)
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
        for secret in self._secrets:
            text = text.replace(secret, "********")
        return text

    def _client_options(self):
        options = {}
        for name in CLIENT_OPTION_DEFAULTS:
            value = self.get_option(name)
            if name in _CREDENTIAL_OPTIONS and isinstance(value, str) and self.templar.is_template(value):
                value = self._template_credential(name, value)
            options[name] = value
        self._secrets = tuple(v for v in (options.get("token"), options.get("api_key")) if isinstance(v, str) and v)
        return options

    def _credential_sources(self):
        """Where each credential option and api_url came from (the inventory file, or an environment variable)."""
        sources = {}
        for name in ("token", "app_id", "api_key", "api_url"):
            if name in self._config_keys:
                sources[name] = "the inventory file"
            elif name == "api_url":  # it has a default: only the environment variable says it was set
                if os.environ.get(_ENV_OF[name]):
                    sources[name] = "environment variable %s" % _ENV_OF[name]
            elif self.get_option(name) is not None:  # no default: the value came from its environment variable
                sources[name] = "environment variable %s" % _ENV_OF[name]
        return sources

    def _template_credential(self, name, value):
        """A credential option's template, rendered with the extra vars (-e), lookups and vault.

        The inventory is read before group_vars, host_vars and play vars exist; extra vars are the
        only variables there are at this point (BaseInventoryPlugin.parse loads them into _vars).
        """
        templar = self.templar
        previous = templar.available_variables
        templar.available_variables = dict(getattr(self, "_vars", None) or {})
        try:
            return templar.template(value)
        except AnsibleUndefinedVariable as exc:
            undefined = _undefined_name(exc)
            raise AnsibleError(
                "%s: the %s option could not be templated: %s. The inventory is read before group_vars and "
                "host_vars exist: give the variable as an extra var (-e NAME=VALUE, or -e @vars.yml, vault-encrypted "
                "or not), use a lookup or an inline !vault value, or leave the option out and set %s"
                % (self.NAME, name, ("the variable %r is undefined" % undefined) if undefined
                   else "a variable is undefined", _ENV_OF.get(name, "the environment variable"))) from None
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
            with GeeLarkClient.from_options(options, log=self._log_request, notice=self._notice,
                                            sources=self._credential_sources()) as client:
                items, report = client.fleet_status(self.get_option("filters"))
                requests = client.transport.request_count
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

    def _populate(self, data):
        wanted = set(self.get_option("statuses") or ())
        prefix = self.get_option("status_group_prefix")
        strict = self.get_option("strict")
        inventory: t.Any = self.inventory
        inventory.add_group("geelark")
        for name, value in CONNECTION_DEFAULTS.items():  # group variables: group_vars and compose override them
            inventory.set_variable("geelark", name, _trusted_template(value))
        # Entries cached before the fetch time was stored have none: their age is unknown.
        fetched = mark_unsafe({"geelark_fetched_at": data.get("fetched_at") or ""})
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
        names = host_names(phones, self.get_option("hostname"))
        renamed = sorted(names[p["id"]] for p in phones if names[p["id"]] not in (p["id"], p.get("serialName")))
        if renamed:
            display.warning("%s: %d phones share a serial name with another phone and are named "
                            "<serial name>_<ID>: %s" % (self.NAME, len(renamed), ", ".join(renamed[:20])
                                                        + (", ..." if len(renamed) > 20 else "")))
        compose, groups, keyed = (self.get_option(k) for k in ("compose", "groups", "keyed_groups"))
        # Host variables go straight into each new host's variables. Through set_variable, ansible-core
        # 2.19 walks and tags every value, and checks every name, which is most of the CPU time at
        # fleet scale; these names are fixed and valid, and API data must stay untrusted anyway.
        hosts = getattr(inventory, "__wrapped__", inventory).hosts
        for phone in phones:
            host = names[phone["id"]]
            variables = mark_unsafe(host_vars(phone, data["statuses"][phone["id"]]))
            inventory.add_host(host)  # in geelark through its status group, a child of geelark
            inventory.add_child(status_group(variables["geelark_status_name"]), host)
            hosts[host].vars.update(variables)
            hosts[host].vars.update(fetched)
            if compose or groups or keyed:
                self._set_composite_vars(compose, variables, host, strict=strict)
                self._add_host_to_composed_groups(groups, variables, host, strict=strict)
                self._add_host_to_keyed_groups(keyed, variables, host, strict=strict)
