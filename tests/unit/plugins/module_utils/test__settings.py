# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one table of shared settings, and everything derived from it."""

from __future__ import annotations

import importlib

import pytest
import yaml

from ansible_collections.geelark.cloudphone.plugins.doc_fragments.api import ModuleDocFragment
from ansible_collections.geelark.cloudphone.plugins.module_utils._auth import Credentials
from ansible_collections.geelark.cloudphone.plugins.module_utils._client import GeeLarkClient
from ansible_collections.geelark.cloudphone.plugins.module_utils._errors import ConfigError
from ansible_collections.geelark.cloudphone.plugins.module_utils._module import api_argument_spec
from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import LIST_PATH
from ansible_collections.geelark.cloudphone.plugins.module_utils._ratelimit import budget_file_name
from ansible_collections.geelark.cloudphone.plugins.module_utils._settings import (
    API_OPTIONS,
    OPTIONS,
    ClientSettings,
    normalize_api_url,
    resolve,
    typed,
)
from ansible_collections.geelark.cloudphone.plugins.module_utils._transport import Cancelled, Transport

from ...conftest import TOKEN

phone_status = importlib.import_module("ansible_collections.geelark.cloudphone.extensions.eda.plugins.event_source."
                                       "phone_status")

NAMES = [option.name for option in API_OPTIONS]


def fragment_options(text):
    return yaml.safe_load(text)["options"]


def described(spec):
    return " ".join(spec["description"] if isinstance(spec["description"], list) else [spec["description"]])


def test_the_table_holds_the_16_shared_options_once():
    assert len(API_OPTIONS) == 16 == len(set(NAMES))
    assert {o.name for o in API_OPTIONS if o.no_log} == {"token", "api_key", "rate_limit_url", "rate_limit_password"}
    assert {o.name: o.env for o in API_OPTIONS if o.env} == {
        "api_url": "GEELARK_API_URL", "token": "GEELARK_TOKEN", "app_id": "GEELARK_APP_ID",
        "api_key": "GEELARK_API_KEY", "rate_limit_scope": "GEELARK_RATE_LIMIT_SCOPE",
        "rate_limit_url": "GEELARK_RATE_LIMIT_URL", "rate_limit_password": "GEELARK_RATE_LIMIT_PASSWORD"}


@pytest.mark.parametrize("name", NAMES)
def test_the_modules_argument_spec_is_the_table(name):
    option = OPTIONS[name]
    spec = api_argument_spec()[name]
    assert spec["type"] == option.type
    assert spec.get("default") == option.default
    assert spec.get("no_log", False) == option.no_log
    assert spec.get("choices", []) == list(option.choices)
    assert (spec["fallback"][1] if "fallback" in spec else None) == ([option.env] if option.env else None)
    assert set(api_argument_spec()) == set(NAMES)


@pytest.mark.parametrize("documented", [
    pytest.param(fragment_options(ModuleDocFragment.DOCUMENTATION), id="doc-fragment"),
    pytest.param(yaml.safe_load(phone_status.DOCUMENTATION)["options"], id="event-source"),
])
@pytest.mark.parametrize("name", NAMES)
def test_the_documentation_agrees_with_the_table(documented, name):
    """Type, default, choices, environment variable and bounds, as written in the docs, are the table's."""
    option = OPTIONS[name]
    spec = documented[name]
    assert spec["type"] == option.type
    assert spec.get("default") == option.default
    assert spec.get("choices", []) == list(option.choices)
    text = described(spec)
    variables = set(word[2:-1] for word in text.split() if word.startswith("E(GEELARK_") and word.endswith(")"))
    assert variables == ({option.env} if option.env else set())
    if option.env:
        assert "If not set, the environment variable E(%s) is used." % option.env in text
    if option.maximum is not None:
        assert "(%g to %g)" % (option.minimum, option.maximum) in text
    # A secret has no default a reader could mistake for a real value; docs cannot say no_log otherwise.
    assert not (option.no_log and "default" in spec)


def test_the_plugins_doc_fragment_names_each_environment_variable_of_the_table():
    plugins = fragment_options(ModuleDocFragment.PLUGINS)
    assert {name: spec["env"] for name, spec in plugins.items()} == {
        o.name: [{"name": o.env}] for o in API_OPTIONS if o.env}


def test_the_event_source_accepts_exactly_its_own_options_and_the_table():
    documented = yaml.safe_load(phone_status.DOCUMENTATION)["options"]
    own = dict((o.name, o) for o in phone_status.SOURCE_OPTIONS)
    assert set(documented) == set(own) | set(NAMES)
    for name, option in own.items():
        assert (documented[name]["type"], documented[name].get("default")) == (option.type, option.default)


