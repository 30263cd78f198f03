"""POST /v1/vault/credentials/exchange on both backends: every way a grant token can be
wrong, revocation, expiry, and the audit trail (scope modes and leeway:
test_grant_verification.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.support.http_app import PATH, bearer, make_client
from tests.support.issuer import TestIssuer, new_rsa_key
from vault.bootstrap import get_vault

EXCHANGE = PATH + "/exchange"


@pytest.fixture
def stored(client: Any, api_key: str) -> dict[str, Any]:
    response = client.post(
        PATH,
        json={
            "principalId": "user-1",
            "service": "github",
            "accessToken": "ghp_the_real_token",
            "refreshToken": "ghr_refresh",
            "credentialType": "oauth2",
            "tokenExpiresAt": "2099-01-01T00:00:00Z",
            "metadata": {"scopes": ["repo"]},
        },
        headers=bearer(api_key),
    )
    assert response.status_code == 201
    return dict(response.get_json())


def client_with_a_github_credential() -> Any:
    """For tests that change settings first: the Vault reads them on its first use."""
    client = make_client()
    api_key = get_vault().keys.create("dev-1", "tests")[0]
    client.post(
        PATH,
        json={"principalId": "user-1", "service": "github", "accessToken": "t"},
        headers=bearer(api_key),
    )
    return client


def exchange(client: Any, token: str, body: Any = None) -> Any:
    return client.post(
        EXCHANGE, json={"service": "github"} if body is None else body, headers=bearer(token)
    )


def test_valid_grant_gets_the_access_token(client, issuer, stored):
    response = exchange(client, issuer.mint())

    assert response.status_code == 200
    assert response.get_json() == {
        "accessToken": "ghp_the_real_token",
        "service": "github",
        "credentialType": "oauth2",
        "tokenExpiresAt": "2099-01-01T00:00:00.000Z",
        "metadata": {"scopes": ["repo"]},
    }
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-RateLimit-Limit"] == "120"


@pytest.mark.parametrize(
    "scopes",
    [
        [],
        ["slack:read"],
        ["github:write"],
        ["vault:slack:*"],
        ["github"],
        ["vault:*"],
        ["github:read"],  # a legacy form: exact scopes by default (test_grant_verification)
    ],
)
def test_no_matching_scope_is_403(client, issuer, stored, scopes):
    response = exchange(client, issuer.mint(scp=scopes))

    assert response.status_code == 403 and response.get_json()["code"] == "FORBIDDEN"
    assert "ghp_the_real_token" not in response.get_data(as_text=True)


def hs256_with_public_key(issuer: TestIssuer) -> str:
    secret = issuer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signing_input = (
        part({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}) + "." + part(issuer.claims())
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def bad_tokens(issuer: TestIssuer) -> dict[str, str]:
    return {
        "expired": issuer.mint(exp=int(__import__("time").time()) - 60),
        "not yet valid": issuer.mint(nbf=int(__import__("time").time()) + 120),
        "wrong issuer": issuer.mint(iss="https://evil.example"),
        "unknown kid": issuer.mint(key=new_rsa_key(), kid="rotated-away"),
        "other key": issuer.mint(key=new_rsa_key()),
        "alg none": jwt.encode(
            issuer.claims(), None, algorithm="none", headers={"kid": issuer.kid}
        ),
        "hs256 with public key": hs256_with_public_key(issuer),
        "no sub": issuer.mint(sub=None),
        "no dev": issuer.mint(dev=None),
        "no scp": issuer.mint(scp=None),
        "scp not array": issuer.mint(scp="github:read"),
        "no jti": issuer.mint(jti=None),
        "no exp": issuer.mint(exp=None),
        "no iss": issuer.mint(iss=None),
        "garbage": "not.a.jwt",
        "api key": "gx_live_" + "A" * 43,
    }


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "not yet valid",
        "wrong issuer",
        "unknown kid",
        "other key",
        "alg none",
        "hs256 with public key",
        "no sub",
        "no dev",
        "no scp",
        "scp not array",
        "no jti",
        "no exp",
        "no iss",
        "garbage",
        "api key",
    ],
)
def test_invalid_grant_tokens_are_401(client, issuer, stored, case):
    response = exchange(client, bad_tokens(issuer)[case])

    assert response.status_code == 401
    assert response.get_json()["code"] == "UNAUTHORIZED"
    assert "ghp_the_real_token" not in response.get_data(as_text=True)


def test_audience_is_checked_when_configured(backend_env, issuer):
    os.environ["VAULT_GRANT_AUDIENCE"] = "https://vault.example"
    client = client_with_a_github_credential()

    assert exchange(client, issuer.mint(aud="https://vault.example")).status_code == 200
    assert exchange(client, issuer.mint(aud="https://other.example")).status_code == 401
    assert exchange(client, issuer.mint()).status_code == 401


def test_revoked_grant_and_revoked_token_are_refused_on_the_next_exchange(client, issuer, stored):
    by_grant = issuer.mint(grnt="grnt_revoke_me")
    by_token = issuer.mint(jti="tok_revoke_me")
    assert exchange(client, by_grant).status_code == 200
    assert exchange(client, by_token).status_code == 200

    get_vault().exchange.revoke("grant", "grnt_revoke_me")
    get_vault().exchange.revoke("token", "tok_revoke_me")

    assert exchange(client, by_grant).status_code == 401
    assert exchange(client, by_token).status_code == 401
    assert exchange(client, issuer.mint(grnt="grnt_revoke_me")).status_code == 401
    assert exchange(client, issuer.mint()).status_code == 200


@pytest.mark.parametrize("body", [{}, {"service": ""}, {"service": "not valid"}, {"service": 5}])
def test_missing_or_invalid_service_is_400(client, issuer, stored, body):
    response = exchange(client, issuer.mint(), body)

    assert response.status_code == 400
    assert response.get_json()["details"][0]["field"] == "service"


def test_no_credential_is_404(client, issuer, stored):
    assert exchange(client, issuer.mint(sub="user-2")).status_code == 404
    assert exchange(client, issuer.mint(dev="dev-2")).status_code == 404
    response = exchange(client, issuer.mint(scp=["vault:slack:exchange"]), {"service": "slack"})
    assert response.status_code == 404 and response.get_json()["code"] == "NOT_FOUND"


def test_expired_stored_token_is_409_and_not_returned(client, issuer, api_key):
    client.post(
        PATH,
        json={
            "principalId": "user-1",
            "service": "github",
            "accessToken": "ghp_dead_token",
            "tokenExpiresAt": "2020-01-01T00:00:00Z",
        },
        headers=bearer(api_key),
    )

    response = exchange(client, issuer.mint())

    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "CREDENTIAL_EXPIRED"
    assert body["tokenExpiresAt"] == "2020-01-01T00:00:00.000Z"
    assert "ghp_dead_token" not in response.get_data(as_text=True)


def test_each_exchange_is_audited_with_the_token_id_and_agent(client, issuer, stored):
    exchange(client, issuer.mint(jti="tok_audit", agt="agent-7"))

    entries = [e for e in get_vault().credentials.audit_entries("dev-1") if e.action == "exchange"]

    assert len(entries) == 1
    assert entries[0].actor == "tok_audit" and entries[0].agent == "agent-7"
    assert entries[0].credential_id == stored["id"] and entries[0].service == "github"


def test_exchange_is_rate_limited_per_grant(backend_env, issuer):
    os.environ["VAULT_EXCHANGE_RATE_LIMIT_PER_MINUTE"] = "2"
    client = client_with_a_github_credential()
    token = issuer.mint(grnt="grnt_busy")

    statuses = [exchange(client, token).status_code for _ in range(3)]
    other_grant = exchange(client, issuer.mint(grnt="grnt_quiet"))

    assert statuses == [200, 200, 429]
    assert other_grant.status_code == 200


def test_a_grant_token_is_not_an_api_key(client, issuer, stored):
    response = client.get(PATH, headers=bearer(issuer.mint()))

    assert response.status_code == 401
