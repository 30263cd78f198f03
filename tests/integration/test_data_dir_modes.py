"""The local backend's data directory and files are the owner's alone: created 0700 and
0600, a readable directory tightened, a writable one or a planted secret file refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from vault.bootstrap import build
from vault.config import Settings
from vault.errors import ConfigurationError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _build_local(data_dir: Path) -> None:
    vault = build(Settings.from_env({"VAULT_BACKEND": "local", "VAULT_DATA_DIR": str(data_dir)}))
    vault.keys.create("dev-1", "a write, so the WAL exists")


@pytest.mark.parametrize("premade", [False, True], ids=["fresh", "premade-0755"])
def test_database_files_are_0600_and_the_directory_0700(tmp_path: Path, premade: bool) -> None:
    data_dir = tmp_path / "data"
    if premade:
        data_dir.mkdir()
        data_dir.chmod(0o755)
    old_umask = os.umask(0o022)  # the usual umask, which leaves new files 0644
    try:
        _build_local(data_dir)
    finally:
        os.umask(old_umask)

    assert _mode(data_dir) == 0o700
    for name in ("vault.sqlite3", "vault.sqlite3-wal", "vault.sqlite3-shm", "master.key"):
        assert (data_dir / name).exists(), name
        assert _mode(data_dir / name) == 0o600, name


def test_existing_database_files_that_others_can_read_are_tightened(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _build_local(data_dir)
    (data_dir / "vault.sqlite3").chmod(0o644)

    _build_local(data_dir)

    assert _mode(data_dir / "vault.sqlite3") == 0o600


def test_a_directory_others_can_write_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data_dir.chmod(0o777)

    with pytest.raises(ConfigurationError, match=r"VAULT_DATA_DIR .* writable by others"):
        _build_local(data_dir)
    assert not (data_dir / "vault.sqlite3").exists()


def test_a_planted_master_key_that_others_can_write_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    planted = data_dir / "master.key"
    planted.write_bytes(b"k" * 32)
    planted.chmod(0o666)

    with pytest.raises(ConfigurationError, match=r"master\.key may be read or written by others"):
        _build_local(data_dir)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_secret_file_of_another_user_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    planted = data_dir / "master.key"
    planted.write_bytes(b"k" * 32)
    planted.chmod(0o600)
    os.chown(planted, 65534, 65534)

    with pytest.raises(ConfigurationError, match="not a regular file of this user"):
        _build_local(data_dir)


def test_a_symlinked_secret_file_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere.key"
    elsewhere.write_bytes(b"k" * 32)
    elsewhere.chmod(0o600)
    (data_dir / "master.key").symlink_to(elsewhere)

    with pytest.raises(ConfigurationError, match="not a regular file"):
        _build_local(data_dir)
