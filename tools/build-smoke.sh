#!/usr/bin/env bash
# Build the Galaxy tarball, install it into a temp path, and run the module and the inventory from
# the installed copy against the emulator: what users get is what is tested.
# Kept as a script: antsibull-nox's build-import-check builds and imports the tarball with
# galaxy-importer, but no session installs it and runs the plugins from it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$root/.venv/bin}
export PATH="$bin:$PATH"
. "$root/tools/lib.sh"
work=$(mktemp -d)
trap 'stop_emulator; rm -rf "$work"' EXIT

ansible-galaxy collection build --output-path "$work/dist" --force "$root" >/dev/null
tarball=$(ls "$work"/dist/geelark-cloudphone-*.tar.gz)
echo "built $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"
tar -tzf "$tarball" > "$work/contents"
unwanted=$(grep -E '(^|/)(\.venv|\.cache|tests/output|__pycache__|\.git)(/|$)|\.tar\.gz$' "$work/contents" || true)
[ -z "$unwanted" ] || { echo "the tarball holds files it must not: $unwanted"; exit 1; }
for wanted in plugins/inventory/geelark.py plugins/modules/geelark_phone_status.py meta/runtime.yml README.md; do
  grep -qx "$wanted" "$work/contents" || { echo "the tarball lacks $wanted"; exit 1; }
done

ansible-galaxy collection install --offline -p "$work/collections" "$tarball" --force >/dev/null 2>&1
installed=$work/collections/ansible_collections/geelark/cloudphone
[ -f "$installed/MANIFEST.json" ]
export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 \
  ANSIBLE_INVENTORY_UNPARSED_FAILED=1 GEELARK_TOKEN=smoke-token
ansible-doc geelark.cloudphone.geelark_phone_status | grep -q "$installed"

start_emulator "$work" --phones 150 --token smoke-token
ids=$("$bin/python" -c "import json,sys; sys.path.insert(0,'$root/tests/emulator'); import geelark_emulator as g; \
print(json.dumps([p['id'] for p in g.make_fleet(150)][:120]))")

ansible localhost -i localhost, -c local -e "ansible_python_interpreter=$bin/python" -m geelark.cloudphone.geelark_phone_status \
  -a "{\"ids\": $ids, \"api_url\": \"$EMULATOR_URL\"}" > "$work/module.out"
grep -q '"success_amount": 120' "$work/module.out" || { cat "$work/module.out"; exit 1; }
echo "module from the installed tarball: 120 of 120 phones answered"

printf 'plugin: geelark.cloudphone.geelark\napi_url: %s\n' "$EMULATOR_URL" > "$work/smoke.geelark.yml"
hosts=$(ansible-inventory -i "$work/smoke.geelark.yml" --list | "$bin/python" -c \
  "import json,sys; print(len(json.load(sys.stdin)['_meta']['hostvars']))")
[ "$hosts" = 150 ] || { echo "inventory from the installed tarball listed $hosts hosts, expected 150"; exit 1; }
echo "inventory from the installed tarball: 150 of 150 phones"
