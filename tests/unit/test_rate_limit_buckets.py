"""Failed-authentication buckets: IPv6 clients are keyed by their /64, and eviction at
the bucket limit never hands a limited client a fresh budget."""

from __future__ import annotations

import os

import pytest

from tests.support.http_app import PATH, make_client
from vault.rate_limit import TokenBucketLimiter, client_bucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_addresses_of_one_ipv6_64_share_a_bucket() -> None:
    same = {client_bucket(f"2001:db8:1:2::{n:x}") for n in range(1, 9)}
    same.add(client_bucket("2001:db8:1:2:ffff:ffff:ffff:ffff"))

    assert same == {"2001:db8:1:2::/64"}
    assert client_bucket("2001:db8:1:3::1") != client_bucket("2001:db8:1:2::1")
    assert client_bucket("198.51.100.7") == "198.51.100.7"
    assert client_bucket("::ffff:198.51.100.7") == "198.51.100.7"
    assert client_bucket("unknown") == "unknown"


def test_eight_addresses_of_one_64_do_not_get_eight_budgets(
    backend_env: dict[str, str],
) -> None:
    os.environ["VAULT_AUTH_FAILURES_PER_MINUTE"] = "3"
    os.environ["VAULT_TRUSTED_PROXY_HOPS"] = "1"
    client = make_client()
    wrong = {"Authorization": "Bearer gx_live_" + "B" * 43}

    statuses = [
        client.get(PATH, headers={**wrong, "X-Forwarded-For": f"2001:db8:7:7::{n}"}).status_code
        for n in range(1, 9)
    ]
    neighbour = client.get(PATH, headers={**wrong, "X-Forwarded-For": "2001:db8:7:8::1"})

    assert statuses == [401, 401, 401, 429, 429, 429, 429, 429]
    assert neighbour.status_code == 401  # another /64 has its own budget


def test_eviction_at_the_limit_keeps_every_limiting_bucket() -> None:
    clock = Clock()
    limiter = TokenBucketLimiter(2, clock=clock, wall_clock=clock, max_buckets=10)
    for number in range(10):  # ten clients, each out of tokens: all limiting, none full
        for _ in range(2):
            limiter.take(f"attacker-{number}")

    for number in range(50):  # a flood of new keys at the bucket limit
        limiter.take(f"fresh-{number}")

    assert all(not limiter.peek(f"attacker-{n}").allowed for n in range(10))  # type: ignore[union-attr]


def test_eviction_drops_full_and_then_the_fullest_non_limiting_buckets() -> None:
    clock = Clock()
    limiter = TokenBucketLimiter(60, clock=clock, wall_clock=clock, max_buckets=10)
    for number in range(5):
        for _ in range(60):
            limiter.take(f"limited-{number}")  # empty: limiting
    for number in range(5):
        for _ in range(number + 1):
            limiter.take(f"partly-{number}")  # some tokens left: not limiting, not full

    limiter.take("newcomer")

    assert all(not limiter.peek(f"limited-{n}").allowed for n in range(5))  # type: ignore[union-attr]
    # The fullest of the others (partly-0, one token used) made room for the newcomer.
    assert limiter.peek("partly-0").remaining == 60  # type: ignore[union-attr]
    assert limiter.peek("partly-4").remaining == 55  # type: ignore[union-attr]
    assert limiter.peek("newcomer").remaining == 59  # type: ignore[union-attr]


@pytest.mark.parametrize("limit", [1, 3])
def test_a_limited_key_stays_limited_when_the_table_is_full(limit: int) -> None:
    clock = Clock()
    limiter = TokenBucketLimiter(limit, clock=clock, wall_clock=clock, max_buckets=1)
    for _ in range(limit):
        limiter.take("attacker")

    limiter.take("someone-else")

    assert not limiter.peek("attacker").allowed  # type: ignore[union-attr]
