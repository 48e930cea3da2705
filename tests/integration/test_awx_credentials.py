# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The AWX / AAP guide's credential types and execution environment, exactly as documented.

The input and injector configurations are read from docs/docsite/rst/guide_awx.rst itself, and
the injectors are rendered as AWX renders them (a sandboxed Jinja2 environment whose namespace
holds only the fields that have a value, so a blank field renders as an empty string). The job
runs through ansible-runner, AWX's engine; the inventory update through ansible-runner's
ansible-inventory; the event source's arguments through the rulebook of the guide.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess

import jinja2
import jinja2.meta
import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.geelark.cloudphone.plugins.module_utils._client import GeeLarkClient
from ansible_collections.geelark.cloudphone.plugins.module_utils._phones import LIST_PATH, STATUS_PATH
from ansible_collections.geelark.cloudphone.plugins.module_utils._ratelimit import ENV_BUDGET_DIR
from ansible_collections.geelark.cloudphone.plugins.module_utils._shared_budget import budget_keys
from ansible_collections.geelark.cloudphone.tests.unit.plugins.module_utils.test__shared_budget import RedisServer

from .conftest import API_KEY, APP_ID, BIN, ROOT, TOKEN, ansible_env

GUIDE = os.path.join(ROOT, "docs", "docsite", "rst", "guide_awx.rst")
EE_DIR = os.path.join(ROOT, "docs", "execution-environment")
INPUTS = "GeeLark API: input configuration"
INJECTORS = "GeeLark API: injector configuration"
EDA_INJECTORS = "GeeLark API (Event-Driven Ansible): injector configuration"

phone_status = importlib.import_module("ansible_collections.geelark.cloudphone.extensions.eda.plugins.event_source."
                                       "phone_status")


