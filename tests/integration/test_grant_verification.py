"""Grant-token verification through POST /v1/vault/credentials/exchange, on both
backends: the exact/legacy scope modes, non-ASCII look-alike scopes, claims that are not
Unicode text, weak keys, the ``kid`` fallback, and the clock leeway."""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.http_app import PATH, bearer, make_client
from tests.support.issuer import TestIssuer, new_rsa_key, public_jwk
from vault.bootstrap import get_vault

EXCHANGE = PATH + "/exchange"
LEGACY_FORMS = [
    "*",
    "github:*",
    "github:read",
    "github:credentials:read",
    "vault:github:*",
    "vault:github:read",
    "vault:credentials:exchange",
    "GitHub:READ",
]


def vault_client(*services: str) -> Any:
    """A client whose Vault reads the settings the test set first, holding a credential
    of ``user-1`` for each service."""
    client = make_client()
    api_key = get_vault().keys.create("dev-1", "tests")[0]
    for service in services or ("github",):
        stored = client.post(
            PATH,
            json={"principalId": "user-1", "service": service, "accessToken": "tok_" + service},
            headers=bearer(api_key),
        )
        assert stored.status_code == 201
    return client


def exchange(client: Any, token: str, service: str = "github") -> Any:
    return client.post(EXCHANGE, json={"service": service}, headers=bearer(token))


def test_exact_mode_releases_only_for_the_exchange_scope(backend_env, issuer: TestIssuer):
    client = vault_client()

    assert exchange(client, issuer.mint(scp=["vault:github:exchange"])).status_code == 200
    assert exchange(client, issuer.mint(scp=["VAULT:GitHub:Exchange"])).status_code == 200
    refused = {scope: exchange(client, issuer.mint(scp=[scope])) for scope in LEGACY_FORMS}
    assert {scope: reply.status_code for scope, reply in refused.items()} == dict.fromkeys(
        LEGACY_FORMS, 403
    )
    assert all(reply.get_json()["code"] == "FORBIDDEN" for reply in refused.values())


def test_legacy_mode_also_accepts_the_older_forms(backend_env, issuer: TestIssuer):
    os.environ["VAULT_EXCHANGE_SCOPES"] = "legacy"
    client = vault_client()

    statuses = {
        scope: exchange(client, issuer.mint(scp=["other:read", scope])).status_code
        for scope in [*LEGACY_FORMS, "vault:github:exchange"]
    }

    assert statuses == dict.fromkeys([*LEGACY_FORMS, "vault:github:exchange"], 200)
    assert exchange(client, issuer.mint(scp=["slack:read"])).status_code == 403


@pytest.mark.parametrize("mode", ["exact", "legacy"])
@pytest.mark.parametrize(
    "scope",
    [
        "\u212aubernetes:read",  # KELVIN SIGN, which str.lower() turns into "k"
        "\u212aubernetes:*",
        "vault:\u212aubernetes:exchange",
        "vault:\u212aUBERNETES:exchange",
        "vault:kubernete\u017f:exchange",  # LONG S, which casefolds to "s"
        "vault:\uff4bubernetes:exchange",  # FULLWIDTH k
    ],
)
def test_non_ascii_look_alike_scopes_are_403(backend_env, issuer: TestIssuer, mode, scope):
    os.environ["VAULT_EXCHANGE_SCOPES"] = mode
    client = vault_client("kubernetes")

    response = exchange(client, issuer.mint(scp=[scope]), "kubernetes")

    assert response.status_code == 403
    assert "tok_kubernetes" not in response.get_data(as_text=True)


SURROGATE = "\ud800"


@pytest.mark.parametrize(
    "claims",
    [
        {"scp": ["vault:github:exchange", "x" + SURROGATE]},
        {"agt": "did:grantex:" + SURROGATE},
        {"grnt": "grnt_" + SURROGATE},
        {"parentGrnt": "grnt_" + SURROGATE},
        {"cnf": {"jkt": SURROGATE}},
        {"sub": "user-1" + SURROGATE},
        {"dev": "dev-1" + SURROGATE},
        {"jti": "tok_" + SURROGATE},
        {"iss": SURROGATE},
        {"ext": {"nested": [SURROGATE]}},
    ],
    ids=lambda claims: next(iter(claims)),
)
def test_a_lone_surrogate_in_any_claim_is_401_with_no_kms_call_and_no_audit_gap(
    backend_env, issuer: TestIssuer, request: pytest.FixtureRequest, capsys, claims
):
    client = vault_client()
    kms = request.getfixturevalue("kms") if backend_env["VAULT_BACKEND"] == "gcp" else None
    capsys.readouterr()

    response = exchange(client, issuer.mint(**claims))

    assert response.status_code == 401
    assert response.get_json()["code"] == "UNAUTHORIZED"
    request_log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert request_log["status"] == 401
    assert request_log["reason"] in ("bad_claims", "wrong_issuer")
    assert [
        e for e in get_vault().credentials.audit_entries("dev-1") if e.action == "exchange"
    ] == []
    if kms is not None:
        assert kms.calls["Decrypt"] == 0
    # Every decrypt that does happen has its audit entry.
    assert exchange(client, issuer.mint(agt="did:grantex:agent-1")).status_code == 200
    audited = [e for e in get_vault().credentials.audit_entries("dev-1") if e.action == "exchange"]
    assert [e.agent for e in audited] == ["did:grantex:agent-1"]
    if kms is not None:
        assert kms.calls["Decrypt"] == len(audited)


