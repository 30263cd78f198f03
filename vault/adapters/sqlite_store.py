"""The embedded store: one SQLite file in WAL mode, one connection per thread.

Every store is one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` plus the audit
row, in one transaction. ``synchronous=NORMAL`` (WAL): a power cut may lose the last
commits but never corrupts the file; this backend is for laptops and tests.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from vault.errors import DependencyUnavailable
from vault.ports import (
    DEFAULT_CREDENTIAL_TYPE,
    KEEP,
    ApiKeyRecord,
    AuditEntry,
    AuditFactory,
    CredentialWrite,
    ExchangeLookup,
    PageQuery,
    StoredCredential,
    WriteResult,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS credentials (
    id TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    service TEXT NOT NULL,
    credential_type TEXT,
    access_token BLOB NOT NULL,
    refresh_token BLOB,
    token_expires_at INTEGER,
    metadata_json TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS credentials_by_developer
    ON credentials (developer_id, created_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS audit (
    entry_id TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    credential_id TEXT,
    principal_id TEXT NOT NULL,
    service TEXT,
    request_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    agent TEXT
);
CREATE INDEX IF NOT EXISTS audit_by_developer ON audit (developer_id, at);
CREATE INDEX IF NOT EXISTS credentials_by_principal
    ON credentials (developer_id, principal_id);
CREATE TABLE IF NOT EXISTS revoked (
    kind TEXT NOT NULL,
    identifier TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (kind, identifier)
);
CREATE TABLE IF NOT EXISTS api_keys (
    digest TEXT PRIMARY KEY,
    key_id TEXT NOT NULL UNIQUE,
    developer_id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
"""

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


class SqliteDatabase:
    """Connections and transactions; shared by the credential and key stores."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._local = threading.local()
        try:
            self._connection().executescript(_SCHEMA)
        except sqlite3.OperationalError:
            raise DependencyUnavailable() from None

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            connection = self._connection()
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        except sqlite3.OperationalError:
            raise DependencyUnavailable() from None

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[sqlite3.Row]:
        try:
            return list(self._connection().execute(sql, parameters))
        except sqlite3.OperationalError:
            raise DependencyUnavailable() from None


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
        self, developer_id: str, credential_id: str, grant_id: str | None, token_id: str
    ) -> ExchangeLookup:
        denied = self._db.query(
            "SELECT 1 FROM revoked WHERE (kind = 'token' AND identifier = ?)"
            " OR (kind = 'grant' AND identifier = ?) LIMIT 1",
            (token_id, grant_id),
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

    def audit_entries(self, developer_id: str) -> Sequence[AuditEntry]:
        rows = self._db.query(
            "SELECT entry_id, action, developer_id, actor, credential_id, principal_id,"
            " service, request_id, at, agent FROM audit WHERE developer_id = ?"
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
        " principal_id, service, request_id, at, agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        ),
    )


class SqliteApiKeyStore:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    def create(self, record: ApiKeyRecord) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                "INSERT INTO api_keys (digest, key_id, developer_id, name, created_at,"
                " revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.digest,
                    record.key_id,
                    record.developer_id,
                    record.name,
                    record.created_at,
                    record.revoked_at,
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


_SELECT_KEYS = "SELECT key_id, developer_id, name, digest, created_at, revoked_at FROM api_keys"


def _key(row: sqlite3.Row) -> ApiKeyRecord:
    return ApiKeyRecord(*row)
