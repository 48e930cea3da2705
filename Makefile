# geelark.cloudphone: one command each for the things people do with this repository.
#   make test    set up .venv and run every check CI runs
#   make docs    build the docsite (docs/docsite/sphinx/build/html)
#   make demo    try the collection against a local GeeLark API emulator, no account needed
#   make bench   measure the inventory at fleet scale against the emulator
# Most checks are antsibull-nox sessions (noxfile.py, antsibull-nox.toml): `make nox-list` lists them.
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
# Sessions that check the collection as it is (antsibull-nox): yamllint incl. the YAML in
# DOCUMENTATION/EXAMPLES/RETURN, mypy, its own config, extra checks, docs, licences, Galaxy import.
NOX_CHECKS := lint extra-checks docs-check license-check build-import-check

.PHONY: help venv test unit integration coverage units-ansible-test sanity lint nox-checks nox-list docs \
        changelog build-smoke ee matrix matrix-edges demo bench mutations clean

help:
	@echo "make test     all checks (what CI runs)"
	@echo "make docs     build the docsite"
	@echo "make demo     the collection against a local emulator"
	@echo "make bench    fleet-scale benchmark (docs/performance.md)"
	@echo "make matrix   unit + integration tests on every ansible-core release meta/runtime.yml admits"

venv: $(STAMP)
$(STAMP): requirements-dev.txt requirements.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

test: venv
	tools/run-tests.sh

unit: venv
	$(BIN)/python -m pytest --import-mode=importlib -q tests/unit

integration: venv
	$(BIN)/python -m pytest --import-mode=importlib -q tests/integration

# pytest over unit and integration tests, with the coverage gate on plugins/.
coverage: venv
	$(BIN)/python -m coverage erase
	$(BIN)/python -m coverage run --branch --include='$(CURDIR)/plugins/*' -m pytest --import-mode=importlib -q \
	  -p no:cacheprovider tests/unit tests/integration
	$(BIN)/python -m coverage report --skip-empty --precision=1 --fail-under=$${COVERAGE_FAIL_UNDER:-90}

units-ansible-test: venv
	$(NOX) -s ansible-test-units

sanity: venv
	$(NOX) -s ansible-test-sanity

lint: venv
	tools/lint.sh

nox-checks: venv
	$(NOX) -s $(NOX_CHECKS)

nox-list: venv
	$(NOX) -l

docs: venv
	$(NOX) -s docs

build-smoke: venv
	tools/build-smoke.sh

ee: venv
	tools/ee-check.sh

changelog: venv
	$(BIN)/antsibull-changelog generate

matrix: venv
	$(NOX) -t matrix

matrix-edges: venv
	$(NOX) -t matrix-edges

demo: venv
	tools/demo.sh

mutations: venv
	$(BIN)/python tools/mutations.py

bench: venv
	$(BIN)/python tools/bench.py

clean:
	rm -rf $(VENV) .venv-* .nox dist .cache tests/output .pytest_cache .mypy_cache .ruff_cache .coverage \
	  docs/docsite/sphinx/build docs/docsite/sphinx/rst
