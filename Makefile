# geelark.cloudphone: one command each for the things people do with this repository.
#   make test    set up .venv and run every check CI runs
#   make docs    build the docsite (docs/docsite/sphinx/build/html)
#   make demo    try the collection against a local GeeLark API emulator, no account needed
#   make bench   measure the inventory at fleet scale against the emulator
#
# tools/run-tests.sh owns the checks CI runs: each one's command and their order (`make test` runs
# them all; `make coverage`, `make mutations`, `make lint`, ... run one). This file only builds .venv
# and names them. nox is not the one orchestrator because five of the eight steps are not sessions:
# ruff needs the checkout itself (a session works in a copy, where pyproject.toml's per-file ignores
# do not apply), the pytest, mutation, build-smoke and execution-environment steps use .venv's tools,
# which a session would install again, and every nox start works out the ansible-core matrix from
# PyPI, which one nox run per step would repeat. The checks that are antsibull-nox sessions
# (noxfile.py, antsibull-nox.toml) are run by tools/run-tests.sh too: `make nox-list` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt requirements.txt | sha256sum | cut -c1-12)
export PATH := $(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Session venvs are kept between runs (.nox/); their packages are reinstalled to the pins every run.
NOX := $(BIN)/nox --no-color --reuse-venv=yes
STEP := tools/run-tests.sh

.PHONY: help venv test steps unit integration coverage units-ansible-test sanity lint nox-checks nox-list docs \
        changelog build-smoke ee matrix matrix-edges demo bench mutations clean

help:
	@echo "make test     all checks (what CI runs)"
	@echo "make docs     build the docsite"
	@echo "make demo     the collection against a local emulator"
	@echo "make bench    fleet-scale benchmark (docs/performance.md)"
	@echo "make unit     the unit tests, in parallel (one file: make unit TESTS=FILE[::TEST])"
	@echo "make integration  ansible-playbook/-inventory/-rulebook runs against the emulator, in parallel"
	@echo "make mutations each protection removed in a copy of the tree: its tests must fail"
	@echo "make steps    the steps of make test (each runs alone: tools/run-tests.sh STEP)"
	@echo "make matrix   unit + integration tests on every ansible-core release meta/runtime.yml admits"

venv: $(STAMP)
$(STAMP): requirements-dev.txt requirements.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

test: venv
	$(STEP)

steps:
	@$(STEP) --list

# The inner loop. `make unit` runs every unit test on a worker per core (pytest-xdist, as
# tools/run-tests.sh does); `make unit TESTS=tests/unit/plugins/module_utils/test__phones.py` runs
# one file (or FILE::TEST) in one process, which starts fastest. GEELARK_TEST_WORKERS=0: no workers.
PYTEST := $(BIN)/python -m pytest --import-mode=importlib -q -p no:cacheprovider
XDIST = $(if $(TESTS),-n 0,-n $(or $(GEELARK_TEST_WORKERS),auto) --maxprocesses 4 --dist loadgroup)

unit: venv
	$(PYTEST) $(XDIST) $(or $(TESTS),tests/unit)

integration: venv
	$(PYTEST) $(XDIST) $(or $(TESTS),tests/integration)

# pytest over unit and integration tests, with the coverage gate on plugins/.
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
