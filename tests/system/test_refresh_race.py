"""One refresh across instances: two ``python -m vault serve`` processes sharing one
store (one SQLite file; one Firestore emulator project), 24 concurrent exchanges of one
expiring credential, and the authorization server (oidc-provider, which revokes the
whole grant when a rotated refresh token is reused) counting what reaches it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.support.firestore_emulator import free_port
from tests.support.issuer import TestIssuer
from tests.support.oauth_flow import PATH, PRINCIPAL, SERVICE, expiry_in, grant, provider_body
from tests.support.oidc_provider import OidcProvider
from tests.support.served import ROOT
from vault.bootstrap import build
from vault.config import Settings
from vault.ids import credential_id, record_binding
from vault.service import REFRESH_TOKEN

EXCHANGES = 24


@contextlib.contextmanager
def vault_process(env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vault", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(url + "/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None:
                    raise RuntimeError("python -m vault serve did not start") from None
                time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def prepare(oidc: OidcProvider, url: str, api_key: str) -> tuple[str, Any]:
    """Register the provider and store real tokens expiring inside the leeway."""
    auth = {"Authorization": f"Bearer {api_key}"}
    put = httpx.put(
        f"{url}/v1/vault/providers/{SERVICE}", json=provider_body(oidc), headers=auth, timeout=10
    )
    assert put.status_code == 200, put.text
    tokens = oidc.tokens()
    stored = httpx.post(
        url + PATH,
        json={
            "principalId": PRINCIPAL,
            "service": SERVICE,
            "accessToken": tokens.access_token,
            "refreshToken": tokens.refresh_token,
            "tokenExpiresAt": expiry_in(30),
        },
        headers=auth,
        timeout=10,
    )
    assert stored.status_code == 201, stored.text
    return tokens.access_token, tokens


def warm_up(url: str, issuer: TestIssuer) -> None:
    """Instances serving traffic are warm: vault built, issuer keys loaded, so the race
    measured is the refresh's alone (cold first requests are tests/integration/
    test_jwks_fetch.py's subject)."""
    token = issuer.mint(sub=PRINCIPAL, scp=["vault:nothing:exchange"])
    response = httpx.post(
        url + PATH + "/exchange",
        json={"service": "nothing"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 404, response.text


def stored_refresh_token() -> str:
    vault = build(Settings.from_env())
    record_id = credential_id("dev-1", PRINCIPAL, SERVICE)
    record = vault.credentials.get("dev-1", record_id)
    assert record is not None and record.refresh_token is not None
    binding = record_binding("dev-1", PRINCIPAL, SERVICE)
    return vault.envelope.open(binding, REFRESH_TOKEN, record.refresh_token).decode()


def exchange_at(url: str, issuer: TestIssuer) -> httpx.Response:
    return httpx.post(
        url + PATH + "/exchange", json={"service": SERVICE}, headers=grant(issuer), timeout=30
    )


def test_24_concurrent_exchanges_on_two_instances_make_one_refresh(
    backend_env: dict[str, str], oidc_provider: OidcProvider, issuer: TestIssuer
):
    api_key = build(Settings.from_env()).keys.create("dev-1", "race")[0]
    env = dict(os.environ)
    with vault_process(env) as (first, _), vault_process(env) as (second, _):
        old_access, _tokens = prepare(oidc_provider, first, api_key)
        warm_up(first, issuer)
        warm_up(second, issuer)
        oidc_provider.reset()
        oidc_provider.control(tokenDelayMs=300)  # the refresh overlaps every exchange
        start = threading.Barrier(EXCHANGES)

        def one(index: int) -> httpx.Response:
            start.wait()
            return exchange_at(first if index % 2 else second, issuer)

        with ThreadPoolExecutor(EXCHANGES) as pool:
            responses = list(pool.map(one, range(EXCHANGES)))

    assert [r.status_code for r in responses] == [200] * EXCHANGES
    released = {r.json()["accessToken"] for r in responses}
    assert len(released) == 1 and old_access not in released
    assert oidc_provider.refresh_requests() == 1
    oidc_provider.control(tokenDelayMs=0)
    # The rotated refresh token the vault kept still works: the grant was not burnt.
    assert oidc_provider.refresh_directly(stored_refresh_token()).status_code == 200


def test_a_killed_lease_holder_is_taken_over_after_the_lease_expires(
    backend_env: dict[str, str], oidc_provider: OidcProvider, issuer: TestIssuer
):
    api_key = build(Settings.from_env()).keys.create("dev-1", "race")[0]
    env = {
        **os.environ,
        "VAULT_REFRESH_LEASE_SECONDS": "2",
        "VAULT_REFRESH_WAIT_SECONDS": "20",
        "VAULT_RPC_TIMEOUT_SECONDS": "10",
    }
    with vault_process(env) as (holder, holder_process), vault_process(env) as (other, _):
        old_access, _tokens = prepare(oidc_provider, holder, api_key)
        warm_up(holder, issuer)
        warm_up(other, issuer)
        oidc_provider.reset()
        oidc_provider.control(tokenDelayMs=3000)
        pending = ThreadPoolExecutor(1).submit(exchange_at, holder, issuer)
        for _ in range(200):  # until the holder's refresh request is at the provider
            if oidc_provider.stats()["tokenRequests"] >= 1:
                break
            time.sleep(0.05)
        holder_process.send_signal(signal.SIGKILL)
        holder_process.wait(timeout=10)
        with contextlib.suppress(httpx.HTTPError):
            pending.result(timeout=30)
        oidc_provider.control(tokenDelayMs=0)

        response = exchange_at(other, issuer)

    assert response.status_code == 200, response.text
    assert response.json()["accessToken"] != old_access
    # The killed holder's request was dropped unprocessed; the taker's was the one refresh.
    assert oidc_provider.refresh_requests() == 1
    assert oidc_provider.refresh_directly(stored_refresh_token()).status_code == 200
