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
        if kind != "grant":
            return  # only a grant is suspended, and so resumed
        with self._db.transaction() as connection:
            connection.execute(
                "DELETE FROM revoked WHERE kind = 'grant' AND identifier = ?"
                " AND identifier IN (SELECT identifier FROM grant_suspensions)",
                (identifier,),
            )
            connection.execute("DELETE FROM grant_suspensions WHERE identifier = ?", (identifier,))


def _deny(connection: sqlite3.Connection, denials: Sequence[Denial]) -> None:
    # A grant's row in grant_suspensions marks its denial as a suspension only, which a
    # resumption may lift; a suspension of a grant already denied leaves it revoked.
    for denial in denials:
        if denial.kind == "grant" and denial.suspension:
            connection.execute(
                "INSERT OR IGNORE INTO grant_suspensions (identifier) SELECT ? WHERE NOT"
                " EXISTS (SELECT 1 FROM revoked WHERE kind = 'grant' AND identifier = ?)",
                (denial.identifier, denial.identifier),
            )
        elif denial.kind == "grant":  # revoked now: no resumption lifts it
            connection.execute(
                "DELETE FROM grant_suspensions WHERE identifier = ?", (denial.identifier,)
            )
        connection.execute(
            "INSERT INTO revoked (kind, identifier, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (kind, identifier) DO UPDATE SET"
            " expires_at = max(expires_at, excluded.expires_at)",
            (denial.kind, denial.identifier, denial.expires_at),
        )


def _prune(connection: sqlite3.Connection, now: int) -> None:
    """Entries past their lifetime (the grant they deny cannot be used any more)."""
    for table in ("webhook_deliveries", "revoked"):
        connection.execute(
            f"DELETE FROM {table} WHERE rowid IN"  # noqa: S608 - fixed table names
            f" (SELECT rowid FROM {table} WHERE expires_at < ? LIMIT ?)",
            (now, _PRUNE_BATCH),
        )
    connection.execute(
        "DELETE FROM grant_suspensions WHERE rowid IN (SELECT rowid FROM grant_suspensions"
        " WHERE identifier NOT IN (SELECT identifier FROM revoked WHERE kind = 'grant')"
        " LIMIT ?)",
        (_PRUNE_BATCH,),
    )
