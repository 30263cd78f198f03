"""OAuth provider configurations in Cloud Firestore (collection ``vaultProviders``).

One document per (developer, service), its id a digest of the pair; the client secret is
a bytes field holding ciphertext only, and ``hasClientSecret`` says whether there is one
(the rewrap's query filters on it). A put or delete and its audit entry are one
commit."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import partial
from typing import Any

from google.cloud import firestore

from vault.adapters.firestore_codec import AUDIT, audit_document
from vault.adapters.firestore_gateway import FirestoreGateway
from vault.adapters.provider_codec import provider_config, provider_from
from vault.ids import encode_parts
from vault.oauth.ports import ProviderRecord
from vault.ports import AuditEntry

PROVIDERS = "vaultProviders"
HAS_CLIENT_SECRET = "hasClientSecret"  # noqa: S105 - a field name


def provider_document_id(developer_id: str, service: str) -> str:
    return hashlib.sha256(encode_parts("vault.provider.v1", developer_id, service)).hexdigest()


class FirestoreProviderStore:
    def __init__(self, gateway: FirestoreGateway) -> None:
        self._gw = gateway
        self._providers = gateway.client.collection(PROVIDERS)
        self._audit = gateway.client.collection(AUDIT)

    def _commit(self, batch: Any) -> Any:
        return self._gw.call(partial(batch.commit, retry=self._gw.retry, timeout=self._gw.timeout))

    def put(self, record: ProviderRecord, audit: AuditEntry) -> None:
        batch = self._gw.client.batch()
        reference = self._providers.document(
            provider_document_id(record.developer_id, record.service)
        )
        batch.set(reference, _document(record))
        batch.set(self._audit.document(audit.entry_id), audit_document(audit))
        self._commit(batch)

    def get(self, developer_id: str, service: str) -> ProviderRecord | None:
        reference = self._providers.document(provider_document_id(developer_id, service))
        snapshot = self._gw.call(
            partial(reference.get, retry=self._gw.retry, timeout=self._gw.timeout)
        )
        data = snapshot.to_dict() if snapshot.exists else None
        if data is None or data.get("developerId") != developer_id:
            return None
        return _record(data)

    def list(self, developer_id: str) -> Sequence[ProviderRecord]:
        query = self._providers.where(
            filter=firestore.FieldFilter("developerId", "==", developer_id)
        )
        snapshots = self._gw.call(
            lambda: list(query.stream(retry=self._gw.retry, timeout=self._gw.timeout))
        )
        records = [_record(snapshot.to_dict() or {}) for snapshot in snapshots]
        return sorted(records, key=lambda record: record.service)

    def delete(self, developer_id: str, service: str, audit: AuditEntry) -> bool:
        if self.get(developer_id, service) is None:
            return False
        batch = self._gw.client.batch()
        batch.delete(self._providers.document(provider_document_id(developer_id, service)))
        batch.set(self._audit.document(audit.entry_id), audit_document(audit))
        self._commit(batch)
        return True


def _document(record: ProviderRecord) -> dict[str, Any]:
    return {
        "developerId": record.developer_id,
        "service": record.service,
        **provider_config(record),
        "clientSecret": record.client_secret,
        HAS_CLIENT_SECRET: record.client_secret is not None,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
    }


def _record(data: dict[str, Any]) -> ProviderRecord:
    return provider_from(
        data,
        developer_id=data["developerId"],
        service=data["service"],
        client_secret=data.get("clientSecret"),
        created_at=data["createdAt"],
        updated_at=data["updatedAt"],
    )
