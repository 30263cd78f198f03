"""Connect-session helpers: the test provider registered for a developer, and the end
user's trip through its login and consent pages, driven over plain HTTP."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider
from vault.bootstrap import Vault
from vault.models import validate
from vault.oauth.models import ProviderRequest

CALLBACK_PATH = "/v1/vault/oauth/callback"
SESSIONS_PATH = "/v1/vault/connect-sessions"
SCOPES = ("openid", "offline_access")


def register_provider(
    vault: Vault,
    oidc: OidcProvider,
    developer_id: str = "dev-1",
    service: str = "github",
    token_url: str | None = None,
) -> None:
    """The test provider as the developer's OAuth client for ``service``, stored the
    way ``PUT /v1/vault/providers/{service}`` stores it."""
    caller = vault.keys.create(developer_id, "provider setup")[1]
    body = {
        "tokenUrl": token_url or oidc.token_url,
        "authorizationUrl": oidc.issuer + "/auth",
        "revocationUrl": oidc.revocation_url,
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "scopes": list(SCOPES),
        # The provider's tokens live 60 s: no refresh before release unless asked.
        "refreshLeewaySeconds": 0,
    }
    vault.providers.put(caller, service, validate(ProviderRequest, body), "req-provider")


def through_provider(
    authorization_url: str, callback_url: str, *, consent: bool = True, login: str = "alice"
) -> dict[str, str]:
    """Log in and consent (or cancel) at the provider as a browser would; the query
    the provider sends back to ``callback_url``."""
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        location = authorization_url
        for _ in range(12):
            if location.startswith(callback_url):
                query = parse_qs(urlsplit(location).query)
                return {name: values[0] for name, values in query.items()}
            response = browser.get(location)
            if response.status_code in (302, 303):
                location = urljoin(location, response.headers["location"])
                continue
            assert response.status_code == 200, response.text[:300]
            if not consent:
                cancel = re.search(r'href="([^"]+/abort)"', response.text)
                assert cancel is not None, "no cancel link"
                location = urljoin(location, cancel.group(1))
                continue
            action = re.search(r'action="([^"]+)"', response.text)
            assert action is not None, "no interaction form"
            fields: dict[str, Any] = {"prompt": "consent"}
            if 'name="login"' in response.text:
                fields = {"prompt": "login", "login": login, "password": "x"}
            submitted = browser.post(urljoin(location, action.group(1)), data=fields)
            location = urljoin(location, submitted.headers["location"])
    raise AssertionError("the authorization flow did not reach the callback")
