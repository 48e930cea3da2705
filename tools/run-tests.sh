#!/usr/bin/env bash
# `make test`: every check CI runs, in order, stopping at the first failure, with a timing table.
# Most steps are antsibull-nox sessions (noxfile.py, antsibull-nox.toml); this script only orders
# them with the steps no session covers and times each.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/.venv/bin
export PATH="$bin:$PATH"
cd "$root"
started=$(date +%s)
declare -a timings=()
nox=("$bin/nox" --no-color --reuse-venv=yes)

step() {
  local name=$1; shift
  local t0; t0=$(date +%s)
  printf '\n===== %s\n' "$name"
  "$@"
  timings+=("$(printf '%-58s %4ss' "$name" $(( $(date +%s) - t0 )))")
}

step "lint: ruff, ansible-lint, changelog, ansible-doc" tools/lint.sh
step "nox: yamllint, mypy, extra-checks, docs-check, licences, galaxy-importer, docsite" \
  "${nox[@]}" -s lint extra-checks docs-check license-check build-import-check docs
step "pytest: unit + integration, with coverage" make --no-print-directory coverage
step "nox: ansible-test sanity and units (--venv)" "${nox[@]}" -s ansible-test-sanity ansible-test-units
step "build, install, smoke from the tarball" tools/build-smoke.sh
step "execution environment (ansible-builder create)" tools/ee-check.sh
step "nox: ansible-core matrix, oldest and newest" "${nox[@]}" -t matrix-edges

printf '\n===== make test: every step passed in %ss\n' $(( $(date +%s) - started ))
printf '  %s\n' "${timings[@]}"
