"""End to end: ``python -m vault serve`` in a subprocess, a key from ``keys create``,
and the real Grantex SDK storing credentials over HTTP, on both backends."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from grantex import Grantex
from grantex._errors import GrantexApiError
from grantex._types import (
    ExchangeCredentialParams,
    ListVaultCredentialsParams,
    StoreCredentialParams,
)

from tests.support.served import run_cli, serving


@pytest.fixture
def server(backend_env: dict[str, str]) -> Iterator[str]:
    with serving() as base_url:
        yield base_url


def test_sdk_stores_with_a_key_from_the_cli(server):
    created = run_cli("keys", "create", "--developer", "dev-e2e", "--name", "e2e")
    api_key = created.stdout.strip()
    assert created.returncode == 0 and api_key.startswith("gx_live_")
    assert api_key not in created.stderr

    client = Grantex(api_key=api_key, base_url=server)
    first = client.vault.store(
        StoreCredentialParams(
            principal_id="user_abc123",
            service="github",
            access_token="ghp_xxxxxxxxxxxx",
            refresh_token="ghr_xxxxxxxxxxxx",
            token_expires_at="2026-04-06T12:00:00.000Z",
            metadata={"scopes": ["repo", "read:org"]},
        )
    )
    again = client.vault.store(
        StoreCredentialParams(principal_id="user_abc123", service="github", access_token="ghp_2")
    )

    assert first.id.startswith("vc_") and first.id == again.id
    assert first.service == "github" and first.credential_type == "oauth2"
    assert first.created_at == again.created_at
    listing = run_cli("keys", "list", "--developer", "dev-e2e")
    assert "dev-e2e" in listing.stdout and api_key not in listing.stdout


def test_revoked_key_is_refused_through_the_sdk(server):
    api_key = run_cli("keys", "create", "--developer", "dev-e2e").stdout.strip()
    key_id = run_cli("keys", "list").stdout.split('"keyId": "')[1].split('"')[0]

    assert run_cli("keys", "revoke", key_id).returncode == 0
    assert run_cli("keys", "revoke", key_id).returncode == 1
    # A new server process has an empty key cache, so revocation shows at once here.
    client = Grantex(api_key=api_key, base_url=server)
    with pytest.raises(GrantexApiError) as caught:
        client.vault.store(
            StoreCredentialParams(principal_id="u", service="github", access_token="t")
        )
    assert caught.value.status_code == 401


def test_sdk_lists_gets_exchanges_and_deletes(server, issuer):
    api_key = run_cli("keys", "create", "--developer", "dev-1").stdout.strip()
    client = Grantex(api_key=api_key, base_url=server)
    github = client.vault.store(
        StoreCredentialParams(
            principal_id="user-1",
            service="github",
            access_token="ghp_e2e",
            metadata={"team": "core"},
        )
    )
    client.vault.store(
        StoreCredentialParams(principal_id="user-1", service="slack", access_token="xoxb")
    )

    listed = client.vault.list(ListVaultCredentialsParams(principal_id="user-1"))
    only_github = client.vault.list(ListVaultCredentialsParams(service="github"))
    fetched = client.vault.get(github.id)
    released = client.vault.exchange(issuer.mint(), ExchangeCredentialParams(service="github"))
    client.vault.delete(github.id)

    assert [c.service for c in listed.credentials] == ["slack", "github"]
    assert [c.id for c in only_github.credentials] == [github.id]
    assert fetched.metadata == {"team": "core"} and fetched.principal_id == "user-1"
    assert released.access_token == "ghp_e2e" and released.metadata == {"team": "core"}
    with pytest.raises(GrantexApiError) as caught:
        client.vault.get(github.id)
    assert caught.value.status_code == 404
    with pytest.raises(ValueError):
        client.vault.exchange(issuer.mint(), ExchangeCredentialParams(service="github"))


def test_newcomer_flow_with_the_local_dev_issuer(tmp_path):
    """The local backend without a configured issuer trusts `grants mint` tokens."""
    os.environ.update({"VAULT_BACKEND": "local", "VAULT_DATA_DIR": str(tmp_path / "data")})
    with serving() as base_url:
        api_key = run_cli("keys", "create", "--developer", "dev-new").stdout.strip()
        client = Grantex(api_key=api_key, base_url=base_url)
        client.vault.store(
            StoreCredentialParams(principal_id="alice", service="github", access_token="ghp_a")
        )
        minted = run_cli(
            "grants",
            "mint",
            "--developer",
            "dev-new",
            "--principal",
            "alice",
            "--scope",
            "vault:github:exchange",
        )
        grant = minted.stdout.strip()

        released = client.vault.exchange(grant, ExchangeCredentialParams(service="github"))

        assert minted.returncode == 0 and grant.count(".") == 2
        assert released.access_token == "ghp_a"
        jti = __import__("jwt").decode(grant, options={"verify_signature": False})["jti"]
        assert run_cli("grants", "revoke", "--token", jti).returncode == 0
        with pytest.raises(ValueError):
            client.vault.exchange(grant, ExchangeCredentialParams(service="github"))


def test_grants_mint_is_refused_on_the_gcp_backend():
    os.environ.update(
        {
            "VAULT_BACKEND": "gcp",
            "GOOGLE_CLOUD_PROJECT": "demo",
            "VAULT_KMS_KEY": "projects/p/locations/l/keyRings/r/cryptoKeys/k",
            "VAULT_GRANT_ISSUER": "https://issuer.example",
            "VAULT_GRANT_JWKS_URL": "https://issuer.example/jwks.json",
        }
    )

    minted = run_cli("grants", "mint", "--developer", "d", "--principal", "p", "--scope", "*")

    assert minted.returncode != 0 and minted.stdout == ""
    assert "local backend" in minted.stderr