def documented_blocks():
    """{caption: parsed YAML} of every captioned YAML code block of the guide."""
    with open(GUIDE, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    blocks = {}
    for i, line in enumerate(lines):
        if line.startswith(".. code-block:: yaml") and ":caption:" in lines[i + 1]:
            body = []
            for text in lines[i + 2:]:
                if text.strip() and not text.startswith("  "):
                    break
                body.append(text[2:])
            blocks[lines[i + 1].split(":caption:", 1)[1].strip()] = yaml.safe_load("\n".join(body))
    return blocks


BLOCKS = documented_blocks()


def awx_inject(kind, inputs, caption=INJECTORS):
    """What AWX injects for a credential with these inputs: blank fields are left out of the namespace."""
    namespace = dict((name, value) for name, value in inputs.items() if value)
    sandbox = ImmutableSandboxedEnvironment()
    return dict((name, sandbox.from_string(template).render(**namespace))
                for name, template in BLOCKS[caption][kind].items())


def credential(**given):
    """The inputs of a credential of the documented type: every field, blank unless given."""
    fields = [field["id"] for field in BLOCKS[INPUTS]["fields"]]
    assert set(given) <= set(fields)
    return dict((name, given.get(name, "")) for name in fields)


def test_the_credential_types_are_complete_and_inject_only_their_own_fields():
    inputs = BLOCKS[INPUTS]
    assert [f["id"] for f in inputs["fields"]] == ["token", "app_id", "api_key", "api_url", "rate_limit_url",
                                                   "rate_limit_password"]
    assert {f["id"] for f in inputs["fields"] if f.get("secret")} == {"token", "api_key", "rate_limit_password"}
    assert inputs["required"] == []
    for caption, kind in ((INJECTORS, "env"), (EDA_INJECTORS, "extra_vars")):
        for template in BLOCKS[caption][kind].values():
            referenced = jinja2.meta.find_undeclared_variables(ImmutableSandboxedEnvironment().parse(template))
            assert referenced <= {f["id"] for f in inputs["fields"]}, template
    assert set(BLOCKS[INJECTORS]["env"]) == {"GEELARK_TOKEN", "GEELARK_APP_ID", "GEELARK_API_KEY", "GEELARK_API_URL",
                                             "GEELARK_RATE_LIMIT_SCOPE", "GEELARK_RATE_LIMIT_URL",
                                             "GEELARK_RATE_LIMIT_PASSWORD"}


def test_blank_fields_are_injected_as_empty_strings():
    env = awx_inject("env", credential(token=TOKEN))
    assert env == {"GEELARK_TOKEN": TOKEN, "GEELARK_APP_ID": "", "GEELARK_API_KEY": "", "GEELARK_API_URL": "",
                   "GEELARK_RATE_LIMIT_SCOPE": "machine", "GEELARK_RATE_LIMIT_URL": "",
                   "GEELARK_RATE_LIMIT_PASSWORD": ""}


def run_job(workdir, env, ids, verbosity=3):
    """The status module in a playbook run by ansible-runner, as an AWX job: (runner, every job event as text)."""
    ansible_runner = pytest.importorskip("ansible_runner", reason="ansible-runner (AWX's engine) is not installed")
    data = workdir / "job"
    (data / "project").mkdir(parents=True)
    (data / "inventory").mkdir()
    (data / "inventory" / "hosts").write_text("localhost ansible_connection=local\n")
    tasks = [{"name": "status", "geelark.cloudphone.geelark_phone_status": {"ids": ids, "fail_on_missing": True},
              "register": "status"},
             {"name": "every phone", "ansible.builtin.assert": {"that": "status.phones | length == %d" % len(ids)}}]
    play = [{"name": "Phone status", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    (data / "project" / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    runner = ansible_runner.run(private_data_dir=str(data), playbook="play.yml", envvars=env, quiet=True,
                                verbosity=verbosity)
    events = [json.dumps(event) for event in runner.events]
    return runner, events, runner.stdout.read()


@pytest.fixture(autouse=True)
def _ansible_on_path(monkeypatch):
    """ansible-runner looks ansible-inventory up on this process's PATH."""
    monkeypatch.setenv("PATH", BIN + os.pathsep + os.environ.get("PATH", ""))


def inventory_update(workdir, env):
    """ansible-inventory --list on the guide's inventory file through ansible-runner, as an inventory update."""
    ansible_runner = pytest.importorskip("ansible_runner", reason="ansible-runner (AWX's engine) is not installed")
    config = dict(BLOCKS["inventories/fleet.geelark.yml"], cache_connection=str(workdir / "inventory-cache"))
    path = workdir / "fleet.geelark.yml"
    path.write_text(yaml.safe_dump(config))
    out, err = ansible_runner.get_inventory("list", [str(path)], response_format="json", envvars=env, quiet=True,
                                            private_data_dir=str(workdir / "inventory-update"))
    return out, err


def job_environment(tmp_path, injected):
    return ansible_env(**dict(injected, **{ENV_BUDGET_DIR: str(tmp_path / "budget")}))


def assert_no_secret(texts, *secrets):
    for text in texts:
        for secret in secrets:
            assert secret not in text


def test_a_job_and_an_inventory_update_with_a_token_and_blank_fields(emulator, tmp_path):
    ids = list(emulator.true_status())
    env = job_environment(tmp_path, awx_inject("env", credential(token=TOKEN, api_url=emulator.url)))
    runner, events, stdout = run_job(tmp_path, env, ids)
    assert (runner.rc, runner.status) == (0, "successful"), stdout
    assert_no_secret(events + [stdout], TOKEN)
    inventory, err = inventory_update(tmp_path, env)
    assert len(inventory["_meta"]["hostvars"]) == len(ids), err
    assert_no_secret([json.dumps(inventory), err], TOKEN)
    assert emulator.stats()["requests"][STATUS_PATH] == 6  # 3 for the job, 3 for the inventory
    assert len(os.listdir(tmp_path / "budget")) == 2  # scope machine: one file per endpoint


def test_a_job_and_an_inventory_update_with_a_key_pair_share_the_budget_through_redis(emulator, tmp_path):
    (tmp_path / "redis").mkdir()
    with RedisServer(tmp_path / "redis") as server:
        url = "redis://127.0.0.1:%d/0" % server.port
        injected = awx_inject("env", credential(app_id=APP_ID, api_key=API_KEY, api_url=emulator.url,
                                                rate_limit_url=url, rate_limit_password=server.password))
        assert (injected["GEELARK_TOKEN"], injected["GEELARK_RATE_LIMIT_SCOPE"]) == ("", "shared")
        env = job_environment(tmp_path, injected)
        ids = list(emulator.true_status())
        runner, events, stdout = run_job(tmp_path, env, ids)
        assert (runner.rc, runner.status) == (0, "successful"), stdout
        inventory, err = inventory_update(tmp_path, env)
        assert len(inventory["_meta"]["hostvars"]) == len(ids), err
        booked = server.client()
        for path in (STATUS_PATH, LIST_PATH):
            grants = budget_keys("app:" + APP_ID, emulator.url, path)[0]
            assert booked.zcard(grants) == {STATUS_PATH: 6, LIST_PATH: 3}[path]
    assert_no_secret(events + [stdout, json.dumps(inventory), err], API_KEY, server.password)
    assert "cannot be used" not in stdout + err
    assert not os.path.exists(tmp_path / "budget")  # nothing booked on the machine: all in the server


def rulebook_arguments(extra_vars):
    """The event source's arguments of the guide's rulebook, rendered with the activation's extra variables."""
    (source,) = BLOCKS["rulebooks/phones.yml"][0]["sources"]
    arguments = source["geelark.cloudphone.phone_status"]
    render = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 - not HTML
    return dict((name, render.from_string(value).render(**extra_vars) if isinstance(value, str) else value)
                for name, value in arguments.items())


@pytest.mark.parametrize("shared", [False, True], ids=["token", "key-pair-shared"])
def test_a_rulebook_activation_gets_its_settings_from_the_extra_variables(emulator, tmp_path, shared):
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis").start() if shared else None
    try:
        if shared:
            given = credential(app_id=APP_ID, api_key=API_KEY, api_url=emulator.url,
                               rate_limit_url="redis://127.0.0.1:%d/0" % server.port,
                               rate_limit_password=server.password)
        else:
            given = credential(token=TOKEN, api_url=emulator.url)
        arguments = rulebook_arguments(awx_inject("extra_vars", given, EDA_INJECTORS))
        settings = phone_status.Settings(arguments).client_settings
        assert settings.rate_limit_scope == ("shared" if shared else "machine")
        assert settings.credentials.identity == ("app:" + APP_ID if shared else "token:" + TOKEN)
        with GeeLarkClient(settings) as client:
            assert len(client.list_phones()) == len(emulator.true_status())
        if shared:
            assert server.client().zcard(budget_keys("app:" + APP_ID, emulator.url, LIST_PATH)[0]) == 3
    finally:
        if server is not None:
            server.stop()


def test_the_guides_execution_environment_is_the_one_ansible_builder_validates_and_holds_redis(tmp_path):
    with open(os.path.join(EE_DIR, "execution-environment.yml"), encoding="utf-8") as handle:
        definition = yaml.safe_load(handle)
    assert BLOCKS["execution-environment.yml"] == definition
    assert any(requirement.startswith("redis") for requirement in definition["dependencies"]["python"])
    builder = os.path.join(BIN, "ansible-builder")
    if not os.path.exists(builder):
        pytest.skip("ansible-builder is not installed next to this Python")
    for name in ("execution-environment.yml", "requirements.yml"):
        shutil.copy(os.path.join(EE_DIR, name), str(tmp_path))
    done = subprocess.run([builder, "create", "-f", "execution-environment.yml", "-c", "context"], cwd=str(tmp_path),
                          capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    written = (tmp_path / "context" / "_build" / "requirements.txt").read_text()
    assert "redis>=4.2" in written.split()
