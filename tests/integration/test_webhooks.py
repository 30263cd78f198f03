"""``POST /v1/vault/webhooks/grantex`` on both backends: deliveries signed the way the
Grantex issuer signs them (HMAC-SHA256 over ``<timestamp>.<body>``, ``sha256=`` hex in
``X-Grantex-Signature-V2``), and every delivery that must be refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from typing import Any

import pytest

from tests.support.http_app import PATH, bearer, make_client
from tests.support.issuer import TestIssuer
from vault.bootstrap import get_vault

WEBHOOK = "/v1/vault/webhooks/grantex"
SECRET = "whsec_test_secret_0123456789"


def signed(
    event: Any,
    secret: str = SECRET,
    timestamp: int | None = None,
    raw: bytes | None = None,
) -> tuple[bytes, dict[str, str]]:
    body = raw if raw is not None else json.dumps(event).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/json",
        "X-Grantex-Timestamp": stamp,
        "X-Grantex-Signature-V2": "sha256=" + mac,
    }


def revoked(grant_id: str, delivery_id: str, cascade: bool | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"grantId": grant_id}
    if cascade is not None:
        data["cascade"] = cascade
    return {
        "id": delivery_id,
        "type": "grant.revoked",
        "createdAt": "2026-12-01T12:00:00.000Z",
        "data": data,
    }


@pytest.fixture
def hooked(backend_env: dict[str, str]) -> tuple[Any, str]:
    os.environ["VAULT_GRANTEX_WEBHOOK_SECRET"] = SECRET
    client = make_client()
    api_key = get_vault().keys.create("dev-1", "tests")[0]
    response = client.post(
        PATH,
        json={"principalId": "user-1", "service": "github", "accessToken": "ghp_hooked"},
        headers=bearer(api_key),
    )
    assert response.status_code == 201
    return client, api_key


def deliver(client: Any, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(WEBHOOK, data=body, headers=headers)


def exchange(client: Any, token: str) -> int:
    response = client.post(PATH + "/exchange", json={"service": "github"}, headers=bearer(token))
    return int(response.status_code)


def token(issuer: TestIssuer, **claims: Any) -> str:
    return issuer.mint(scp=["vault:github:exchange", "github:read"], **claims)


def revocations(developer: str = "") -> list[Any]:
    return [
        entry
        for entry in get_vault().credentials.audit_entries(developer)
        if entry.action == "grant.revoke"
    ]


def test_a_signed_revocation_denies_the_grant_from_the_next_exchange(hooked, issuer):
    client, _ = hooked
    grant_token = token(issuer, grnt="grnt_hooked")
    assert exchange(client, grant_token) == 200

    response = deliver(client, *signed(revoked("grnt_hooked", "evt_1")))

    assert response.status_code == 200
    assert response.get_json() == {"id": "evt_1", "status": "applied"}
    assert exchange(client, grant_token) == 401
    assert exchange(client, token(issuer, grnt="grnt_hooked")) == 401
    assert exchange(client, token(issuer, grnt="grnt_other")) == 200
    (entry,) = revocations()
    assert entry.actor == "grantex-webhook"
    assert entry.outcome == "grant=grnt_hooked cascade=false"


@pytest.mark.parametrize("cascade", [True, False])
def test_a_revoked_grants_delegated_grants_are_refused(hooked, issuer, cascade):
    client, _ = hooked
    child = token(issuer, grnt="grnt_child", parentGrnt="grnt_root", delegationDepth=1)
    assert exchange(client, child) == 200

    deliver(client, *signed(revoked("grnt_root", "evt_cascade", cascade=cascade)))

    assert exchange(client, child) == 401
    assert revocations()[0].outcome == f"grant=grnt_root cascade={str(cascade).lower()}"


def test_a_replayed_delivery_is_a_no_op(hooked, issuer):
    client, _ = hooked
    body, headers = signed(revoked("grnt_once", "evt_same"))
    assert deliver(client, body, headers).get_json()["status"] == "applied"

    again = deliver(client, *signed(revoked("grnt_twice", "evt_same")))

    assert again.status_code == 200
    assert again.get_json() == {"id": "evt_same", "status": "duplicate"}
    assert exchange(client, token(issuer, grnt="grnt_twice")) == 200  # nothing applied
    assert len(revocations()) == 1


def test_other_event_types_are_acknowledged_and_ignored(hooked, issuer):
    client, _ = hooked
    event = {"id": "evt_x", "type": "grant.created", "data": {"grantId": "grnt_new"}}

    response = deliver(client, *signed(event))

    assert response.status_code == 200
    assert response.get_json() == {"id": "evt_x", "status": "ignored"}
    assert exchange(client, token(issuer, grnt="grnt_new")) == 200
    assert revocations() == []


def refused_deliveries() -> dict[str, tuple[bytes, dict[str, str]]]:
    event = revoked("grnt_target", "evt_refused")
    body, good = signed(event)
    stale_body, stale = signed(event, timestamp=int(time.time()) - 301)
    future_body, future = signed(event, timestamp=int(time.time()) + 330)
    wrong_body, wrong = signed(event, secret="whsec_not_ours")
    legacy = {
        "Content-Type": "application/json",
        "X-Grantex-Signature": "sha256="
        + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }
    tampered = dict(good)
    return {
        "bad signature": (wrong_body, wrong),
        "stale timestamp": (stale_body, stale),
        "timestamp from the future": (future_body, future),
        "legacy signature only": (body, legacy),
        "no signature": (body, {"Content-Type": "application/json"}),
        "body changed after signing": (body.replace(b"grnt_target", b"grnt_targeT"), tampered),
        "signature of another timestamp": (
            body,
            {**good, "X-Grantex-Timestamp": stale["X-Grantex-Timestamp"]},
        ),
        # hmac.compare_digest refuses non-ASCII str with a TypeError: a 401, never a 500
        "non-ASCII signature": (body, {**good, "X-Grantex-Signature-V2": "sha256=" + "é" * 64}),
        "non-ASCII timestamp": (body, {**good, "X-Grantex-Timestamp": "\uff11\uff17\uff16\uff14"}),
    }


@pytest.mark.parametrize("case", list(refused_deliveries()))
def test_unsigned_stale_or_forged_deliveries_are_401_and_change_nothing(hooked, issuer, case):
    client, _ = hooked
    body, headers = refused_deliveries()[case]

    response = deliver(client, body, headers)

    assert response.status_code == 401
    assert response.get_json()["code"] == "UNAUTHORIZED"
    assert exchange(client, token(issuer, grnt="grnt_target")) == 200
    assert revocations() == []


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"{not json", None),
        (b"[1, 2]", None),
        (json.dumps({"type": "grant.revoked", "data": {"grantId": "g"}}).encode(), "id"),
        (json.dumps({"id": "evt", "type": "grant.revoked", "data": {}}).encode(), "data.grantId"),
        (json.dumps({"id": "evt", "type": "grant.revoked", "data": "g"}).encode(), "data"),
        (
            json.dumps(
                {"id": "evt", "type": "grant.revoked", "data": {"grantId": "g", "cascade": "yes"}}
            ).encode(),
            "data.cascade",
        ),
        (json.dumps({"id": 5, "type": "grant.revoked"}).encode(), "id"),
        (
            json.dumps({"id": "evt", "type": "grant.revoked", "data": {"grantId": 7}}).encode(),
            "data.grantId",
        ),
    ],
)
def test_signed_but_malformed_deliveries_are_400_and_change_nothing(hooked, raw, field):
    client, _ = hooked

    response = deliver(client, *signed(None, raw=raw))

    assert response.status_code == 400
    if field is not None:
        assert response.get_json()["details"][0]["field"] == field
    assert revocations() == []


def test_without_a_secret_the_route_does_not_exist(backend_env):
    client = make_client()

    response = deliver(client, *signed(revoked("grnt_x", "evt_404")))

    assert response.status_code == 404
    assert response.get_json()["code"] == "NOT_FOUND"


def test_failed_signatures_count_against_the_senders_address(backend_env):
    os.environ["VAULT_GRANTEX_WEBHOOK_SECRET"] = SECRET
    os.environ["VAULT_AUTH_FAILURES_PER_MINUTE"] = "3"
    client = make_client()
    body, headers = signed(revoked("grnt_x", "evt_flood"), secret="guess")

    statuses = [deliver(client, body, headers).status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]


def test_the_secret_never_reaches_a_response_or_a_log(hooked, capsys):
    client, _ = hooked
    deliver(client, *signed(revoked("grnt_log", "evt_log")))
    deliver(client, *signed(revoked("grnt_log", "evt_log2"), secret="wrong"))

    logged = "".join(capsys.readouterr())
    assert SECRET not in logged
    assert "sha256=" not in logged  # nor the signatures
