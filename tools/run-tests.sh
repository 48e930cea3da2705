#!/usr/bin/env bash
# `make test`: every check CI runs, in order, stopping at the first failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/.venv/bin
export PATH="$bin:$PATH"
cd "$root"
started=$(date +%s)
declare -a timings=()

step() {
  local name=$1; shift
  local t0; t0=$(date +%s)
  printf '\n===== %s\n' "$name"
  "$@"
  timings+=("$(printf '%-44s %4ss' "$name" $(( $(date +%s) - t0 )))")
}

step "lint (ruff, mypy, ansible-lint, docs, changelog)" tools/lint.sh
step "pytest: unit + integration, with coverage" tools/coverage.sh
step "ansible-test sanity" tools/ansible-test.sh sanity --venv
step "ansible-test units" tools/ansible-test.sh units --venv
step "build, install, smoke from the tarball" tools/build-smoke.sh
step "execution environment (ansible-builder create)" tools/ee-check.sh
step "ansible-core matrix: oldest and newest" tools/matrix.sh 2.17 2.21

printf '\n===== make test: every step passed in %ss\n' $(( $(date +%s) - started ))
printf '  %s\n' "${timings[@]}"
