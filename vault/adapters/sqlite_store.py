"""Credentials and their audit trail in the embedded database.

Every store is one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` plus the audit
row, in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import lru_cache

from vault.adapters.sqlite_database import SqliteDatabase
from vault.ports import (
    DEFAULT_CREDENTIAL_TYPE,
    KEEP,
    AuditEntry,
    AuditFactory,
    CredentialWrite,
    ExchangeLookup,
    PageQuery,
    StoredCredential,
    WriteResult,
)

_OPTIONAL_COLUMNS = ("refresh_token", "credential_type", "metadata_json")


@lru_cache(maxsize=8)
def _upsert_sql(kept: frozenset[str]) -> str:
    updated = ["access_token", "token_expires_at", "updated_at"]
    updated += [column for column in _OPTIONAL_COLUMNS if column not in kept]
    assignments = ", ".join(f"{column} = excluded.{column}" for column in updated)
    # Column names come from the fixed tuple above, never from input.
    insert = (
        "INSERT INTO credentials (id, developer_id, principal_id, service, credential_type,"
        " access_token, refresh_token, token_expires_at, metadata_json, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    returning = " RETURNING credential_type, created_at, updated_at"
    return insert + " ON CONFLICT (id) DO UPDATE SET " + assignments + returning


class SqliteCredentialStore:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    def upsert(self, write: CredentialWrite, audit: AuditEntry) -> WriteResult:
        values = {
            "refresh_token": write.refresh_token,
            "credential_type": write.credential_type,
            "metadata_json": write.metadata_json,
        }
        kept = frozenset(column for column, value in values.items() if value is KEEP)
        stored = {column: (None if value is KEEP else value) for column, value in values.items()}
        with self._db.transaction() as connection:
            row = connection.execute(
                _upsert_sql(kept),
                (
                    write.credential_id,
                    write.developer_id,
                    write.principal_id,
                    write.service,
                    stored["credential_type"],
                    write.access_token,
                    stored["refresh_token"],
                    write.token_expires_at,
                    stored["metadata_json"],
                    write.now,
                    write.now,
                ),
            ).fetchone()
            _insert_audit(connection, audit)
        return WriteResult(credential_type=row[0], created_at=row[1], updated_at=row[2])

    def get(self, developer_id: str, credential_id: str) -> StoredCredential | None:
        rows = self._db.query(
            _SELECT_CREDENTIALS + " WHERE id = ? AND developer_id = ?",
            (credential_id, developer_id),
        )
        return _credential(rows[0]) if rows else None

    def list_page(self, query: PageQuery) -> Sequence[StoredCredential]:
        conditions = ["developer_id = ?"]
        parameters: list[object] = [query.developer_id]
        if query.principal_id is not None:
            conditions.append("principal_id = ?")
            parameters.append(query.principal_id)
        if query.service is not None:
            conditions.append("service = ?")
            parameters.append(query.service)
        if query.after is not None:
            conditions.append("(created_at < ? OR (created_at = ? AND id < ?))")
            parameters += [query.after[0], query.after[0], query.after[1]]
        parameters.append(query.limit)
        rows = self._db.query(
            _SELECT_CREDENTIALS
            + " WHERE "
            + " AND ".join(conditions)
            + " ORDER BY created_at DESC, id DESC LIMIT ?",
            parameters,
        )
        return [_credential(row) for row in rows]

    def delete(self, developer_id: str, credential_id: str, audit_for: AuditFactory) -> bool:
        with self._db.transaction() as connection:
            row = connection.execute(
                "DELETE FROM credentials WHERE id = ? AND developer_id = ?"
                " RETURNING principal_id, service",
                (credential_id, developer_id),
            ).fetchone()
            if row is not None:
                _insert_audit(connection, audit_for(credential_id, row[0], row[1]))
        return row is not None

    def erase(self, developer_id: str, principal_id: str, audit_for: AuditFactory) -> int:
        with self._db.transaction() as connection:
            rows = connection.execute(
                "DELETE FROM credentials WHERE developer_id = ? AND principal_id = ?"
                " RETURNING id, service",
                (developer_id, principal_id),
            ).fetchall()
            for credential_id, service in rows:
                _insert_audit(connection, audit_for(credential_id, principal_id, service))
        return len(rows)

    def exchange_lookup(
        self,
        developer_id: str,
        credential_id: str,
        grant_id: str | None,
        token_id: str,
        parent_grant_id: str | None = None,
    ) -> ExchangeLookup:
        denied = self._db.query(
            "SELECT 1 FROM revoked WHERE (kind = 'token' AND identifier = ?)"
            " OR (kind = 'grant' AND identifier IN (?, ?)) LIMIT 1",
            (token_id, grant_id, parent_grant_id),
        )
        return ExchangeLookup(self.get(developer_id, credential_id), revoked=bool(denied))

    def record(self, audit: AuditEntry) -> None:
        with self._db.transaction() as connection:
            _insert_audit(connection, audit)

    def revoke(self, kind: str, identifier: str, expires_at: int) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                "INSERT INTO revoked (kind, identifier, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (kind, identifier) DO UPDATE SET"
                " expires_at = max(expires_at, excluded.expires_at)",
                (kind, identifier, expires_at),
            )
            if kind == "grant":  # revoked, not merely suspended: no resumption lifts it
                connection.execute(
                    "DELETE FROM grant_suspensions WHERE identifier = ?", (identifier,)
                )

    def audit_entries(self, developer_id: str) -> Sequence[AuditEntry]:
        rows = self._db.query(
            "SELECT entry_id, action, developer_id, actor, credential_id, principal_id,"
            " service, request_id, at, agent, outcome FROM audit WHERE developer_id = ?"
            " ORDER BY at, entry_id",
            (developer_id,),
        )
        return [AuditEntry(*row) for row in rows]


_SELECT_CREDENTIALS = (
    "SELECT id, developer_id, principal_id, service, credential_type, access_token,"
    " refresh_token, token_expires_at, metadata_json, created_at, updated_at FROM credentials"
)


def _credential(row: sqlite3.Row) -> StoredCredential:
    return StoredCredential(
        credential_id=row[0],
        developer_id=row[1],
        principal_id=row[2],
        service=row[3],
        credential_type=row[4] or DEFAULT_CREDENTIAL_TYPE,
        access_token=bytes(row[5]),
        refresh_token=None if row[6] is None else bytes(row[6]),
        token_expires_at=row[7],
        metadata_json=row[8],
        created_at=row[9],
        updated_at=row[10],
    )


def _insert_audit(connection: sqlite3.Connection, entry: AuditEntry) -> None:
    connection.execute(
        "INSERT INTO audit (entry_id, developer_id, action, actor, credential_id,"
        " principal_id, service, request_id, at, agent, outcome)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.entry_id,
            entry.developer_id,
            entry.action,
            entry.actor,
            entry.credential_id,
            entry.principal_id,
            entry.service,
            entry.request_id,
            entry.at,
            entry.agent,
            entry.outcome,
        ),
    )


# Other SQLite adapters write audit rows in their own transactions the same way.
insert_audit = _insert_audit
