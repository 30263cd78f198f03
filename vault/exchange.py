"""The exchange use case: a grant token in, the principal's access token out.

Order of refusals: no matching scope (403) -> one read of the credential and both
denylist entries -> revoked (401) -> no credential (404) -> stored token already
expired (409). Revocation is read together with the credential (one round trip), so a
revoked token with a bad body or scope hears 400 or 403 rather than 401; it is refused
either way. Only then is the data key unwrapped (one KMS call), the exchange
audited, and the token handed out. A ciphertext that fails authentication is never
"best-effort" decrypted: the request fails closed with an error log naming the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from vault import logs
from vault.envelope import EnvelopeCipher
from vault.errors import CredentialExpired, Forbidden, IntegrityError, NotFound, Unauthorized
from vault.grants import GrantClaims, allows
from vault.ids import credential_id, record_binding
from vault.ports import AuditEntry, CredentialStore
from vault.service import ACCESS_TOKEN, new_audit_id
from vault.timefmt import format_micros, now_micros

if TYPE_CHECKING:
    from vault.oauth.refresh import Refresher

DENYLIST_KEEP_DAYS = 400  # longer than any grant lives; then a TTL policy may drop it


@dataclass(frozen=True, slots=True)
class Released:
    access_token: str
    service: str
    credential_type: str
    token_expires_at: int | None
    metadata_json: str | None


class ExchangeService:
    def __init__(
        self, store: CredentialStore, envelope: EnvelopeCipher, refresher: Refresher | None = None
    ) -> None:
        self._store = store
        self._envelope = envelope
        self._refresher = refresher

    def exchange(
        self, grant: GrantClaims, service: str, request_id: str, min_validity_seconds: int = 0
    ) -> Released:
        if not allows(grant.scopes, service):
            raise Forbidden("the grant does not cover this service")
        record_id = credential_id(grant.developer_id, grant.principal_id, service)
        lookup = self._store.exchange_lookup(
            grant.developer_id, record_id, grant.grant_id, grant.token_id
        )
        if lookup.revoked:
            raise Unauthorized()
        stored = lookup.credential
        if stored is None:
            raise NotFound("no credential for this principal and service")
        if self._refresher is not None:  # refreshed first when due (vault.oauth.refresh)
            stored = self._refresher.ensure_fresh(
                grant.developer_id, stored, min_validity_seconds, request_id
            )
        now = now_micros()
        if stored.token_expires_at is not None and stored.token_expires_at <= now:
            expired = CredentialExpired()
            expired.extra_body["tokenExpiresAt"] = format_micros(stored.token_expires_at)
            raise expired
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
        binding = record_binding(grant.developer_id, grant.principal_id, service)
        try:
            access_token = self._envelope.open(binding, ACCESS_TOKEN, stored.access_token)
        except IntegrityError:
            logs.emit(
                "ERROR",
                "stored ciphertext failed authentication; refusing to release it",
                credentialId=record_id,
                requestId=request_id,
            )
            raise
        self._store.record(
            AuditEntry(
                entry_id=new_audit_id(),
                action="exchange",
                developer_id=grant.developer_id,
                actor=grant.token_id,
                credential_id=record_id,
                principal_id=grant.principal_id,
                service=service,
                request_id=request_id,
                at=now,
                agent=grant.agent,
            )
        )
        return Released(
            access_token=access_token.decode("utf-8"),
            service=stored.service,
            credential_type=stored.credential_type,
            token_expires_at=stored.token_expires_at,
            metadata_json=stored.metadata_json,
        )

    def revoke(self, kind: str, identifier: str, keep_days: int = DENYLIST_KEEP_DAYS) -> None:
        """Deny a grant (``grant``) or one grant token (``token``) from the next exchange."""
        if kind not in ("grant", "token") or not identifier:
            raise ValueError("revoke a grant id or a token id (jti)")
        self._store.revoke(kind, identifier, now_micros() + keep_days * 86_400 * 1_000_000)
