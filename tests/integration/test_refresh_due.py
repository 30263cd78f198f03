"""``python -m vault refresh-due`` on both backends, against the test authorization
server: what it refreshes, what it leaves, its summary and its exit code."""

from __future__ import annotations

from typing import Any

from tests.support.http_app import PATH, bearer
from tests.support.oauth_flow import PRINCIPAL, SERVICE, expiry_in, register
from tests.support.oidc_provider import OidcProvider
from tests.support.served import run_cli
from vault.bootstrap import get_vault


def put(client: Any, api_key: str, principal: str, service: str, tokens: Any, expires: float):
    response = client.post(
        PATH,
        json={
            "principalId": principal,
            "service": service,
            "accessToken": tokens.access_token,
            "refreshToken": tokens.refresh_token,
            "tokenExpiresAt": expiry_in(expires),
        },
        headers=bearer(api_key),
    )
    assert response.status_code == 201
    return response.get_json()["id"]


def status_of(client: Any, api_key: str, credential_id: str) -> dict[str, Any]:
    return dict(client.get(f"{PATH}/{credential_id}", headers=bearer(api_key)).get_json())


def test_refresh_due_refreshes_what_expires_soon_and_reports(
    client, api_key, oidc_provider: OidcProvider
):
    register(client, api_key, oidc_provider)
    burnt = oidc_provider.tokens()
    assert burnt.refresh_token is not None
    oidc_provider.refresh_directly(burnt.refresh_token)
    soon = put(client, api_key, PRINCIPAL, SERVICE, oidc_provider.tokens(), 300)
    refused = put(client, api_key, "user-2", SERVICE, burnt, 300)
    later = put(client, api_key, "user-3", SERVICE, oidc_provider.tokens(), 7200)
    put(client, api_key, PRINCIPAL, "no-provider", oidc_provider.tokens(), 300)
    get_vault()  # the CLI builds its own from the same environment
    before = oidc_provider.refresh_requests()

    result = run_cli("refresh-due", "--within", "10m")

    assert result.returncode == 0, result.stderr
    assert "refreshed 1, needs re-auth 1, failed 0, skipped 1" in result.stderr
    assert oidc_provider.refresh_requests() - before == 2
    assert status_of(client, api_key, soon)["lastRefreshedAt"] is not None
    assert status_of(client, api_key, refused)["status"] == "needs_reauth"
    assert status_of(client, api_key, later)["lastRefreshedAt"] is None


def test_refresh_due_exits_non_zero_when_a_refresh_fails(
    client, api_key, oidc_provider: OidcProvider
):
    register(client, api_key, oidc_provider)
    put(client, api_key, PRINCIPAL, SERVICE, oidc_provider.tokens(), 60)
    oidc_provider.control(tokenStatus=503)

    result = run_cli("refresh-due")

    assert result.returncode == 1
    assert "failed 1" in result.stderr


def test_within_must_be_a_duration():
    result = run_cli("refresh-due", "--within", "soon")

    assert result.returncode == 2
    assert "duration" in result.stderr
