"""Refresh before release, on both backends, against a real authorization server
(panva's oidc-provider): near expiry, minValiditySeconds, forced refresh, rotation,
no rotation, no expires_in, and each way the provider can say no."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.http_app import PATH, bearer
from tests.support.issuer import TestIssuer
from tests.support.oauth_flow import exchange, register, store
from tests.support.oidc_provider import OidcProvider
from vault import bootstrap
from vault.bootstrap import get_vault
from vault.ids import record_binding
from vault.service import REFRESH_TOKEN


@pytest.fixture
def provider(client: Any, api_key: str, oidc_provider: OidcProvider) -> OidcProvider:
    register(client, api_key, oidc_provider)
    return oidc_provider


def item(client: Any, api_key: str, credential_id: str) -> dict[str, Any]:
    response = client.get(f"{PATH}/{credential_id}", headers=bearer(api_key))
    assert response.status_code == 200
    return dict(response.get_json())


def stored_refresh_token(credential_id: str) -> str:
    vault = get_vault()
    record = vault.credentials.get("dev-1", credential_id)
    assert record is not None and record.refresh_token is not None
    binding = record_binding("dev-1", record.principal_id, record.service)
    return vault.envelope.open(binding, REFRESH_TOKEN, record.refresh_token).decode()


def test_a_token_near_expiry_is_refreshed_before_release_and_the_rotation_stored(
    client, api_key, provider: OidcProvider, issuer: TestIssuer
):
    tokens = provider.tokens()
    stored = store(client, api_key, tokens, expires_in_seconds=30)  # inside the 120 s leeway

    response = exchange(client, issuer)

    assert response.status_code == 200
    assert response.get_json()["accessToken"] != tokens.access_token
    assert provider.refresh_requests() == 1
    rotated = stored_refresh_token(stored["id"])
    assert rotated != tokens.refresh_token
    assert provider.refresh_directly(rotated).status_code == 200  # the stored one works
    after = item(client, api_key, stored["id"])
    assert after["status"] == "active" and after["lastRefreshedAt"] is not None
    assert after["lastError"] is None
    audit = [e for e in get_vault().credentials.audit_entries("dev-1") if e.action == "refresh"]
    assert [e.outcome for e in audit] == ["refreshed refresh_token=rotated"]


def test_a_token_outside_the_leeway_is_released_as_stored(
    client, api_key, provider: OidcProvider, issuer: TestIssuer
):
    tokens = provider.tokens()
    store(client, api_key, tokens, expires_in_seconds=600)

    response = exchange(client, issuer)

    assert response.get_json()["accessToken"] == tokens.access_token
    assert provider.refresh_requests() == 0


def test_min_validity_seconds_widens_the_window(
    client, api_key, provider: OidcProvider, issuer: TestIssuer
):
    tokens = provider.tokens()
    store(client, api_key, tokens, expires_in_seconds=600)

    unchanged = exchange(client, issuer, minValiditySeconds=300)
    refreshed = exchange(client, issuer, minValiditySeconds=900)

    assert unchanged.get_json()["accessToken"] == tokens.access_token
    assert refreshed.get_json()["accessToken"] != tokens.access_token
    assert provider.refresh_requests() == 1


@pytest.mark.parametrize("value", [-1, 3601, "60", 1.5, True, None])
def test_min_validity_seconds_out_of_range_is_400(client, api_key, issuer, value):
    response = exchange(client, issuer, minValiditySeconds=value)

    assert response.status_code == 400
    assert response.get_json()["details"][0]["field"] == "minValiditySeconds"


def test_a_forced_refresh_refreshes_a_fresh_token(client, api_key, provider: OidcProvider):
    tokens = provider.tokens()
    stored = store(client, api_key, tokens, expires_in_seconds=3000)

    response = client.post(f"{PATH}/{stored['id']}/refresh", headers=bearer(api_key))

    assert response.status_code == 200
    assert response.get_json()["lastRefreshedAt"] is not None
    assert "accessToken" not in response.get_json()
    assert provider.refresh_requests() == 1


def test_a_forced_refresh_without_a_provider_is_400(client, api_key, oidc_provider):
    stored = store(client, api_key, oidc_provider.tokens(), expires_in_seconds=3000)

    response = client.post(f"{PATH}/{stored['id']}/refresh", headers=bearer(api_key))

    assert response.status_code == 400
    assert oidc_provider.refresh_requests() == 0


def test_no_refresh_token_back_keeps_the_old_one(
    client, api_key, provider: OidcProvider, issuer: TestIssuer
):
    provider.control(rotate=False)
    tokens = provider.tokens()
    stored = store(client, api_key, tokens, expires_in_seconds=10)

    assert exchange(client, issuer).status_code == 200

    assert stored_refresh_token(stored["id"]) == tokens.refresh_token
    outcomes = [e.outcome for e in get_vault().credentials.audit_entries("dev-1")]
    assert "refreshed refresh_token=kept" in outcomes


def test_no_expires_in_keeps_no_expiry(client, api_key, provider: OidcProvider, issuer: TestIssuer):
    provider.control(omitExpiresIn=True)
    stored = store(client, api_key, provider.tokens(), expires_in_seconds=10)

    assert exchange(client, issuer).status_code == 200

    assert item(client, api_key, stored["id"])["tokenExpiresAt"] is None


def test_invalid_grant_marks_needs_reauth_and_refuses_an_expired_token(
    client, api_key, provider: OidcProvider, issuer: TestIssuer
):
    tokens = provider.tokens()
    assert tokens.refresh_token is not None
    provider.refresh_directly(tokens.refresh_token)  # rotated: the stored one is now dead
    stored = store(client, api_key, tokens, expires_in_seconds=-5)

    response = exchange(client, issuer)

    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "CREDENTIAL_EXPIRED" and body["status"] == "needs_reauth"
    after = item(client, api_key, stored["id"])
    assert after["status"] == "needs_reauth"
    assert after["lastError"]["code"] == "invalid_grant"
    assert tokens.refresh_token not in json.dumps(after)
    # needs_reauth is remembered: the next exchange does not ask the provider again.
    before = provider.refresh_requests()
    assert exchange(client, issuer).status_code == 409
    assert provider.refresh_requests() == before


def test_invalid_grant_still_releases_a_valid_token(
    client, api_key, provider: OidcProvider, issuer: TestIssuer
):
    tokens = provider.tokens()
    assert tokens.refresh_token is not None
    provider.refresh_directly(tokens.refresh_token)
    stored = store(client, api_key, tokens, expires_in_seconds=60)

    response = exchange(client, issuer)

    assert response.status_code == 200
    assert response.get_json()["accessToken"] == tokens.access_token
    assert item(client, api_key, stored["id"])["status"] == "needs_reauth"
    listed = client.get(PATH, query_string={"status": "needs_reauth"}, headers=bearer(api_key))
    assert [c["id"] for c in listed.get_json()["credentials"]] == [stored["id"]]


def test_a_store_resets_needs_reauth(client, api_key, provider: OidcProvider, issuer):
    tokens = provider.tokens()
    assert tokens.refresh_token is not None
    provider.refresh_directly(tokens.refresh_token)
    stored = store(client, api_key, tokens, expires_in_seconds=60)
    exchange(client, issuer)

    store(client, api_key, provider.tokens(), expires_in_seconds=60)

    after = item(client, api_key, stored["id"])
    assert after["status"] == "active" and after["lastError"] is None


def test_provider_unavailable_releases_a_valid_token_and_503s_an_expired_one(
    client, api_key, provider: OidcProvider, issuer: TestIssuer
):
    tokens = provider.tokens()
    stored = store(client, api_key, tokens, expires_in_seconds=60)
    provider.control(tokenStatus=503)

    valid = exchange(client, issuer)
    store(client, api_key, tokens, expires_in_seconds=-1)
    expired = exchange(client, issuer)

    assert valid.status_code == 200
    assert valid.get_json()["accessToken"] == tokens.access_token
    assert expired.status_code == 503
    assert int(expired.headers["Retry-After"]) >= 1
    after = item(client, api_key, stored["id"])
    assert after["status"] == "active"
    assert after["lastError"]["code"] == "temporarily_unavailable"


def test_a_stopped_provider_is_503_for_an_expired_token(client, api_key, issuer: TestIssuer):
    from tests.conftest import start_oidc_provider

    stopped = start_oidc_provider()
    register(client, api_key, stopped)
    tokens = stopped.tokens()
    store(client, api_key, tokens, expires_in_seconds=-1)
    stopped.stop()

    response = exchange(client, issuer)

    assert response.status_code == 503
    assert "Retry-After" in response.headers


def test_a_slow_provider_is_cut_at_the_deadline(
    client, api_key, provider: OidcProvider, issuer: TestIssuer, monkeypatch
):
    tokens = provider.tokens()
    stored = store(client, api_key, tokens, expires_in_seconds=-1)
    provider.control(tokenDelayMs=3000)
    monkeypatch.setenv("VAULT_RPC_TIMEOUT_SECONDS", "0.5")
    bootstrap.reset()  # the next request builds the vault with the short deadline

    response = exchange(client, issuer)

    assert response.status_code == 503
    after = item(client, api_key, stored["id"])
    assert after["lastError"]["code"] == "temporarily_unavailable"
    # The request was given up (the server drops requests whose client left), so the
    # stored refresh token was not burnt.
    assert stored_refresh_token(stored["id"]) == tokens.refresh_token


def test_a_forced_refresh_that_is_refused_answers_the_item_as_needs_reauth(
    client, api_key, provider: OidcProvider
):
    tokens = provider.tokens()
    assert tokens.refresh_token is not None
    provider.refresh_directly(tokens.refresh_token)
    stored = store(client, api_key, tokens, expires_in_seconds=-5)

    response = client.post(f"{PATH}/{stored['id']}/refresh", headers=bearer(api_key))

    assert response.status_code == 200
    assert response.get_json()["status"] == "needs_reauth"
    assert response.get_json()["lastError"]["code"] == "invalid_grant"


def test_a_forced_refresh_with_the_provider_down_is_503(client, api_key, provider: OidcProvider):
    stored = store(client, api_key, provider.tokens(), expires_in_seconds=3000)
    provider.control(tokenStatus=503)

    response = client.post(f"{PATH}/{stored['id']}/refresh", headers=bearer(api_key))

    assert response.status_code == 503
    assert "Retry-After" in response.headers


def test_refresh_of_an_unknown_credential_is_404(client, api_key):
    response = client.post(f"{PATH}/vc_{'a' * 32}/refresh", headers=bearer(api_key))

    assert response.status_code == 404


def test_no_token_or_client_secret_reaches_a_log_line_during_refreshes(
    client, api_key, provider: OidcProvider, issuer: TestIssuer, capsys
):
    from tests.support.oidc_provider import CLIENT_SECRET

    good = provider.tokens()
    store(client, api_key, good, expires_in_seconds=5)
    refreshed = exchange(client, issuer).get_json()["accessToken"]
    burnt = provider.tokens()
    assert burnt.refresh_token is not None
    provider.refresh_directly(burnt.refresh_token)
    store(client, api_key, burnt, expires_in_seconds=-5)
    refused = exchange(client, issuer)
    provider.control(tokenStatus=503)
    unreachable = exchange(client, issuer)

    logged = capsys.readouterr()
    text = logged.out + logged.err
    assert "refresh failed" in text  # the failure lines were captured
    secrets = [CLIENT_SECRET, refreshed, good.access_token, burnt.access_token]
    secrets += [t for t in (good.refresh_token, burnt.refresh_token) if t]
    for secret in secrets:
        assert secret not in text
        assert secret not in refused.get_data(as_text=True)
        assert secret not in unreachable.get_data(as_text=True)
