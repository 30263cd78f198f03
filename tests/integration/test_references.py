"""Credential references on both backends: ``delivery: reference`` on the exchange, and
``POST /v1/vault/credentials/resolve`` with every answer CONTRACT.md lists."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from tests.support.http_app import PATH, bearer, make_client
from tests.support.issuer import TestIssuer
from vault.bootstrap import get_vault
from vault.timefmt import now_micros

EXCHANGE = PATH + "/exchange"
RESOLVE = PATH + "/resolve"
TOKEN = "ghp_reference_secret_token"
REFERENCE = re.compile(r"^vcr_[0-9A-HJKMNP-TV-Z]{26}$")


@pytest.fixture
def stored(client: Any, api_key: str) -> dict[str, Any]:
    response = client.post(
        PATH,
        json={
            "principalId": "user-1",
            "service": "github",
            "accessToken": TOKEN,
            "refreshToken": "ghr_reference_refresh",
            "tokenExpiresAt": "2099-01-01T00:00:00Z",
            "metadata": {"org": "acme"},
        },
        headers=bearer(api_key),
    )
    assert response.status_code == 201
    return dict(response.get_json())


def refer(client: Any, token: str, **body: Any) -> Any:
    return client.post(
        EXCHANGE, json={"service": "github", "delivery": "reference", **body}, headers=bearer(token)
    )


def resolve(client: Any, api_key: str, reference: str, grant_id: str) -> Any:
    return client.post(
        RESOLVE, json={"credentialRef": reference, "grantId": grant_id}, headers=bearer(api_key)
    )


def exact(issuer: TestIssuer, **claims: Any) -> str:
    claims.setdefault("scp", ["vault:github:exchange", "github:read"])
    return issuer.mint(**claims)


def test_a_reference_resolves_to_the_token_and_never_carries_it(client, issuer, api_key, stored):
    response = refer(client, exact(issuer, grnt="grnt_ref", agt="did:grantex:agent-1"))

    assert response.status_code == 200
    body = response.get_json()
    assert REFERENCE.fullmatch(body["credentialRef"])
    assert {key: body[key] for key in ("service", "credentialType", "tokenExpiresAt")} == {
        "service": "github",
        "credentialType": "oauth2",
        "tokenExpiresAt": "2099-01-01T00:00:00.000Z",
    }
    assert body["metadata"] == {"org": "acme"}
    assert TOKEN not in response.get_data(as_text=True)
    assert "ghr_reference_refresh" not in response.get_data(as_text=True)

    resolved = resolve(client, api_key, body["credentialRef"], "grnt_ref")

    assert resolved.status_code == 200
    assert resolved.get_json() == {
        "accessToken": TOKEN,
        "service": "github",
        "credentialType": "oauth2",
        "tokenExpiresAt": "2099-01-01T00:00:00.000Z",
        "metadata": {"org": "acme"},
        "grantId": "grnt_ref",
        "principalId": "user-1",
        "agentDid": "did:grantex:agent-1",
    }
    assert resolved.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("backend_env", ["gcp"], indirect=True)  # KMS calls are countable
def test_a_reference_costs_no_decryption(client, issuer, stored, backend_env, request):
    kms = request.getfixturevalue("kms")
    kms.calls.clear()

    assert refer(client, exact(issuer)).status_code == 200

    assert "Decrypt" not in kms.calls


def test_resolutions_are_counted_and_audited(client, issuer, api_key, stored):
    reference = refer(client, exact(issuer, grnt="grnt_count", jti="tok_count")).get_json()
    for _ in range(3):
        assert resolve(client, api_key, reference["credentialRef"], "grnt_count").status_code == 200

    lookup = get_vault().exchange._references.resolve_lookup(  # type: ignore[union-attr]
        "dev-1", reference["credentialRef"], "grnt_count"
    )
    assert lookup.reference is not None
    assert lookup.reference.resolved_count == 3
    assert lookup.reference.last_resolved_at is not None
    entries = get_vault().credentials.audit_entries("dev-1")
    made = [entry for entry in entries if entry.action == "reference"]
    resolutions = [entry for entry in entries if entry.action == "resolve"]
    assert len(made) == 1 and made[0].actor == "tok_count"
    assert made[0].outcome == "delivery=reference dpop=False"
    assert made[0].credential_id == stored["id"]
    assert len(resolutions) == 3
    assert all(entry.outcome == "grant=grnt_count" for entry in resolutions)
    assert all(TOKEN not in json.dumps(entry.__repr__()) for entry in entries)


def test_another_grant_is_a_grant_mismatch(client, issuer, api_key, stored):
    reference = refer(client, exact(issuer, grnt="grnt_mine")).get_json()["credentialRef"]

    response = resolve(client, api_key, reference, "grnt_someone_else")

    assert response.status_code == 403
    assert response.get_json()["code"] == "GRANT_MISMATCH"
    assert TOKEN not in response.get_data(as_text=True)


def test_an_expired_reference_is_410(client, issuer, api_key, stored):
    reference_id = refer(client, exact(issuer, grnt="grnt_old")).get_json()["credentialRef"]
    references = get_vault().exchange._references  # type: ignore[union-attr]
    lookup = references.resolve_lookup("dev-1", reference_id, "grnt_old")
    assert lookup.reference is not None
    # The same reference, made again as if it had been issued long ago.
    expired = replace(
        lookup.reference,
        reference_id="vcr_" + "0" * 26,
        created_at=now_micros() - 600_000_000,
        expires_at=now_micros() - 300_000_000,
    )
    audit = replace(get_vault().credentials.audit_entries("dev-1")[-1], entry_id="au_expired")
    references.create(expired, audit)

    response = resolve(client, api_key, expired.reference_id, "grnt_old")

    assert response.status_code == 410
    assert response.get_json()["code"] == "CREDENTIAL_REFERENCE_EXPIRED"


@pytest.mark.parametrize("revoked", ["grant", "parent"])
def test_a_revoked_grant_or_parent_is_grant_inactive(client, issuer, api_key, stored, revoked):
    token = exact(issuer, grnt="grnt_child", parentGrnt="grnt_parent", delegationDepth=1)
    reference = refer(client, token).get_json()["credentialRef"]
    assert resolve(client, api_key, reference, "grnt_child").status_code == 200

    get_vault().exchange.revoke("grant", "grnt_child" if revoked == "grant" else "grnt_parent")

    response = resolve(client, api_key, reference, "grnt_child")
    assert response.status_code == 403
    assert response.get_json()["code"] == "GRANT_INACTIVE"


def test_unknown_or_another_developers_reference_is_404(client, issuer, api_key, stored):
    reference = refer(client, exact(issuer, grnt="grnt_dev1")).get_json()["credentialRef"]
    other_key = get_vault().keys.create("dev-2", "other")[0]

    unknown = resolve(client, api_key, "vcr_" + "7" * 26, "grnt_dev1")
    foreign = resolve(client, other_key, reference, "grnt_dev1")

    assert unknown.status_code == 404 and unknown.get_json()["code"] == "NOT_FOUND"
    assert foreign.status_code == 404 and foreign.get_json()["code"] == "NOT_FOUND"


def test_a_deleted_credential_no_longer_resolves(client, issuer, api_key, stored):
    reference = refer(client, exact(issuer, grnt="grnt_gone")).get_json()["credentialRef"]
    assert client.delete(f"{PATH}/{stored['id']}", headers=bearer(api_key)).status_code == 204

    response = resolve(client, api_key, reference, "grnt_gone")

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"grantId": "g"}, "credentialRef"),
        ({"credentialRef": "vcr_" + "0" * 26}, "grantId"),
        ({"credentialRef": "vcr_short", "grantId": "g"}, "credentialRef"),
        ({"credentialRef": "vcr_" + "U" * 26, "grantId": "g"}, "credentialRef"),
        ({"credentialRef": 7, "grantId": "g"}, "credentialRef"),
        ({"credentialRef": "vcr_" + "0" * 26, "grantId": ["g"]}, "grantId"),
        ({"credentialRef": "vcr_" + "0" * 26, "grantId": ""}, "grantId"),
        ({"credentialRef": "vcr_" + "0" * 26, "grantId": "a\u0000b"}, "grantId"),
    ],
)
def test_malformed_resolve_bodies_are_400(client, api_key, body, field):
    response = client.post(RESOLVE, json=body, headers=bearer(api_key))

    assert response.status_code == 400
    assert response.get_json()["details"][0]["field"] == field


def test_resolve_needs_an_api_key_not_a_grant_token(client, issuer, stored):
    response = client.post(
        RESOLVE,
        json={"credentialRef": "vcr_" + "0" * 26, "grantId": "g"},
        headers=bearer(exact(issuer)),
    )

    assert response.status_code == 401


def test_a_token_without_a_grant_id_cannot_get_a_reference(client, issuer, stored):
    response = refer(client, exact(issuer, grnt=None))

    assert response.status_code == 400
    assert response.get_json()["code"] == "BAD_REQUEST"


def test_unknown_delivery_is_400(client, issuer, stored):
    response = refer(client, exact(issuer), delivery="carrier-pigeon")

    assert response.status_code == 400
    assert response.get_json()["details"][0]["field"] == "delivery"


def test_references_can_be_disabled(backend_env, issuer):
    os.environ["VAULT_CREDENTIAL_REFERENCES_ENABLED"] = "false"
    client = make_client()
    api_key = get_vault().keys.create("dev-1", "tests")[0]
    client.post(
        PATH,
        json={"principalId": "user-1", "service": "github", "accessToken": TOKEN},
        headers=bearer(api_key),
    )

    response = refer(client, exact(issuer))

    assert response.status_code == 400
    assert response.get_json()["code"] == "CREDENTIAL_REFERENCE_DISABLED"
    assert TOKEN not in response.get_data(as_text=True)
    # delivery: token still works
    plain = client.post(EXCHANGE, json={"service": "github"}, headers=bearer(exact(issuer)))
    assert plain.status_code == 200


def test_a_revoked_token_gets_no_reference(client, issuer, stored):
    token = exact(issuer, jti="tok_no_ref")
    get_vault().exchange.revoke("token", "tok_no_ref")

    assert refer(client, token).status_code == 401


def test_the_stored_reference_holds_no_token_material(client, issuer, stored, backend_env):
    reference = refer(client, exact(issuer, grnt="grnt_raw")).get_json()["credentialRef"]
    if backend_env["VAULT_BACKEND"] == "local":
        import sqlite3
        from pathlib import Path

        database = sqlite3.connect(Path(backend_env["VAULT_DATA_DIR"]) / "vault.sqlite3")
        (row,) = database.execute("SELECT * FROM credential_refs WHERE id = ?", (reference,))
        raw = repr(row)
    else:
        gateway = get_vault().credentials._gw  # type: ignore[attr-defined]
        raw = repr(gateway.client.collection("vaultCredentialRefs").document(reference).get()._data)
    assert "grnt_raw" in raw  # it is the reference's row
    assert TOKEN not in raw and "ghr_reference_refresh" not in raw


def test_a_reference_stops_resolving_once_its_token_is_revoked(client, issuer, api_key, stored):
    # A stolen grant token revoked by its jti (`grants revoke --token`, the issuer's feed)
    # must not keep releasing the credential through a reference it obtained before.
    token = exact(issuer, grnt="grnt_tok", jti="tok_ref_revoked")
    reference = refer(client, token).get_json()["credentialRef"]
    assert resolve(client, api_key, reference, "grnt_tok").status_code == 200

    get_vault().exchange.revoke("token", "tok_ref_revoked")

    response = resolve(client, api_key, reference, "grnt_tok")
    assert response.status_code == 403
    assert response.get_json()["code"] == "GRANT_INACTIVE"
    assert TOKEN not in response.get_data(as_text=True)


def test_a_reference_does_not_outlive_the_grant_token_it_was_issued_to(
    client, issuer, api_key, stored
):
    # A token that expires in a minute must not leave a handle that resolves for five.
    expires = int(time.time()) + 60
    response = refer(client, exact(issuer, grnt="grnt_short", exp=expires))

    assert response.status_code == 200
    reference_expires = datetime.fromisoformat(
        response.get_json()["referenceExpiresAt"].replace("Z", "+00:00")
    )
    assert reference_expires.timestamp() <= expires
