# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module flavour of the client: shared argument spec, client construction, failures.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

import time

from ansible.module_utils.basic import AnsibleFallbackNotFound, AnsibleModule, env_fallback, missing_required_lib

from ._client import GeeLarkClient
from ._errors import GeeLarkError
from ._phones import failures_text
from ._settings import API_OPTIONS, ClientSettings, is_unset, resolve
from ._transport import HAS_REQUESTS, REQUESTS_IMPORT_ERROR

# Where a value given to the module came from, as advice names it.
TASK = "the task's options or module_defaults"
# The extra vars the runbooks pass these options from (their module_defaults): named where an option
# "came from the task", since a runbook's user wrote no task.
RUNBOOK_VARIABLES = {"api_url": "geelark_api_url", "token": "geelark_token", "app_id": "geelark_app_id",
                     "api_key": "geelark_api_key"}


# Environment variables whose value an option took in this run (a module runs once per process).
_FROM_ENVIRONMENT: set = set()


def _env_fallback(name):
    """env_fallback that remembers it was used, so errors can say where a credential came from.

    A variable set but empty (AWX injects a blank credential field so) counts as not set: it never
    reaches AnsibleModule's checks, where an empty GEELARK_RATE_LIMIT_SCOPE would fail its choices.
    """
    value = env_fallback(name)
    if is_unset(value):
        raise AnsibleFallbackNotFound
    _FROM_ENVIRONMENT.add(name)
    return value


def api_argument_spec():
    """The options every GeeLark module takes, from the settings table (documented in the geelark.cloudphone.api
    fragment). Bounds are not in the spec: the client checks them, with the same messages everywhere."""
    spec = {}
    for option in API_OPTIONS:
        entry: dict = dict(type=option.type)
        if option.default is not None:
            entry["default"] = option.default
        if option.no_log:
            entry["no_log"] = True
        if option.choices:
            entry["choices"] = list(option.choices)
        if option.env:
            entry["fallback"] = (_env_fallback, [option.env])
        spec[option.name] = entry
    return spec


def phone_ids_spec(required=True):
    """The ids option of the modules that act on phones by ID (documented in the geelark.cloudphone.phone_ids
    fragment)."""
    return dict(ids=dict(type="list", elements="raw", required=required))


def info_spec():
    """The options of the read-only modules over phone IDs (geelark.cloudphone.info_module fragment)."""
    return dict(fail_on_missing=dict(type="bool", default=False))


def state_changing_spec(wait_timeout, poll_interval):
    """The options of the modules that change phones and wait for it (geelark.cloudphone.state_changing fragment).

    How long a change takes depends on the module, so each gives its own defaults for the two waits.
    """
    return dict(
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=wait_timeout),
        poll_interval=dict(type="int", default=poll_interval),
        max_changes=dict(type="int"),
    )


