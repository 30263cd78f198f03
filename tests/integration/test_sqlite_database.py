"""The embedded database's own duties: checkpointing the WAL outside the writer locks,
and serialising writers across threads without losing any."""

from __future__ import annotations

import threading
from pathlib import Path

from vault.adapters import sqlite_database
from vault.adapters.sqlite_database import SqliteDatabase


def write_rows(database: SqliteDatabase, count: int, prefix: str) -> None:
    for index in range(count):
        with database.transaction() as connection:
            connection.execute(
                "INSERT INTO revoked (kind, identifier, expires_at) VALUES ('token', ?, 0)",
                (f"{prefix}-{index}",),
            )


def test_the_wal_is_checkpointed_into_the_database_file(tmp_path: Path):
    database = SqliteDatabase(tmp_path / "vault.sqlite3")
    empty_size = (tmp_path / "vault.sqlite3").stat().st_size

    write_rows(database, sqlite_database._CHECKPOINT_EVERY * 2, "row")

    assert (tmp_path / "vault.sqlite3").stat().st_size > empty_size
    rows = database.query("SELECT count(*) FROM revoked")
    assert rows[0][0] == sqlite_database._CHECKPOINT_EVERY * 2


def test_concurrent_writers_from_many_threads_all_commit(tmp_path: Path):
    database = SqliteDatabase(tmp_path / "vault.sqlite3")
    threads = [
        threading.Thread(target=write_rows, args=(database, 50, f"t{number}"))
        for number in range(8)
    ]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert database.query("SELECT count(*) FROM revoked")[0][0] == 400
