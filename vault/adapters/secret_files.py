"""Files of the local backend: the data directory, its database, and its secret files.

The data directory holds what a reader must not see (principal ids, audit entries, key
digests, cursor secrets, the master key), so it is the owner's alone: created 0700; an
existing one that others may read is tightened to 0700, one that others may write (they
could plant a key file) or that belongs to someone else is refused. Secret files are
created once, 0600, never overwritten; one that is not the user's own, or that others
may read or write, is refused rather than used.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from vault.errors import ConfigurationError

_OTHERS = stat.S_IRWXG | stat.S_IRWXO
_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


def secure_directory(path: Path) -> None:
    """Create ``path`` 0700, or check and tighten an existing one."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = path.stat()
    except OSError as error:
        raise ConfigurationError(
            f"VAULT_DATA_DIR {str(path)!r} cannot be used: {os.strerror(error.errno or 0)}"
        ) from None
    if info.st_uid != os.geteuid():
        raise ConfigurationError(
            f"VAULT_DATA_DIR {str(path)!r} belongs to another user (uid {info.st_uid})"
        )
    if info.st_mode & _OTHERS_WRITE:
        raise ConfigurationError(
            f"VAULT_DATA_DIR {str(path)!r} is writable by others "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); run chmod 700 on it"
        )
    if info.st_mode & _OTHERS:
        path.chmod(0o700)
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        raise ConfigurationError(f"VAULT_DATA_DIR {str(path)!r} is not readable and writable")


def private_file(path: Path) -> None:
    """Make sure ``path`` exists and is 0600 (a database file: SQLite gives its -wal
    and -shm files the mode of the database)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    _refuse_foreign(path)
    for member in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(member.stat().st_mode) & _OTHERS:
                member.chmod(0o600)


def read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's bytes, writing ``make()`` there first if it does not exist yet.

    Written aside, then linked into place: a concurrent starter either wins the link
    or reads the winner's complete file, never a half-written one."""
    secure_directory(path.parent)
    if not path.exists():
        staging = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(make())
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(staging, path)
        finally:
            staging.unlink(missing_ok=True)
    _refuse_foreign(path)
    info = path.stat()
    if stat.S_IMODE(info.st_mode) & _OTHERS:
        raise ConfigurationError(
            f"{path} may be read or written by others (mode {stat.S_IMODE(info.st_mode):04o}):"
            " it is not used; if it is yours, run chmod 600 on it"
        )
    return path.read_bytes()


def _refuse_foreign(path: Path) -> None:
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        raise ConfigurationError(
            f"{path} is not a regular file of this user (uid {os.geteuid()}): it is not used"
        )
