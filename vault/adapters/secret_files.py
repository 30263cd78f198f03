"""Secret files of the local backend: created once, mode 0600, never overwritten."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's bytes, writing ``make()`` there first if it does not exist yet.

    Written aside, then linked into place: a concurrent starter either wins the link
    or reads the winner's complete file, never a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
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
    return path.read_bytes()
