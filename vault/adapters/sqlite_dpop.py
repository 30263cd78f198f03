"""DPoP proofs already used, in the embedded database: one unique row per (key, jti).

Every process on the data directory shares the table, so a proof replayed to another
worker is refused too. Rows past their ``expires_at`` (the proof's ``iat`` refuses it by
then anyway) are swept every ``_SWEEP_EVERY`` proofs, as Firestore's TTL does there.
"""

from __future__ import annotations

from vault.adapters.sqlite_database import SqliteDatabase
from vault.timefmt import now_micros

_SWEEP_EVERY = 128


class SqliteProofReplayStore:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database
        self._recorded = 0

    def remember(self, thumbprint: str, jti: str, expires_at: int) -> bool:
        self._recorded += 1  # under the GIL; a lost count only delays a sweep
        sweep = self._recorded % _SWEEP_EVERY == 0
        with self._db.transaction() as connection:
            inserted = connection.execute(
                "INSERT OR IGNORE INTO dpop_proofs (thumbprint, jti, expires_at) VALUES (?, ?, ?)",
                (thumbprint, jti, expires_at),
            ).rowcount
            if sweep:
                connection.execute("DELETE FROM dpop_proofs WHERE expires_at <= ?", (now_micros(),))
        return inserted == 1
