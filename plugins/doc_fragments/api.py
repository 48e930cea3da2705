# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The shared GeeLark API options of every module and plugin, as the settings table
    # (plugins/module_utils/_settings.py) defines them; tests/unit/plugins/module_utils/test__settings.py
    # checks that types, defaults, choices, environment variables and bounds agree with it. The client behind
    # them needs requests.
    DOCUMENTATION = r"""
requirements:
  - requests
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
      - Seconds the whole answer of one attempt may take (connecting, sending, headers and body)
        before the attempt counts as failed; a read is then retried, a write's answer counts as lost.
    type: float
    default: 30
  retries:
    description:
      - How many times a read is tried again after a transient failure (connection error, timeout,
        HTTP 429 or 5xx, a non-JSON answer, API code 50000).
      - Rate limits (40007, 40017) and the concurrency cap (47002) are retried too, for reads and
        writes alike, within the same number of retries and at most O(rate_limit_wait) seconds of
        waiting.
      - Authentication errors and the two-hour lock (40014) are never retried. A write whose answer
        was lost is never sent again.
    type: int
    default: 5
  retry_backoff:
    description:
      - Base of the exponential backoff between retries, in seconds; each wait is random between
        zero and O(retry_backoff) times two to the power of the attempt number (full jitter).
      - A C(Retry-After) header sent by the server replaces the computed wait, but the wait is still capped
        at O(retry_max_delay).
    type: float
    default: 1
  retry_max_delay:
    description:
      - Upper bound, in seconds, of any single wait between two attempts after a transient failure, including
        one asked for by a C(Retry-After) header.
    type: float
    default: 60
  rate_limit:
    description:
      - Requests per minute allowed for each API endpoint, counted over any sliding minute;
        requests beyond it wait for their turn. V(0) turns pacing off.
      - With O(rate_limit_scope=machine), the budget is shared by every process of this user on
        this machine that calls the same account at the same O(api_url) (forks, parallel
        C(ansible-playbook) and C(ansible-inventory) runs, cron jobs side by side). With
        O(rate_limit_scope=shared), by every machine, container and AWX job that uses the same
        Redis or Valkey server (O(rate_limit_url)).
      - GeeLark documents 200 requests a minute per API, and locks the API for two hours when
        the hourly limit is exceeded (40014).
      - After a rate limit answer (40007), the run lowers its budget for that endpoint to what got
        through in the last minute, for one minute after the last refusal; then it is
        O(rate_limit) again.
    type: int
    default: 180
  rate_limit_scope:
    description:
      - Who shares the O(rate_limit) budget.
      - V(machine) shares it between every process of this user on this machine, through small
        lock files in E(GEELARK_RATE_BUDGET_DIR), else C($XDG_RUNTIME_DIR/geelark.cloudphone/budget),
        else C(~/.cache/geelark.cloudphone/budget) (created with mode 0700). The files are named
        by a hash of the account and URL and hold only the times of recent requests. When the
        directory or file locking cannot be used, the run warns once and keeps a budget of its own.
      - The file is never opened through a symbolic link; a link, FIFO, file of another user or
        file with other hard links at its path makes the run warn and keep a budget of its own.
      - V(process) gives each process a budget of its own, as if it were alone.
      - V(shared) shares it between every process on every machine and container that uses the same
        O(rate_limit_url) (AWX and Automation Platform jobs, execution nodes, container groups). Each
        request books its slot with one script call to that Redis or Valkey server, which uses its own
        clock, so nodes whose clocks differ agree. The keys are named by a hash of the account and URL
        (no secret), hold only times and expire when idle. Needs the Python library C(redis) on the
        node that runs the task (controller for the inventory plugin and the event source).
      - With V(shared), when the server cannot be reached or fails, the run warns once and keeps the
        V(machine) budget at O(rate_limit) divided by O(rate_limit_nodes) instead; it tries the server
        again a minute later. No task fails because the server is down, and no run goes unthrottled.
      - If not set, the environment variable E(GEELARK_RATE_LIMIT_SCOPE) is used.
    type: str
    choices: [machine, process, shared]
    default: machine
  rate_limit_url:
    description:
      - The Redis or Valkey server that holds the budget of O(rate_limit_scope=shared), for example
        V(redis://redis.example.com:6379/0), V(rediss://redis.example.com:6380/0) (TLS) or
        V(unix:///run/redis/redis.sock). Used only with O(rate_limit_scope=shared).
      - A password may be given in the URL (V(redis://:PASSWORD@host:6379/0), or
        V(redis://USER:PASSWORD@host:6379/0) with an ACL user) or in O(rate_limit_password), not in both.
        Messages name the server with the user part of the URL masked.
      - Use one server (a primary); Redis Cluster is not supported.
      - If not set, the environment variable E(GEELARK_RATE_LIMIT_URL) is used.
    type: str
  rate_limit_password:
    description:
      - Password of the O(rate_limit_url) server, when the URL holds none.
      - If not set, the environment variable E(GEELARK_RATE_LIMIT_PASSWORD) is used.
    type: str
  rate_limit_nodes:
    description:
      - While the O(rate_limit_url) server cannot be used, each run allows itself O(rate_limit) divided by
        this number of requests a minute per endpoint (rounded down, at least one), in the V(machine) budget.
      - Set it to the most machines or containers that run against the account at the same time, so
        that together they stay within O(rate_limit).
    type: int
    default: 4
  rate_limit_wait:
    description:
      - Seconds one request may spend waiting for the API's limits before it fails, in total over
        its attempts.
      - After 40007 or 40017 (rate limited, lifts the next minute) the client waits for the API's
        minute to roll over, then tries again; after 47002 (too many concurrent requests) it backs
        off briefly with fewer requests in flight.
      - The number of attempts is bounded by O(retries) as well; the default five retries leave
        room for about five minute windows. The final error says how long it waited and how many
        attempts it made. V(0) fails at the first such answer.
      - Waiting for a turn in the O(rate_limit) budget counts too; a request whose next slot lies
        beyond what is left fails at once, saying so. A wait longer than a few seconds is announced
        when it starts (by the inventory and the event source; a module reports it when it ends).
    type: float
    default: 300
  concurrency:
    description:
      - The most requests in flight at once (1 to 64).
      - The client starts with fewer and adds more while the answers are clean; it halves them on
        47002, 40007, HTTP 429 or 5xx, so it settles below GeeLark's concurrency cap, which is not
        published. The level that met 47002 is avoided for 10 minutes.
    type: int
    default: 32
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
  rate_limit_scope:
    env:
      - name: GEELARK_RATE_LIMIT_SCOPE
  rate_limit_url:
    env:
      - name: GEELARK_RATE_LIMIT_URL
  rate_limit_password:
    env:
      - name: GEELARK_RATE_LIMIT_PASSWORD
"""
