"""Following the issuer's revocation feed into the vault's denylists.

The grantex SDK's ``RevocationFeed`` speaks the protocol (``GET /v1/revocations``
snapshot pages, then the ``/v1/revocations/stream`` server-sent events from the
snapshot's cursor, reconnects with back-off, staleness on a monotonic clock). It keeps
what it hears in an in-memory ``RevokedSet``; the vault gives it a set that also writes
every entry to the store, so every instance's exchange sees it, and keeps the feed's
cursor in the store, so a restart resumes the stream instead of starting over.

What each entry does: ``revoked`` and ``suspended`` deny the grant, ``resumed`` lifts
a suspension (never a revocation, whoever made it), ``token_revoked`` denies the token
(``jti``). An entry lives until its
``expiresAt`` (the credential's own expiry), at most VAULT_GRANT_MAX_LIFETIME_SECONDS.
A grant resumed while this command was not running stays denied until the next
``resumed`` entry or its expiry: failing closed, never open.

This subclasses two private hooks of the SDK class (its set, and the snapshot step, to
resume from the stored cursor); ``grantex`` is pinned in requirements.txt for that.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from vault.keys.ports import StateStore
from vault.ports import Denial, RevocationStore
from vault.timefmt import now_micros, to_micros

if TYPE_CHECKING:
    from grantex.revocations import RevocationEntry

CURSOR_STATE = "revocations.cursor"


class StoreSink:
    """Writes feed entries to the store; counts what it applied."""

    def __init__(self, store: RevocationStore, state: StateStore, keep_seconds: int) -> None:
        self._store = store
        self._state = state
        self._keep = keep_seconds * 1_000_000
        self._lock = threading.Lock()
        self.applied = 0

    def write(self, entries: Iterable[RevocationEntry]) -> None:
        now = now_micros()
        denials: list[Denial] = []
        for entry in entries:
            until = min(_micros(entry.expires_at, now + self._keep), now + self._keep)
            if until <= now:
                continue  # what it denied cannot be used any more
            if entry.action in ("revoked", "suspended") and entry.grant_id:
                suspension = entry.action == "suspended"
                denials.append(Denial("grant", entry.grant_id, until, suspension=suspension))
            elif entry.action == "token_revoked" and entry.jti:
                denials.append(Denial("token", entry.jti, until))
            elif entry.action == "resumed" and entry.grant_id:
                self._flush(denials)
                denials = []
                self._store.allow("grant", entry.grant_id)
                self._count(1)
        self._flush(denials)

    def _flush(self, denials: list[Denial]) -> None:
        if denials:
            self._store.deny(denials)
            self._count(len(denials))

    def _count(self, number: int) -> None:
        with self._lock:
            self.applied += number

    def cursor(self) -> int | None:
        saved = self._state.load(CURSOR_STATE)
        cursor = None if saved is None else saved.get("cursor")
        return cursor if isinstance(cursor, int) and not isinstance(cursor, bool) else None

    def save_cursor(self, cursor: int) -> None:
        self._state.save(CURSOR_STATE, {"cursor": cursor})


def _micros(text: str | None, default: int) -> int:
    if not text:
        return default
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return default
    return default if moment.tzinfo is None else to_micros(moment)


def open_feed(base_url: str, api_key: str, sink: StoreSink, stale_after: float) -> Any:
    """A started-on-demand ``RevocationFeed`` writing into ``sink``."""
    from grantex.revocations import RevocationFeed, RevokedSet

    class _StoreBackedSet(RevokedSet):  # type: ignore[misc]
        # Every path in (a streamed event, a snapshot's replace_all, a poll's
        # apply_all) goes through apply().
        def apply(self, entry: RevocationEntry) -> None:
            super().apply(entry)
            sink.write([entry])

    class _ResumingFeed(RevocationFeed):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(base_url, api_key, stale_after=stale_after)
            self._set = _StoreBackedSet()
            self._resume_from = sink.cursor()

        def _snapshot(self, client: Any) -> None:
            if self._resume_from is not None:
                # The store holds everything up to this cursor: stream from there.
                with self._lock:
                    self._cursor = self._resume_from
                    self._synced = True
                self._resume_from = None
                self._touch()
                return
            super()._snapshot(client)
            sink.save_cursor(self.state().cursor)

        def _handle_event(self, event: str, data: str) -> None:
            before = self.state().cursor
            super()._handle_event(event, data)
            after = self.state().cursor
            if after > before:
                sink.save_cursor(after)

    return _ResumingFeed()
