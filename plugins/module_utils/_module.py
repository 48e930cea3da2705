# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module flavour of the client: shared argument spec, client construction, failures.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

import os
import time

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ._auth import ENV_API_KEY, ENV_API_URL, ENV_APP_ID, ENV_TOKEN
from ._client import CLIENT_OPTION_DEFAULTS, GeeLarkClient
from ._transport import HAS_REQUESTS, REQUESTS_IMPORT_ERROR


# Environment variables whose value an option took in this run (a module runs once per process).
_FROM_ENVIRONMENT: set = set()


def _env_fallback(name):
    """env_fallback that remembers it was used, so errors can say where a credential came from."""
    value = env_fallback(name)
    _FROM_ENVIRONMENT.add(name)
    return value


def api_argument_spec():
    """The options every GeeLark module takes (documented in the geelark.cloudphone.api fragment)."""
    defaults = CLIENT_OPTION_DEFAULTS
    return dict(
        api_url=dict(type="str", default=defaults["api_url"], fallback=(_env_fallback, [ENV_API_URL])),
        token=dict(type="str", no_log=True, fallback=(_env_fallback, [ENV_TOKEN])),
        app_id=dict(type="str", fallback=(_env_fallback, [ENV_APP_ID])),
        api_key=dict(type="str", no_log=True, fallback=(_env_fallback, [ENV_API_KEY])),
        validate_certs=dict(type="bool", default=defaults["validate_certs"]),
        timeout=dict(type="float", default=defaults["timeout"]),
        retries=dict(type="int", default=defaults["retries"]),
        retry_backoff=dict(type="float", default=defaults["retry_backoff"]),
        retry_max_delay=dict(type="float", default=defaults["retry_max_delay"]),
        rate_limit=dict(type="int", default=defaults["rate_limit"]),
        rate_limit_scope=dict(type="str", default=defaults["rate_limit_scope"], choices=["machine", "process"]),
        rate_limit_wait=dict(type="float", default=defaults["rate_limit_wait"]),
        concurrency=dict(type="int", default=defaults["concurrency"]),
    )


class GeeLarkModule:
    """An AnsibleModule with the shared options, and a client built from them."""

    def __init__(self, argument_spec, **kwargs):
        spec = api_argument_spec()
        spec.update(argument_spec)
        _FROM_ENVIRONMENT.clear()
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        self._empty_counts_as_unset()
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        self._started = time.monotonic()
        self._client = None

    def _empty_counts_as_unset(self):
        """An empty credential or api_url from the task is not set: the environment, then the default, apply.

        The inventory and the environment variables read an empty value the same way, so
        ``token: "{{ geelark_token }}"`` with ``-e geelark_token=`` never hides ``GEELARK_TOKEN``.
        """
        params = self.module.params
        for option, variable in (("token", ENV_TOKEN), ("app_id", ENV_APP_ID), ("api_key", ENV_API_KEY),
                                 ("api_url", ENV_API_URL)):
            value = params.get(option)
            if not isinstance(value, str) or value.strip():
                continue
            from_env = os.environ.get(variable, "")
            if from_env.strip():
                params[option] = from_env
                _FROM_ENVIRONMENT.add(variable)
                if option in ("token", "api_key"):  # masked like a value the spec's fallback had read
                    self.module.no_log_values.add(from_env)
            else:
                params[option] = CLIENT_OPTION_DEFAULTS.get(option)

    @property
    def params(self):
        return self.module.params

    def client(self):
        # A module cannot print while it runs; a long wait for the rate budget becomes a warning.
        self._client = GeeLarkClient.from_options(self.module.params, log=self.module.debug,
                                                  notice=self.module.warn, sources=self.credential_sources())
        return self._client

    def warn_when_no_ids(self):
        """An empty ids list is allowed (a computed list may be empty), but it never passes unremarked."""
        if not self.module.params.get("ids"):
            self.module.warn("ids is empty: no phone was asked about, so nothing was checked or changed")

    def credential_sources(self):
        """Where each credential option and api_url came from: the environment, or the task.

        The task includes module_defaults, which is how the runbooks pass -e geelark_api_url. The
        default api_url has no source: it was not set anywhere.
        """
        sources = {}
        for option, variable in (("token", ENV_TOKEN), ("app_id", ENV_APP_ID), ("api_key", ENV_API_KEY),
                                 ("api_url", ENV_API_URL)):
            if option == "api_url" and self.module.params.get(option) == CLIENT_OPTION_DEFAULTS["api_url"]:
                continue
            if self.module.params.get(option) is not None:
                sources[option] = ("environment variable %s" % variable if variable in _FROM_ENVIRONMENT
                                   else "the task's options or module_defaults"
                                   + (" (geelark_api_url in the runbooks)" if option == "api_url" else ""))
        return sources

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
