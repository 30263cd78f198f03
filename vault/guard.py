"""Who may come in, and how often: API keys, grant tokens, and their rate limits.

A client address that keeps failing authentication is turned away with 429 before its
credential is even checked, so guessing keys costs the guesser, not the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from vault.api_keys import ApiKeyVerifier
from vault.errors import RateLimited, Unauthorized
from vault.grants import GrantClaims, GrantVerifier
from vault.ports import ApiKeyRecord
from vault.rate_limit import TokenBucketLimiter, client_bucket

_Principal = TypeVar("_Principal")


class RequestGuard:
    def __init__(
        self,
        api_keys: ApiKeyVerifier,
        grants: GrantVerifier,
        per_key: TokenBucketLimiter,
        per_grant: TokenBucketLimiter,
        auth_failures: TokenBucketLimiter,
    ) -> None:
        self._api_keys = api_keys
        self._grants = grants
        self._per_key = per_key
        self._per_grant = per_grant
        self._auth_failures = auth_failures

    def admit_api_key(self, token: str | None, client: str) -> tuple[ApiKeyRecord, dict[str, str]]:
        """The caller's key record and the rate-limit headers for its response."""
        record = self._authenticate(self._api_keys.verify, token, client)
        return record, self._limit(self._per_key, "key:" + record.key_id)

    def admit_grant(
        self,
        token: str | None,
        client: str,
        confirm: Callable[[GrantClaims], None] | None = None,
    ) -> tuple[GrantClaims, dict[str, str]]:
        """``confirm`` checks what else the token demands (a DPoP proof): part of the
        authentication, so its refusals count as failures and come before the limit."""

        def verify(presented: str) -> GrantClaims:
            claims = self._grants.verify(presented)
            if confirm is not None:
                confirm(claims)
            return claims

        claims = self._authenticate(verify, token, client)
        return claims, self._limit(self._per_grant, claims.limiter_key)

    def admit_signed(self, verify: Callable[[], None], client: str) -> None:
        """A request authenticated by its signature (a webhook delivery): ``verify``
        raises Unauthorized; failures count against the client address."""

        def check(_: str) -> None:
            verify()

        self._authenticate(check, "", client)

    def _authenticate(
        self, verify: Callable[[str], _Principal], token: str | None, client: str
    ) -> _Principal:
        bucket = "auth:" + client_bucket(client)
        failures = self._auth_failures.peek(bucket)
        if failures is not None and not failures.allowed:
            raise RateLimited({"Retry-After": str(failures.retry_after)}, reason="auth_failures")
        try:
            if token is None:
                raise Unauthorized(reason="missing")
            return verify(token)
        except Unauthorized:
            self._auth_failures.take(bucket)
            raise

    @staticmethod
    def _limit(limiter: TokenBucketLimiter, key: str) -> dict[str, str]:
        decision = limiter.take(key)
        if decision is None:
            return {}
        if not decision.allowed:
            raise RateLimited(decision.headers())
        return decision.headers()
