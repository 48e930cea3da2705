#!/usr/bin/env bash
# Unit and integration tests on each given ansible-core minor release, each in its own venv
# (.venv-core-X.Y), with the Python that release supports.  Usage: tools/matrix.sh 2.17 2.21
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ $# -gt 0 ] || set -- 2.17 2.18 2.19 2.20 2.21

python_for() {
  case $1 in
    2.17|2.18|2.19) echo 3.11 ;;
    *) echo 3.12 ;;
  esac
}

# An interpreter of that version: on PATH, or any pyenv installation of it.
find_python() {
  local candidate
  for candidate in "$(command -v "python$1" || true)" \
      $(ls -d "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/"$1".*/bin/python"$1" 2>/dev/null); do
    if [ -n "$candidate" ] && "$candidate" -c 'import venv' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
}

summary=()
for core in "$@"; do
  py=$(python_for "$core")
  interpreter=$(find_python "$py")
  [ -n "$interpreter" ] || { echo "Python $py is needed for ansible-core $core (install it, e.g. with pyenv)"; exit 1; }
  venv=$root/.venv-core-$core
  stamp=$venv/.installed-$(sha256sum tests/unit/requirements.txt | cut -c1-12)
  if [ ! -f "$stamp" ]; then
    rm -rf "$venv"
    "$interpreter" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "ansible-core==$core.*" pytest -r tests/unit/requirements.txt
    touch "$stamp"
  fi
  version=$("$venv/bin/python" -c 'from ansible.release import __version__; print(__version__)')
  printf '\n----- ansible-core %s on Python %s\n' "$version" "$py"
  PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest --import-mode=importlib -q -p no:cacheprovider \
    --durations=5 tests/unit tests/integration
  summary+=("ansible-core $version / Python $py: passed")
done
printf '\nmatrix:\n'
printf '  %s\n' "${summary[@]}"
