"""Round trips per operation on a warm gcp instance, counted at the gRPC channel
(Firestore, to the emulator) and at the fake KMS server. Deterministic, so a
regression in round trips fails CI."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.support.fake_kms import FakeKms
from tests.support.http_app import PATH, bearer, make_client
from tests.support.issuer import TestIssuer
from tests.support.rpc_counter import RpcCounter, count_firestore_rpcs
from vault.bootstrap import get_vault

pytestmark = pytest.mark.parametrize("backend_env", ["gcp"], indirect=True)

BODY = {"principalId": "user-1", "service": "github", "accessToken": "ghp_secret"}


@pytest.fixture
def warm(backend_env: dict[str, str], firestore_emulator: Any) -> tuple[Any, str, RpcCounter]:
    assert os.environ["VAULT_BACKEND"] == "gcp"
    client = make_client()
    vault = get_vault()
    counter = count_firestore_rpcs(
        vault.credentials._gw.client,  # type: ignore[attr-defined]
        firestore_emulator.host,
    )
    api_key = vault.keys.create("dev-1", "tests")[0]
    assert client.post(PATH, json=BODY, headers=bearer(api_key)).status_code == 201  # warm up
    return client, api_key, counter


def test_store_is_one_commit_and_one_kms_encrypt(warm, kms: FakeKms):
    client, api_key, firestore_rpcs = warm
    firestore_rpcs.reset()
    kms.calls.clear()

    for index in range(5):
        body = {**BODY, "principalId": f"user-{index % 2}", "refreshToken": "ghr_x"}
        assert client.post(PATH, json=body, headers=bearer(api_key)).status_code == 201

    assert dict(firestore_rpcs.calls) == {"Commit": 5}
    assert dict(kms.calls) == {"Encrypt": 5}


def test_exchange_is_one_batch_get_one_kms_decrypt_and_the_audit_commit(
    warm, kms: FakeKms, issuer: TestIssuer
):
    client, _, firestore_rpcs = warm
    client.post(PATH + "/exchange", json={"service": "github"}, headers=bearer(issuer.mint()))
    firestore_rpcs.reset()
    kms.calls.clear()

    for _ in range(3):
        response = client.post(
            PATH + "/exchange", json={"service": "github"}, headers=bearer(issuer.mint())
        )
        assert response.status_code == 200

    assert dict(firestore_rpcs.calls) == {"BatchGetDocuments": 3, "Commit": 3}
    assert dict(kms.calls) == {"Decrypt": 3}


def test_a_delegated_token_still_costs_one_batch_get(warm, kms: FakeKms, issuer: TestIssuer):
    """The token, its grant and its parent grant are all read with the credential."""
    client, _, firestore_rpcs = warm
    firestore_rpcs.reset()
    kms.calls.clear()

    response = client.post(
        PATH + "/exchange",
        json={"service": "github"},
        headers=bearer(issuer.mint(parentGrnt="grnt_parent", delegationDepth=1)),
    )

    assert response.status_code == 200
    assert dict(firestore_rpcs.calls) == {"BatchGetDocuments": 1, "Commit": 1}
    assert dict(kms.calls) == {"Decrypt": 1}


def test_exchange_by_reference_is_one_batch_get_one_commit_and_no_kms(
    warm, kms: FakeKms, issuer: TestIssuer
):
    client, _, firestore_rpcs = warm
    firestore_rpcs.reset()
    kms.calls.clear()

    response = client.post(
        PATH + "/exchange",
        json={"service": "github", "delivery": "reference"},
        headers=bearer(issuer.mint()),
    )

    assert response.status_code == 200
    assert dict(firestore_rpcs.calls) == {"BatchGetDocuments": 1, "Commit": 1}
    assert kms.calls == {}


def test_resolve_is_two_reads_one_kms_decrypt_and_one_commit(
    warm, kms: FakeKms, issuer: TestIssuer
):
    client, api_key, firestore_rpcs = warm
    reference = client.post(
        PATH + "/exchange",
        json={"service": "github", "delivery": "reference"},
        headers=bearer(issuer.mint(grnt="grnt_rpc")),
    ).get_json()["credentialRef"]
    firestore_rpcs.reset()
    kms.calls.clear()

    response = client.post(
        PATH + "/resolve",
        json={"credentialRef": reference, "grantId": "grnt_rpc"},
        headers=bearer(api_key),
    )

    assert response.status_code == 200
    # the reference with its grant's denial in one get_all, then the credential
    assert dict(firestore_rpcs.calls) == {"BatchGetDocuments": 2, "Commit": 1}
    assert dict(kms.calls) == {"Decrypt": 1}


def test_a_delegated_resolve_is_still_two_reads(warm, kms: FakeKms, issuer: TestIssuer):
    client, api_key, firestore_rpcs = warm
    token = issuer.mint(grnt="grnt_rpc_child", parentGrnt="grnt_rpc_parent", delegationDepth=1)
    reference = client.post(
        PATH + "/exchange",
        json={"service": "github", "delivery": "reference"},
        headers=bearer(token),
    ).get_json()["credentialRef"]
    firestore_rpcs.reset()
    kms.calls.clear()

    response = client.post(
        PATH + "/resolve",
        json={"credentialRef": reference, "grantId": "grnt_rpc_child"},
        headers=bearer(api_key),
    )

    assert response.status_code == 200
    # the reference with its grant's denial; then the credential with the token's and
    # the parent grant's denials
    assert dict(firestore_rpcs.calls) == {"BatchGetDocuments": 2, "Commit": 1}
    assert dict(kms.calls) == {"Decrypt": 1}


def test_list_page_is_one_query_and_no_kms(warm, kms: FakeKms):
    client, api_key, firestore_rpcs = warm
    firestore_rpcs.reset()
    kms.calls.clear()

    response = client.get(PATH, query_string={"limit": "5"}, headers=bearer(api_key))

    assert response.status_code == 200
    assert dict(firestore_rpcs.calls) == {"RunQuery": 1}
    assert kms.calls == {}


def test_api_key_check_costs_nothing_on_a_warm_instance(warm):
    client, api_key, firestore_rpcs = warm
    firestore_rpcs.reset()

    for _ in range(5):
        client.get(PATH + "/vc_" + "a" * 32, headers=bearer(api_key))

    assert dict(firestore_rpcs.calls) == {"BatchGetDocuments": 5}  # the reads; no key lookups
