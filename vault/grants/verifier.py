"""Grant tokens: RS256 JWTs from the grant issuer, verified against its JWKS.

Only RS256 is accepted (never ``none``, never an HMAC keyed with the public key); the
header's ``kid`` must name one RSA key of the issuer's JWKS.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from vault.errors import Unauthorized
from vault.grants.claims import GrantClaims, read_claims
from vault.grants.jwks import JwksCache

LEEWAY_SECONDS = 30
# A token verified once is trusted again without its RSA check until it expires (plus
# the leeway), or for this long, whichever comes first. This does not lengthen the trust
# in a key withdrawn from the JWKS, which the JWKS cache keeps for JWKS_TTL_SECONDS
# anyway; and revocation is unaffected: an exchange reads both denylists every time.
VERIFIED_CACHE_SECONDS = 60.0
_VERIFIED_CACHE_LIMIT = 10_000


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
        return read_claims(claims), float(claims["exp"])
