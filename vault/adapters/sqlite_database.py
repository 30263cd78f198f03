"""The embedded database: one SQLite file in WAL mode, one connection per thread.

``synchronous=NORMAL`` (WAL): a power cut may lose the last commits but never corrupts
the file; this backend is for laptops and tests. Disk and lock errors surface as
``DependencyUnavailable`` (503), and a failed transaction is rolled back whole.

Writers queue on a lock of their own (a thread lock, then ``flock`` on a file beside the
database, for the other worker processes) before ``BEGIN IMMEDIATE``. SQLite's busy
handler would also serialise them, but by sleeping and polling (up to 100 ms a nap),
which turns contention into long latency tails; a blocking lock hands over at once.
Readers never wait: WAL lets them read while one writer writes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from vault.adapters.secret_files import private_file, secure_directory
from vault.errors import DependencyUnavailable

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
    agent TEXT,
    outcome TEXT
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
    revoked_at INTEGER,
    cursor_secret TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS credential_refs (
    id TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    service TEXT NOT NULL,
    grant_id TEXT NOT NULL,
    parent_grant_id TEXT,
    agent TEXT,
    token_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    resolved_count INTEGER NOT NULL DEFAULT 0,
    last_resolved_at INTEGER
);
CREATE INDEX IF NOT EXISTS credential_refs_by_expiry ON credential_refs (expires_at);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_expiry ON webhook_deliveries (expires_at);
CREATE INDEX IF NOT EXISTS revoked_by_expiry ON revoked (expires_at);
CREATE TABLE IF NOT EXISTS dpop_proofs (
    thumbprint TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (thumbprint, jti)
);
CREATE INDEX IF NOT EXISTS dpop_proofs_by_expiry ON dpop_proofs (expires_at);
CREATE TABLE IF NOT EXISTS vault_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_newest_first
    ON audit (developer_id, at DESC, entry_id DESC);
CREATE TABLE IF NOT EXISTS providers (
    developer_id TEXT NOT NULL,
    service TEXT NOT NULL,
    config_json TEXT NOT NULL,
    client_secret BLOB,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (developer_id, service)
);
CREATE TABLE IF NOT EXISTS connect_sessions (
    id TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    service TEXT NOT NULL,
    scopes_json TEXT NOT NULL,
    redirect_url TEXT,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    credential_id TEXT,
    error TEXT,
    state_digest TEXT,
    sealed_verifier BLOB,
    opened_at INTEGER,
    redeemed_at INTEGER,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS connect_sessions_by_expiry ON connect_sessions (expires_at);
CREATE TABLE IF NOT EXISTS grant_suspensions (
    identifier TEXT PRIMARY KEY
);
"""

# Columns added to credentials after the first release (managed refresh): an older data
# dir gains them on open. NULL status reads as `active`.
_REFRESH_COLUMNS = (
    ("status", "TEXT"),
    ("last_refreshed_at", "INTEGER"),
    ("last_error", "TEXT"),
    ("lease_holder", "TEXT"),
    ("lease_until", "INTEGER"),
)


_CHECKPOINT_EVERY = 256  # commits of this process between two passive checkpoints


class SqliteDatabase:
    """Connections and transactions; shared by the credential and key stores."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # The directory the owner's alone, the file 0600 before SQLite opens it: SQLite
        # creates files 0644, and gives the -wal and -shm files the database's mode.
        secure_directory(path.parent)
        private_file(path)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._lock_path = path.with_name(path.name + ".write-lock")
        self._lock_file: tuple[int, int] | None = None  # (pid, fd): flock is per process
        self._commits = 0
        try:
            connection = self._connection()
            connection.executescript(_SCHEMA)
            columns = {row[1] for row in connection.execute("PRAGMA table_info(api_keys)")}
            if "cursor_secret" not in columns:  # a data dir from before cursor secrets
                connection.execute(
                    "ALTER TABLE api_keys ADD COLUMN cursor_secret TEXT NOT NULL DEFAULT ''"
                )
            columns = {row[1] for row in connection.execute("PRAGMA table_info(audit)")}
            if "outcome" not in columns:  # a data dir from before audit outcomes
                connection.execute("ALTER TABLE audit ADD COLUMN outcome TEXT")
            columns = {row[1] for row in connection.execute("PRAGMA table_info(credentials)")}
            for name, kind in _REFRESH_COLUMNS:
                if name not in columns:  # names and types from the fixed tuple above
                    connection.execute(f"ALTER TABLE credentials ADD COLUMN {name} {kind}")
        except sqlite3.OperationalError:
            raise DependencyUnavailable(reason="disk_unavailable") from None

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            # Never checkpoint inside COMMIT: that copies the WAL into the database and
            # fsyncs it while every writer waits on the locks. transaction() runs a
            # passive checkpoint after releasing them instead.
            connection.execute("PRAGMA wal_autocheckpoint=0")
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._locked_transaction() as connection:
            yield connection
        self._commits += 1  # under the GIL; an occasional lost count is harmless
        if self._commits % _CHECKPOINT_EVERY == 0:
            # Outside the locks, so other writers go on meanwhile; one that fails (busy,
            # disk) is left to the next.
            with contextlib.suppress(sqlite3.OperationalError):
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @contextmanager
    def _locked_transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            descriptor = self._process_lock_descriptor()
            fcntl.flock(descriptor, fcntl.LOCK_EX)
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
                raise DependencyUnavailable(reason="disk_unavailable") from None
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)

    def _process_lock_descriptor(self) -> int:
        # Opened in this process: a descriptor inherited across fork shares its lock.
        pid = os.getpid()
        if self._lock_file is None or self._lock_file[0] != pid:
            descriptor = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._lock_file = (pid, descriptor)
        return self._lock_file[1]

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[sqlite3.Row]:
        try:
            return list(self._connection().execute(sql, parameters))
        except sqlite3.OperationalError:
            raise DependencyUnavailable(reason="disk_unavailable") from None