def test_a_value_is_taken_from_the_place_then_the_environment_then_the_default():
    environ = {"GEELARK_TOKEN": "env-token", "GEELARK_API_URL": " ", "GEELARK_APP_ID": "env-app"}
    values, sources = resolve({"token": "  ", "app_id": "file-app", "api_url": "", "timeout": 5}, "the inventory file",
                              environ)
    assert values == dict(dict.fromkeys(NAMES), token="env-token", app_id="file-app", timeout=5)
    assert sources == {"token": "environment variable GEELARK_TOKEN", "app_id": "the inventory file"}


@pytest.mark.parametrize("name, value, message", [
    ("timeout", 0, "timeout must be a number of at least 0.001, got 0"),
    ("retries", 1.5, "retries must be a whole number of at least 0, got 1.5"),
    ("retry_backoff", -1, "retry_backoff must be a number of at least 0, got -1"),
    ("retry_max_delay", True, "retry_max_delay must be a number of at least 0, got True"),
    ("rate_limit", -1, "rate_limit must be a whole number of at least 0, got -1"),
    ("rate_limit_wait", "5", "rate_limit_wait must be a number of at least 0, got '5'"),
    ("concurrency", 0, "concurrency must be a whole number from 1 to 64, got 0"),
    ("concurrency", 65, "concurrency must be a whole number from 1 to 64, got 65"),
    ("rate_limit_scope", "global", "rate_limit_scope must be one of machine, process, shared, got 'global'"),
    ("rate_limit_nodes", 0, "rate_limit_nodes must be a whole number of at least 1, got 0"),
    ("api_url", "ftp://x", "api_url 'ftp://x' is not an http(s) URL"),
])
def test_bounds_and_choices_are_checked_once_from_the_table(name, value, message):
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        ClientSettings({"token": TOKEN, name: value})


def test_unset_values_take_the_table_defaults():
    settings = ClientSettings({"token": TOKEN, "timeout": None})
    assert (settings.api_url, settings.timeout, settings.concurrency, settings.rate_limit_scope) == (
        "https://openapi.geelark.com", 30.0, 32, "machine")
    assert (settings.rate_limit_nodes, settings.budget_server) == (4, None)


ENV_NAMES = sorted(o.env for o in API_OPTIONS if o.env)


def test_every_geelark_variable_set_but_empty_counts_as_unset():
    """As AWX injects a credential's blank optional fields: every variable there, empty or blank."""
    environ = dict.fromkeys(ENV_NAMES, "")
    environ.update(GEELARK_TOKEN=TOKEN, GEELARK_API_URL="  ")
    values, sources = resolve({}, "the inventory file", environ)
    assert values == dict(dict.fromkeys(NAMES), token=TOKEN)
    assert sources == {"token": "environment variable GEELARK_TOKEN"}
    settings = ClientSettings(values, sources)
    assert (settings.api_url, settings.rate_limit_scope, settings.budget_server) == (
        "https://openapi.geelark.com", "machine", None)


@pytest.mark.parametrize("empty", [[n for n in ENV_NAMES if n != "GEELARK_RATE_LIMIT_SCOPE"], ENV_NAMES],
                         ids=["all-but-the-scope", "all"])
def test_a_module_given_empty_geelark_variables_runs_with_the_defaults(monkeypatch, empty):
    """The modules read the variables through their argument spec's fallbacks: empty ones count as unset too."""
    from ansible_collections.geelark.cloudphone.plugins.module_utils._module import GeeLarkModule

    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core < 2.19
        patch_module_args = None
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name in empty:
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("GEELARK_TOKEN", TOKEN)
    if patch_module_args is None:
        from unittest import mock

        from ansible.module_utils import basic

        patched = mock.patch.object(basic, "_ANSIBLE_ARGS", b'{"ANSIBLE_MODULE_ARGS": {}}')
    else:
        patched = patch_module_args({})
    with patched:
        geelark = GeeLarkModule(argument_spec={})
    settings = ClientSettings(geelark.params, geelark._sources)
    assert (settings.api_url, settings.rate_limit_scope, settings.budget_server) == (
        "https://openapi.geelark.com", "machine", None)
    assert settings.credentials.identity == "token:" + TOKEN


@pytest.mark.parametrize("name, value", [("GEELARK_RATE_LIMIT_SCOPE", "shared"),
                                         ("GEELARK_RATE_LIMIT_URL", "redis://redis.example.com:6379/0")])
def test_the_shared_budget_is_chosen_from_the_environment_as_awx_credentials_inject_it(name, value):
    environ = {"GEELARK_TOKEN": TOKEN, "GEELARK_RATE_LIMIT_SCOPE": "shared",
               "GEELARK_RATE_LIMIT_URL": "redis://redis.example.com:6379/0", "GEELARK_RATE_LIMIT_PASSWORD": "pw-1"}
    settings = ClientSettings(*resolve({}, "the inventory file", environ))
    assert settings.rate_limit_scope == "shared"
    assert settings.budget_server.name == "redis://redis.example.com:6379/0"
    environ[name] = ""  # a blank field of the credential: that setting is not given
    if name == "GEELARK_RATE_LIMIT_SCOPE":
        assert ClientSettings(*resolve({}, "the inventory file", environ)).budget_server is None
    else:
        with pytest.raises(ConfigError, match="rate_limit_url is not set"):
            ClientSettings(*resolve({}, "the inventory file", environ))


