"""Credential references in the embedded database: one row each, with its audit row in
the same transaction. Expired rows are dropped as new ones are made."""

from __future__ import annotations

from vault.adapters.sqlite_database import SqliteDatabase
from vault.adapters.sqlite_store import insert_audit
from vault.errors import NotFound
from vault.ports import AuditEntry, CredentialReference, ResolveLookup

_COLUMNS = (
    "id, developer_id, credential_id, principal_id, service, grant_id, parent_grant_id,"
    " agent, token_id, created_at, expires_at, resolved_count, last_resolved_at"
)
_PRUNE_BATCH = 500


class SqliteReferenceStore:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    def create(self, reference: CredentialReference, audit: AuditEntry) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                "DELETE FROM credential_refs WHERE id IN (SELECT id FROM credential_refs"
                " WHERE expires_at < ? LIMIT ?)",
                (reference.created_at, _PRUNE_BATCH),
            )
            connection.execute(
                f"INSERT INTO credential_refs ({_COLUMNS})"  # noqa: S608 - fixed column list
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    reference.reference_id,
                    reference.developer_id,
                    reference.credential_id,
                    reference.principal_id,
                    reference.service,
                    reference.grant_id,
                    reference.parent_grant_id,
                    reference.agent,
                    reference.token_id,
                    reference.created_at,
                    reference.expires_at,
                    reference.resolved_count,
                    reference.last_resolved_at,
                ),
            )
            insert_audit(connection, audit)

    def resolve_lookup(self, developer_id: str, reference_id: str, grant_id: str) -> ResolveLookup:
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM credential_refs"  # noqa: S608 - fixed column list
            " WHERE id = ? AND developer_id = ?",
            (reference_id, developer_id),
        )
        if not rows:
            return ResolveLookup(None, grant_revoked=False)
        reference = CredentialReference(*rows[0])
        denied = self._db.query(
            "SELECT 1 FROM revoked WHERE kind = 'grant' AND identifier IN (?, ?) LIMIT 1",
            (grant_id, reference.parent_grant_id),
        )
        return ResolveLookup(reference, grant_revoked=bool(denied))

    def record_resolution(self, reference_id: str, audit: AuditEntry) -> None:
        with self._db.transaction() as connection:
            updated = connection.execute(
                "UPDATE credential_refs SET resolved_count = resolved_count + 1,"
                " last_resolved_at = ? WHERE id = ?",
                (audit.at, reference_id),
            ).rowcount
            if not updated:
                raise NotFound("no such credential reference")
            insert_audit(connection, audit)
