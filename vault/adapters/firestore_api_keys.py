"""API keys in Firestore: collection ``apiKeys``, document id = the key's digest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.cloud import firestore

from vault.adapters.firestore_codec import API_KEYS
from vault.adapters.firestore_gateway import FirestoreGateway
from vault.ports import ApiKeyRecord


class FirestoreApiKeyStore:
    def __init__(self, gateway: FirestoreGateway) -> None:
        self._gw = gateway
        self._keys = gateway.client.collection(API_KEYS)

    def create(self, record: ApiKeyRecord) -> None:
        reference = self._keys.document(record.digest)
        document = {
            "keyId": record.key_id,
            "developerId": record.developer_id,
            "name": record.name,
            "createdAt": record.created_at,
            "revokedAt": record.revoked_at,
            "cursorSecret": record.cursor_secret,
        }
        self._gw.call(
            lambda: reference.create(document, retry=self._gw.retry, timeout=self._gw.timeout)
        )

    def find(self, digest: str) -> ApiKeyRecord | None:
        reference = self._keys.document(digest)
        snapshot = self._gw.call(
            lambda: reference.get(retry=self._gw.retry, timeout=self._gw.timeout)
        )
        return _key_record(snapshot.id, snapshot.to_dict()) if snapshot.exists else None

    def list(self, developer_id: str | None = None) -> Sequence[ApiKeyRecord]:
        query: Any = self._keys
        if developer_id is not None:
            query = query.where(filter=firestore.FieldFilter("developerId", "==", developer_id))
        snapshots = self._gw.call(
            lambda: list(query.stream(retry=self._gw.retry, timeout=self._gw.timeout))
        )
        records = [_key_record(snapshot.id, snapshot.to_dict()) for snapshot in snapshots]
        return sorted(records, key=lambda record: (record.created_at, record.key_id))

    def revoke(self, key_id: str, at: int) -> bool:
        query = self._keys.where(filter=firestore.FieldFilter("keyId", "==", key_id)).limit(1)
        snapshots = self._gw.call(
            lambda: list(query.stream(retry=self._gw.retry, timeout=self._gw.timeout))
        )
        if not snapshots or (snapshots[0].to_dict() or {}).get("revokedAt") is not None:
            return False
        reference = snapshots[0].reference
        self._gw.call(
            lambda: reference.update(
                {"revokedAt": at}, retry=self._gw.retry, timeout=self._gw.timeout
            )
        )
        return True


def _key_record(digest: str, data: dict[str, Any] | None) -> ApiKeyRecord:
    data = data or {}
    return ApiKeyRecord(
        key_id=data["keyId"],
        developer_id=data["developerId"],
        name=data.get("name", ""),
        digest=digest,
        created_at=data["createdAt"],
        revoked_at=data.get("revokedAt"),
        cursor_secret=data.get("cursorSecret", ""),
    )
