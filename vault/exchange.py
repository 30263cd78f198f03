"""The exchange use case: a grant token in, the principal's access token (or a
credential reference, see ``vault.references``) out.

Order of refusals: no matching scope (403) -> one read of the credential and every
denylist entry the token needs (its jti, its grant, its parent grant) -> revoked (401)
-> no credential (404) -> stored token already expired (409). Revocation is read
together with the credential (one round trip), so a revoked token with a bad body or
scope hears 400 or 403 rather than 401; it is refused either way. Only then is the data
key unwrapped (one KMS call), the exchange audited, and the token handed out. A
reference needs no KMS call at all: the token stays sealed until the reference is
resolved. A ciphertext that fails authentication is never "best-effort" decrypted: the
request fails closed with an error log naming the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from vault import logs
from vault.envelope import EnvelopeCipher
from vault.errors import (
    BadRequest,
    CredentialExpired,
    Forbidden,
    IntegrityError,
    NotFound,
    ReferenceDisabled,
    Unauthorized,
)
from vault.grants import GrantClaims, ScopeMode, allows
from vault.ids import credential_id, new_reference_id, record_binding
from vault.ports import (
    AuditEntry,
    CredentialReference,
    CredentialStore,
    ReferenceStore,
    StoredCredential,
)
from vault.service import ACCESS_TOKEN, new_audit_id
from vault.timefmt import format_micros, now_micros

if TYPE_CHECKING:
    from vault.oauth.refresh import Refresher


@dataclass(frozen=True, slots=True)
class Released:
    access_token: str
    service: str
    credential_type: str
    token_expires_at: int | None
    metadata_json: str | None


@dataclass(frozen=True, slots=True)
class Referred:
    reference_id: str
    service: str
    credential_type: str
    token_expires_at: int | None
    metadata_json: str | None
    reference_expires_at: int


class ExchangeService:
    def __init__(
        self,
        store: CredentialStore,
        envelope: EnvelopeCipher,
        references: ReferenceStore | None = None,
        reference_ttl_seconds: int = 300,
        denylist_keep_seconds: int = 2_592_000,
        scopes: ScopeMode = "exact",
        refresher: Refresher | None = None,
    ) -> None:
        self._store = store
        self._refresher = refresher  # None: no managed refresh (vault.oauth.refresh)
        self._scopes = scopes
        self._envelope = envelope
        self._references = references  # None: credential references are disabled
        self._reference_ttl = reference_ttl_seconds * 1_000_000
        # VAULT_GRANT_MAX_LIFETIME_SECONDS: longer than any grant lives, then it may go.
        self._denylist_keep = denylist_keep_seconds * 1_000_000

    def exchange(
        self,
        grant: GrantClaims,
        service: str,
        request_id: str,
        *,
        min_validity_seconds: int = 0,
        dpop: bool = False,
    ) -> Released:
        stored = self._usable_credential(grant, service, request_id, min_validity_seconds)
        access_token = open_access_token(self._envelope, stored, request_id)
        self._store.record(
            self._audit(grant, "exchange", stored, request_id, f"delivery=token dpop={dpop}")
        )
        return Released(
            access_token=access_token,
            service=stored.service,
            credential_type=stored.credential_type,
            token_expires_at=stored.token_expires_at,
            metadata_json=stored.metadata_json,
        )

    def refer(
        self,
        grant: GrantClaims,
        service: str,
        request_id: str,
        *,
        min_validity_seconds: int = 0,
        dpop: bool = False,
    ) -> Referred:
        """A reference instead of the token: bound to the developer, the credential, the
        grant, the principal, the agent and the service; the token is not decrypted. It
        lives the reference TTL, and never past the grant token's own ``exp``."""
        if self._references is None:
            raise ReferenceDisabled()
        if grant.grant_id is None:
            raise BadRequest("a grant token without a grant id (grnt) cannot get a reference")
        stored = self._usable_credential(grant, service, request_id, min_validity_seconds)
        now = now_micros()
        expires_at = now + self._reference_ttl
        if grant.expires_at is not None:  # never a handle that outlives its grant token
            expires_at = min(expires_at, grant.expires_at)
        reference = CredentialReference(
            reference_id=new_reference_id(),
            developer_id=grant.developer_id,
            credential_id=stored.credential_id,
            principal_id=grant.principal_id,
            service=service,
            grant_id=grant.grant_id,
            parent_grant_id=grant.parent_grant_id,
            agent=grant.agent,
            token_id=grant.token_id,
            created_at=now,
            expires_at=expires_at,
        )
        audit = self._audit(
            grant, "reference", stored, request_id, f"delivery=reference dpop={dpop}"
        )
        self._references.create(reference, audit)
        return Referred(
            reference_id=reference.reference_id,
            service=stored.service,
            credential_type=stored.credential_type,
            token_expires_at=stored.token_expires_at,
            metadata_json=stored.metadata_json,
            reference_expires_at=reference.expires_at,
        )

    def _usable_credential(
        self, grant: GrantClaims, service: str, request_id: str, min_validity_seconds: int
    ) -> StoredCredential:
        if not allows(grant.scopes, service, self._scopes):
            raise Forbidden("the grant does not cover this service")
        record_id = credential_id(grant.developer_id, grant.principal_id, service)
        lookup = self._store.exchange_lookup(
            grant.developer_id,
            record_id,
            grant.grant_id,
            grant.token_id,
            grant.parent_grant_id,
        )
        if lookup.revoked:
            raise Unauthorized(reason="revoked_grant")
        stored = lookup.credential
        if stored is None:
            raise NotFound("no credential for this principal and service")
        if self._refresher is not None:  # refreshed first when due (vault.oauth.refresh)
            stored = self._refresher.ensure_fresh(
                grant.developer_id, stored, min_validity_seconds, request_id
            )
        refuse_expired(stored, now_micros())
        # Decrypt for the triple the grant asked for, never for what the record says: a
        # record copied under another id then fails authentication instead of handing
        # one principal's token to another's agent.
        if (stored.principal_id, stored.service) != (grant.principal_id, service):
            logs.emit(
                "ERROR",
                "stored credential does not match its id; refusing to release it",
                credentialId=record_id,
                requestId=request_id,
            )
            raise IntegrityError()
        return stored

    @staticmethod
    def _audit(
        grant: GrantClaims, action: str, stored: StoredCredential, request_id: str, outcome: str
    ) -> AuditEntry:
        return AuditEntry(
            entry_id=new_audit_id(),
            action=action,
            developer_id=grant.developer_id,
            actor=grant.token_id,
            credential_id=stored.credential_id,
            principal_id=grant.principal_id,
            service=stored.service,
            request_id=request_id,
            at=now_micros(),
            agent=grant.agent,
            outcome=outcome,
        )

    def revoke(self, kind: str, identifier: str) -> None:
        """Deny a grant (``grant``) or one grant token (``token``) from the next exchange."""
        if kind not in ("grant", "token") or not identifier:
            raise ValueError("revoke a grant id or a token id (jti)")
        self._store.revoke(kind, identifier, now_micros() + self._denylist_keep)


def refuse_expired(stored: StoredCredential, now: int) -> None:
    """409 rather than handing out a dead token."""
    if stored.token_expires_at is not None and stored.token_expires_at <= now:
        expired = CredentialExpired()
        expired.extra_body["tokenExpiresAt"] = format_micros(stored.token_expires_at)
        expired.extra_body["status"] = "expired"
        raise expired


def open_access_token(envelope: EnvelopeCipher, stored: StoredCredential, request_id: str) -> str:
    """The plaintext access token, decrypted for the record's own triple (its id was
    derived from that triple, which the caller has checked)."""
    binding = record_binding(stored.developer_id, stored.principal_id, stored.service)
    try:
        return envelope.open(binding, ACCESS_TOKEN, stored.access_token).decode("utf-8")
    except IntegrityError:
        logs.emit(
            "ERROR",
            "stored ciphertext failed authentication; refusing to release it",
            credentialId=stored.credential_id,
            requestId=request_id,
        )
        raise
