"""The test authorization server itself: real tokens, rotation, reuse detection."""

from __future__ import annotations

from tests.support.oidc_provider import OidcProvider


def test_tokens_come_from_the_code_flow_and_refresh_rotates(oidc_provider: OidcProvider) -> None:
    tokens = oidc_provider.tokens()
    assert tokens.refresh_token is not None

    rotated = oidc_provider.refresh_directly(tokens.refresh_token)

    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != tokens.refresh_token
    assert oidc_provider.stats()["byGrantType"] == {"authorization_code": 1, "refresh_token": 1}


def test_reusing_a_rotated_refresh_token_revokes_the_grant(oidc_provider: OidcProvider) -> None:
    tokens = oidc_provider.tokens()
    assert tokens.refresh_token is not None
    newer = oidc_provider.refresh_directly(tokens.refresh_token).json()["refresh_token"]

    reused = oidc_provider.refresh_directly(tokens.refresh_token)

    assert reused.json()["error"] == "invalid_grant"
    assert oidc_provider.refresh_directly(newer).json()["error"] == "invalid_grant"


def test_the_token_endpoint_can_be_made_unavailable(oidc_provider: OidcProvider) -> None:
    tokens = oidc_provider.tokens()
    assert tokens.refresh_token is not None
    oidc_provider.control(tokenStatus=503)

    refused = oidc_provider.refresh_directly(tokens.refresh_token)

    assert refused.status_code == 503
    assert oidc_provider.stats()["tokenRequests"] == 2
