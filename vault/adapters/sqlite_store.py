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
    AuditQuery,
    CredentialWrite,
    ExchangeLookup,
    PageQuery,
    RefreshCommit,
    StoredCredential,
    WriteResult,
)

_OPTIONAL_COLUMNS = ("refresh_token", "credential_type", "metadata_json")


@lru_cache(maxsize=8)
def _upsert_sql(kept: frozenset[str]) -> str:
    updated = ["access_token", "token_expires_at", "updated_at"]
    updated += [column for column in _OPTIONAL_COLUMNS if column not in kept]
    assignments = ", ".join(f"{column} = excluded.{column}" for column in updated)
    # A store is a fresh start: status active, no error, no refresh lease.
    assignments += ", status = NULL, last_error = NULL, lease_holder = NULL, lease_until = NULL"
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
        if query.status is not None:
            conditions.append("coalesce(status, 'active') = ?")
            parameters.append(query.status)
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

    def audit_page(self, query: AuditQuery) -> Sequence[AuditEntry]:
        conditions = ["developer_id = ?"]
        parameters: list[object] = [query.developer_id]
        # Column names come from this fixed list, never from input.
        for column, value in (
            ("credential_id", query.credential_id),
            ("principal_id", query.principal_id),
            ("action", query.action),
        ):
            if value is not None:
                conditions.append(f"{column} = ?")
                parameters.append(value)
        if query.since is not None:
            conditions.append("at >= ?")
            parameters.append(query.since)
        if query.after is not None:
            conditions.append("(at < ? OR (at = ? AND entry_id < ?))")
            parameters += [query.after[0], query.after[0], query.after[1]]
        parameters.append(query.limit)
        rows = self._db.query(
            _SELECT_AUDIT
            + " WHERE "
            + " AND ".join(conditions)
            + " ORDER BY at DESC, entry_id DESC LIMIT ?",
            parameters,
        )
        return [AuditEntry(*row) for row in rows]

    def expiring(
        self, before: int, limit: int, after: tuple[int, str] | None
    ) -> Sequence[StoredCredential]:
        conditions = "token_expires_at < ?"
        parameters: list[object] = [before]
        if after is not None:
            conditions += " AND (token_expires_at > ? OR (token_expires_at = ? AND id > ?))"
            parameters += [after[0], after[0], after[1]]
        rows = self._db.query(
            _SELECT_CREDENTIALS + " WHERE " + conditions + " ORDER BY token_expires_at, id LIMIT ?",
            [*parameters, limit],
        )
        return [_credential(row) for row in rows]

    def begin_refresh(self, stored: StoredCredential, holder: str, now: int, until: int) -> object:
        # One UPDATE under the writer lock: it takes the lease only if the record is
        # as it was read and no other holder's lease is still running.
        with self._db.transaction() as connection:
            taken = connection.execute(
                "UPDATE credentials SET lease_holder = ?, lease_until = ?"
                " WHERE id = ? AND developer_id = ? AND updated_at = ?"
                " AND (lease_until IS NULL OR lease_until <= ?)",
                (holder, until, stored.credential_id, stored.developer_id, stored.updated_at, now),
            ).rowcount
        return (stored.updated_at, holder) if taken == 1 else None

    def finish_refresh(self, commit: RefreshCommit, revision: object, audit: AuditEntry) -> bool:
        assert isinstance(revision, tuple)
        assignments = [
            "status = ?",
            "last_error = ?",
            "lease_holder = NULL",
            "lease_until = NULL",
            "updated_at = ?",
        ]
        values: list[object] = [commit.status, commit.last_error, commit.now]
        if commit.access_token is not None:
            assignments += ["access_token = ?", "token_expires_at = ?", "last_refreshed_at = ?"]
            values += [commit.access_token, commit.token_expires_at, commit.now]
            if commit.refresh_token is not KEEP:
                assignments.append("refresh_token = ?")
                values.append(commit.refresh_token)
        with self._db.transaction() as connection:
            changed = connection.execute(
                # Column names from the fixed list above, never from input.
                "UPDATE credentials SET "  # noqa: S608
                + ", ".join(assignments)
                + " WHERE id = ? AND developer_id = ? AND updated_at = ? AND lease_holder = ?",
                (*values, commit.credential_id, commit.developer_id, *revision),
            ).rowcount
            if changed == 1:
                _insert_audit(connection, audit)
        return changed == 1


_SELECT_AUDIT = (
    "SELECT entry_id, action, developer_id, actor, credential_id, principal_id,"
    " service, request_id, at, agent, outcome FROM audit"
)
_SELECT_CREDENTIALS = (
    "SELECT id, developer_id, principal_id, service, credential_type, access_token,"
    " refresh_token, token_expires_at, metadata_json, created_at, updated_at, status,"
    " last_refreshed_at, last_error, lease_holder, lease_until FROM credentials"
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
        status=row[11] or "active",
        last_refreshed_at=row[12],
        last_error=row[13],
        lease_holder=row[14],
        lease_until=row[15],
        revision=(row[10], row[14]),
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
