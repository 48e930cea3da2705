#!/usr/bin/env bash
# The event-driven checks alone: installs ansible-rulebook into .venv when it is missing, then runs the
# event source and filter unit tests and the end-to-end rulebook tests (real ansible-rulebook, the
# collection installed from its tarball, the emulator). Needs Java 17 or later for ansible-rulebook.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$root/.venv/bin}
cd "$root"
[ -x "$bin/ansible-rulebook" ] || "$bin/pip" install -q --disable-pip-version-check -r tests/integration/requirements-eda.txt
command -v java >/dev/null || { echo "ansible-rulebook needs Java 17 or later: apt-get install openjdk-17-jre-headless"; exit 1; }
PATH="$bin:$PATH" "$bin/python" -m pytest --import-mode=importlib -q -p no:cacheprovider \
  tests/unit/extensions tests/unit/plugins/modules/test_geelark_webhook.py tests/integration/test_eda.py