def test_client_and_transport_take_one_settings_object(emulator):
    settings = ClientSettings({"api_url": emulator.url, "token": TOKEN, "concurrency": 3})
    with GeeLarkClient(settings) as client:
        assert client.transport.settings is settings
        assert client.concurrency == 3
        assert client.list_phones()
        assert client.summary()["requests"] == 3
    transport = Transport(settings)
    try:
        assert transport.post(LIST_PATH, {"page": 1, "pageSize": 1})["code"] == 0
    finally:
        transport.close()


def test_a_stopped_client_sends_nothing_more(emulator):
    with GeeLarkClient(ClientSettings({"api_url": emulator.url, "token": TOKEN})) as client:
        client.stop()
        with pytest.raises(Cancelled):
            client.list_phones()
    assert emulator.stats()["total_requests"] == 0


def test_the_identity_the_budget_is_counted_against_comes_from_a_public_door():
    assert Credentials(token="t1").identity == "token:t1"
    assert Credentials(app_id="a1", api_key="k").identity == "app:a1"


def test_an_option_name_the_table_does_not_have_is_refused_as_a_function_would():
    with pytest.raises(TypeError, match="unknown option: timeuot"):
        GeeLarkClient(token=TOKEN, timeuot=3)
    with pytest.raises(TypeError, match="not both"):
        GeeLarkClient(ClientSettings({"token": TOKEN}), timeout=3)


@pytest.mark.parametrize("spelling, normal", [
    ("HTTP://LOCALHOST:8080/", "http://localhost:8080"),
    ("Http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("HTTPS://OpenAPI.GeeLark.com:443/", "https://openapi.geelark.com"),
    ("https://openapi.geelark.com./", "https://openapi.geelark.com"),
    ("http://h.example:80", "http://h.example"),
    ("https://h.example:8443/", "https://h.example:8443"),
])
def test_an_api_url_is_accepted_in_any_case_and_normalised_once(spelling, normal):
    assert normalize_api_url(spelling) == normal
    assert ClientSettings.of(api_url=spelling, token=TOKEN).api_url == normal
    # The rate budget keys on the same normal form: one function, not two.
    assert budget_file_name("token:a", spelling, "/x") == budget_file_name("token:a", normal, "/x")


@pytest.mark.parametrize("url, extra", [("https://openapi.geelark.com?region=cn", "?region=cn"),
                                        ("https://openapi.geelark.com/#top", "#top"),
                                        ("HTTP://127.0.0.1:8080/?x=1#y", "?x=1#y")])
def test_an_api_url_with_a_query_or_fragment_is_refused_with_the_base_url_to_use(url, extra):
    with pytest.raises(ConfigError) as caught:
        normalize_api_url(url, "the inventory file")
    message = str(caught.value)
    assert "has a query or fragment (%s)" % extra in message and "base URL only" in message
    base = url.split("?")[0].split("#")[0].rstrip("/").lower()
    assert "set api_url (from the inventory file) to %r" % base in message


def test_an_api_url_with_a_port_that_is_not_a_number_is_refused():
    with pytest.raises(ConfigError, match="is not an http"):
        normalize_api_url("http://127.0.0.1:http")


@pytest.mark.parametrize("text, value", [("true", True), ("YES", True), ("On", True), ("1", True), (1, True),
                                         (True, True), ("false", False), ("No", False), ("OFF", False),
                                         ("0", False), (0, False), (False, False)])
def test_a_boolean_option_takes_exactly_the_yaml_booleans(text, value):
    assert typed(OPTIONS["validate_certs"], text, "the inventory file") is value


@pytest.mark.parametrize("text", ["maybe", "", "tru", "2", 2, 0.5, "none", ["true"]])
def test_any_other_boolean_text_is_refused_naming_the_option_the_value_and_the_place(text):
    with pytest.raises(ConfigError) as caught:
        typed(OPTIONS["validate_certs"], text, "the inventory file")
    assert "validate_certs must be a boolean" in str(caught.value)
    assert "got %r in the inventory file" % (text,) in str(caught.value)


@pytest.mark.parametrize("name, text, value", [("timeout", " 7.5 ", 7.5), ("retries", "3", 3), ("timeout", 4, 4)])
def test_numbers_given_as_text_are_parsed_by_the_table_type(name, text, value):
    assert typed(OPTIONS[name], text, "the inventory file") == value


@pytest.mark.parametrize("name, text", [("timeout", "soon"), ("timeout", "nan"), ("retries", "2.5"), ("retries", "")])
def test_numbers_that_do_not_parse_are_refused(name, text):
    with pytest.raises(ConfigError, match="%s must be a.* number, got %r in the inventory file" % (name, text)):
        typed(OPTIONS[name], text, "the inventory file")
