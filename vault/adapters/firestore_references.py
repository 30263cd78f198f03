"""Credential references in Firestore (collection ``vaultCredentialRefs``).

A reference is one document named by its id, made in the same commit as its audit entry
(``create``: a second write of the same id fails instead of replacing it). Resolving
reads the reference and its grant's denylist entry in one ``get_all``; the parent
grant's and the token's entries are read with the credential (``exchange_lookup``). The count of
resolutions is an ``Increment`` transform, so concurrent resolutions never lose one.
``expiresAt`` is a Timestamp for the TTL policy; expiry itself is checked by the vault.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from google.api_core import exceptions as google_errors
from google.cloud import firestore

from vault.adapters.firestore_codec import (
    AUDIT,
    DENYLISTS,
    REFERENCES,
    audit_document,
    denylist_id,
    expiry_timestamp,
)
from vault.adapters.firestore_gateway import FirestoreGateway
from vault.errors import DependencyUnavailable, NotFound
from vault.ports import AuditEntry, CredentialReference, ResolveLookup


class FirestoreReferenceStore:
    def __init__(self, gateway: FirestoreGateway) -> None:
        self._gw = gateway
        self._references = gateway.client.collection(REFERENCES)
        self._grants = gateway.client.collection(DENYLISTS["grant"])
        self._audit = gateway.client.collection(AUDIT)

    def create(self, reference: CredentialReference, audit: AuditEntry) -> None:
        batch = self._gw.client.batch()
        batch.create(self._references.document(reference.reference_id), _document(reference))
        batch.set(self._audit.document(audit.entry_id), audit_document(audit))
        self._gw.call(partial(batch.commit, retry=self._gw.retry, timeout=self._gw.timeout))

    def resolve_lookup(self, developer_id: str, reference_id: str, grant_id: str) -> ResolveLookup:
        reference_ref = self._references.document(reference_id)
        grant_ref = self._grants.document(denylist_id(grant_id))
        snapshots = self._gw.call(
            lambda: list(
                self._gw.client.get_all(
                    [reference_ref, grant_ref], retry=self._gw.retry, timeout=self._gw.timeout
                )
            )
        )
        reference: CredentialReference | None = None
        revoked = False
        for snapshot in snapshots:
            if snapshot.reference.path == reference_ref.path:
                data = snapshot.to_dict() if snapshot.exists else None
                if data is not None and data.get("developerId") == developer_id:
                    reference = _reference(reference_id, data)
            elif snapshot.exists:
                revoked = True
        # The parent grant's (and the token's) denial is read with the credential next
        # (``exchange_lookup``), so a delegated reference costs no extra read here.
        return ResolveLookup(reference, grant_revoked=revoked)

    def record_resolution(self, reference_id: str, audit: AuditEntry) -> None:
        batch = self._gw.client.batch()
        batch.update(
            self._references.document(reference_id),
            {"resolvedCount": firestore.Increment(1), "lastResolvedAt": audit.at},
        )
        batch.set(self._audit.document(audit.entry_id), audit_document(audit))
        try:
            batch.commit(retry=self._gw.retry, timeout=self._gw.timeout)
        except google_errors.NotFound:  # dropped by the TTL policy in between
            raise NotFound("no such credential reference") from None
        except (google_errors.GoogleAPICallError, google_errors.RetryError):
            raise DependencyUnavailable() from None


def _document(reference: CredentialReference) -> dict[str, Any]:
    return {
        "developerId": reference.developer_id,
        "credentialId": reference.credential_id,
        "principalId": reference.principal_id,
        "service": reference.service,
        "grantId": reference.grant_id,
        "parentGrantId": reference.parent_grant_id,
        "agent": reference.agent,
        "tokenId": reference.token_id,
        "createdAt": reference.created_at,
        "expiresAtMicros": reference.expires_at,
        "expiresAt": expiry_timestamp(reference.expires_at),
        "resolvedCount": reference.resolved_count,
        "lastResolvedAt": reference.last_resolved_at,
    }


def _reference(reference_id: str, data: dict[str, Any]) -> CredentialReference:
    return CredentialReference(
        reference_id=reference_id,
        developer_id=data["developerId"],
        credential_id=data["credentialId"],
        principal_id=data["principalId"],
        service=data["service"],
        grant_id=data["grantId"],
        parent_grant_id=data.get("parentGrantId"),
        agent=data.get("agent"),
        token_id=data["tokenId"],
        created_at=data["createdAt"],
        expires_at=data["expiresAtMicros"],
        resolved_count=int(data.get("resolvedCount") or 0),
        last_resolved_at=data.get("lastResolvedAt"),
    )
