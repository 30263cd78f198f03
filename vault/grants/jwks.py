"""The grant issuer's JWKS: fetched, cached, and fetched again (rate-limited)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vault.errors import DependencyUnavailable

# PyJWT (and the X.509 parts of cryptography it loads) and urllib are imported on the
# first exchange, not at start: they are a fifth of a cold start, and most requests
# never need them.

JWKS_TTL_SECONDS = 300.0
REFETCH_INTERVAL_SECONDS = 30.0
_MAX_JWKS_BYTES = 1 << 20
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def fetch_jwks(location: str, timeout: float) -> Callable[[], Any]:
    """A loader for an https URL (plain http only on loopback, for tests) or a file."""
    parsed = urlsplit(location)
    if parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in _LOOPBACK_HOSTS):

        def from_url() -> Any:
            import urllib.request

            request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
                location, headers={"Accept": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
                return json.loads(reply.read(_MAX_JWKS_BYTES))

        return from_url
    if parsed.scheme:
        raise ValueError("VAULT_GRANT_JWKS_URL must be an https URL or a file path")
    path = Path(location)
    return lambda: json.loads(path.read_text())


class JwksCache:
    """The issuer's signing keys. Fetched when first needed, again when older than
    ``JWKS_TTL_SECONDS``, and again when a token names an unknown ``kid``; but never
    more than once per ``REFETCH_INTERVAL_SECONDS``, whether the last attempt worked or
    not, so an issuer outage costs one slow fetch per interval, not one per request.
    While the issuer is unreachable the keys already held stay in use."""

    def __init__(
        self, load: Callable[[], Any], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._load = load
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._loaded_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch, successful or not
        self._lock = threading.Lock()

    def key_for(self, kid: str) -> Any | None:
        if self._wants_fetch(kid, self._clock()):
            with self._lock:
                now = self._clock()
                if self._wants_fetch(kid, now):  # another thread may have just fetched
                    self._fetch(now)
        if not self._keys and self._loaded_at is None:
            raise DependencyUnavailable("the grant issuer's keys are unavailable")
        return self._keys.get(kid)

    def _wants_fetch(self, kid: str, now: float) -> bool:
        if self._attempted_at is None:
            return True
        if now - self._attempted_at <= REFETCH_INTERVAL_SECONDS:
            return False
        stale = self._loaded_at is None or now - self._loaded_at > JWKS_TTL_SECONDS
        return stale or kid not in self._keys

    def _fetch(self, now: float) -> None:
        import http.client

        import jwt
        from jwt.algorithms import RSAAlgorithm

        self._attempted_at = now
        try:
            document = self._load()
            published = document["keys"]
            if not isinstance(published, list):
                raise TypeError("keys is not a list")
        except (OSError, ValueError, TypeError, KeyError, http.client.HTTPException):
            return  # keep serving with the keys we have, if any
        keys: dict[str, Any] = {}
        for jwk in published:
            if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
                continue
            if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
                continue
            if isinstance(jwk.get("kid"), str):
                try:
                    keys[jwk["kid"]] = RSAAlgorithm.from_jwk(jwk)
                except (jwt.PyJWTError, ValueError, KeyError, TypeError):
                    continue
        self._keys = keys
        self._loaded_at = now
