"""The ports of key rotation: a key-encryption key that knows its versions, the sources
of sealed records a rewrap walks, and a place for its checkpoint.

A kind of sealed data (credentials; provider client secrets) joins the rewrap as one
``SealedRecordSource`` adapter per backend (``vault.keys.wiring``); nothing else changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from vault.errors import DependencyUnavailable


@runtime_checkable
class RotatingAead(Protocol):
    """An AEAD whose key has versions (Cloud KMS, the local key ring)."""

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes: ...

    def decrypt_reporting_primary(
        self, ciphertext: bytes, associated_data: bytes
    ) -> tuple[bytes, bool]:
        """The plaintext, and whether the primary version wrapped it (one call)."""
        ...


@dataclass(frozen=True, slots=True)
class SealedRecord:
    """One record as read, with every sealed field it holds."""

    key: str  # its place in the walk: a source scans in ascending key order
    developer_id: str
    binding: bytes  # the envelope's associated data for this record
    blobs: Mapping[str, bytes]  # field name (as sealed) -> envelope blob; present fields only
    revision: Any  # what ``replace`` compares: update time, and the blobs as read


class SealedRecordSource(Protocol):
    name: str  # names the source in checkpoints and summaries (``credentials``)

    def count(self, developer_id: str | None) -> int:
        """How many records the walk will see (for the progress bar; one query)."""
        ...

    def scan(
        self, after: str | None, limit: int, developer_id: str | None
    ) -> Sequence[SealedRecord]:
        """At most ``limit`` records with keys above ``after``, ascending, in one query."""
        ...

    def replace(self, record: SealedRecord, blobs: Mapping[str, bytes]) -> bool:
        """Write the new blobs on the condition that the record has not changed since
        it was read (and still exists); False, writing nothing, when it has."""
        ...


class StateStore(Protocol):
    """Small named JSON documents of the vault's own (cursors, checkpoints)."""

    def load(self, name: str) -> dict[str, Any] | None: ...

    def save(self, name: str, value: dict[str, Any]) -> None: ...

    def clear(self, name: str) -> None: ...


class KeyVersionUnusable(DependencyUnavailable):
    """The key version that wrapped a data key is disabled or destroyed (Cloud KMS
    FAILED_PRECONDITION): a 503 for a request; for a rewrap, that record failed."""
