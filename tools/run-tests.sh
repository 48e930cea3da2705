#!/usr/bin/env bash
# The one place that knows every check CI runs, its command, and their order.
#   tools/run-tests.sh             every step (`make test`), in two lanes at once, with a timing table
#   tools/run-tests.sh STEP...     only those steps, one after the other, in the order given (`make coverage`, ...)
#   tools/run-tests.sh --list      the steps, and their lane
# Most steps are antsibull-nox sessions (noxfile.py, antsibull-nox.toml); this script orders them with
# the steps no session covers, and times each. The Makefile only sets up .venv and names steps.
#
# `make test` runs two lanes side by side, each one step after the other, and stops both at the first
# failure. The run is CPU-bound on 2 cores; the second lane uses what one step alone leaves idle (a pytest
# worker waits for the ansible processes it starts, the emulator, a rate-budget minute; nox waits for the
# package index). Each lane ends with one of the two pytest runs of the ansible-core matrix, the longest
# steps: their xdist workers keep both cores busy to the end, where a lane ending with ansible-test (much
# of it one process at a time) left a core idle for a minute or more. Three lanes (each matrix run alone,
# the rest in a third) measured slower: the third lane's steps, a third of the CPU each, ended last. A
# step's output is printed in one piece when it ends. GEELARK_TEST_LANES=1: one lane, in the order
# listed, output as it comes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/.venv/bin
export PATH="$bin:$PATH"
cd "$root"
nox=("$bin/nox" --no-color --reuse-venv=yes)
work=$(mktemp -d -t geelark-run-tests.XXXXXX)
# Every nox start lists the ansible-core matrix, which asks PyPI; the first start of this run (lane
# 1's first step) keeps the answer here for the others (noxfile.py).
export GEELARK_MATRIX_PLAN=$work/matrix-plan.json

# name|lane|title, in the order `make test` starts them within each lane
steps=(
  "ansible-test|1|nox: ansible-test sanity (--venv) and units (--local)"
  "coverage|1|nox: unit, integration, EDA tests; oldest ansible-core and Python; coverage gate"
  "lint|2|lint: ruff, ansible-lint, changelog, ansible-doc"
  "build-smoke|2|build, install, smoke from the tarball"
  "ee|2|execution environment (ansible-builder create)"
  "mutations|2|pytest: each protection removed is caught (tests/test_mutations.py)"
  "nox-checks|2|nox: yamllint, mypy, extra-checks, docs-check, licences, galaxy-importer, docsite"
  "matrix-newest|2|nox: unit and integration tests; newest ansible-core and Python"
)

step_lint() { tools/lint.sh; }
step_nox_checks() { "${nox[@]}" -s lint extra-checks docs-check license-check build-import-check docs; }
# The two edges of the ansible-core matrix, each with deprecations as errors (noxfile.py). The oldest
# release also runs the event-driven tests and gathers coverage, from every xdist worker, for the gate.
# `make matrix` adds the releases in between.
step_coverage() { "${nox[@]}" -t matrix-oldest; }
step_matrix_newest() { "${nox[@]}" -t matrix-newest; }
step_mutations() { "$bin/python" -m pytest --import-mode=importlib -q -p no:cacheprovider tests/test_mutations.py; }
step_ansible_test() { "${nox[@]}" -s ansible-test-sanity ansible-test-units; }
step_build_smoke() { tools/build-smoke.sh; }
step_ee() { tools/ee-check.sh; }

field() {  # field STEP N: the Nth field (1 name, 2 lane, 3 title) of a step's entry
  local entry
  for entry in "${steps[@]}"; do
    if [ "${entry%%|*}" = "$1" ]; then
      echo "$entry" | cut -d'|' -f"$2"
      return 0
    fi
  done
  echo "tools/run-tests.sh: no step '$1'; --list lists them" >&2
  return 1
}

declare -a lane_pids=()
stop_lanes() {
  local pid
  for pid in "${lane_pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
}
trap 'stop_lanes; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

if [ "${1:-}" = "--list" ]; then
  for entry in "${steps[@]}"; do printf '%-14s %-7s %s\n' "$(cut -d'|' -f1 <<<"$entry")" \
    "$(cut -d'|' -f2 <<<"$entry")" "$(cut -d'|' -f3 <<<"$entry")"; done
  exit 0
fi