class GeeLarkModule:
    """An AnsibleModule with the shared options, and a client built from them."""

    def __init__(self, argument_spec, **kwargs):
        spec = api_argument_spec()
        spec.update(argument_spec)
        _FROM_ENVIRONMENT.clear()
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        self._sources = self._resolve_shared_options()
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        self._started = time.monotonic()
        self._client = None

    def _resolve_shared_options(self):
        """Apply the settings' one rule to the shared options; return where each came from.

        An empty value from the task is not set: the environment variable, then the default, apply
        (``token: "{{ geelark_token }}"`` with ``-e geelark_token=`` never hides ``GEELARK_TOKEN``), as
        in the inventory and the event source. The spec's fallbacks have read the environment where
        the task gave nothing; those values count as the environment's.
        """
        params = self.module.params
        given = dict((o.name, params.get(o.name)) for o in API_OPTIONS if o.env not in _FROM_ENVIRONMENT)
        values, sources = resolve(given, TASK)
        for option in API_OPTIONS:
            value = option.default if values[option.name] is None else values[option.name]
            params[option.name] = value
            if option.no_log and isinstance(value, str):
                self.module.no_log_values.add(value)  # also a value read here, past the spec's fallback
            if option.name in sources and value == option.default:
                del sources[option.name]  # the spec fills the default in: that value names no place
            elif option.name in RUNBOOK_VARIABLES and sources.get(option.name) == TASK:
                sources[option.name] += " (%s in the runbooks)" % RUNBOOK_VARIABLES[option.name]
        return sources

    @property
    def params(self):
        return self.module.params

    def client(self):
        # A module cannot print while it runs; a long wait for the rate budget becomes a warning.
        self._client = GeeLarkClient(ClientSettings(self.module.params, self._sources), log=self.module.debug,
                                     notice=self.module.warn)
        return self._client

    def call(self, work, **result):
        """What `work(client)` returns, with a client built from the options.

        A GeeLarkError fails the task with its details and `result` (fail_from): writes may have gone out
        before it, and the error carries what is known of them.
        """
        try:
            with self.client() as client:
                return work(client)
        except GeeLarkError as error:
            self.fail_from(error, **result)

    def state_changing_params(self):
        """The options of state_changing_spec, and check mode, as the client's state-changing runs take them."""
        params = self.module.params
        return dict(check_mode=self.module.check_mode, wait=params["wait"], wait_timeout=params["wait_timeout"],
                    poll_interval=params["poll_interval"], max_changes=params["max_changes"])

    def warn_when_no_ids(self):
        """An empty ids list is allowed (a computed list may be empty), but it never passes unremarked."""
        if not self.module.params.get("ids"):
            self.module.warn("ids is empty: no phone was asked about, so nothing was checked or changed")

    def api_calls(self):
        """What this run asked of the API: requests, retries, waits and seconds (the transport's summary)."""
        if self._client is None:
            return {"requests": 0, "retries": 0, "seconds": round(time.monotonic() - self._started, 3)}
        return self._client.summary()

    def fail_from(self, error, **result):
        """Fail the task with a GeeLark error's message and its structured details.

        When the error carries a change result (writes may have gone out before it), the task
        reports it too, with the same keys as a run that ended normally.
        """
        change = getattr(error, "change_result", None)
        payload = self._change_keys(change) if change is not None else {"changed": False}
        payload.update(result)
        payload["api_calls"] = self.api_calls()
        self.module.fail_json(msg=str(error), error=error.to_result(), **payload)

    def exit_info(self, result, warnings, asked, unanswered):
        """End a read-only task: its warnings, api_calls, and the phones in result["failures"].

        They fail the task with fail_on_missing (info_spec), else a warning names the first of them.
        `unanswered` says what went unanswered, with two %d for how many and of how many (`asked`).
        """
        for warning in warnings:
            self.module.warn(warning)
        result["api_calls"] = self.api_calls()
        failures = result["failures"]
        if failures and self.module.params["fail_on_missing"]:
            self.module.fail_json(msg=_unanswered_message(unanswered, failures, asked, 20), **result)
        if failures:
            self.module.warn(_unanswered_message(unanswered, failures, asked, 5)
                             + "; set fail_on_missing: true to fail the task instead")
        self.module.exit_json(**result)

    def exit_change(self, change, **result):
        """End the task from a change result: exit_json, or fail_json when a target failed.

        Either way the result holds the same keys (changed, what changed, failures, uncertain,
        api_calls, diff in diff mode), so a play that ignores or rescues the failure can still
        report every target.
        """
        payload = self._change_keys(change)
        payload.update(result)
        if change.failures:
            self.module.fail_json(msg=change.failure_message(), **payload)
        self.module.exit_json(**payload)

    def _change_keys(self, change):
        for warning in change.warnings:
            self.module.warn(warning)
        change.warnings = []  # said once, also when the result is built twice
        payload = change.as_dict()
        payload["api_calls"] = self.api_calls()
        if self.module._diff:
            payload["diff"] = change.diff()
        return payload


def _unanswered_message(unanswered, failures, asked, limit):
    """The phones the API gave no answer for, the first `limit` of them by ID, code and message."""
    return "%s: %s" % (unanswered % (len(failures), asked), failures_text(failures, limit))
