"""The JWKS fetch on a fresh instance (issue 15), its redirects, weak keys and the
``kid`` fallback's refetch.

Concurrent first exchanges arrive while the first JWKS fetch is still running: the
loopback JWKS holds its first answer until the test releases it. Every exchange must
wait for that one fetch (200 when it works, 503 when it fails), never fail because a
fetch was merely in flight."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.http_app import PATH, bearer, make_client
from tests.support.issuer import ISSUER, TestIssuer, new_rsa_key, public_jwk
from tests.support.jwks_server import JwksServer
from tests.support.served import run_cli, serving
from vault.bootstrap import get_vault
from vault.errors import DependencyUnavailable, Unauthorized
from vault.grants import REFETCH_INTERVAL_SECONDS, GrantVerifier, JwksCache, fetch_jwks
from vault.grants import jwks as jwks_module

CONCURRENT = 16
EXCHANGE = PATH + "/exchange"
# How long the held first answer waits for the other exchanges to finish on their own.
# With the fix none does (they wait for the fetch), so this is only the time they get to
# show the bug; it bounds the test, it asserts nothing.
SETTLE_SECONDS = 1.0


@pytest.fixture
def served(issuer: TestIssuer) -> Iterator[JwksServer]:
    server = JwksServer({"keys": [public_jwk(issuer.key, issuer.kid)]})
    yield server
    server.close()


def concurrently(send: Callable[[int], int], served: JwksServer) -> list[int]:
    """Start ``CONCURRENT`` exchanges while the first JWKS answer is held back; release
    it once the others have had their chance to answer without it; their statuses."""
    served.hold_first = threading.Event()
    finished: list[int] = []

    def one(index: int) -> int:
        status = send(index)
        finished.append(status)
        return status

    with ThreadPoolExecutor(CONCURRENT) as pool:
        futures = [pool.submit(one, index) for index in range(CONCURRENT)]
        assert served.first_request.wait(timeout=30), "no exchange fetched the JWKS"
        deadline = time.monotonic() + SETTLE_SECONDS
        while len(finished) < CONCURRENT - 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        served.hold_first.set()
        return [future.result(timeout=60) for future in futures]


def client_trusting(served: JwksServer) -> Any:
    os.environ["VAULT_GRANT_JWKS_URL"] = served.url
    client = make_client()
    api_key = get_vault().keys.create("dev-1", "tests")[0]
    stored = client.post(
        PATH,
        json={"principalId": "user-1", "service": "github", "accessToken": "ghp_first"},
        headers=bearer(api_key),
    )
    assert stored.status_code == 201 and served.hits == 0  # a store needs no JWKS
    return client


def test_concurrent_first_exchanges_wait_for_the_one_jwks_fetch(
    backend_env, issuer: TestIssuer, served: JwksServer
):
    client = client_trusting(served)
    tokens = [issuer.mint() for _ in range(CONCURRENT)]

    def send(index: int) -> int:
        reply = client.post(EXCHANGE, json={"service": "github"}, headers=bearer(tokens[index]))
        return int(reply.status_code)

    statuses = concurrently(send, served)

    assert statuses == [200] * CONCURRENT
    assert served.hits == 1


def test_a_failed_first_fetch_is_503_for_all_then_recovers_after_the_interval(
    backend_env, issuer: TestIssuer, served: JwksServer, monkeypatch: pytest.MonkeyPatch
):
    served.down = True
    client = client_trusting(served)
    tokens = [issuer.mint() for _ in range(CONCURRENT)]
    replies: list[Any] = [None] * CONCURRENT

    def send(index: int) -> int:
        replies[index] = client.post(
            EXCHANGE, json={"service": "github"}, headers=bearer(tokens[index])
        )
        return int(replies[index].status_code)

    statuses = concurrently(send, served)

    assert statuses == [503] * CONCURRENT
    assert all(reply.headers["Retry-After"] for reply in replies)
    assert served.hits == 1
    served.down = False
    assert (
        client.post(EXCHANGE, json={"service": "github"}, headers=bearer(tokens[0])).status_code
        == 503
    )
    assert served.hits == 1  # still within the interval: no second fetch
    monkeypatch.setattr(jwks_module, "REFETCH_INTERVAL_SECONDS", 0.0)  # the interval passes
    reply = client.post(EXCHANGE, json={"service": "github"}, headers=bearer(tokens[0]))
    assert reply.status_code == 200
    assert served.hits == 2


def test_concurrent_first_exchanges_through_python_m_vault_serve(
    tmp_path: Path, issuer: TestIssuer, served: JwksServer
):
    """A real gunicorn worker with threads, not the test client."""
    os.environ.update(
        {
            "VAULT_BACKEND": "local",
            "VAULT_DATA_DIR": str(tmp_path / "data"),
            "VAULT_GRANT_ISSUER": ISSUER,
            "VAULT_GRANT_JWKS_URL": served.url,
            "WORKERS": "1",  # one worker: one JWKS cache, so one fetch
            "THREADS": str(CONCURRENT + 2),
        }
    )
    api_key = run_cli("keys", "create", "--developer", "dev-1").stdout.strip()
    tokens = [issuer.mint() for _ in range(CONCURRENT)]
    with serving() as base_url:
        assert (
            post(
                base_url + PATH,
                api_key,
                {"principalId": "user-1", "service": "github", "accessToken": "ghp_served"},
            )
            == 201
        )

        statuses = concurrently(
            lambda index: post(base_url + EXCHANGE, tokens[index], {"service": "github"}), served
        )

    assert statuses == [200] * CONCURRENT
    assert served.hits == 1


def post(url: str, token: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **bearer(token)},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def verifier_for(url: str, clock: Clock | None = None) -> GrantVerifier:
    return GrantVerifier(JwksCache(fetch_jwks(url, 2.0), clock or Clock()), ISSUER, None)


def test_a_redirect_from_the_jwks_url_is_not_followed(issuer: TestIssuer, served: JwksServer):
    redirecting = JwksServer()
    redirecting.redirect_to = served.url
    try:
        with pytest.raises(DependencyUnavailable) as unavailable:
            verifier_for(redirecting.url).verify(issuer.mint())
    finally:
        redirecting.close()

    assert unavailable.value.reason == "jwks_unreachable"
    assert redirecting.hits == 1
    assert served.hits == 0  # the JWKS it pointed to was never asked


def test_rsa_keys_under_2048_bits_are_ignored(issuer: TestIssuer, served: JwksServer):
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    served.document = {"keys": [public_jwk(weak, "weak"), public_jwk(issuer.key, issuer.kid)]}
    verifier = verifier_for(served.url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns about signing with a 1024-bit key
        weak_token = jwt.encode(issuer.claims(), weak, algorithm="RS256", headers={"kid": "weak"})

    with pytest.raises(Unauthorized):
        verifier.verify(weak_token)
    assert verifier.verify(issuer.mint()).principal_id == "user-1"


def test_an_unknown_kid_costs_one_refetch_then_tries_each_key_of_the_jwks(
    issuer: TestIssuer, served: JwksServer
):
    clock = Clock()
    verifier = verifier_for(served.url, clock)
    verifier.verify(issuer.mint())
    assert served.hits == 1
    clock.now += REFETCH_INTERVAL_SECONDS + 1

    relabelled = verifier.verify(issuer.mint(kid="grantex-2026-05"))
    assert relabelled.principal_id == "user-1"
    assert served.hits == 2  # one refetch for the unknown kid, then the fallback
    for month in range(6, 12):
        verifier.verify(issuer.mint(kid=f"grantex-2026-{month:02}"))
    with pytest.raises(Unauthorized) as refused:
        verifier.verify(issuer.mint(key=new_rsa_key(), kid="grantex-2027-01"))
    assert refused.value.reason == "bad_signature"
    assert served.hits == 2  # no fetch storm on unknown kids


def test_a_fetch_that_outlasts_the_wait_is_503_for_the_waiter(
    issuer: TestIssuer, served: JwksServer
):
    """The wait for a fetch in flight is bounded; the fetch itself finishes and serves."""
    served.hold_first = threading.Event()
    keys = JwksCache(fetch_jwks(served.url, 30.0), Clock(), wait_seconds=0.2)
    verifier = GrantVerifier(keys, ISSUER, None)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(verifier.verify, issuer.mint())
        assert served.first_request.wait(timeout=30)
        with pytest.raises(DependencyUnavailable):
            verifier.verify(issuer.mint())
        served.hold_first.set()
        assert first.result(timeout=30).principal_id == "user-1"
    assert verifier.verify(issuer.mint()).principal_id == "user-1"
    assert served.hits == 1
