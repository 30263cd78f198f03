"""Token buckets kept in this instance's memory (so limits are per instance).

A bucket holds ``per_minute`` tokens and refills continuously at ``per_minute / 60``
tokens a second; each request takes one. ``per_minute == 0`` disables the limiter.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_MAX_BUCKETS = 100_000


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_epoch: int  # when the bucket is full again
    retry_after: int  # seconds until one token is back (0 when allowed)

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_epoch),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class TokenBucketLimiter:
    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._clock = clock
        self._wall_clock = wall_clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def take(self, key: str) -> RateDecision | None:
        """Take one token for ``key``; ``None`` when the limiter is disabled."""
        return self._decide(key, consume=True)

    def peek(self, key: str) -> RateDecision | None:
        """Would ``take`` be allowed now? Takes nothing."""
        return self._decide(key, consume=False)

    def _decide(self, key: str, consume: bool) -> RateDecision | None:
        if not self.enabled:
            return None
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - updated) * self._rate)
            allowed = tokens >= 1.0
            if consume:
                if allowed:
                    tokens -= 1.0
                if len(self._buckets) >= _MAX_BUCKETS and key not in self._buckets:
                    self._evict_full(now)
                self._buckets[key] = (tokens, now)
        until_full = (self.per_minute - tokens) / self._rate
        return RateDecision(
            allowed=allowed,
            limit=self.per_minute,
            remaining=int(tokens),
            reset_epoch=math.ceil(self._wall_clock() + until_full),
            retry_after=0 if allowed else max(1, math.ceil((1.0 - tokens) / self._rate)),
        )

    def _evict_full(self, now: float) -> None:
        # Buckets that have refilled carry no information; drop them, or all if none.
        full = [
            key
            for key, (tokens, updated) in self._buckets.items()
            if tokens + (now - updated) * self._rate >= self.per_minute
        ]
        for key in full or list(self._buckets):
            del self._buckets[key]
