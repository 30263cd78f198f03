"""API keys in the embedded database, found by digest."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from vault.adapters.sqlite_database import SqliteDatabase
from vault.ports import ApiKeyRecord


class SqliteApiKeyStore:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    def create(self, record: ApiKeyRecord) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                "INSERT INTO api_keys (digest, key_id, developer_id, name, created_at,"
                " revoked_at, cursor_secret) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.digest,
                    record.key_id,
                    record.developer_id,
                    record.name,
                    record.created_at,
                    record.revoked_at,
                    record.cursor_secret,
                ),
            )

    def find(self, digest: str) -> ApiKeyRecord | None:
        rows = self._db.query(_SELECT_KEYS + " WHERE digest = ?", (digest,))
        return _key(rows[0]) if rows else None

    def list(self, developer_id: str | None = None) -> Sequence[ApiKeyRecord]:
        if developer_id is None:
            rows = self._db.query(_SELECT_KEYS + " ORDER BY created_at")
        else:
            rows = self._db.query(
                _SELECT_KEYS + " WHERE developer_id = ? ORDER BY created_at", (developer_id,)
            )
        return [_key(row) for row in rows]

    def revoke(self, key_id: str, at: int) -> bool:
        with self._db.transaction() as connection:
            cursor = connection.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (at, key_id),
            )
            return cursor.rowcount == 1


_SELECT_KEYS = (
    "SELECT key_id, developer_id, name, digest, created_at, revoked_at, cursor_secret FROM api_keys"
)


def _key(row: sqlite3.Row) -> ApiKeyRecord:
    return ApiKeyRecord(*row)
