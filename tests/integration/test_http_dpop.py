"""DPoP-bound grant tokens (RFC 9449) at the exchange, on both backends, with proofs made
by panva's `dpop` package through node (tests/support/dpop_proofs.py): each proof
algorithm accepted; every way a proof can be wrong refused with its code, including a
replay on a second instance that shares the store; a token without `cnf` unaffected."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.dpop_proofs import ProofKey, ProofMaker, proof_maker
from tests.support.http_app import PATH, bearer, make_client
from tests.support.issuer import TestIssuer
from tests.support.tcp_proxy import TcpProxy
from vault import bootstrap
from vault.bootstrap import Vault, build, get_vault
from vault.config import Settings

EXCHANGE = PATH + "/exchange"
HTU = "http://localhost" + EXCHANGE  # the URL the test client sends the exchange to
# The exact scope the issuer now requires, and a legacy one: valid in either scope mode.
SCOPES = ["vault:github:exchange", "github:read"]
INVALID = 'DPoP error="invalid_dpop_proof"'
MISMATCH = 'DPoP error="invalid_token"'


@pytest.fixture(scope="session")
def maker(tmp_path_factory: pytest.TempPathFactory) -> ProofMaker:
    return proof_maker(tmp_path_factory.mktemp("dpop-keys"))


@pytest.fixture(scope="session")
def keys(maker: ProofMaker) -> dict[str, ProofKey]:
    return maker.make_keys(
        es256="ES256",
        rs256="RS256",
        ed25519="Ed25519",
        es384="ES384",
        other="ES256",
        rsa1024="RS256-1024",
    )


@pytest.fixture
def github(client: Any, api_key: str) -> Any:
    response = client.post(
        PATH,
        json={"principalId": "user-1", "service": "github", "accessToken": "ghp_bound"},
        headers=bearer(api_key),
    )
    assert response.status_code == 201
    return client


def bound_token(issuer: TestIssuer, key: ProofKey) -> str:
    return issuer.mint(cnf={"jkt": key.thumbprint}, scp=SCOPES)


def exchange(
    client: Any, token: str, *proofs: str, scheme: str = "DPoP", body: Any = None, **kwargs: Any
) -> Any:
    headers = [("Authorization", f"{scheme} {token}"), *(("DPoP", proof) for proof in proofs)]
    return client.post(
        EXCHANGE, json={"service": "github"} if body is None else body, headers=headers, **kwargs
    )


def assert_refused(response: Any, code: str = "INVALID_DPOP_PROOF") -> None:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.get_json()["code"] == code
    assert response.headers["WWW-Authenticate"] == (
        INVALID if code != "DPOP_KEY_MISMATCH" else MISMATCH
    )
    assert "accessToken" not in response.get_json()


def exchange_audits(vault: Vault | None = None) -> list[Any]:
    entries = (vault or get_vault()).credentials.audit_entries("dev-1")
    return [entry for entry in entries if entry.action == "exchange"]


# ------------------------------------------------------------------------- accepted


@pytest.mark.parametrize(
    ("key_name", "changes"),
    [
        ("es256", {}),
        ("rs256", {}),
        # panva's package labels Ed25519 proofs with RFC 9864's `Ed25519`; the contract's
        # name is RFC 8037's `EdDSA`: the same signature, under that label.
        ("ed25519", {"header": {"alg": "EdDSA"}}),
        ("es384", {}),  # built with WebCrypto (panva's package has no ES384)
    ],
)
def test_a_key_bound_token_with_a_proof_by_its_key_gets_the_token(
    github, issuer, maker, keys, key_name, changes, capsys
):
    token = bound_token(issuer, keys[key_name])
    proof = maker.proof(keys[key_name], HTU, token, **changes)
    capsys.readouterr()

    response = exchange(github, token, proof)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["accessToken"] == "ghp_bound"
    assert "WWW-Authenticate" not in response.headers
    (audit,) = exchange_audits()
    assert audit.outcome == "delivery=token dpop=True"  # the audit entry names the binding
    log = capsys.readouterr().out
    assert json.loads(log.strip().splitlines()[-1])["dpop"] is True  # Call.dpop was set
    assert proof not in log and token not in log


def test_a_bearer_exchange_is_not_logged_as_dpop(github, issuer, capsys):
    capsys.readouterr()

    assert exchange(github, issuer.mint(scp=SCOPES), scheme="Bearer").status_code == 200

    assert "dpop" not in json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_a_proof_is_accepted_under_the_bearer_scheme_and_any_scheme_case(
    github, issuer, maker, keys
):
    token = bound_token(issuer, keys["es256"])
    first, second = maker.proofs(
        {"key": "es256", "htu": HTU, "accessToken": token},
        {"key": "es256", "htu": HTU, "accessToken": token},
    )

    assert exchange(github, token, first, scheme="Bearer").status_code == 200
    assert exchange(github, token, second, scheme="dpop").status_code == 200


@pytest.mark.parametrize(
    "changes",
    [
        {"iatOffset": -290},  # inside the 300 s window
        {"iatOffset": 25},  # a client clock ahead by less than 30 s
        {"jti": "j" * 16},
        {"jti": "j" * 256},
        {"htu": HTU.replace("http://localhost", "HTTP://LOCALHOST:80") + "?query#fragment"},
    ],
    ids=["iat-290s", "iat+25s", "jti-16", "jti-256", "htu-normalised"],
)
def test_proofs_at_the_edges_of_the_rules_are_accepted(github, issuer, maker, keys, changes):
    token = bound_token(issuer, keys["es256"])
    request = {"key": "es256", "htu": HTU, "accessToken": token, **changes}
    proof = maker.proofs(request)[0]

    assert exchange(github, token, proof).status_code == 200


def test_the_request_query_is_not_part_of_htu(github, issuer, maker, keys):
    token = bound_token(issuer, keys["es256"])
    proof = maker.proof(keys["es256"], HTU, token)

    response = exchange(github, token, proof, query_string={"ignored": "1"})

    assert response.status_code == 200


def test_with_a_public_base_url_the_proof_must_name_it(
    backend_env, issuer, maker, keys, tmp_path: Path
):
    os.environ["VAULT_PUBLIC_BASE_URL"] = "https://vault.example.test"
    client = make_client()
    api_key = get_vault().keys.create("dev-1", "tests")[0]
    client.post(
        PATH,
        json={"principalId": "user-1", "service": "github", "accessToken": "t"},
        headers=bearer(api_key),
    )
    token = bound_token(issuer, keys["es256"])
    public, local = maker.proofs(
        {"key": "es256", "htu": "https://vault.example.test" + EXCHANGE, "accessToken": token},
        {"key": "es256", "htu": HTU, "accessToken": token},
    )

    assert_refused(exchange(client, token, local))
    assert exchange(client, token, public).status_code == 200


def test_a_token_without_cnf_works_as_a_bearer_token_with_or_without_a_proof(
    github, issuer, maker, keys
):
    token = issuer.mint(scp=SCOPES)
    proof_for_it = maker.proof(keys["es256"], HTU, token)

    assert exchange(github, token, scheme="Bearer").status_code == 200
    assert exchange(github, token).status_code == 200  # DPoP scheme, no proof
    assert exchange(github, token, "not-a-proof").status_code == 200
    assert exchange(github, token, proof_for_it).status_code == 200
    assert exchange(github, token, proof_for_it).status_code == 200  # not even replay-checked


def test_api_keys_are_not_accepted_under_the_dpop_scheme(github, api_key):
    response = github.get(PATH, headers={"Authorization": f"DPoP {api_key}"})

    assert response.status_code == 401
    assert response.get_json()["code"] == "UNAUTHORIZED"


# -------------------------------------------------------------------------- refused

OTHER_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvdGhlciJ9.c2lnbmF0dXJl"

# Each case: the node request's changes, and the log reason expected. One proof each;
# every one is refused with INVALID_DPOP_PROOF and WWW-Authenticate.
REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "wrong htm": ({"htm": "GET"}, "dpop_htm"),
    "wrong htu host": ({"htu": "https://elsewhere.example" + EXCHANGE}, "dpop_htu"),
    "wrong htu path": ({"htu": "http://localhost" + PATH}, "dpop_htu"),
    "stale iat": ({"iatOffset": -310}, "dpop_stale"),
    "future iat": ({"iatOffset": 40}, "dpop_future"),
    "ath of another token": ({"accessToken": OTHER_TOKEN}, "dpop_ath"),
    "no ath": ({"accessToken": None}, "dpop_ath"),
    "private jwk in header": ({"privateJwk": True}, "dpop_jwk"),
    "symmetric jwk": ({"header": {"jwk": {"kty": "oct", "k": "c2VjcmV0LWtleQ"}}}, "dpop_jwk"),
    "RSA key of 1024 bits": ({"key": "rsa1024"}, "dpop_jwk"),
    "HS256": ({"header": {"alg": "HS256"}, "sign": "HS256"}, "dpop_alg"),
    "alg none": ({"header": {"alg": "none"}, "sign": "none"}, "dpop_alg"),
    "missing typ": ({"header": {"typ": None}}, "dpop_typ"),
    "typ jwt": ({"header": {"typ": "jwt"}}, "dpop_typ"),
    "jti of 15 characters": ({"jti": "j" * 15}, "dpop_jti"),
    "jti of 257 characters": ({"jti": "j" * 257}, "dpop_jti"),
    "signature over other claims": ({"sign": "tamper"}, "dpop_signature"),
    "alg that does not fit the key": ({"header": {"alg": "ES384"}}, "dpop_signature"),
    "alg Ed25519 (RFC 9864), not in the list": ({"key": "ed25519"}, "dpop_alg"),
}


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_each_wrong_proof_is_refused_with_its_code(github, issuer, maker, keys, capsys, case):
    changes, reason = REFUSED[case]
    key = keys[changes.get("key", "es256")]
    token = bound_token(issuer, key)
    request: dict[str, Any] = {"key": key.name, "htu": HTU, "accessToken": token, **changes}
    if request["accessToken"] is None:
        del request["accessToken"]
    proof = maker.proofs(request)[0]
    capsys.readouterr()

    response = exchange(github, token, proof)

    assert_refused(response)
    assert "X-RateLimit-Limit" not in response.headers  # refused before the limit
    assert exchange_audits() == []
    log = capsys.readouterr().out
    request_line = json.loads(log.strip().splitlines()[-1])
    assert request_line["reason"] == reason
    assert proof not in log and token not in log
    assert proof not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "proofs",
    [(), ("",), ("not.a.jwt",), ("garbage",)],
    ids=["no proof", "empty header", "not a JWS", "not a JWT"],
)
def test_a_key_bound_token_without_a_usable_proof_is_refused(github, issuer, keys, proofs):
    token = bound_token(issuer, keys["es256"])

    assert_refused(exchange(github, token, *proofs))
    assert_refused(exchange(github, token, *proofs, scheme="Bearer"))
    assert exchange_audits() == []


def test_two_dpop_headers_are_refused(github, issuer, maker, keys):
    token = bound_token(issuer, keys["es256"])
    first, second = maker.proofs(
        {"key": "es256", "htu": HTU, "accessToken": token},
        {"key": "es256", "htu": HTU, "accessToken": token},
    )

    assert_refused(exchange(github, token, first, second))
    assert exchange(github, token, first).status_code == 200  # neither was recorded


def test_a_valid_proof_by_another_key_is_a_key_mismatch(github, issuer, maker, keys, capsys):
    token = bound_token(issuer, keys["es256"])
    proof = maker.proof(keys["other"], HTU, token)
    capsys.readouterr()

    response = exchange(github, token, proof)

    assert_refused(response, "DPOP_KEY_MISMATCH")
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["reason"] == (
        "dpop_key_mismatch"
    )
    assert exchange_audits() == []


def test_a_replayed_proof_is_refused(github, issuer, maker, keys, capsys):
    token = bound_token(issuer, keys["es256"])
    proof = maker.proof(keys["es256"], HTU, token)
    assert exchange(github, token, proof).status_code == 200
    capsys.readouterr()

    response = exchange(github, token, proof)

    assert_refused(response)
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["reason"] == (
        "dpop_replayed"
    )
    assert len(exchange_audits()) == 1


def test_a_proof_replayed_to_a_second_instance_sharing_the_store_is_refused(
    github, issuer, maker, keys
):
    token = bound_token(issuer, keys["es256"])
    proof, fresh = maker.proofs(
        {"key": "es256", "htu": HTU, "accessToken": token},
        {"key": "es256", "htu": HTU, "accessToken": token},
    )
    first = get_vault()
    assert exchange(github, token, proof).status_code == 200

    # The same app on a Vault of its own: other connections (SQLite) or another client
    # (Firestore) on the same data directory or emulator project; only the store is shared.
    second = build(Settings.from_env())
    assert second.proofs is not first.proofs
    bootstrap._vault = second

    assert_refused(exchange(github, token, proof))
    assert exchange(github, token, fresh).status_code == 200
    assert len(exchange_audits(second)) == 2


def test_a_refused_proof_does_not_use_up_its_jti(github, issuer, maker, keys):
    token = bound_token(issuer, keys["es256"])
    jti = "retry-" + os.urandom(8).hex()
    wrong, right = maker.proofs(
        {"key": "es256", "htu": HTU, "accessToken": token, "jti": jti, "htm": "PUT"},
        {"key": "es256", "htu": HTU, "accessToken": token, "jti": jti},
    )

    assert_refused(exchange(github, token, wrong))
    assert exchange(github, token, right).status_code == 200


def test_proof_failures_count_against_the_client_address(backend_env, issuer, maker, keys):
    os.environ["VAULT_AUTH_FAILURES_PER_MINUTE"] = "3"
    client = make_client()
    api_key = get_vault().keys.create("dev-1", "tests")[0]
    client.post(
        PATH,
        json={"principalId": "user-1", "service": "github", "accessToken": "t"},
        headers=bearer(api_key),
    )
    token = bound_token(issuer, keys["es256"])
    stale, wrong_key, good = maker.proofs(
        {"key": "es256", "htu": HTU, "accessToken": token, "iatOffset": -400},
        {"key": "other", "htu": HTU, "accessToken": token},
        {"key": "es256", "htu": HTU, "accessToken": token},
    )

    assert_refused(exchange(client, token))
    assert_refused(exchange(client, token, stale))
    assert_refused(exchange(client, token, wrong_key), "DPOP_KEY_MISMATCH")
    response = exchange(client, token, good)

    assert response.status_code == 429
    assert response.get_json()["code"] == "RATE_LIMIT_EXCEEDED"


def test_the_proof_is_checked_before_the_content_type_and_the_body(github, issuer, maker, keys):
    token = bound_token(issuer, keys["es256"])
    proof = maker.proof(keys["es256"], HTU, token)
    headers = {"Authorization": f"DPoP {token}", "Content-Type": "text/plain"}

    without_proof = github.post(EXCHANGE, data="{}", headers=headers)
    with_proof = github.post(EXCHANGE, data="{}", headers={**headers, "DPoP": proof})

    assert_refused(without_proof)
    assert with_proof.status_code == 415  # authenticated, then the content type


# ------------------------------------------------------------- failing closed (gcp)


@pytest.fixture
def proxy(firestore_emulator: Any) -> Iterator[TcpProxy]:
    server = TcpProxy(firestore_emulator.port)
    yield server
    server.close()


@pytest.mark.parametrize("backend_env", ["gcp"], indirect=True)
def test_an_unreachable_replay_store_refuses_the_proof_with_503(
    backend_env, proxy, issuer, maker, keys
):
    os.environ["FIRESTORE_EMULATOR_HOST"] = proxy.host
    os.environ["VAULT_RPC_TIMEOUT_SECONDS"] = "2"
    client = make_client()
    api_key = get_vault().keys.create("dev-1", "tests")[0]
    client.post(
        PATH,
        json={"principalId": "user-1", "service": "github", "accessToken": "t"},
        headers=bearer(api_key),
    )
    token = bound_token(issuer, keys["es256"])
    warm, proof = maker.proofs(
        {"key": "es256", "htu": HTU, "accessToken": token},
        {"key": "es256", "htu": HTU, "accessToken": token},
    )
    assert exchange(client, token, warm).status_code == 200
    proxy.cut()

    response = exchange(client, token, proof)

    assert response.status_code == 503
    assert response.get_json()["code"] == "SERVICE_UNAVAILABLE"
    assert int(response.headers["Retry-After"]) >= 1
    proxy.restore()
    for _ in range(30):  # gRPC reconnects with backoff
        response = exchange(client, token, proof)
        if response.status_code != 503:
            break
        time.sleep(0.5)
    assert response.status_code == 200  # the refused proof was not recorded
    assert len(exchange_audits()) == 2
