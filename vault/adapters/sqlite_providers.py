"""OAuth provider configurations in the embedded database (table ``providers``).

The configuration is one JSON column (nothing in it is secret or queried); the client
secret is its own column, ciphertext only."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from vault.adapters.provider_codec import provider_config, provider_from
from vault.adapters.sqlite_database import SqliteDatabase
from vault.adapters.sqlite_store import _insert_audit
from vault.oauth.ports import ProviderRecord
from vault.ports import AuditEntry

_SELECT = (
    "SELECT developer_id, service, config_json, client_secret, created_at, updated_at"
    " FROM providers"
)


class SqliteProviderStore:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    def put(self, record: ProviderRecord, audit: AuditEntry) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                "INSERT INTO providers (developer_id, service, config_json, client_secret,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (developer_id, service) DO UPDATE SET"
                " config_json = excluded.config_json, client_secret = excluded.client_secret,"
                " updated_at = excluded.updated_at",
                (
                    record.developer_id,
                    record.service,
                    json.dumps(provider_config(record), separators=(",", ":")),
                    record.client_secret,
                    record.created_at,
                    record.updated_at,
                ),
            )
            _insert_audit(connection, audit)

    def get(self, developer_id: str, service: str) -> ProviderRecord | None:
        rows = self._db.query(
            _SELECT + " WHERE developer_id = ? AND service = ?", (developer_id, service)
        )
        return _record(rows[0]) if rows else None

    def list(self, developer_id: str) -> Sequence[ProviderRecord]:
        rows = self._db.query(_SELECT + " WHERE developer_id = ? ORDER BY service", (developer_id,))
        return [_record(row) for row in rows]

    def delete(self, developer_id: str, service: str, audit: AuditEntry) -> bool:
        with self._db.transaction() as connection:
            deleted = connection.execute(
                "DELETE FROM providers WHERE developer_id = ? AND service = ?",
                (developer_id, service),
            ).rowcount
            if deleted:
                _insert_audit(connection, audit)
        return bool(deleted)


def _record(row: sqlite3.Row) -> ProviderRecord:
    return provider_from(
        json.loads(row[2]),
        developer_id=row[0],
        service=row[1],
        client_secret=None if row[3] is None else bytes(row[3]),
        created_at=row[4],
        updated_at=row[5],
    )
