"""Resolving credential references: the relying party that holds the developer's API key
(Grantex's gateway) redeems a reference an agent was given, so the agent never holds the
secret.

Checks, in CONTRACT.md's order: no such reference of the caller's developer (404) ->
issued to another grant (403 GRANT_MISMATCH) -> expired (410) -> the grant or its parent
revoked, or the grant token it was issued to (403 GRANT_INACTIVE) -> the credential
itself (404 when deleted since; refreshed first when due, as on exchange; 409 when its
token is dead). Then one KMS call, and the resolution is counted on the reference in the
same commit as its audit entry, before the token is handed out.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vault.envelope import EnvelopeCipher
from vault.errors import GrantInactive, GrantMismatch, NotFound, ReferenceExpired
from vault.exchange import open_access_token, refuse_expired
from vault.ids import REFERENCE_ID
from vault.ports import ApiKeyRecord, AuditEntry, CredentialStore, ReferenceStore
from vault.service import new_audit_id
from vault.timefmt import now_micros

if TYPE_CHECKING:
    from vault.oauth.refresh import Refresher


@dataclass(frozen=True, slots=True)
class Resolved:
    access_token: str
    service: str
    credential_type: str
    token_expires_at: int | None
    metadata_json: str | None
    grant_id: str
    principal_id: str
    agent: str | None


class ReferenceService:
    def __init__(
        self,
        references: ReferenceStore,
        store: CredentialStore,
        envelope: EnvelopeCipher,
        refresher: Refresher | None = None,
    ) -> None:
        self._references = references
        self._store = store
        self._envelope = envelope
        self._refresher = refresher  # refreshed first when due, as on exchange

    def resolve(
        self, caller: ApiKeyRecord, reference_id: str, grant_id: str, request_id: str
    ) -> Resolved:
        if not REFERENCE_ID.fullmatch(reference_id):
            raise NotFound("no such credential reference")
        developer_id = caller.developer_id
        lookup = self._references.resolve_lookup(developer_id, reference_id, grant_id)
        reference = lookup.reference
        if reference is None:
            raise NotFound("no such credential reference")
        if not hmac.compare_digest(reference.grant_id.encode(), grant_id.encode()):
            raise GrantMismatch()
        now = now_micros()
        if reference.expires_at <= now:
            raise ReferenceExpired()
        if lookup.grant_revoked:
            raise GrantInactive()
        # The credential with the token's own denial (a stolen token revoked by its jti
        # loses its references too) and its grants', in the one read it costs anyway.
        credential = self._store.exchange_lookup(
            developer_id,
            reference.credential_id,
            reference.grant_id,
            reference.token_id,
            reference.parent_grant_id,
        )
        if credential.revoked:
            raise GrantInactive()
        stored = credential.credential
        if stored is None or (stored.principal_id, stored.service) != (
            reference.principal_id,
            reference.service,
        ):
            raise NotFound("the referenced credential no longer exists")
        if self._refresher is not None:
            stored = self._refresher.ensure_fresh(developer_id, stored, 0, request_id)
        refuse_expired(stored, now_micros())
        access_token = open_access_token(self._envelope, stored, request_id)
        self._references.record_resolution(
            reference_id,
            AuditEntry(
                entry_id=new_audit_id(),
                action="resolve",
                developer_id=developer_id,
                actor=caller.key_id,
                credential_id=stored.credential_id,
                principal_id=stored.principal_id,
                service=stored.service,
                request_id=request_id,
                at=now_micros(),
                agent=reference.agent,
                outcome=f"grant={reference.grant_id}",
            ),
        )
        return Resolved(
            access_token=access_token,
            service=stored.service,
            credential_type=stored.credential_type,
            token_expires_at=stored.token_expires_at,
            metadata_json=stored.metadata_json,
            grant_id=reference.grant_id,
            principal_id=reference.principal_id,
            agent=reference.agent,
        )
