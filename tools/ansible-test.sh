#!/usr/bin/env bash
# Run ansible-test on this checkout from a machine that cannot reach ansible-test's CI file host.
#  - ansible-test needs a real .../ansible_collections/geelark/cloudphone path (not a symlink), so
#    the tree is copied there; the copy's tests/output is kept so its venvs stay warm.
#  - every venv ansible-test makes first runs a downloaded pip bootstrap script; a stand-in is put
#    in its cache when the real one is missing.
# Usage: tools/ansible-test.sh sanity|units [ansible-test options]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${ANSIBLE_TEST_BIN:-$root/.venv/bin}
python_version=${ANSIBLE_TEST_PYTHON:-3.11}
hash=$(printf '%s' "$root" | sha256sum | cut -c1-12)
work=${TMPDIR:-/tmp}/geelark-ansible-test-$hash
dest=$work/ansible_collections/geelark/cloudphone

pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',*$/\1/p" \
  "$("$bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -n1)
cache=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
# Install the stand-in where nothing is cached, or refresh an older copy of it; never touch the real script.
if [ -n "$pip_version" ] && { [ ! -s "$cache" ] || grep -q "Stand-in for the pip bootstrap" "$cache"; }; then
  mkdir -p "$(dirname "$cache")"
  cp "$root/tools/get_pip_standin.py" "$cache"
fi

mkdir -p "$dest"
find "$dest" -mindepth 1 -maxdepth 1 ! -name tests -exec rm -rf {} +
[ -d "$dest/tests" ] && find "$dest/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
(cd "$root" && tar --exclude=./.venv --exclude='./.venv-*' --exclude=./tests/output --exclude=./.cache \
   --exclude=./dist --exclude=./.ansible --exclude='*/__pycache__' --exclude=./.mypy_cache \
   --exclude=./.ruff_cache --exclude=./.pytest_cache -cf - .) | tar -xf - -C "$dest"

cd "$dest"
export PATH="$bin:$PATH"
exec ansible-test "$@" --python "$python_version"
