# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The shared GeeLark API options of every module and plugin.
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Base URL of the GeeLark Open API, without a path.
      - Use V(https://openapi.geelark.cn) for accounts of the China site.
      - If not set, the environment variable E(GEELARK_API_URL) is used.
    type: str
    default: https://openapi.geelark.com
  token:
    description:
      - API token for Bearer authentication, copied from the GeeLark client's API settings.
      - Give either O(token), or both O(app_id) and O(api_key).
      - If not set, the environment variable E(GEELARK_TOKEN) is used.
    type: str
  app_id:
    description:
      - Team app ID for key signature authentication; goes with O(api_key).
      - If not set, the environment variable E(GEELARK_APP_ID) is used.
    type: str
  api_key:
    description:
      - API key for key signature authentication; goes with O(app_id).
      - The key signs each request and is never sent.
      - If not set, the environment variable E(GEELARK_API_KEY) is used.
    type: str
  validate_certs:
    description:
      - Verify the API's TLS certificate. Turn it off only for a test server you trust.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each answer before the attempt counts as failed.
    type: float
    default: 30
  retries:
    description:
      - How many times a read is tried again after a transient failure (connection error, timeout,
        HTTP 429 or 5xx, a non-JSON answer, API codes 40007, 40017 and 50000).
      - Authentication errors and the two-hour lock (40014) are never retried.
    type: int
    default: 5
  retry_backoff:
    description:
      - Base of the exponential backoff between retries, in seconds; each wait is random between
        zero and O(retry_backoff) times two to the power of the attempt number (full jitter).
      - A C(Retry-After) header sent by the server takes precedence.
    type: float
    default: 1
  retry_max_delay:
    description:
      - Upper bound, in seconds, of any single wait between two attempts.
    type: float
    default: 60
  rate_limit:
    description:
      - Requests per minute the client allows itself for each API endpoint, counted over any
        sliding minute; requests beyond it wait for their turn. V(0) turns pacing off.
      - GeeLark documents 200 requests a minute per API, and locks the API for two hours when
        the hourly limit is exceeded.
    type: int
    default: 180
  concurrency:
    description:
      - How many requests may be in flight at once (1 to 64).
    type: int
    default: 8
"""

    # Added to DOCUMENTATION for plugins, which read environment variables through env entries
    # (module docs cannot carry them; modules read the same variables through fallbacks).
    PLUGINS = r"""
options:
  api_url:
    env:
      - name: GEELARK_API_URL
  token:
    env:
      - name: GEELARK_TOKEN
  app_id:
    env:
      - name: GEELARK_APP_ID
  api_key:
    env:
      - name: GEELARK_API_KEY
"""
