# geelark.cloudphone: one command each for the things people do with this repository.
#   make test    set up .venv and run every check CI runs
#   make docs    build the docsite (docs/docsite/sphinx/build/html)
#   make demo    try the collection against a local GeeLark API emulator, no account needed
#   make bench   measure the inventory at fleet scale against the emulator
#
# tools/run-tests.sh owns the checks CI runs: each one's command and their order (`make test` runs
# them all, in two lanes side by side; `make coverage`, `make mutations`, `make lint`, ... run one).
# This file only builds .venv and names them. nox is not the one orchestrator because four of the
# eight steps are not sessions: ruff needs the checkout itself (a session works in a copy, where
# pyproject.toml's per-file ignores do not apply), the mutation, build-smoke and execution-environment
# steps use .venv's tools, which a session would install again; and nox runs its sessions one after
# the other, while `make test` runs the pytest runs beside the other checks. The checks that are
# antsibull-nox sessions (noxfile.py, antsibull-nox.toml) are run by tools/run-tests.sh too:
# `make nox-list` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt requirements.txt | sha256sum | cut -c1-12)
export PATH := $(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Session venvs are kept between runs (.nox/), and uv brings their packages to the pins every run: it
# costs about 2 s of CPU for nox-checks (pip took 9 s), so `nox -R`, which skips it, is not used: it would
# keep a changed pin, or a new ansible-core release, from reaching a session.
NOX := $(BIN)/nox --no-color --reuse-venv=yes
STEP := tools/run-tests.sh

.PHONY: help venv test steps unit integration coverage units-ansible-test sanity lint nox-checks nox-list docs \
        changelog build-smoke ee matrix matrix-edges matrix-newest demo bench mutations clean

help:
	@echo "make test     all checks (what CI runs)"
	@echo "make docs     build the docsite"
	@echo "make demo     the collection against a local emulator"
	@echo "make bench    fleet-scale benchmark (docs/performance.md)"
	@echo "make unit     the unit tests, in parallel (one file: make unit TESTS=FILE[::TEST])"
	@echo "make coverage unit, integration and EDA tests on the oldest ansible-core, with the coverage gate"
	@echo "make integration  ansible-playbook/-inventory/-rulebook runs against the emulator, in parallel"
	@echo "make mutations each protection removed in a copy of the tree: its tests must fail"
	@echo "make steps    the steps of make test (each runs alone: tools/run-tests.sh STEP)"
	@echo "make matrix   unit + integration tests on every ansible-core release meta/runtime.yml admits"

venv: $(STAMP)
$(STAMP): requirements-dev.txt requirements.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	@# uv, at requirements-dev.txt's pin, installs the rest: 13 s instead of pip's 39 s, with bytecode as pip's
	$(BIN)/pip install -q "$$(grep -E '^uv==' requirements-dev.txt)"
	$(BIN)/uv pip install -q --python $(BIN)/python --compile-bytecode -r requirements-dev.txt
	touch $@

test: venv
	$(STEP)

steps:
	@$(STEP) --list

# The inner loop, on .venv's ansible-core. `make unit` runs every unit test on two workers per core
# (pytest-xdist, as the matrix sessions do: a worker waits much of the time, for the emulator or a
# process); `make unit TESTS=tests/unit/plugins/module_utils/test__phones.py` runs one file (or
# FILE::TEST) in one process, which starts fastest. GEELARK_TEST_WORKERS=N: N workers; 0: none.
PYTEST := $(BIN)/python -m pytest --import-mode=importlib -q -p no:cacheprovider
WORKERS = $(or $(GEELARK_TEST_WORKERS),$(shell n=$$(nproc); echo $$(( n * 2 > 8 ? 8 : n * 2 ))))
XDIST = $(if $(TESTS),-n 0,-n $(WORKERS) --dist loadgroup)

unit: venv
	$(PYTEST) $(XDIST) $(or $(TESTS),tests/unit)

integration: venv
	$(PYTEST) $(XDIST) $(or $(TESTS),tests/integration)

# The oldest release of the ansible-core matrix: unit, integration and event-driven tests, deprecations
# as errors, and the coverage gate on plugins/ (the data stays in .coverage: coverage html, ...).
coverage: venv
	$(STEP) coverage

units-ansible-test: venv
	$(NOX) -s ansible-test-units

sanity: venv
	$(NOX) -s ansible-test-sanity

lint: venv
	$(STEP) lint

# Sessions that check the collection as it is (antsibull-nox): yamllint incl. the YAML in
# DOCUMENTATION/EXAMPLES/RETURN, mypy, its own config, extra checks, docs, licences, Galaxy import, docsite.
nox-checks: venv
	$(STEP) nox-checks

nox-list: venv
	$(NOX) -l

docs: venv
	$(NOX) -s docs

build-smoke: venv
	$(STEP) build-smoke

ee: venv
	$(STEP) ee

changelog: venv
	$(BIN)/antsibull-changelog generate

matrix: venv
	$(NOX) -t matrix

matrix-edges: venv
	$(NOX) -t matrix-edges

matrix-newest: venv
	$(STEP) matrix-newest

demo: venv
	tools/demo.sh

# tests/test_mutations.py: about a minute; also a step of make test.
mutations: venv
	$(STEP) mutations

bench: venv
	$(BIN)/python tools/bench.py

clean:
	rm -rf $(VENV) .venv-* .nox dist .cache tests/output .pytest_cache .mypy_cache .ruff_cache .coverage \
	  docs/docsite/sphinx/build docs/docsite/sphinx/rst
