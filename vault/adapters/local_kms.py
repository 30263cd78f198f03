"""The local stand-in for Cloud KMS: a versioned key ring in one file, mode 0600.

It wraps data keys exactly where Cloud KMS would, so the envelope and everything above
it run unchanged on a laptop. The file (``master.key``) holds either

* exactly 32 bytes: a single key, as written before key rings existed. It is read as
  version 1, the primary, with no migration step; or
* a ring, JSON: ``{"vaultKeyRing": 1, "primary": N, "versions": [{"version": 1,
  "key": "<base64 of 32 bytes>", "createdAt": "<RFC 3339>"}, ...]}``.

Wrapped data key (unchanged since the single key): 4-byte key id (the first bytes of
SHA-256 of the version's key) + 12-byte nonce + AES-256-GCM ciphertext and tag. The key
id names the version that wrapped it: no two versions of a ring share one (a rotation
draws again on a clash), and it tells a missing or retired version apart from a
tampered ciphertext.

``rotate`` and ``retire`` rewrite the file atomically (written aside 0600, fsynced,
renamed) under a lock; a running process notices the new file (its inode, size or
mtime changed: one ``stat`` per call) on its next wrap or unwrap, and reloads.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.adapters.secret_files import read_or_create
from vault.errors import ConfigurationError, IntegrityError
from vault.timefmt import format_micros, now_micros

_KEY_SIZE = 32
_NONCE_SIZE = 12
_KEY_ID_SIZE = 4
_FORMAT = 1


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:_KEY_ID_SIZE]


@dataclass(frozen=True, slots=True)
class KeyVersion:
    version: int
    key: bytes
    created_at: str | None  # None: the single key of a file from before rings

    @property
    def key_id(self) -> bytes:
        return key_id(self.key)


@dataclass(frozen=True, slots=True)
class KeyRing:
    primary: int
    versions: tuple[KeyVersion, ...]

    def version(self, number: int) -> KeyVersion | None:
        return next((item for item in self.versions if item.version == number), None)

    def by_key_id(self, identifier: bytes) -> KeyVersion | None:
        return next((item for item in self.versions if item.key_id == identifier), None)


def parse_ring(raw: bytes) -> KeyRing:
    if len(raw) == _KEY_SIZE:
        return KeyRing(primary=1, versions=(KeyVersion(1, raw, None),))
    try:
        document = json.loads(raw)
        if document.get("vaultKeyRing") != _FORMAT:
            raise ValueError("not a key ring of a known format")
        versions = tuple(
            KeyVersion(int(item["version"]), base64.b64decode(item["key"]), item.get("createdAt"))
            for item in document["versions"]
        )
        ring = KeyRing(primary=int(document["primary"]), versions=versions)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigurationError(
            "the local key file is neither a 32-byte key nor a key ring"
        ) from None
    numbers = [item.version for item in versions]
    if (
        ring.version(ring.primary) is None
        or len(set(numbers)) != len(numbers)
        or len({item.key_id for item in versions}) != len(versions)
        or any(len(item.key) != _KEY_SIZE for item in versions)
    ):
        raise ConfigurationError("the local key ring is inconsistent")
    return ring


def _ring_bytes(ring: KeyRing) -> bytes:
    document = {
        "vaultKeyRing": _FORMAT,
        "primary": ring.primary,
        "versions": [
            {
                "version": item.version,
                "key": base64.b64encode(item.key).decode("ascii"),
                "createdAt": item.created_at,
            }
            for item in ring.versions
        ],
    }
    return json.dumps(document, indent=2).encode("utf-8") + b"\n"


def _new_ring() -> bytes:
    return _ring_bytes(
        KeyRing(1, (KeyVersion(1, os.urandom(_KEY_SIZE), format_micros(now_micros())),))
    )


class LocalKeyFileAead:
    """The ring as an AEAD: wraps under the primary, unwraps under any version."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._load()

    @classmethod
    def from_file(cls, path: Path) -> LocalKeyFileAead:
        """Load the ring, creating one (0600, never overwritten) on first use."""
        read_or_create(path, _new_ring)
        return cls(path)

    @property
    def ring(self) -> KeyRing:
        return self._ring

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        self._reload_if_changed()
        primary = self._ring.version(self._ring.primary)
        assert primary is not None  # parse_ring checked it
        nonce = os.urandom(_NONCE_SIZE)
        return (
            primary.key_id + nonce + AESGCM(primary.key).encrypt(nonce, plaintext, associated_data)
        )

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        return self.decrypt_reporting_primary(ciphertext, associated_data)[0]

    def decrypt_reporting_primary(
        self, ciphertext: bytes, associated_data: bytes
    ) -> tuple[bytes, bool]:
        """The plaintext, and whether the primary version had wrapped it."""
        self._reload_if_changed()  # which version is the primary may have changed
        version = self._ring.by_key_id(ciphertext[:_KEY_ID_SIZE])
        if version is None:
            raise IntegrityError("data key was wrapped by a key not in the local ring")
        body = ciphertext[_KEY_ID_SIZE:]
        try:
            plaintext = AESGCM(version.key).decrypt(
                body[:_NONCE_SIZE], body[_NONCE_SIZE:], associated_data
            )
        except (InvalidTag, ValueError):
            raise IntegrityError("wrapped data key failed authentication") from None
        return plaintext, version.version == self._ring.primary

    def version_of(self, ciphertext: bytes) -> int | None:
        """The ring version named by a wrapped key (None: no version of this ring)."""
        version = self._ring.by_key_id(ciphertext[:_KEY_ID_SIZE])
        return None if version is None else version.version

    def _load(self) -> None:
        status = os.stat(self._path)
        self._ring = parse_ring(self._path.read_bytes())
        self._signature = (status.st_ino, status.st_size, status.st_mtime_ns)

    def _reload_if_changed(self) -> None:
        try:
            status = os.stat(self._path)
        except FileNotFoundError:
            # Deleted under a running process: keep serving with the ring in memory
            # (the next start refuses a data dir whose credentials lost their key).
            return
        if (status.st_ino, status.st_size, status.st_mtime_ns) != self._signature:
            with self._lock:
                self._load()


# The key ring administration (``python -m vault keys rotate-master | retire-master``).


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[KeyRing]:
    descriptor = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield parse_ring(path.read_bytes())
    finally:
        os.close(descriptor)


def _replace(path: Path, ring: KeyRing) -> None:
    """Write the ring beside the file (0600), fsync it, rename it over, fsync the dir."""
    staging = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(_ring_bytes(ring))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def rotate(path: Path) -> int:
    """Add a new version and make it the primary; returns its number."""
    if not path.exists():
        raise ConfigurationError(f"no key file at {path}")
    with _locked(path) as ring:
        taken = {item.key_id for item in ring.versions}
        key = os.urandom(_KEY_SIZE)
        while key_id(key) in taken:  # 4-byte ids: a clash is rare, but it would be fatal
            key = os.urandom(_KEY_SIZE)
        number = max(item.version for item in ring.versions) + 1
        added = KeyVersion(number, key, format_micros(now_micros()))
        _replace(path, KeyRing(number, (*ring.versions, added)))
    return number


def retire(path: Path, number: int) -> None:
    """Remove a version's key from the ring for good. The caller has made sure that no
    record uses it; the primary cannot be retired."""
    with _locked(path) as ring:
        if ring.version(number) is None:
            raise ConfigurationError(f"the key ring has no version {number}")
        if number == ring.primary:
            raise ConfigurationError(f"version {number} is the primary; rotate first")
        kept = tuple(item for item in ring.versions if item.version != number)
        _replace(path, KeyRing(ring.primary, kept))
