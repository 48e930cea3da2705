#!/usr/bin/env bash
# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Build the docsite (written by antsibull-docs sphinx-init, then changed for machines without internet):
# ANSIBLE_COLLECTIONS_PATH must find geelark.cloudphone; `make docs` sets that up. Intersphinx cannot
# fetch the Python and Ansible inventories offline: those warnings are shown and accepted, any other
# Sphinx warning fails the build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

mkdir -p rst
chmod og-w rst  # antsibull-docs wants that directory only writable by itself
antsibull-docs \
    --config-file antsibull-docs.cfg \
    collection \
    --cleanup everything \
    --use-current \
    --squash-hierarchy \
    --dest-dir rst \
    geelark.cloudphone

rm -rf build
sphinx-build -M html rst build -c . --keep-going -w build/warnings.log -q 2>/dev/null || { cat build/warnings.log; exit 1; }
# Targets that live in Ansible's own docs and resolve through intersphinx when it is reachable.
ansible_docs_targets="undefined label: '(ansible_configuration_settings|common_return_values|action_plugins)'|'envvar' reference target not found: ANSIBLE_"
unexpected=$(grep -v -E -e 'failed to reach any of the inventories' -e "intersphinx inventory '" -e '^ *$' \
  -e "$ansible_docs_targets" build/warnings.log || true)
offline=$(grep -c 'failed to reach any of the inventories' build/warnings.log || true)
if [ -n "$unexpected" ]; then
  printf 'Sphinx warnings:\n%s\n' "$unexpected"
  exit 1
fi
echo "docsite built: $(pwd)/build/html/index.html (${offline} intersphinx inventories unreachable offline)"
