from __future__ import annotations

from collections.abc import Sequence

import pytest

from vault.api_keys import ApiKeyAdmin, ApiKeyVerifier, digest, generate, is_well_formed
from vault.errors import Unauthorized
from vault.ports import ApiKeyRecord
from vault.rate_limit import TokenBucketLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class MemoryKeys:
    """A fake of the ApiKeyStore port that counts lookups."""

    def __init__(self) -> None:
        self.records: dict[str, ApiKeyRecord] = {}
        self.finds = 0

    def create(self, record: ApiKeyRecord) -> None:
        self.records[record.digest] = record

    def find(self, key_digest: str) -> ApiKeyRecord | None:
        self.finds += 1
        return self.records.get(key_digest)

    def list(self, developer_id: str | None = None) -> Sequence[ApiKeyRecord]:
        return list(self.records.values())

    def revoke(self, key_id: str, at: int) -> bool:
        for key_digest, record in self.records.items():
            if record.key_id == key_id and record.revoked_at is None:
                self.records[key_digest] = ApiKeyRecord(
                    record.key_id,
                    record.developer_id,
                    record.name,
                    record.digest,
                    record.created_at,
                    at,
                )
                return True
        return False


def test_bucket_allows_the_limit_then_refills():
    clock = Clock()
    limiter = TokenBucketLimiter(60, clock=clock, wall_clock=clock)

    decisions = [limiter.take("k") for _ in range(61)]
    clock.now += 1.0
    after_a_second = limiter.take("k")

    assert all(decision and decision.allowed for decision in decisions[:60])
    assert decisions[60] is not None and not decisions[60].allowed
    assert decisions[60].retry_after == 1 and decisions[60].remaining == 0
    assert after_a_second is not None and after_a_second.allowed
    assert limiter.take("other") is not None


def test_peek_takes_nothing_and_zero_disables():
    limiter = TokenBucketLimiter(1)
    assert limiter.peek("k").allowed and limiter.peek("k").allowed  # type: ignore[union-attr]
    assert TokenBucketLimiter(0).take("k") is None


def test_keys_have_the_documented_shape_and_are_stored_as_digests():
    store = MemoryKeys()
    api_key, record = ApiKeyAdmin(store).create("dev-1", "laptop")

    assert is_well_formed(api_key) and len(api_key) == len("gx_live_") + 43
    assert record.digest == digest(api_key)
    assert api_key not in repr(store.records)
    assert generate() != generate()


def test_verified_keys_are_cached_until_the_ttl_then_revocation_applies():
    store, clock = MemoryKeys(), Clock()
    admin = ApiKeyAdmin(store)
    api_key, record = admin.create("dev-1", "laptop")
    verifier = ApiKeyVerifier(store, cache_seconds=30, clock=clock)

    assert verifier.verify(api_key).developer_id == "dev-1"
    assert verifier.verify(api_key).key_id == record.key_id
    assert store.finds == 1
    admin.revoke(record.key_id)
    clock.now += 29
    assert verifier.verify(api_key).key_id == record.key_id  # still within the TTL
    clock.now += 2
    with pytest.raises(Unauthorized):
        verifier.verify(api_key)


@pytest.mark.parametrize(
    "candidate", ["", "gx_live_short", "gx_test_" + "A" * 43, "gx_live_" + "!" * 43]
)
def test_malformed_keys_are_refused_without_a_lookup(candidate):
    store = MemoryKeys()

    with pytest.raises(Unauthorized):
        ApiKeyVerifier(store, cache_seconds=30).verify(candidate)
    assert store.finds == 0
