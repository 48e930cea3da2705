# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module flavour of the client: shared argument spec, client construction, failures.

Private to this collection: the API of this file may change without notice.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ._auth import ENV_API_KEY, ENV_API_URL, ENV_APP_ID, ENV_TOKEN
from ._client import CLIENT_OPTION_DEFAULTS, GeeLarkClient
from ._transport import HAS_REQUESTS, REQUESTS_IMPORT_ERROR


def api_argument_spec():
    """The options every GeeLark module takes (documented in the geelark.cloudphone.api fragment)."""
    defaults = CLIENT_OPTION_DEFAULTS
    return dict(
        api_url=dict(type="str", default=defaults["api_url"], fallback=(env_fallback, [ENV_API_URL])),
        token=dict(type="str", no_log=True, fallback=(env_fallback, [ENV_TOKEN])),
        app_id=dict(type="str", fallback=(env_fallback, [ENV_APP_ID])),
        api_key=dict(type="str", no_log=True, fallback=(env_fallback, [ENV_API_KEY])),
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
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)

    @property
    def params(self):
        return self.module.params

    def client(self):
        return GeeLarkClient.from_options(self.module.params, log=self.module.debug)

    def fail_from(self, error, **result):
        """Fail the task with a GeeLark error's message and its structured details."""
        details = error.to_result()
        self.module.fail_json(msg=str(error), error=details, **result)
