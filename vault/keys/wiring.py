"""Which sealed-record sources and which state store a backend has: the rewrap's part
of the composition root (imported only by the key commands and their tests).

Credentials and provider client secrets are under rewrap; to bring another kind of
sealed data under it, add its ``SealedRecordSource`` adapter to both lists below.
"""

from __future__ import annotations

from collections.abc import Sequence

from vault.config import Settings
from vault.keys.ports import SealedRecordSource, StateStore


def sealed_sources(settings: Settings) -> tuple[Sequence[SealedRecordSource], StateStore]:
    sources: list[SealedRecordSource]
    if settings.backend == "local":
        from vault.adapters.sqlite_database import SqliteDatabase
        from vault.adapters.sqlite_sealed import (
            SqliteCredentialSource,
            SqliteProviderSecretSource,
            SqliteStateStore,
        )

        database = SqliteDatabase(settings.data_dir / "vault.sqlite3")
        sources = [
            SqliteCredentialSource(database),
            SqliteProviderSecretSource(database),
        ]
        return sources, SqliteStateStore(database)

    from google.cloud import firestore

    from vault.adapters.firestore_gateway import FirestoreGateway
    from vault.adapters.firestore_sealed import (
        FirestoreCredentialSource,
        FirestoreProviderSecretSource,
        FirestoreStateStore,
    )

    gateway = FirestoreGateway(
        firestore.Client(project=settings.project, database=settings.firestore_database),
        settings.rpc_timeout_seconds,
    )
    sources = [FirestoreCredentialSource(gateway), FirestoreProviderSecretSource(gateway)]
    return sources, FirestoreStateStore(gateway)