started=$(date +%s)
summary() {
  printf '\n===== make test: %s in %ss\n' "$1" $(( $(date +%s) - started ))
  if [ -s "$work/timings" ]; then
    printf '  %-6s %-84s %5s %6s\n' lane step wall CPU
    cat "$work/timings"
  fi
}
# CPU seconds (user + system) of every process a shell has waited for, and so of every process a step
# started that ended before the step did (nox, pytest and its workers, each ansible run); read with bash's
# `times` in the shell that ran the step, before and after it. Processes left running (none should be)
# are not counted.
children_cpu() {  # children_cpu FILE: this shell's figure so far (bash's `times`, second line), into FILE
  times > "$1"
}
record() {  # record LANE STEP SECONDS: a line of the timing table, in the order the steps end; the CPU is the
  # difference of the figures children_cpu wrote to $work/STEP.cpu0 and $work/STEP.cpu1 around the step
  local cpu
  cpu=$(awk 'FNR == 2 { for (i = 1; i <= 2; i++) { split($i, part, /[ms]/)
                                                   sum += (FILENAME ~ /cpu1$/ ? 1 : -1) * (part[1] * 60 + part[2]) } }
             END { printf "%d", sum + 0.5 }' "$work/$2.cpu0" "$work/$2.cpu1")
  printf '  %-6s %-84s %4ss %5ss\n' "$1" "$(field "$2" 3)" "$3" "$cpu" >> "$work/timings"
}

if [ $# -gt 0 ] || [ "${GEELARK_TEST_LANES:-2}" = 1 ]; then
  names=("$@")
  if [ ${#names[@]} -eq 0 ]; then
    for entry in "${steps[@]}"; do names+=("${entry%%|*}"); done
    everything=1
  fi
  for name in "${names[@]}"; do field "$name" 1 > /dev/null; done  # a misspelt step fails before any runs
  for name in "${names[@]}"; do
    t0=$(date +%s)
    children_cpu "$work/$name.cpu0"
    printf '\n===== %s\n' "$(field "$name" 3)"
    "step_${name//-/_}"
    children_cpu "$work/$name.cpu1"
    record "-" "$name" $(( $(date +%s) - t0 ))
  done
  if [ -n "${everything:-}" ]; then summary "every step passed"; fi
  exit 0
fi

# One lane: its steps one after the other, each one's output into a file, printed when the step ends.
lane() {
  local lane=$1 name t0 rc
  shift
  for name in "$@"; do
    { flock 9; printf '      lane %s: started %s (output: %s)\n' "$lane" "$(field "$name" 3)" "$work/$name.log"; } \
      9> "$work/print.lock"
    t0=$(date +%s)
    children_cpu "$work/$name.cpu0"
    rc=0
    # in the background, then waited for: a step's own commands keep `set -e` (an `||` would lift it)
    "step_${name//-/_}" > "$work/$name.log" 2>&1 < /dev/null &
    wait $! || rc=$?
    children_cpu "$work/$name.cpu1"
    record "$lane" "$name" $(( $(date +%s) - t0 ))
    {
      flock 9
      printf '\n===== %s (lane %s, %ss)%s\n' "$(field "$name" 3)" "$lane" $(( $(date +%s) - t0 )) \
        "$([ $rc -eq 0 ] || echo ": FAILED, exit $rc")"
      cat "$work/$name.log"
    } 9> "$work/print.lock"
    [ $rc -eq 0 ] || return $rc
  done
}

set -m  # each lane in a process group of its own, so that a failure stops the other lanes and all they started
for lane_name in $(for entry in "${steps[@]}"; do cut -d'|' -f2 <<<"$entry"; done | sort -u); do
  lane_steps=()
  for entry in "${steps[@]}"; do
    [ "$(field "${entry%%|*}" 2)" = "$lane_name" ] && lane_steps+=("${entry%%|*}")
  done
  lane "$lane_name" "${lane_steps[@]}" &
  lane_pids+=($!)
done
set +m
running=("${lane_pids[@]}")
while [ ${#running[@]} -gt 0 ]; do
  rc=0
  wait -n -p finished "${running[@]}" || rc=$?
  if [ $rc -ne 0 ]; then
    stop_lanes
    wait || true
    summary "FAILED (a step exited $rc; every other step was stopped)"
    exit 1
  fi
  still=()
  for pid in "${running[@]}"; do [ "$pid" = "$finished" ] || still+=("$pid"); done
  running=("${still[@]}")
done
summary "every step passed"
