"""Round trips of a warm key-bound (DPoP) exchange on the gcp backend, counted at the
gRPC channel (Firestore, to the emulator) and at the fake KMS server: the proof costs
one Firestore commit (the replay record's create) and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.dpop_proofs import ProofKey, ProofMaker, proof_maker
from tests.support.fake_kms import FakeKms
from tests.support.http_app import PATH, bearer, make_client
from tests.support.issuer import TestIssuer
from tests.support.rpc_counter import RpcCounter, count_firestore_rpcs
from vault.bootstrap import get_vault

pytestmark = pytest.mark.parametrize("backend_env", ["gcp"], indirect=True)

EXCHANGE = PATH + "/exchange"
HTU = "http://localhost" + EXCHANGE
SCOPES = ["vault:github:exchange", "github:read"]


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> tuple[ProofMaker, ProofKey]:
    maker = proof_maker(tmp_path_factory.mktemp("dpop-rpc-keys"))
    return maker, maker.make_keys(counted="ES256")["counted"]


@pytest.fixture
def warm(backend_env: dict[str, str], firestore_emulator: Any) -> tuple[Any, RpcCounter]:
    client = make_client()
    vault = get_vault()
    counter = count_firestore_rpcs(
        vault.credentials._gw.client,  # type: ignore[attr-defined]
        firestore_emulator.host,
    )
    api_key = vault.keys.create("dev-1", "tests")[0]
    body = {"principalId": "user-1", "service": "github", "accessToken": "ghp_secret"}
    assert client.post(PATH, json=body, headers=bearer(api_key)).status_code == 201
    return client, counter


def test_a_dpop_exchange_is_one_batch_get_one_decrypt_and_two_commits(
    warm, kms: FakeKms, issuer: TestIssuer, key
):
    client, firestore_rpcs = warm
    maker, proof_key = key
    tokens = [issuer.mint(cnf={"jkt": proof_key.thumbprint}, scp=SCOPES) for _ in range(4)]
    proofs = maker.proofs(
        *({"key": proof_key.name, "htu": HTU, "accessToken": token} for token in tokens)
    )

    def send(token: str, proof: str) -> Any:
        headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
        return client.post(EXCHANGE, json={"service": "github"}, headers=headers)

    assert send(tokens[0], proofs[0]).status_code == 200  # warm: JWKS, joserfc, channels
    firestore_rpcs.reset()
    kms.calls.clear()

    for token, proof in zip(tokens[1:], proofs[1:], strict=True):
        assert send(token, proof).status_code == 200

    # Per exchange: the replay record (a create: one Commit), the credential and
    # denylists (one BatchGetDocuments), the audit entry (one Commit), one KMS decrypt.
    assert dict(firestore_rpcs.calls) == {"BatchGetDocuments": 3, "Commit": 6}
    assert dict(kms.calls) == {"Decrypt": 3}


def test_a_refused_proof_costs_no_rpc(warm, kms: FakeKms, issuer: TestIssuer, key):
    client, firestore_rpcs = warm
    maker, proof_key = key
    token = issuer.mint(cnf={"jkt": proof_key.thumbprint}, scp=SCOPES)
    stale = maker.proof(proof_key, HTU, token, iatOffset=-400)
    firestore_rpcs.reset()
    kms.calls.clear()

    response = client.post(
        EXCHANGE,
        json={"service": "github"},
        headers={"Authorization": f"DPoP {token}", "DPoP": stale},
    )

    assert response.status_code == 401
    assert firestore_rpcs.total() == 0
    assert kms.calls == {}
