"""Grant tokens: RS256 JWTs from the grant issuer, verified against its JWKS.

Only RS256 is accepted (never ``none``, never an HMAC keyed with the public key); the
header's ``kid`` must name one RSA key of the issuer's JWKS. The JWKS is cached for
``JWKS_TTL_SECONDS`` and fetched again, at most once per ``REFETCH_INTERVAL_SECONDS``,
when a token names a ``kid`` the cache does not know (the issuer rotated its keys).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vault.errors import DependencyUnavailable, Unauthorized

# PyJWT (and the X.509 parts of cryptography it loads) and urllib are imported on the
# first exchange, not at start: they are a fifth of a cold start, and most requests
# never need them.

LEEWAY_SECONDS = 30
JWKS_TTL_SECONDS = 300.0
REFETCH_INTERVAL_SECONDS = 30.0
# A token verified once is trusted again without its RSA check until it expires (plus
# the leeway), or for this long, whichever comes first. This does not lengthen the trust
# in a key withdrawn from the JWKS, which the JWKS cache keeps for JWKS_TTL_SECONDS
# anyway; and revocation is unaffected: an exchange reads both denylists every time.
VERIFIED_CACHE_SECONDS = 60.0
_VERIFIED_CACHE_LIMIT = 10_000
_MAX_JWKS_BYTES = 1 << 20
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, slots=True)
class GrantClaims:
    developer_id: str  # dev
    principal_id: str  # sub
    scopes: tuple[str, ...]  # scp, lower-cased
    token_id: str  # jti
    grant_id: str | None  # grnt
    agent: str | None  # agt
    parent_grant_id: str | None = None  # parentGrnt, on delegated grants
    key_thumbprint: str | None = None  # cnf.jkt: the token is bound to this DPoP key

    @property
    def limiter_key(self) -> str:
        return "grant:" + (self.grant_id or "jti:" + self.token_id)


def allows(scopes: tuple[str, ...], service: str) -> bool:
    """CONTRACT.md's scope forms for service ``s``, compared lower-case."""
    accepted = {
        "*",
        f"{service}:*",
        f"{service}:read",
        f"{service}:credentials:read",
        f"vault:{service}:*",
        f"vault:{service}:read",
        "vault:credentials:exchange",
    }
    return any(scope in accepted for scope in scopes)


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
        # Until a first fetch has worked, take the lock even when no fetch is due: a
        # fetch in flight on another thread then finishes before we look at the keys
        # (otherwise concurrent first requests were 503 while it ran).
        if self._loaded_at is None or self._wants_fetch(kid, self._clock()):
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


class GrantVerifier:
    def __init__(
        self,
        keys: JwksCache,
        issuer: str,
        audience: str | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._clock = clock
        self._verified: dict[str, tuple[GrantClaims, float]] = {}

    def verify(self, token: str) -> GrantClaims:
        now = self._clock()
        cached = self._verified.get(token)
        if cached is not None and cached[1] > now:
            return cached[0]
        grant, expires_at = self._verify(token)
        if len(self._verified) >= _VERIFIED_CACHE_LIMIT:
            self._verified.clear()
        self._verified[token] = (
            grant,
            min(expires_at + LEEWAY_SECONDS, now + VERIFIED_CACHE_SECONDS),
        )
        return grant

    def _verify(self, token: str) -> tuple[GrantClaims, float]:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized() from None
        kid = header.get("kid")
        if header.get("alg") != "RS256" or not isinstance(kid, str):
            raise Unauthorized()
        key = self._keys.key_for(kid)
        if key is None:
            raise Unauthorized()
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                issuer=self._issuer,
                audience=self._audience,
                leeway=LEEWAY_SECONDS,
                options={
                    "require": ["iss", "sub", "exp", "jti"],
                    "verify_aud": self._audience is not None,
                },
            )
        except jwt.PyJWTError:
            raise Unauthorized() from None
        return _claims(claims), float(claims["exp"])


def _claims(claims: dict[str, Any]) -> GrantClaims:
    def text(name: str, required: bool = True) -> str | None:
        value = claims.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise Unauthorized()
        return value

    scopes = claims.get("scp")
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise Unauthorized()
    return GrantClaims(
        developer_id=text("dev") or "",
        principal_id=text("sub") or "",
        scopes=tuple(scope.lower() for scope in scopes),
        token_id=text("jti") or "",
        grant_id=text("grnt", required=False),
        agent=text("agt", required=False),
        parent_grant_id=text("parentGrnt", required=False),
        key_thumbprint=_thumbprint(claims.get("cnf")),
    )


def _thumbprint(confirmation: Any) -> str | None:
    """``cnf.jkt`` (RFC 9449 section 6.1), or None for a bearer token."""
    if confirmation is None:
        return None
    if not isinstance(confirmation, dict):
        raise Unauthorized()
    jkt = confirmation.get("jkt")
    if jkt is None:
        return None
    if not isinstance(jkt, str) or not jkt:
        raise Unauthorized()
    return jkt
