"""Round trips of refresh on a warm gcp instance, counted at the gRPC channel and the
fake KMS: a warm exchange that needs no refresh costs what it cost before; a refreshing
exchange adds the lease write, the result commit, the refresh token's and the client
secret's unwrap, and one KMS encrypt."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.support.fake_kms import FakeKms
from tests.support.http_app import make_client
from tests.support.issuer import TestIssuer
from tests.support.oauth_flow import exchange, register, store
from tests.support.oidc_provider import OidcProvider
from tests.support.rpc_counter import RpcCounter, count_firestore_rpcs
from vault.bootstrap import get_vault

pytestmark = pytest.mark.parametrize("backend_env", ["gcp"], indirect=True)


@pytest.fixture
def warm(
    backend_env: dict[str, str], firestore_emulator: Any, oidc_provider: OidcProvider
) -> tuple[Any, str, RpcCounter]:
    assert os.environ["VAULT_BACKEND"] == "gcp"
    client = make_client()
    vault = get_vault()
    counter = count_firestore_rpcs(
        vault.credentials._gw.client,  # type: ignore[attr-defined]
        firestore_emulator.host,
    )
    api_key = vault.keys.create("dev-1", "tests")[0]
    register(client, api_key, oidc_provider)
    return client, api_key, counter


def test_an_exchange_that_needs_no_refresh_costs_what_it_did(
    warm, kms: FakeKms, issuer: TestIssuer, oidc_provider: OidcProvider
):
    client, api_key, firestore_rpcs = warm
    store(client, api_key, oidc_provider.tokens(), expires_in_seconds=7200)
    exchange(client, issuer)
    firestore_rpcs.reset()
    kms.calls.clear()

    for _ in range(3):
        assert exchange(client, issuer).status_code == 200

    assert dict(firestore_rpcs.calls) == {"BatchGetDocuments": 3, "Commit": 3}
    assert dict(kms.calls) == {"Decrypt": 3}
    assert oidc_provider.refresh_requests() == 0


def test_a_refreshing_exchange_adds_the_lease_the_result_and_one_encrypt(
    warm, kms: FakeKms, issuer: TestIssuer, oidc_provider: OidcProvider
):
    client, api_key, firestore_rpcs = warm
    store(client, api_key, oidc_provider.tokens(), expires_in_seconds=30)
    firestore_rpcs.reset()
    kms.calls.clear()

    assert exchange(client, issuer).status_code == 200

    assert oidc_provider.refresh_requests() == 1
    # Lookup (1 BatchGet) + provider read (1 BatchGet, then cached per instance) + the
    # lease write (Commit) + the result with its audit entry (Commit) + the exchange's
    # audit entry (Commit).
    assert dict(firestore_rpcs.calls) == {"BatchGetDocuments": 2, "Commit": 3}
    # The refresh token, the client secret, the new access token: 3 unwraps; the new
    # tokens sealed under one fresh data key: 1 encrypt.
    assert dict(kms.calls) == {"Decrypt": 3, "Encrypt": 1}
