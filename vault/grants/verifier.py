"""Grant tokens: RS256 JWTs from the grant issuer, verified against its JWKS.

Only RS256 is accepted (never ``none``, never an HMAC keyed with the public key). The
header's ``kid`` is a hint: the JWKS key with that ``kid``, and when the JWKS has none
(even after a refetch), each of its RSA keys in turn; never a key from anywhere else.
Each refusal is a uniform 401 whose log line names the reason (``reason=``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from vault.errors import Unauthorized
from vault.grants.claims import GrantClaims, is_unicode_text, read_claims
from vault.grants.jwks import JwksCache

MAX_LEEWAY_SECONDS = 30
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
        leeway_seconds: int = 0,
        max_lifetime_seconds: int | None = None,
    ) -> None:
        if not 0 <= leeway_seconds <= MAX_LEEWAY_SECONDS:
            raise ValueError(f"the grant leeway must be 0-{MAX_LEEWAY_SECONDS} seconds")
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._clock = clock
        self._leeway = leeway_seconds
        # VAULT_GRANT_MAX_LIFETIME_SECONDS: how long a denial is kept. A token that lives
        # longer would be honoured again once its denial is dropped: refused instead.
        self._max_lifetime = max_lifetime_seconds
        self._verified: dict[str, tuple[GrantClaims, float]] = {}

    def verify(self, token: str) -> GrantClaims:
        now = self._clock()
        cached = self._verified.get(token)
        if cached is not None and cached[1] > now:
            return cached[0]
        grant, expires_at = self._verify(token)
        if len(self._verified) >= _VERIFIED_CACHE_LIMIT:
            self._verified.clear()
        # The same bound PyJWT applies (exp + leeway), so a cached token is never
        # trusted for longer than checking it again would allow.
        self._verified[token] = (
            grant,
            min(expires_at + self._leeway, now + VERIFIED_CACHE_SECONDS),
        )
        return grant

    def _verify(self, token: str) -> tuple[GrantClaims, float]:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized(reason="malformed_token") from None
        if not is_unicode_text(header):
            raise Unauthorized(reason="malformed_token")
        if header.get("alg") != "RS256":
            raise Unauthorized(reason="bad_algorithm")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Unauthorized(reason="malformed_token")
        candidates = self._keys.candidates(kid)
        if not candidates:
            raise Unauthorized(reason="unknown_kid")
        for key in candidates:
            claims = self._decode(token, key)
            if claims is not None:
                expires_at = float(claims["exp"])
                self._refuse_outliving_its_denial(claims, expires_at)
                return read_claims(claims, int(expires_at * 1_000_000)), expires_at
        raise Unauthorized(reason="bad_signature")

    def _refuse_outliving_its_denial(self, claims: dict[str, Any], expires_at: float) -> None:
        if self._max_lifetime is None:
            return
        try:  # PyJWT has checked iat, when present, is a number
            issued_at = float(claims["iat"]) if "iat" in claims else self._clock()
        except (TypeError, ValueError, OverflowError):
            issued_at = self._clock()
        if expires_at - issued_at > self._max_lifetime:
            raise Unauthorized(reason="lifetime_too_long")

    def _decode(self, token: str, key: Any) -> dict[str, Any] | None:
        """The token's claims if ``key`` signed it, None if it did not; a token that
        this key signed but that is wrong otherwise (expired, other issuer) is refused."""
        import jwt

        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={
                    "require": ["iss", "sub", "exp", "jti"],
                    "verify_aud": self._audience is not None,
                    # the JWKS cache already drops short keys; this holds if it did not
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.InvalidSignatureError:
            return None
        except jwt.PyJWTError as error:
            raise Unauthorized(reason=_reason(error)) from None
        return claims


def _reason(error: Exception) -> str:
    import jwt

    reasons: tuple[tuple[type[Exception], str], ...] = (
        (jwt.ExpiredSignatureError, "expired"),
        (jwt.ImmatureSignatureError, "not_yet_valid"),
        (jwt.InvalidIssuerError, "wrong_issuer"),
        (jwt.InvalidAudienceError, "wrong_audience"),
        (jwt.MissingRequiredClaimError, "bad_claims"),
        (jwt.DecodeError, "malformed_token"),
        (jwt.InvalidKeyError, "weak_key"),
    )
    for kind, reason in reasons:
        if isinstance(error, kind):
            return reason
    return "bad_claims"
