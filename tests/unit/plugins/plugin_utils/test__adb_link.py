# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The broker's socket directory: only a private directory of this user is ever used."""

from __future__ import annotations

import os
import pathlib
import shutil
import stat
import tempfile

import pytest

from ansible_collections.geelark.cloudphone.plugins.plugin_utils._adb_link import BrokerLink, LinkError, private_dir


@pytest.fixture
def tmp_path():
    """A short temporary directory: a long one (pytest's own under xdist) makes private_dir use /tmp instead."""
    path = tempfile.mkdtemp(prefix="gl-", dir="/tmp")  # short on purpose; removed afterwards
    yield pathlib.Path(path)
    shutil.rmtree(path)


def test_the_directory_is_made_private(tmp_path):
    path = private_dir(str(tmp_path))
    info = os.lstat(path)
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700
    assert private_dir(str(tmp_path)) == path  # found again as it is


def test_a_planted_symlink_is_refused(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    os.symlink(str(target), str(tmp_path / ("geelark-adb-%d" % os.getuid())))
    with pytest.raises(LinkError, match="is a symbolic link, not a private directory"):
        private_dir(str(tmp_path))


def test_a_directory_others_may_enter_is_refused(tmp_path):
    planted = tmp_path / ("geelark-adb-%d" % os.getuid())
    planted.mkdir()
    os.chmod(str(planted), 0o755)  # noqa: S103 (the directory others may enter that this test plants)
    with pytest.raises(LinkError, match="has mode 0755, open to others; remove it"):
        private_dir(str(tmp_path))


def test_runs_and_settings_get_brokers_of_their_own(tmp_path):
    def socket_of(token, run_id):
        return BrokerLink({"values": {"token": token}}, "/x", run_id=run_id, base_dir=str(tmp_path)).socket_path

    assert socket_of("a", 1) == socket_of("a", 1)
    assert socket_of("a", 2) != socket_of("a", 1)
    assert socket_of("b", 1) != socket_of("a", 1)
    secret = BrokerLink({"values": {"token": "tok-9f8e7d"}}, "/x", run_id=1, base_dir=str(tmp_path))
    assert "tok-9f8e7d" not in secret.socket_path + secret.lock_path


def test_a_long_temporary_directory_falls_back_to_a_short_one(tmp_path):
    deep = tmp_path / ("d" * 95)
    deep.mkdir()
    path = private_dir(str(deep))
    assert len(os.path.join(path, "0123456789abcdef.sock")) <= 107


def test_a_broker_that_ends_before_reading_its_settings_is_said_to_have_ended(tmp_path, monkeypatch):
    # No collection under the root given: the broker cannot even be imported and ends at once. Settings larger than a
    # pipe holds keep the write waiting until it has ended, so the write meets a broken pipe every time.
    monkeypatch.delenv("PYTHONPATH", raising=False)
    link = BrokerLink({"values": {"padding": "x" * (1 << 20)}}, str(tmp_path / "empty"), run_id=1,
                      base_dir=str(tmp_path))
    with pytest.raises(LinkError, match=r"^the ADB broker of this run could not start: it ended at once$"):
        link.ask({"op": "ping"})
