"""PUT/GET/DELETE /v1/vault/providers on both backends: every field's rule, discovery
from an issuer, and the client secret: never shown, sealed at rest, failing closed when
tampered with or moved."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from tests.support.http_app import bearer
from tests.support.issuer import TestIssuer
from tests.support.oauth_flow import SERVICE, exchange, provider_body, register, store
from tests.support.oidc_provider import CLIENT_SECRET, OidcProvider
from vault.bootstrap import get_vault

ONE = f"/v1/vault/providers/{SERVICE}"


def put(client: Any, api_key: str, body: dict[str, Any], service: str = SERVICE) -> Any:
    return client.put(f"/v1/vault/providers/{service}", json=body, headers=bearer(api_key))


GOOD = {"tokenUrl": "https://oauth2.googleapis.com/token", "clientId": "cid"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tokenUrl": "http://example.com/token"}, "tokenUrl"),  # http off loopback
        ({"tokenUrl": "ftp://example.com/token"}, "tokenUrl"),
        ({"tokenUrl": "https://user:pw@example.com/token"}, "tokenUrl"),
        ({"tokenUrl": "https://example.com/t#frag"}, "tokenUrl"),
        ({"tokenUrl": "https://" + "a" * 2050}, "tokenUrl"),
        ({"tokenUrl": 5}, "tokenUrl"),
        ({"tokenUrl": None}, "body"),  # neither tokenUrl nor issuer
        ({"clientId": ""}, "clientId"),
        ({"clientId": 7}, "clientId"),
        ({"clientId": "has space"}, "clientId"),
        ({"clientSecret": ""}, "clientSecret"),
        ({"clientSecret": 12}, "clientSecret"),
        ({"tokenAuthMethod": "private_key_jwt"}, "tokenAuthMethod"),
        ({"revocationUrl": "http://example.com/revoke"}, "revocationUrl"),
        ({"authorizationUrl": "javascript:alert(1)"}, "authorizationUrl"),
        ({"scopes": "openid"}, "scopes"),
        ({"scopes": ["ok", "bad scope"]}, "scopes"),
        ({"scopes": ["s"] * 51}, "scopes"),
        ({"refreshLeewaySeconds": -1}, "refreshLeewaySeconds"),
        ({"refreshLeewaySeconds": 3601}, "refreshLeewaySeconds"),
        ({"refreshLeewaySeconds": "60"}, "refreshLeewaySeconds"),
        ({"refreshLeewaySeconds": True}, "refreshLeewaySeconds"),
        ({"issuer": "http://example.com"}, "issuer"),
    ],
)
def test_every_field_has_a_rule(client, api_key, changes, field):
    body = {**GOOD, "clientSecret": "s3cr3t-value", **changes}
    body = {name: value for name, value in body.items() if value is not None}

    response = put(client, api_key, body)

    assert response.status_code == 400
    details = response.get_json()["details"]
    assert field in {detail["field"] for detail in details}
    assert "s3cr3t-value" not in response.get_data(as_text=True)


def test_an_invalid_service_is_400(client, api_key):
    response = put(client, api_key, GOOD, service="-bad")
    assert response.status_code == 400
    assert client.get("/v1/vault/providers/-bad", headers=bearer(api_key)).status_code == 400


def test_put_get_list_delete_and_the_secret_is_never_shown(client, api_key, capsys):
    body = {**GOOD, "clientSecret": "s3cr3t-value", "scopes": ["openid", "email"]}

    created = put(client, api_key, body)
    kept = put(client, api_key, {**GOOD, "refreshLeewaySeconds": 300})  # no secret: kept
    one = client.get(ONE, headers=bearer(api_key))
    listed = client.get("/v1/vault/providers", headers=bearer(api_key))
    deleted = client.delete(ONE, headers=bearer(api_key))

    assert created.status_code == 200
    assert created.get_json()["hasClientSecret"] is True
    assert created.get_json()["tokenAuthMethod"] == "client_secret_basic"
    assert created.get_json()["scopes"] == ["openid", "email"]
    assert kept.get_json()["hasClientSecret"] is True
    assert kept.get_json()["createdAt"] == created.get_json()["createdAt"]
    assert one.get_json()["refreshLeewaySeconds"] == 300
    assert [p["service"] for p in listed.get_json()["providers"]] == [SERVICE]
    assert deleted.status_code == 204
    assert client.get(ONE, headers=bearer(api_key)).status_code == 404
    assert client.delete(ONE, headers=bearer(api_key)).status_code == 404
    for response in (created, kept, one, listed):
        assert "s3cr3t-value" not in response.get_data(as_text=True)
    logged = capsys.readouterr()
    assert "provider" in logged.out  # the request log lines were captured
    assert "s3cr3t-value" not in logged.out + logged.err
    actions = [e.action for e in get_vault().credentials.audit_entries("dev-1")]
    assert actions == ["provider.put", "provider.put", "provider.delete"]


def test_another_developers_provider_is_404(client, api_key):
    put(client, api_key, GOOD)
    other = get_vault().keys.create("dev-2", "tests")[0]

    assert client.get(ONE, headers=bearer(other)).status_code == 404
    assert client.get("/v1/vault/providers", headers=bearer(other)).get_json() == {"providers": []}


def test_the_secret_is_sealed_at_rest(client, api_key):
    put(client, api_key, {**GOOD, "clientSecret": "s3cr3t-value"})

    record = get_vault().providers._store.get("dev-1", SERVICE)

    assert record is not None and record.client_secret is not None
    assert b"s3cr3t-value" not in record.client_secret
    assert "s3cr3t-value" not in json.dumps(dataclasses.asdict(record), default=repr)


def test_issuer_discovery_fills_the_endpoints(client, api_key, oidc_provider: OidcProvider):
    response = put(client, api_key, {"issuer": oidc_provider.issuer, "clientId": "vault-test"})

    assert response.status_code == 200
    body = response.get_json()
    assert body["tokenUrl"] == oidc_provider.token_url
    assert body["revocationUrl"] == oidc_provider.revocation_url
    assert body["authorizationUrl"] == oidc_provider.issuer + "/auth"
    assert body["issuer"] == oidc_provider.issuer


def test_an_issuer_without_metadata_is_400(client, api_key, oidc_provider: OidcProvider):
    response = put(
        client, api_key, {"issuer": oidc_provider.issuer + "/nothing", "clientId": "vault-test"}
    )

    assert response.status_code == 400
    assert response.get_json()["details"][0]["field"] == "issuer"


def _tamper(record: Any, secret: bytes, developer: str = "dev-1", service: str = SERVICE) -> None:
    store = get_vault().providers._store
    changed = dataclasses.replace(
        record, client_secret=secret, developer_id=developer, service=service
    )
    from vault.ports import AuditEntry

    store.put(
        changed, AuditEntry("au_t", "provider.put", developer, "t", None, "", service, "r", 0)
    )
    get_vault().providers.directory.forget(developer, service)


@pytest.mark.parametrize("how", ["flipped", "moved"])
def test_a_tampered_or_moved_secret_fails_closed(
    client, api_key, oidc_provider: OidcProvider, issuer: TestIssuer, how: str
):
    register(client, api_key, oidc_provider)
    store(client, api_key, oidc_provider.tokens(), expires_in_seconds=-1)
    vault = get_vault()
    record = vault.providers._store.get("dev-1", SERVICE)
    assert record is not None and record.client_secret is not None
    if how == "flipped":
        blob = bytearray(record.client_secret)
        blob[-1] ^= 1
        _tamper(record, bytes(blob))
    else:  # another provider's sealed secret, copied onto this one
        put(client, api_key, provider_body(oidc_provider, clientSecret="other"), service="beta")
        other = vault.providers._store.get("dev-1", "beta")
        assert other is not None and other.client_secret is not None
        _tamper(record, other.client_secret)

    response = exchange(client, issuer)

    assert response.status_code == 500
    assert oidc_provider.refresh_requests() == 0
    assert CLIENT_SECRET not in response.get_data(as_text=True)
