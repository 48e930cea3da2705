# geelark.cloudphone: one command each for the things people do with this repository.
#   make test    set up .venv and run every check CI runs
#   make demo    try the collection against a local GeeLark API emulator, no account needed
#   make bench   measure the inventory at fleet scale against the emulator
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt requirements.txt | sha256sum | cut -c1-12)
export PATH := $(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv test unit integration units-ansible-test sanity lint docs changelog-lint changelog \
        build-smoke ee matrix matrix-edges coverage demo bench mutations clean

help:
	@echo "make test     all checks (what CI runs)"
	@echo "make demo     the collection against a local emulator"
	@echo "make bench    fleet-scale benchmark (docs/performance.md)"
	@echo "make matrix   unit + integration smoke on ansible-core 2.17 to 2.21"

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

coverage: venv
	$(BIN)/python -m coverage run --source=plugins -m pytest --import-mode=importlib -q tests/unit tests/integration
	$(BIN)/python -m coverage report -m

units-ansible-test: venv
	tools/ansible-test.sh units --venv

sanity: venv
	tools/ansible-test.sh sanity --venv

lint: venv
	tools/lint.sh

build-smoke: venv
	tools/build-smoke.sh

ee: venv
	tools/ee-check.sh

changelog: venv
	$(BIN)/antsibull-changelog generate

matrix: venv
	tools/matrix.sh 2.17 2.18 2.19 2.20 2.21

matrix-edges: venv
	tools/matrix.sh 2.17 2.21

demo: venv
	tools/demo.sh

mutations: venv
	$(BIN)/python tools/mutations.py

bench: venv
	$(BIN)/python tools/bench.py

clean:
	rm -rf $(VENV) .venv-* dist .cache tests/output .pytest_cache .mypy_cache .ruff_cache .coverage
