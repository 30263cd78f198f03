"""Issuer revocations in the embedded database: the denylist (table ``revoked``, which
the exchange reads) and webhook delivery ids."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from vault.adapters.sqlite_database import SqliteDatabase
from vault.adapters.sqlite_store import insert_audit
from vault.ports import AuditEntry, Denial

_PRUNE_BATCH = 500


class SqliteRevocationStore:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    def apply_delivery(
        self, delivery_id: str, denials: Sequence[Denial], keep_until: int, audit: AuditEntry
    ) -> bool:
        with self._db.transaction() as connection:
            _prune(connection, audit.at)
            inserted = connection.execute(
                "INSERT INTO webhook_deliveries (id, expires_at) VALUES (?, ?)"
                " ON CONFLICT (id) DO NOTHING",
                (delivery_id, keep_until),
            ).rowcount
            if not inserted:
                return False
            _deny(connection, denials)
            insert_audit(connection, audit)
        return True

    def deny(self, denials: Sequence[Denial]) -> None:
        with self._db.transaction() as connection:
            _deny(connection, denials)

    def allow(self, kind: str, identifier: str) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                "DELETE FROM revoked WHERE kind = ? AND identifier = ?", (kind, identifier)
            )


def _deny(connection: sqlite3.Connection, denials: Sequence[Denial]) -> None:
    connection.executemany(
        "INSERT INTO revoked (kind, identifier, expires_at) VALUES (?, ?, ?)"
        " ON CONFLICT (kind, identifier) DO UPDATE SET"
        " expires_at = max(expires_at, excluded.expires_at)",
        [(denial.kind, denial.identifier, denial.expires_at) for denial in denials],
    )


def _prune(connection: sqlite3.Connection, now: int) -> None:
    """Entries past their lifetime (the grant they deny cannot be used any more)."""
    for table in ("webhook_deliveries", "revoked"):
        connection.execute(
            f"DELETE FROM {table} WHERE rowid IN"  # noqa: S608 - fixed table names
            f" (SELECT rowid FROM {table} WHERE expires_at < ? LIMIT ?)",
            (now, _PRUNE_BATCH),
        )
