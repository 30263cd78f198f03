"""Grant tokens: RS256 JWTs from the grant issuer, verified against its JWKS.

Only RS256 is accepted (never ``none``, never an HMAC keyed with the public key); the
header's ``kid`` must name one RSA key of the issuer's JWKS. The JWKS is cached for
``JWKS_TTL_SECONDS`` and fetched again, at most once per ``REFETCH_INTERVAL_SECONDS``,
when a token names a ``kid`` the cache does not know (the issuer rotated its keys).
"""

from vault.grants.claims import GrantClaims
from vault.grants.jwks import JWKS_TTL_SECONDS, REFETCH_INTERVAL_SECONDS, JwksCache, fetch_jwks
from vault.grants.scopes import allows
from vault.grants.verifier import LEEWAY_SECONDS, VERIFIED_CACHE_SECONDS, GrantVerifier

__all__ = [
    "JWKS_TTL_SECONDS",
    "LEEWAY_SECONDS",
    "REFETCH_INTERVAL_SECONDS",
    "VERIFIED_CACHE_SECONDS",
    "GrantClaims",
    "GrantVerifier",
    "JwksCache",
    "allows",
    "fetch_jwks",
]
