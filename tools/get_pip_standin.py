# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Stand-in for the pip bootstrap script that ansible-test downloads before it builds a venv.

ansible-test runs it as `python get_pip.py [pip options] pip==X ...` inside a venv created without
pip. It installs the requested packages with the pip wheel bundled in the interpreter's ensurepip,
from the package index this machine is configured for.
"""

import glob
import os
import sys

import ensurepip


def main():
    wheels = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl")))
    if not wheels:
        sys.exit("no bundled pip wheel in %s" % os.path.dirname(ensurepip.__file__))
    sys.path.insert(0, wheels[-1])
    from pip._internal.cli.main import main as pip_main

    # get-pip's own switches; plain pip does not know them and installs neither package unasked.
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    sys.exit(pip_main(["install"] + args))


if __name__ == "__main__":
    main()
