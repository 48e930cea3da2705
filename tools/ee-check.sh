#!/usr/bin/env bash
# Validate the execution environment files without a container engine: ansible-builder must find
# the collection's Python requirements through meta/execution-environment.yml, and create a build
# context from the example definition in docs/execution-environment/.
# Kept as a script: antsibull-nox's ee-check session builds the image and runs playbooks in it,
# which needs a container engine and a registry these machines do not have.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$root/.venv/bin}
export PATH="$bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ansible-galaxy collection build --output-path "$work/dist" --force "$root" >/dev/null
ansible-galaxy collection install --offline -p "$work/collections" "$work"/dist/*.tar.gz >/dev/null 2>&1
ansible-builder introspect "$work/collections" --write-pip "$work/pip.txt" >/dev/null
grep -q '^requests.*# from collection geelark.cloudphone' "$work/pip.txt" || { cat "$work/pip.txt"; exit 1; }
echo "ansible-builder introspect: $(grep -c . "$work/pip.txt") Python requirement(s) from geelark.cloudphone"

cp "$root"/docs/execution-environment/*.yml "$work/"
(cd "$work" && ansible-builder create -f execution-environment.yml -c context --output-filename Containerfile >/dev/null)
for file in context/Containerfile context/_build/requirements.yml; do
  [ -s "$work/$file" ] || { echo "ansible-builder create did not write $file"; exit 1; }
done
echo "ansible-builder create: build context written ($(ls "$work/context/_build" | tr '\n' ' '))"
