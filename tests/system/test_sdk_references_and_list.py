"""End to end through ``python -m vault serve`` and the real Grantex SDK (0.7.2), on both
backends: ``vault.exchange_reference`` gets a reference that the relying party redeems
at ``POST /v1/vault/credentials/resolve``, and ``vault.list()`` (which follows no
cursor) sees every one of a principal's 150 credentials."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from grantex import Grantex, StoreCredentialParams
from grantex._types import ExchangeCredentialParams, ListVaultCredentialsParams

from tests.support.served import run_cli, serving


@pytest.fixture
def server(backend_env: dict[str, str]) -> Iterator[str]:
    with serving() as base_url:
        yield base_url


def test_exchange_reference_then_resolve(server, issuer):
    api_key = run_cli("keys", "create", "--developer", "dev-1").stdout.strip()
    client = Grantex(api_key=api_key, base_url=server)
    client.vault.store(
        StoreCredentialParams(principal_id="user-1", service="github", access_token="ghp_ref_e2e")
    )
    grant_token = issuer.mint(
        scp=["vault:github:exchange", "github:read"], grnt="grnt_e2e", agt="did:agent:1"
    )

    referred = client.vault.exchange_reference(
        grant_token, ExchangeCredentialParams(service="github")
    )
    resolved = httpx.post(
        server + "/v1/vault/credentials/resolve",
        json={"credentialRef": referred.credential_ref, "grantId": "grnt_e2e"},
        headers={"Authorization": f"Bearer {api_key}"},
    )

    assert referred.credential_ref.startswith("vcr_") and referred.service == "github"
    assert "ghp_ref_e2e" not in repr(referred)
    assert resolved.status_code == 200
    assert resolved.json()["accessToken"] == "ghp_ref_e2e"
    assert resolved.json()["agentDid"] == "did:agent:1"


def test_list_returns_all_150_of_150(server):
    api_key = run_cli("keys", "create", "--developer", "dev-many").stdout.strip()
    client = Grantex(api_key=api_key, base_url=server)

    def store(index: int) -> None:
        client.vault.store(
            StoreCredentialParams(
                principal_id="user-many", service=f"svc-{index:03d}", access_token=f"t{index}"
            )
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(store, range(150)))

    listed = client.vault.list(ListVaultCredentialsParams(principal_id="user-many"))

    assert len(listed.credentials) == 150
    assert {credential.service for credential in listed.credentials} == {
        f"svc-{index:03d}" for index in range(150)
    }
