"""Developer API keys: ``gx_live_`` + 43 base64url characters (32 random bytes).

Only the SHA-256 digest of a key is stored, and it is the lookup key: a key is found
by its digest, never compared as a secret string, so there is no early-exit
comparison to time. Verified keys are cached per instance for a short TTL, so a warm
instance pays no store round trip per request; a revocation takes effect within it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence

from vault.errors import Unauthorized
from vault.ports import ApiKeyRecord, ApiKeyStore
from vault.timefmt import now_micros

KEY_PREFIX = "gx_live_"
_KEY_SHAPE = re.compile(r"gx_live_[A-Za-z0-9_-]{43}", re.ASCII)
_CACHE_LIMIT = 10_000


def digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("ascii")).hexdigest()


def generate() -> str:
    return KEY_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def is_well_formed(api_key: str) -> bool:
    return _KEY_SHAPE.fullmatch(api_key) is not None


class ApiKeyVerifier:
    def __init__(
        self,
        store: ApiKeyStore,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[ApiKeyRecord, float]] = {}
        self._lock = threading.Lock()

    def verify(self, api_key: str) -> ApiKeyRecord:
        if not is_well_formed(api_key):
            raise Unauthorized(reason="malformed_key")
        key_digest = digest(api_key)
        now = self._clock()
        cached = self._cache.get(key_digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        record = self._store.find(key_digest)
        if record is None or record.revoked_at is not None:
            self._cache.pop(key_digest, None)
            raise Unauthorized(reason="unknown_key" if record is None else "revoked_key")
        if self._ttl > 0:
            with self._lock:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[key_digest] = (record, now + self._ttl)
        return record


class ApiKeyAdmin:
    """What the CLI does with keys; the raw key exists only in ``create``'s result."""

    def __init__(self, store: ApiKeyStore) -> None:
        self._store = store

    def create(self, developer_id: str, name: str) -> tuple[str, ApiKeyRecord]:
        if not developer_id.strip():
            raise ValueError("a developer id is required")
        api_key = generate()
        record = ApiKeyRecord(
            key_id="key_" + secrets.token_hex(8),
            developer_id=developer_id,
            name=name,
            digest=digest(api_key),
            created_at=now_micros(),
            cursor_secret=secrets.token_hex(32),
        )
        self._store.create(record)
        return api_key, record

    def list(self, developer_id: str | None = None) -> Sequence[ApiKeyRecord]:
        return self._store.list(developer_id)

    def revoke(self, key_id: str) -> bool:
        return self._store.revoke(key_id, now_micros())
