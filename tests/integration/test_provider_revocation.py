"""Delete and erase revoke the tokens at the provider first (RFC 7009), best effort:
the outcome is in the audit entry, and a provider that is down never blocks a delete."""

from __future__ import annotations

from typing import Any

from tests.support.http_app import PATH, bearer
from tests.support.oauth_flow import PRINCIPAL, register, store
from tests.support.oidc_provider import OidcProvider
from vault.bootstrap import get_vault


def outcomes(action: str) -> list[str | None]:
    entries = get_vault().credentials.audit_entries("dev-1")
    return [entry.outcome for entry in entries if entry.action == action]


def test_delete_revokes_at_the_provider(client, api_key, oidc_provider: OidcProvider):
    register(client, api_key, oidc_provider)
    tokens = oidc_provider.tokens()
    assert tokens.refresh_token is not None
    stored = store(client, api_key, tokens, expires_in_seconds=60)

    response = client.delete(f"{PATH}/{stored['id']}", headers=bearer(api_key))

    assert response.status_code == 204
    assert oidc_provider.stats()["revocations"] == 2  # refresh token, then access token
    refused = oidc_provider.refresh_directly(tokens.refresh_token)
    assert refused.json()["error"] == "invalid_grant"
    assert outcomes("delete") == ["revoked"]


def test_a_provider_that_is_down_still_deletes(client, api_key, oidc_provider: OidcProvider):
    from tests.conftest import start_oidc_provider

    gone = start_oidc_provider()
    register(client, api_key, gone)
    stored = store(client, api_key, gone.tokens(), expires_in_seconds=60)
    gone.stop()

    response = client.delete(f"{PATH}/{stored['id']}", headers=bearer(api_key))

    assert response.status_code == 204
    assert client.get(f"{PATH}/{stored['id']}", headers=bearer(api_key)).status_code == 404
    assert outcomes("delete") == ["not_revoked"]


def test_without_a_revocation_url_the_audit_says_so(client, api_key, oidc_provider: OidcProvider):
    register(client, api_key, oidc_provider, revocationUrl=None)
    stored = store(client, api_key, oidc_provider.tokens(), expires_in_seconds=60)

    assert client.delete(f"{PATH}/{stored['id']}", headers=bearer(api_key)).status_code == 204

    assert outcomes("delete") == ["no_revocation_url"]
    assert oidc_provider.stats()["revocations"] == 0


def test_erase_revokes_each_credential(client, api_key, oidc_provider: OidcProvider):
    register(client, api_key, oidc_provider)
    tokens = oidc_provider.tokens()
    store(client, api_key, tokens, expires_in_seconds=60)
    other: Any = client.post(
        PATH,
        json={"principalId": PRINCIPAL, "service": "nowhere", "accessToken": "plain"},
        headers=bearer(api_key),
    )
    assert other.status_code == 201

    response = client.delete(PATH, query_string={"principalId": PRINCIPAL}, headers=bearer(api_key))

    assert response.get_json() == {"deleted": 2}
    assert sorted(o or "" for o in outcomes("erase")) == ["no_revocation_url", "revoked"]
    assert tokens.refresh_token is not None
    assert oidc_provider.refresh_directly(tokens.refresh_token).json()["error"] == "invalid_grant"
