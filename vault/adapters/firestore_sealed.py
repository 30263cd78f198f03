"""The rewrap's view of Firestore: credentials and provider client secrets as sealed
records, and ``vaultState`` documents for its checkpoint.

A replace is one ``update`` of the token fields with a ``last_update_time``
precondition (the document's ``update_time`` as read): a store, refresh or delete in
between fails it with FAILED_PRECONDITION or NOT_FOUND, so nothing is overwritten and
a deleted record is never written back. ``updatedAt`` is left alone: re-sealing
changes no token. A retried update whose first attempt had landed also fails its
precondition; it is then counted as changed, and the next pass finds it current.

Providers are found by their ``hasClientSecret`` flag, an equality filter served by
the automatic single-field indexes (a ``clientSecret != null`` filter would make
Firestore order by the ciphertext first, and a re-sealed secret would move in the walk).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from google.api_core import exceptions as google_errors
from google.cloud import firestore

from vault.adapters.firestore_codec import CREDENTIALS
from vault.adapters.firestore_gateway import FirestoreGateway
from vault.adapters.firestore_providers import HAS_CLIENT_SECRET, PROVIDERS
from vault.errors import DependencyUnavailable
from vault.ids import record_binding
from vault.keys.ports import SealedRecord
from vault.oauth.providers import CLIENT_SECRET, provider_binding
from vault.timefmt import now_micros

STATE = "vaultState"


class _FirestoreSealedSource:
    """What both sources share: a walk by document id over one collection (optionally one
    developer's documents), and the conditional update of the sealed fields."""

    name: str
    _collection_name: str
    _fields: tuple[str, ...]  # stored under the names they are sealed with

    def __init__(self, gateway: FirestoreGateway) -> None:
        self._gw = gateway
        self._collection = gateway.client.collection(self._collection_name)

    def _selected(self) -> Any:
        return self._collection

    def _record(self, key: str, data: dict[str, Any], revision: Any) -> SealedRecord:
        raise NotImplementedError

    def _query(self, developer_id: str | None) -> Any:
        query = self._selected()
        if developer_id is not None:
            query = query.where(filter=firestore.FieldFilter("developerId", "==", developer_id))
        return query

    def count(self, developer_id: str | None) -> int:
        aggregation = self._query(developer_id).count()
        results = self._gw.call(
            lambda: aggregation.get(retry=self._gw.retry, timeout=self._gw.timeout)
        )
        return int(results[0][0].value)

    def scan(
        self, after: str | None, limit: int, developer_id: str | None
    ) -> Sequence[SealedRecord]:
        query = self._query(developer_id).order_by("__name__")
        if after is not None:
            query = query.start_after({"__name__": self._collection.document(after)})
        query = query.limit(limit)
        snapshots = self._gw.call(
            lambda: list(query.stream(retry=self._gw.retry, timeout=self._gw.timeout))
        )
        return [
            self._record(snapshot.id, snapshot.to_dict() or {}, snapshot.update_time)
            for snapshot in snapshots
        ]

    def replace(self, record: SealedRecord, blobs: Mapping[str, bytes]) -> bool:
        reference = self._collection.document(record.key)
        option = self._gw.client.write_option(last_update_time=record.revision)
        fields = {field: blobs[field] for field in self._fields if field in blobs}
        try:
            reference.update(fields, option=option, retry=self._gw.retry, timeout=self._gw.timeout)
        except (google_errors.FailedPrecondition, google_errors.NotFound):
            return False
        except (google_errors.GoogleAPICallError, google_errors.RetryError):
            raise DependencyUnavailable() from None
        return True


class FirestoreCredentialSource(_FirestoreSealedSource):
    name = "credentials"
    _collection_name = CREDENTIALS
    _fields = ("accessToken", "refreshToken")

    def _record(self, key: str, data: dict[str, Any], revision: Any) -> SealedRecord:
        return SealedRecord(
            key=key,
            developer_id=data["developerId"],
            binding=record_binding(data["developerId"], data["principalId"], data["service"]),
            blobs={field: bytes(data[field]) for field in self._fields if data.get(field)},
            revision=revision,
        )


class FirestoreProviderSecretSource(_FirestoreSealedSource):
    """Providers that hold a client secret (a public client has none to re-seal)."""

    name = "provider_secrets"
    _collection_name = PROVIDERS
    _fields = (CLIENT_SECRET,)

    def _selected(self) -> Any:
        return self._collection.where(filter=firestore.FieldFilter(HAS_CLIENT_SECRET, "==", True))

    def _record(self, key: str, data: dict[str, Any], revision: Any) -> SealedRecord:
        secret = data.get(CLIENT_SECRET)
        return SealedRecord(
            key=key,
            developer_id=data["developerId"],
            binding=provider_binding(data["developerId"], data["service"]),
            blobs={CLIENT_SECRET: bytes(secret)} if secret else {},
            revision=revision,
        )


class FirestoreStateStore:
    def __init__(self, gateway: FirestoreGateway) -> None:
        self._gw = gateway
        self._state = gateway.client.collection(STATE)

    def load(self, name: str) -> dict[str, Any] | None:
        reference = self._state.document(name)
        snapshot = self._gw.call(
            lambda: reference.get(retry=self._gw.retry, timeout=self._gw.timeout)
        )
        if not snapshot.exists:
            return None
        value: dict[str, Any] = json.loads((snapshot.to_dict() or {})["value"])
        return value

    def save(self, name: str, value: dict[str, Any]) -> None:
        reference = self._state.document(name)
        document = {"value": json.dumps(value), "updatedAt": now_micros()}
        self._gw.call(
            lambda: reference.set(document, retry=self._gw.retry, timeout=self._gw.timeout)
        )

    def clear(self, name: str) -> None:
        reference = self._state.document(name)
        self._gw.call(lambda: reference.delete(retry=self._gw.retry, timeout=self._gw.timeout))
