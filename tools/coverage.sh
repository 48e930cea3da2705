#!/usr/bin/env bash
# pytest over tests/unit and tests/integration, measuring coverage of plugins/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$root/.venv/bin}
cd "$root"
export COVERAGE_FILE=$root/.coverage
"$bin/python" -m coverage erase
"$bin/python" -m coverage run --branch --include="$root/plugins/*" -m pytest --import-mode=importlib -q -p no:cacheprovider \
  tests/unit tests/integration
"$bin/python" -m coverage report --skip-empty --precision=1 --fail-under="${COVERAGE_FAIL_UNDER:-90}"
