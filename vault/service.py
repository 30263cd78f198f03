"""The use cases. Depends only on ports: no HTTP, no Firestore, no KMS in here."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from vault.envelope import EnvelopeCipher
from vault.ids import credential_id, record_binding
from vault.models import DEFAULT_CREDENTIAL_TYPE, StoreCredentialRequest, compact_json
from vault.ports import KEEP, ApiKeyRecord, AuditEntry, CredentialStore, CredentialWrite
from vault.timefmt import now_micros

# Field names, used in the ciphertext's associated data; not secrets.
ACCESS_TOKEN = "accessToken"  # noqa: S105
REFRESH_TOKEN = "refreshToken"  # noqa: S105


@dataclass(frozen=True, slots=True)
class StoredSummary:
    credential_id: str
    principal_id: str
    service: str
    credential_type: str
    created_at: int
    updated_at: int


def new_audit_id() -> str:
    return "au_" + secrets.token_hex(12)


class VaultService:
    def __init__(self, store: CredentialStore, envelope: EnvelopeCipher) -> None:
        self._store = store
        self._envelope = envelope

    def store(
        self, caller: ApiKeyRecord, request: StoreCredentialRequest, request_id: str
    ) -> StoredSummary:
        developer_id = caller.developer_id
        record_id = credential_id(developer_id, request.principal_id, request.service)
        plaintexts = {ACCESS_TOKEN: request.access_token.encode("utf-8")}
        if request.refresh_token is not None:
            plaintexts[REFRESH_TOKEN] = request.refresh_token.encode("utf-8")
        sealed = self._envelope.seal(
            record_binding(developer_id, request.principal_id, request.service), plaintexts
        )
        now = now_micros()
        write = CredentialWrite(
            credential_id=record_id,
            developer_id=developer_id,
            principal_id=request.principal_id,
            service=request.service,
            access_token=sealed[ACCESS_TOKEN],
            refresh_token=sealed.get(REFRESH_TOKEN) if request.is_set("refresh_token") else KEEP,
            credential_type=request.credential_type if request.is_set("credential_type") else KEEP,
            metadata_json=(None if request.metadata is None else compact_json(request.metadata))
            if request.is_set("metadata")
            else KEEP,
            token_expires_at=request.expiry_micros(),
            now=now,
        )
        audit = AuditEntry(
            entry_id=new_audit_id(),
            action="store",
            developer_id=developer_id,
            actor=caller.key_id,
            credential_id=record_id,
            principal_id=request.principal_id,
            service=request.service,
            request_id=request_id,
            at=now,
        )
        result = self._store.upsert(write, audit)
        return StoredSummary(
            credential_id=record_id,
            principal_id=request.principal_id,
            service=request.service,
            credential_type=result.credential_type or DEFAULT_CREDENTIAL_TYPE,
            created_at=result.created_at,
            updated_at=result.updated_at,
        )