def test_a_lone_surrogate_in_the_header_is_401(backend_env, issuer: TestIssuer):
    client = vault_client()

    response = exchange(client, issuer.mint(kid="test-key-1" + SURROGATE))

    assert response.status_code == 401


def serve_jwks(tmp_path: Path, *jwks: dict[str, Any]) -> None:
    path = tmp_path / "issuer-jwks.json"
    path.write_text(json.dumps({"keys": list(jwks)}))
    os.environ["VAULT_GRANT_JWKS_URL"] = str(path)


def mint_with(issuer: TestIssuer, key: rsa.RSAPrivateKey, kid: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns about the 1024-bit key, rightly
        return jwt.encode(issuer.claims(), key, algorithm="RS256", headers={"kid": kid})


def test_a_token_signed_by_a_1024_bit_key_of_the_jwks_is_refused(
    backend_env, issuer: TestIssuer, tmp_path: Path
):
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    serve_jwks(tmp_path, public_jwk(weak, "weak-1"), public_jwk(issuer.key, issuer.kid))
    client = vault_client()

    assert exchange(client, mint_with(issuer, weak, "weak-1")).status_code == 401
    assert exchange(client, mint_with(issuer, weak, "unknown")).status_code == 401
    assert exchange(client, mint_with(issuer, issuer.key, issuer.kid)).status_code == 200


def test_kid_is_a_hint_with_a_fallback_to_each_key_of_the_issuers_jwks(
    backend_env, issuer: TestIssuer, tmp_path: Path
):
    """The Grantex issuer relabels its one key monthly (``grantex-YYYY-MM``)."""
    current, other = new_rsa_key(), new_rsa_key()
    serve_jwks(
        tmp_path, public_jwk(other, "grantex-2026-03"), public_jwk(current, "grantex-2026-04")
    )
    client = vault_client()

    relabelled = mint_with(issuer, current, "grantex-2026-02")
    assert exchange(client, relabelled).status_code == 200
    assert exchange(client, mint_with(issuer, other, "grantex-2025-12")).status_code == 200
    assert exchange(client, mint_with(issuer, current, "grantex-2026-04")).status_code == 200
    # The fallback only ever tries keys of the issuer's JWKS.
    assert exchange(client, mint_with(issuer, new_rsa_key(), "grantex-2026-02")).status_code == 401
    # A kid the JWKS does know binds the token to that key.
    assert exchange(client, mint_with(issuer, current, "grantex-2026-03")).status_code == 401
    assert exchange(client, mint_with(issuer, new_rsa_key(), "grantex-2026-04")).status_code == 401


def test_no_clock_leeway_by_default(backend_env, issuer: TestIssuer):
    client = vault_client()
    now = int(time.time())

    assert exchange(client, issuer.mint(exp=now - 2)).status_code == 401
    assert exchange(client, issuer.mint(nbf=now + 10)).status_code == 401
    assert exchange(client, issuer.mint(iat=now + 10)).status_code == 401
    assert exchange(client, issuer.mint(exp=now + 60, nbf=now - 1)).status_code == 200


def test_the_configured_clock_leeway_is_honoured(backend_env, issuer: TestIssuer):
    os.environ["VAULT_GRANT_LEEWAY_SECONDS"] = "30"
    client = vault_client()
    now = int(time.time())

    assert exchange(client, issuer.mint(exp=now - 10)).status_code == 200
    assert exchange(client, issuer.mint(nbf=now + 10)).status_code == 200
    assert exchange(client, issuer.mint(exp=now - 120)).status_code == 401
    assert exchange(client, issuer.mint(nbf=now + 120)).status_code == 401


def test_a_token_that_would_outlive_its_denylist_entry_is_refused(backend_env, issuer):
    # A denial is kept VAULT_GRANT_MAX_LIFETIME_SECONDS: a token living longer would work
    # again once its denial is dropped, so it is refused from the start.
    os.environ["VAULT_GRANT_MAX_LIFETIME_SECONDS"] = "3600"
    client = vault_client()
    now = int(time.time())

    assert exchange(client, issuer.mint(iat=now - 10, exp=now + 3590)).status_code == 200
    assert exchange(client, issuer.mint(iat=now - 10, exp=now + 3600)).status_code == 401
    # its lifetime counts from iat: a token issued two hours ago for three is refused too
    assert exchange(client, issuer.mint(iat=now - 7200, exp=now + 3600)).status_code == 401
    # without iat, from now
    assert exchange(client, issuer.mint(iat=None, exp=now + 3599)).status_code == 200
    assert exchange(client, issuer.mint(iat=None, exp=now + 3700)).status_code == 401
