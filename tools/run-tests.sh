#!/usr/bin/env bash
# The one place that knows every check CI runs, its command, and their order.
#   tools/run-tests.sh             every step in order, stopping at the first failure, with a timing table
#                                  (`make test`)
#   tools/run-tests.sh STEP...     only those steps, in the order given (`make coverage`, `make mutations`, ...)
#   tools/run-tests.sh --list      the steps
# Most steps are antsibull-nox sessions (noxfile.py, antsibull-nox.toml); this script orders them with
# the steps no session covers, and times each. The Makefile only sets up .venv and names steps.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/.venv/bin
export PATH="$bin:$PATH"
cd "$root"
nox=("$bin/nox" --no-color --reuse-venv=yes)
pytest=("$bin/python" -m pytest --import-mode=importlib -q -p no:cacheprovider)
# pytest-xdist: one worker per core, at most 4 (GEELARK_TEST_WORKERS=0: no workers, one process); tests that
# share a module-scoped fixture stay on one worker (tests/conftest.py), so its work is done once.
xdist=(-n "${GEELARK_TEST_WORKERS:-auto}" --maxprocesses 4 --dist loadgroup)

# name|title, in the order `make test` runs them
steps=(
  "lint|lint: ruff, ansible-lint, changelog, ansible-doc"
  "nox-checks|nox: yamllint, mypy, extra-checks, docs-check, licences, galaxy-importer, docsite"
  "coverage|pytest: unit + integration, with coverage"
  "mutations|pytest: each protection removed is caught (tests/test_mutations.py)"
  "ansible-test|nox: ansible-test sanity and units (--venv)"
  "build-smoke|build, install, smoke from the tarball"
  "ee|execution environment (ansible-builder create)"
  "matrix-edges|nox: ansible-core matrix, oldest and newest"
)

step_lint() { tools/lint.sh; }
# One nox run for all of them: each nox start works out the ansible-core matrix (PyPI queries).
step_nox_checks() { "${nox[@]}" -s lint extra-checks docs-check license-check build-import-check docs; }
# pytest-cov measures every worker and combines their data; what counts is in pyproject.toml. The
# integration tests go first: they are the long ones, and the short unit tests fill the workers' ends.
step_coverage() {
  "$bin/python" -m coverage erase
  "${pytest[@]}" "${xdist[@]}" --cov --cov-report= tests/integration tests/unit
  "$bin/python" -m coverage report --fail-under="${COVERAGE_FAIL_UNDER:-90}"
}
step_mutations() { "${pytest[@]}" tests/test_mutations.py; }
step_ansible_test() { "${nox[@]}" -s ansible-test-sanity ansible-test-units; }
step_build_smoke() { tools/build-smoke.sh; }
step_ee() { tools/ee-check.sh; }
step_matrix_edges() { "${nox[@]}" -t matrix-edges; }

title_of() {
  local entry
  for entry in "${steps[@]}"; do
    if [ "${entry%%|*}" = "$1" ]; then
      echo "${entry#*|}"
      return 0
    fi
  done
  echo "tools/run-tests.sh: no step '$1'; --list lists them" >&2
  return 1
}

if [ "${1:-}" = "--list" ]; then
  for entry in "${steps[@]}"; do printf '%-14s %s\n' "${entry%%|*}" "${entry#*|}"; done
  exit 0
fi
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for entry in "${steps[@]}"; do names+=("${entry%%|*}"); done
  everything=1
fi
for name in "${names[@]}"; do title_of "$name" > /dev/null; done  # a misspelt step fails before any runs

started=$(date +%s)
declare -a timings=()
for name in "${names[@]}"; do
  title=$(title_of "$name")
  t0=$(date +%s)
  printf '\n===== %s\n' "$title"
  "step_${name//-/_}"
  timings+=("$(printf '%-76s %4ss' "$title" $(( $(date +%s) - t0 )))")
done

if [ -n "${everything:-}" ]; then
  printf '\n===== make test: every step passed in %ss\n' $(( $(date +%s) - started ))
  printf '  %s\n' "${timings[@]}"
fi
