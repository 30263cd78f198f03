"""The ports: what the service needs from the outside world, and nothing about how.

The storage backends only ever see ciphertext for tokens (hashicorp/vault's barrier
idea): a reader of the database learns which principals have which services, never a
token.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class Keep(enum.Enum):
    """An absent field on update: the stored value stays."""

    KEEP = "keep"


KEEP = Keep.KEEP
DEFAULT_CREDENTIAL_TYPE = "oauth2"


class Aead(Protocol):
    """Authenticated encryption with associated data (Tink's primitive)."""

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class AuditEntry:
    entry_id: str
    action: str  # CONTRACT.md's audit actions: store, delete, exchange, ...
    developer_id: str
    actor: str  # API key id, or grant token jti
    credential_id: str | None
    principal_id: str
    service: str | None
    request_id: str
    at: int  # epoch microseconds
    agent: str | None = None
    # What happened, in a word or a few `key=value` words (never token material): e.g.
    # a delete's provider revocation, an exchange's delivery and DPoP binding.
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class CredentialWrite:
    """One upsert. ``KEEP`` keeps the stored value; ``None`` clears it."""

    credential_id: str
    developer_id: str
    principal_id: str
    service: str
    access_token: bytes  # ciphertext
    refresh_token: bytes | Keep | None  # ciphertext
    credential_type: str | Keep | None
    metadata_json: str | Keep | None
    token_expires_at: int | None  # epoch microseconds
    now: int


@dataclass(frozen=True, slots=True)
class WriteResult:
    credential_type: str  # as stored after the write
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class StoredCredential:
    credential_id: str
    developer_id: str
    principal_id: str
    service: str
    credential_type: str
    access_token: bytes  # ciphertext
    refresh_token: bytes | None  # ciphertext
    token_expires_at: int | None
    metadata_json: str | None
    created_at: int
    updated_at: int
    # Managed refresh (vault.oauth): the stored status (`active` or `needs_reauth`;
    # `expired` is derived), the last refresh, and its last failure as compact JSON
    # {"code", "message", "at"} (an OAuth error code, never token material).
    status: str = "active"
    last_refreshed_at: int | None = None
    last_error: str | None = None
    lease_holder: str | None = None
    lease_until: int | None = None  # epoch microseconds
    # The store's version of the record as read (Firestore: update_time; SQLite:
    # updated_at and the lease), the precondition of a refresh lease.
    revision: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RefreshCommit:
    """The result of a refresh, written only while its lease is still held.

    ``access_token`` None: the refresh failed; only status and last_error change."""

    developer_id: str
    credential_id: str
    holder: str
    status: str
    last_error: str | None
    now: int
    access_token: bytes | None = None  # ciphertext
    refresh_token: bytes | Keep = KEEP  # ciphertext; KEEP when none came back
    token_expires_at: int | None = None


@dataclass(frozen=True, slots=True)
class PageQuery:
    """One page, newest first (createdAt, then id, both descending)."""

    developer_id: str
    principal_id: str | None
    service: str | None
    limit: int
    after: tuple[int, str] | None  # (createdAt, id) of the last item already seen
    status: str | None = None  # the stored status (`needs_reauth`), when filtering on it


@dataclass(frozen=True, slots=True)
class ExchangeLookup:
    credential: StoredCredential | None
    revoked: bool  # the grant or the token is on a denylist


AuditFactory = Callable[[str, str, str], AuditEntry]  # (id, principalId, service) -> entry


class CredentialStore(Protocol):
    def upsert(self, write: CredentialWrite, audit: AuditEntry) -> WriteResult:
        """Create or update the record and write the audit entry, atomically."""
        ...

    def get(self, developer_id: str, credential_id: str) -> StoredCredential | None: ...

    def list_page(self, query: PageQuery) -> Sequence[StoredCredential]:
        """At most ``query.limit`` records, in one query."""
        ...

    def delete(self, developer_id: str, credential_id: str, audit_for: AuditFactory) -> bool:
        """Delete the developer's record and write the audit entry, atomically.
        False when there is no such record of that developer."""
        ...

    def erase(self, developer_id: str, principal_id: str, audit_for: AuditFactory) -> int:
        """Delete every record of the principal, each with its audit entry."""
        ...

    def exchange_lookup(
        self, developer_id: str, credential_id: str, grant_id: str | None, token_id: str
    ) -> ExchangeLookup:
        """The credential and the denylist verdict, in one read."""
        ...

    def record(self, audit: AuditEntry) -> None:
        """An audit entry for an event that changes nothing else (an exchange)."""
        ...

    def revoke(self, kind: str, identifier: str, expires_at: int) -> None:
        """Deny a grant (kind ``grant``) or a grant token (``token``) from now on."""
        ...

    def audit_entries(self, developer_id: str) -> Sequence[AuditEntry]: ...

    def expiring(
        self, before: int, limit: int, after: tuple[int, str] | None
    ) -> Sequence[StoredCredential]:
        """Records of every developer whose ``token_expires_at`` is earlier than
        ``before``, soonest first (then id), after the (expiry, id) given."""
        ...

    def begin_refresh(self, stored: StoredCredential, holder: str, now: int, until: int) -> object:
        """Take the refresh lease if the record is unchanged since ``stored`` was read and
        no live lease is held; the new revision (for ``finish_refresh``), else None."""
        ...

    def finish_refresh(self, commit: RefreshCommit, revision: object, audit: AuditEntry) -> bool:
        """Write the refresh's result, release the lease and write the audit entry, in one
        commit, only if the record is still as the lease left it. False otherwise."""
        ...


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_id: str
    developer_id: str
    name: str
    digest: str  # hex SHA-256 of the whole key
    created_at: int
    revoked_at: int | None = None
    # Keys the HMAC of this key's list cursors. Random, kept server-side, never shown:
    # unlike the digest, the caller cannot compute it from the key they hold.
    cursor_secret: str = field(default="", repr=False)


class ApiKeyStore(Protocol):
    def create(self, record: ApiKeyRecord) -> None: ...

    def find(self, digest: str) -> ApiKeyRecord | None: ...

    def list(self, developer_id: str | None = None) -> Sequence[ApiKeyRecord]: ...

    def revoke(self, key_id: str, at: int) -> bool:
        """True if a key with that id was active and is now revoked."""
        ...
