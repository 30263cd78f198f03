"""The grant issuer's JWKS: fetched, cached, and fetched again (rate-limited).

Only RSA signature keys of at least ``MIN_RSA_BITS`` are kept; a weaker key in the
document is ignored, as are symmetric and encryption keys. The URL is fetched without
following redirects: a redirect could lead past the https/loopback rule checked here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vault.errors import DependencyUnavailable
from vault.urls import is_https_or_loopback

# PyJWT (and the X.509 parts of cryptography it loads) and urllib are imported on the
# first exchange, not at start: they are a fifth of a cold start, and most requests
# never need them.

JWKS_TTL_SECONDS = 300.0
REFETCH_INTERVAL_SECONDS = 30.0
MIN_RSA_BITS = 2048
DEFAULT_WAIT_SECONDS = 10.0
_MAX_JWKS_BYTES = 1 << 20


def fetch_jwks(location: str, timeout: float) -> Callable[[], Any]:
    """A loader for an https URL (plain http only on loopback, for tests) or a file.

    The URL's answer must be a 200 from that URL: a redirect is a failed fetch. The
    connection and each read wait at most ``timeout``, and the whole body must arrive
    within ``timeout`` of the first read."""
    parsed = urlsplit(location)
    if is_https_or_loopback(parsed):
        return lambda: _get_json(location, timeout)
    if parsed.scheme:
        raise ValueError("VAULT_GRANT_JWKS_URL must be an https URL or a file path")
    path = Path(location)
    return lambda: json.loads(path.read_text())


def _get_json(location: str, timeout: float) -> Any:
    import urllib.request

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # urllib then raises HTTPError for the 3xx: a failed fetch

    opener = urllib.request.build_opener(NoRedirects)
    request = urllib.request.Request(  # noqa: S310 - fetch_jwks checked the scheme
        location, headers={"Accept": "application/json"}
    )
    with opener.open(request, timeout=timeout) as reply:
        deadline = time.monotonic() + timeout
        body = bytearray()
        while chunk := reply.read(65_536):
            body += chunk
            if len(body) > _MAX_JWKS_BYTES or time.monotonic() > deadline:
                raise ValueError("the JWKS is too large or too slow")
    return json.loads(bytes(body))


@dataclass(frozen=True, slots=True)
class _Keys:
    """One fetch's result, replaced whole so readers never see half of one."""

    by_kid: dict[str, Any] = field(default_factory=dict)
    every: tuple[Any, ...] = ()
    loaded_at: float | None = None  # the last successful fetch


class JwksCache:
    """The issuer's signing keys. Fetched when first needed, again when older than
    ``JWKS_TTL_SECONDS``, and again when a token names an unknown ``kid``; but never
    more than once per ``REFETCH_INTERVAL_SECONDS``, whether the last attempt worked or
    not, so an issuer outage costs one slow fetch per interval, not one per request.
    While the issuer is unreachable the keys already held stay in use.

    One thread fetches at a time, holding the lock. A thread whose answer depends on
    that fetch (no keys yet, or an unknown ``kid``) waits for it, at most
    ``wait_seconds``; a thread that can be answered from the keys held does not wait.
    The attempt is recorded together with its result, never before it: a thread that
    sees "attempted" also sees what the attempt brought."""

    def __init__(
        self,
        load: Callable[[], Any],
        clock: Callable[[], float] = time.monotonic,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
    ) -> None:
        self._load = load
        self._clock = clock
        self._wait_seconds = wait_seconds
        self._keys = _Keys()
        self._attempted_at: float | None = None  # last fetch, successful or not
        self._lock = threading.Lock()

    def candidates(self, kid: str | None) -> tuple[Any, ...]:
        """The key named ``kid``; when the JWKS has none (even after a refetch), every
        key of the JWKS, to be tried in turn: ``kid`` is a hint (the Grantex issuer
        relabels its one key every month). Raises DependencyUnavailable when no fetch
        ever worked."""
        self._refresh(kid)
        keys = self._keys
        if keys.loaded_at is None:
            raise DependencyUnavailable(
                "the grant issuer's keys are unavailable", reason="jwks_unreachable"
            )
        if kid is not None and kid in keys.by_kid:
            return (keys.by_kid[kid],)
        return keys.every

    def _refresh(self, kid: str | None) -> None:
        if not self._wants_fetch(kid, self._clock()):
            return
        keys = self._keys
        needs_result = keys.loaded_at is None or kid not in keys.by_kid
        if needs_result:
            acquired = self._lock.acquire(timeout=self._wait_seconds)
        else:
            acquired = self._lock.acquire(blocking=False)  # serve the keys held meanwhile
        if not acquired:
            return
        try:
            now = self._clock()
            if self._wants_fetch(kid, now):  # the fetch we waited for may have answered
                self._fetch(now)
        finally:
            self._lock.release()

    def _wants_fetch(self, kid: str | None, now: float) -> bool:
        if self._attempted_at is None:
            return True
        if now - self._attempted_at <= REFETCH_INTERVAL_SECONDS:
            return False
        keys = self._keys
        stale = keys.loaded_at is None or now - keys.loaded_at > JWKS_TTL_SECONDS
        return stale or kid not in keys.by_kid

    def _fetch(self, now: float) -> None:
        import http.client

        try:
            document = self._load()
            published = document["keys"]
            if not isinstance(published, list):
                raise TypeError("keys is not a list")
        except (OSError, ValueError, TypeError, KeyError, http.client.HTTPException):
            self._attempted_at = now  # keep serving with the keys we have, if any
            return
        self._keys = _usable_keys(published, now)
        self._attempted_at = now


def _usable_keys(published: list[Any], now: float) -> _Keys:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    by_kid: dict[str, Any] = {}
    every: list[Any] = []
    for jwk in published:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
            continue
        try:
            key = RSAAlgorithm.from_jwk(jwk)
        except (jwt.PyJWTError, ValueError, KeyError, TypeError):
            continue
        if isinstance(key, rsa.RSAPrivateKey):
            key = key.public_key()  # a JWKS has no business publishing one; verify only
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
            continue
        every.append(key)
        kid = jwk.get("kid")
        if isinstance(kid, str) and kid not in by_kid:
            by_kid[kid] = key
    return _Keys(by_kid=by_kid, every=tuple(every), loaded_at=now)
