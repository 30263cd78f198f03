"""Grant tokens: RS256 JWTs from the grant issuer, verified against its JWKS.

``jwks`` fetches and caches the issuer's keys, ``verifier`` checks a token's signature
and times, ``claims`` reads its claims (Unicode text only), ``scopes`` decides whether
they allow an exchange for a service (``exact`` or ``legacy``).
"""

from vault.grants.claims import GrantClaims
from vault.grants.jwks import (
    JWKS_TTL_SECONDS,
    MIN_RSA_BITS,
    REFETCH_INTERVAL_SECONDS,
    JwksCache,
    fetch_jwks,
)
from vault.grants.scopes import SCOPE_MODES, ScopeMode, allows, ascii_lower, exchange_scope
from vault.grants.verifier import MAX_LEEWAY_SECONDS, VERIFIED_CACHE_SECONDS, GrantVerifier

__all__ = [
    "JWKS_TTL_SECONDS",
    "MAX_LEEWAY_SECONDS",
    "MIN_RSA_BITS",
    "REFETCH_INTERVAL_SECONDS",
    "SCOPE_MODES",
    "VERIFIED_CACHE_SECONDS",
    "GrantClaims",
    "GrantVerifier",
    "JwksCache",
    "ScopeMode",
    "allows",
    "ascii_lower",
    "exchange_scope",
    "fetch_jwks",
]
