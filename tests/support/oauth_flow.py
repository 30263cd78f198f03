"""Steps the OAuth suites share: register the test authorization server as a provider,
store a credential holding its real tokens, and exchange it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.http_app import PATH, bearer
from tests.support.issuer import TestIssuer
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, ObtainedTokens, OidcProvider

SERVICE = "acme"
PRINCIPAL = "user-1"
EXCHANGE = PATH + "/exchange"


def provider_body(oidc: OidcProvider, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tokenUrl": oidc.token_url,
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "revocationUrl": oidc.revocation_url,
        "refreshLeewaySeconds": 120,
    }
    body.update(changes)
    return {name: value for name, value in body.items() if value is not None}


def register(client: Any, api_key: str, oidc: OidcProvider, **changes: Any) -> dict[str, Any]:
    response = client.put(
        f"/v1/vault/providers/{SERVICE}",
        json=provider_body(oidc, **changes),
        headers=bearer(api_key),
    )
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def expiry_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def store(
    client: Any, api_key: str, tokens: ObtainedTokens, expires_in_seconds: float
) -> dict[str, Any]:
    body = {
        "principalId": PRINCIPAL,
        "service": SERVICE,
        "accessToken": tokens.access_token,
        "refreshToken": tokens.refresh_token,
        "tokenExpiresAt": expiry_in(expires_in_seconds),
    }
    response = client.post(PATH, json=body, headers=bearer(api_key))
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def grant(issuer: TestIssuer) -> dict[str, str]:
    return bearer(issuer.mint(sub=PRINCIPAL, scp=[f"vault:{SERVICE}:exchange"]))


def exchange(client: Any, issuer: TestIssuer, **body: Any) -> Any:
    return client.post(EXCHANGE, json={"service": SERVICE, **body}, headers=grant(issuer))
