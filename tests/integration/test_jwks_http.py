"""The issuer's JWKS served over HTTP on loopback: fetched, cached, fetched again when
a token names an unknown kid (at most once per interval), and kept when the issuer
is briefly unreachable."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.issuer import ISSUER, TestIssuer, new_rsa_key, public_jwk
from tests.support.jwks_server import JwksServer
from vault.errors import DependencyUnavailable, Unauthorized
from vault.grants import (
    JWKS_TTL_SECONDS,
    REFETCH_INTERVAL_SECONDS,
    VERIFIED_CACHE_SECONDS,
    GrantVerifier,
    JwksCache,
    fetch_jwks,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


def verifier_for(served: JwksServer, clock: Clock) -> GrantVerifier:
    return GrantVerifier(JwksCache(fetch_jwks(served.url, 2.0), clock), ISSUER, None)


def test_fetches_once_then_serves_from_cache(served, issuer: TestIssuer):
    served.document = {"keys": [public_jwk(issuer.key, issuer.kid)]}
    clock = Clock()
    verifier = verifier_for(served, clock)

    for _ in range(5):
        assert verifier.verify(issuer.mint()).principal_id == "user-1"

    assert served.hits == 1
    clock.now += JWKS_TTL_SECONDS + 1
    verifier.verify(issuer.mint())
    assert served.hits == 2


def test_unknown_kid_triggers_a_rate_limited_refetch(served, issuer: TestIssuer):
    served.document = {"keys": [public_jwk(issuer.key, issuer.kid)]}
    clock = Clock()
    verifier = verifier_for(served, clock)
    verifier.verify(issuer.mint())
    rotated = new_rsa_key()
    token = issuer.mint(key=rotated, kid="rotated-2")

    with pytest.raises(Unauthorized):
        verifier.verify(token)  # too soon after the last fetch: no refetch
    assert served.hits == 1

    served.document["keys"].append(public_jwk(rotated, "rotated-2"))
    clock.now += REFETCH_INTERVAL_SECONDS + 1
    assert verifier.verify(token).principal_id == "user-1"
    assert served.hits == 2
    with pytest.raises(Unauthorized):
        verifier.verify(new_rsa_key_token(issuer, kid="never-published"))
    assert served.hits == 2  # the refetch just happened


def new_rsa_key_token(issuer: TestIssuer, kid: str) -> str:
    return issuer.mint(key=new_rsa_key(), kid=kid)


def stale_keys_during_an_outage(
    served: JwksServer, issuer: TestIssuer
) -> tuple[GrantVerifier, Clock]:
    """A verifier that fetched the keys once; then the issuer went down and they aged."""
    served.document = {"keys": [public_jwk(issuer.key, issuer.kid)]}
    clock = Clock()
    verifier = verifier_for(served, clock)
    verifier.verify(issuer.mint())
    served.down = True
    clock.now += JWKS_TTL_SECONDS + 1
    return verifier, clock


def test_issuer_outage_keeps_cached_keys_and_is_503_without_any(served, issuer: TestIssuer):
    verifier, _ = stale_keys_during_an_outage(served, issuer)

    assert verifier.verify(issuer.mint()).developer_id == "dev-1"
    with pytest.raises(DependencyUnavailable):
        verifier_for(served, Clock()).verify(issuer.mint())


def test_only_rsa_signature_keys_are_used(served, issuer: TestIssuer):
    jwk = public_jwk(issuer.key, issuer.kid)
    served.document = {"keys": [{**jwk, "use": "enc"}, {"kty": "oct", "kid": "x", "k": "AAAA"}]}

    with pytest.raises(Unauthorized):
        verifier_for(served, Clock()).verify(issuer.mint())


def test_plain_http_is_refused_unless_loopback():
    with pytest.raises(ValueError):
        fetch_jwks("http://issuer.example/jwks.json", 1.0)
    with pytest.raises(ValueError):
        fetch_jwks("ftp://issuer.example/jwks.json", 1.0)


class CountingKeys(JwksCache):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lookups = 0

    def candidates(self, kid: str | None) -> tuple[Any, ...]:
        self.lookups += 1
        return super().candidates(kid)


@pytest.mark.parametrize(
    ("lifetime", "leeway", "checked_again_after"),
    [(3600, 0, VERIFIED_CACHE_SECONDS), (5, 0, 5), (5, 30, 5 + 30), (5, 7, 5 + 7)],
)
def test_a_verified_token_is_checked_again_after_the_cache_window_or_its_expiry(
    served, issuer: TestIssuer, lifetime: int, leeway: int, checked_again_after: float
):
    """The cache trusts a token exactly as long as PyJWT would, leeway included."""
    served.document = {"keys": [public_jwk(issuer.key, issuer.kid)]}
    wall = Clock()
    wall.now = float(int(time.time()))
    keys = CountingKeys(fetch_jwks(served.url, 2.0), Clock())
    verifier = GrantVerifier(keys, ISSUER, None, clock=wall, leeway_seconds=leeway)
    token = issuer.mint(exp=int(wall.now) + lifetime)

    for _ in range(3):
        verifier.verify(token)
    assert keys.lookups == 1  # one signature check, then the verified cache
    wall.now += checked_again_after - 1
    verifier.verify(token)
    assert keys.lookups == 1
    wall.now += 2
    verifier.verify(token)  # still valid in real time, so checked and cached again
    assert keys.lookups == 2


def test_an_issuer_outage_costs_one_fetch_per_interval_not_one_per_request(
    served, issuer: TestIssuer
):
    verifier, clock = stale_keys_during_an_outage(served, issuer)

    for _ in range(5):
        verifier.verify(issuer.mint())  # stale keys, still served

    assert served.hits == 2  # the first fetch, then one failed attempt
    clock.now += REFETCH_INTERVAL_SECONDS + 1
    verifier.verify(issuer.mint())
    assert served.hits == 3


@pytest.mark.parametrize("document", [["not", "an", "object"], {"keys": "nope"}, {"k": []}])
def test_a_malformed_jwks_is_unavailable_not_a_crash(served, issuer: TestIssuer, document):
    served.document = document  # type: ignore[assignment]

    with pytest.raises(DependencyUnavailable):
        verifier_for(served, Clock()).verify(issuer.mint())


@pytest.mark.parametrize(
    "location", ["http://localhost.evil.example/jwks", "http://localhost@evil.example/jwks"]
)
def test_loopback_lookalikes_do_not_get_plain_http(location):
    with pytest.raises(ValueError):
        fetch_jwks(location, 1.0)
