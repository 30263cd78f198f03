"""Connect sessions in the embedded database. The revision is a version number: a
write is ``UPDATE ... WHERE id = ? AND version = ?`` inside one write transaction, so
of two writers holding the same read exactly one changes the row.

Expired sessions are deleted when a new one is made (SQLite has no TTL)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from typing import Any

from vault.adapters.sqlite_database import SqliteDatabase
from vault.oauth.connect_sessions import ConnectSession
from vault.timefmt import now_micros

_COLUMNS = (
    "id, developer_id, key_id, principal_id, service, scopes_json, redirect_url, status, "
    "created_at, expires_at, credential_id, error, state_digest, sealed_verifier, "
    "opened_at, redeemed_at, version"
)
_KEEP_EXPIRED_MICROS = 86_400 * 1_000_000  # a day, as Firestore's TTL roughly does


class SqliteConnectSessionStore:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    def create(self, session: ConnectSession) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                "DELETE FROM connect_sessions WHERE expires_at < ?",
                (now_micros() - _KEEP_EXPIRED_MICROS,),
            )
            connection.execute(
                f"INSERT INTO connect_sessions ({_COLUMNS}) "  # noqa: S608 - constant columns
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                _values(session),
            )

    def get(self, session_id: str) -> ConnectSession | None:
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM connect_sessions WHERE id = ?",  # noqa: S608 - constant
            (session_id,),
        )
        return _session(rows[0]) if rows else None

    def replace(self, before: ConnectSession, after: ConnectSession) -> ConnectSession | None:
        assert before.session_id == after.session_id
        values = _values(after)[1:]
        with self._db.transaction() as connection:
            cursor = connection.execute(
                "UPDATE connect_sessions SET developer_id = ?, key_id = ?, principal_id = ?, "
                "service = ?, scopes_json = ?, redirect_url = ?, status = ?, created_at = ?, "
                "expires_at = ?, credential_id = ?, error = ?, state_digest = ?, "
                "sealed_verifier = ?, opened_at = ?, redeemed_at = ?, version = version + 1 "
                "WHERE id = ? AND version = ?",
                (*values, before.session_id, before.revision),
            )
        if cursor.rowcount != 1:
            return None
        assert isinstance(before.revision, int)
        return replace(after, revision=before.revision + 1)


def _values(session: ConnectSession) -> tuple[Any, ...]:
    return (
        session.session_id,
        session.developer_id,
        session.key_id,
        session.principal_id,
        session.service,
        json.dumps(list(session.scopes)),
        session.redirect_url,
        session.status,
        session.created_at,
        session.expires_at,
        session.credential_id,
        session.error,
        session.state_digest,
        session.sealed_verifier,
        session.opened_at,
        session.redeemed_at,
    )


def _session(row: sqlite3.Row) -> ConnectSession:
    return ConnectSession(
        session_id=row[0],
        developer_id=row[1],
        key_id=row[2],
        principal_id=row[3],
        service=row[4],
        scopes=tuple(json.loads(row[5])),
        redirect_url=row[6],
        status=row[7],
        created_at=row[8],
        expires_at=row[9],
        credential_id=row[10],
        error=row[11],
        state_digest=row[12],
        sealed_verifier=None if row[13] is None else bytes(row[13]),
        opened_at=row[14],
        redeemed_at=row[15],
        revision=row[16],
    )
