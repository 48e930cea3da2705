# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`python -m ansible_collections.geelark.cloudphone.tests.emulator` (or `python tests/emulator`) runs the emulator."""

if __package__:
    from .cli import main
else:  # `python tests/emulator`: this folder is sys.path[0], and the facade makes it a package
    from geelark_emulator import main  # type: ignore[no-redef]

main()
