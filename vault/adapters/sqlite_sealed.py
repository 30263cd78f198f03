"""The rewrap's view of the embedded database: credentials and provider client secrets
as sealed records, and the ``vault_state`` table for its checkpoint.

A replace is one ``UPDATE`` whose ``WHERE`` holds the record as it was read (its
``updated_at`` and both ciphertexts, which are unique to each write), inside the
writers' transaction: a store, refresh or delete that came between makes it match no
row, so nothing is overwritten and nothing deleted comes back. ``updated_at`` itself
is left alone: re-sealing changes no token. Providers are walked the same way, in
(developer, service) order (their primary key); a provider's key in the walk is that
pair as a JSON array.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from vault.adapters.sqlite_database import SqliteDatabase
from vault.ids import record_binding
from vault.keys.ports import SealedRecord
from vault.oauth.providers import CLIENT_SECRET, provider_binding
from vault.timefmt import now_micros

ACCESS_TOKEN = "accessToken"  # noqa: S105  (field names, as sealed)
REFRESH_TOKEN = "refreshToken"  # noqa: S105


class SqliteCredentialSource:
    name = "credentials"

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    def count(self, developer_id: str | None) -> int:
        if developer_id is None:
            rows = self._db.query("SELECT count(*) FROM credentials")
        else:
            rows = self._db.query(
                "SELECT count(*) FROM credentials WHERE developer_id = ?", (developer_id,)
            )
        return int(rows[0][0])

    def scan(
        self, after: str | None, limit: int, developer_id: str | None
    ) -> Sequence[SealedRecord]:
        # One fixed statement: a NULL developer means every developer.
        rows = self._db.query(
            "SELECT id, developer_id, principal_id, service, access_token, refresh_token,"
            " updated_at FROM credentials WHERE id > ? AND (? IS NULL OR developer_id = ?)"
            " ORDER BY id LIMIT ?",
            (after or "", developer_id, developer_id, limit),
        )
        records = []
        for record_id, developer, principal, service, access, refresh, updated_at in rows:
            blobs = {ACCESS_TOKEN: bytes(access)}
            if refresh is not None:
                blobs[REFRESH_TOKEN] = bytes(refresh)
            records.append(
                SealedRecord(
                    key=record_id,
                    developer_id=developer,
                    binding=record_binding(developer, principal, service),
                    blobs=blobs,
                    revision=updated_at,
                )
            )
        return records

    def replace(self, record: SealedRecord, blobs: Mapping[str, bytes]) -> bool:
        old_refresh = record.blobs.get(REFRESH_TOKEN)
        with self._db.transaction() as connection:
            changed = connection.execute(
                "UPDATE credentials SET access_token = ?, refresh_token = ?"
                " WHERE id = ? AND updated_at = ? AND access_token = ? AND refresh_token IS ?",
                (
                    blobs[ACCESS_TOKEN],
                    blobs.get(REFRESH_TOKEN),
                    record.key,
                    record.revision,
                    record.blobs[ACCESS_TOKEN],
                    old_refresh,
                ),
            ).rowcount
        return bool(changed == 1)


class SqliteProviderSecretSource:
    """Providers that hold a client secret (a public client has none to re-seal)."""

    name = "provider_secrets"

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    def count(self, developer_id: str | None) -> int:
        rows = self._db.query(
            "SELECT count(*) FROM providers WHERE client_secret IS NOT NULL"
            " AND (? IS NULL OR developer_id = ?)",
            (developer_id, developer_id),
        )
        return int(rows[0][0])

    def scan(
        self, after: str | None, limit: int, developer_id: str | None
    ) -> Sequence[SealedRecord]:
        last_developer, last_service = json.loads(after) if after is not None else (None, None)
        rows = self._db.query(
            "SELECT developer_id, service, client_secret, updated_at FROM providers"
            " WHERE client_secret IS NOT NULL AND (? IS NULL OR developer_id = ?)"
            " AND (? IS NULL OR (developer_id, service) > (?, ?))"
            " ORDER BY developer_id, service LIMIT ?",
            (
                developer_id,
                developer_id,
                last_developer,
                last_developer,
                last_service,
                limit,
            ),
        )
        return [
            SealedRecord(
                key=json.dumps([developer, service]),
                developer_id=developer,
                binding=provider_binding(developer, service),
                blobs={CLIENT_SECRET: bytes(secret)},
                revision=updated_at,
            )
            for developer, service, secret, updated_at in rows
        ]

    def replace(self, record: SealedRecord, blobs: Mapping[str, bytes]) -> bool:
        developer, service = json.loads(record.key)
        with self._db.transaction() as connection:
            changed = connection.execute(
                "UPDATE providers SET client_secret = ? WHERE developer_id = ? AND service = ?"
                " AND updated_at = ? AND client_secret = ?",
                (
                    blobs[CLIENT_SECRET],
                    developer,
                    service,
                    record.revision,
                    record.blobs[CLIENT_SECRET],
                ),
            ).rowcount
        return bool(changed == 1)


class SqliteStateStore:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    def load(self, name: str) -> dict[str, Any] | None:
        rows = self._db.query("SELECT value FROM vault_state WHERE name = ?", (name,))
        return json.loads(rows[0][0]) if rows else None

    def save(self, name: str, value: dict[str, Any]) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                "INSERT INTO vault_state (name, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                (name, json.dumps(value), now_micros()),
            )

    def clear(self, name: str) -> None:
        with self._db.transaction() as connection:
            connection.execute("DELETE FROM vault_state WHERE name = ?", (name,))
