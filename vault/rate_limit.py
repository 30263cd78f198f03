"""Token buckets kept in this instance's memory (so limits are per instance).

A bucket holds ``per_minute`` tokens and refills continuously at ``per_minute / 60``
tokens a second; each request takes one. ``per_minute == 0`` disables the limiter.

At most ``max_buckets`` buckets are kept. When a new key finds them all taken, full
buckets go first (they carry no information), then the fullest of those not limiting;
a bucket that is limiting (less than one token) is never dropped, since dropping it
would hand its key a fresh budget. When every bucket is limiting the new key is decided
on a fresh bucket that is not kept.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_MAX_BUCKETS = 100_000
_IPV6_PREFIX = 64  # one subscriber usually holds a whole /64


def client_bucket(address: str) -> str:
    """The bucket key of a client address: an IPv6 address by its /64 (anyone holding
    one address of a /64 holds the other 2**64), anything else as it is."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, _IPV6_PREFIX), strict=False))
    return str(parsed)


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
        max_buckets: int = _MAX_BUCKETS,
    ) -> None:
        self.per_minute = per_minute
        self._max_buckets = max_buckets
        self._nothing_to_evict_until = float("-inf")
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
                if len(self._buckets) >= self._max_buckets and key not in self._buckets:
                    self._evict(now)
                if len(self._buckets) < self._max_buckets or key in self._buckets:
                    self._buckets[key] = (tokens, now)
        until_full = (self.per_minute - tokens) / self._rate
        return RateDecision(
            allowed=allowed,
            limit=self.per_minute,
            remaining=int(tokens),
            reset_epoch=math.ceil(self._wall_clock() + until_full),
            retry_after=0 if allowed else max(1, math.ceil((1.0 - tokens) / self._rate)),
        )

    def _evict(self, now: float) -> None:
        if now < self._nothing_to_evict_until:  # every bucket was limiting a moment ago
            return
        levels = {
            key: tokens + (now - updated) * self._rate
            for key, (tokens, updated) in self._buckets.items()
        }
        doomed = [key for key, level in levels.items() if level >= self.per_minute]
        if not doomed:
            spare = [key for key, level in levels.items() if level >= 1.0]
            spare.sort(key=levels.__getitem__, reverse=True)
            doomed = spare[: max(1, len(levels) // 10)]
        if not doomed:
            # The soonest a limiting bucket can hold a token again.
            self._nothing_to_evict_until = now + (1.0 - max(levels.values())) / self._rate
        for key in doomed:
            del self._buckets[key]
