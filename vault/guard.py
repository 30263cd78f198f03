"""Who may come in, and how often: API keys, per-key limits, failed-auth limits.

A client address that keeps failing authentication is turned away with 429 before its
key is even looked up, so guessing keys costs the guesser, not the store.
"""

from __future__ import annotations

from vault.api_keys import ApiKeyVerifier
from vault.errors import RateLimited, Unauthorized
from vault.ports import ApiKeyRecord
from vault.rate_limit import TokenBucketLimiter


class RequestGuard:
    def __init__(
        self,
        verifier: ApiKeyVerifier,
        per_key: TokenBucketLimiter,
        auth_failures: TokenBucketLimiter,
    ) -> None:
        self._verifier = verifier
        self._per_key = per_key
        self._auth_failures = auth_failures

    def admit_api_key(self, token: str | None, client: str) -> tuple[ApiKeyRecord, dict[str, str]]:
        """The caller's key record and the rate-limit headers for its response."""
        self._refuse_if_failing(client)
        try:
            if token is None:
                raise Unauthorized()
            record = self._verifier.verify(token)
        except Unauthorized:
            self._count_failure(client)
            raise
        decision = self._per_key.take("key:" + record.key_id)
        if decision is None:
            return record, {}
        if not decision.allowed:
            raise RateLimited(decision.headers())
        return record, decision.headers()

    def _refuse_if_failing(self, client: str) -> None:
        decision = self._auth_failures.peek("auth:" + client)
        if decision is not None and not decision.allowed:
            raise RateLimited({"Retry-After": str(decision.retry_after)})

    def _count_failure(self, client: str) -> None:
        self._auth_failures.take("auth:" + client)
