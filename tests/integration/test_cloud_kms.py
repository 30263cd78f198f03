"""The Cloud KMS adapter: the real google-cloud-kms client over gRPC to a fake KMS on
loopback (no KMS emulator exists; the client is never patched)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.conftest import FAKE_KMS_KEY
from tests.support.fake_kms import FakeKms
from tests.support.http_app import make_client
from vault.adapters.cloud_kms import CloudKmsAead, client_for
from vault.bootstrap import build
from vault.config import Settings
from vault.envelope import EnvelopeCipher
from vault.errors import DependencyUnavailable, IntegrityError

BODY = {"principalId": "user-1", "service": "github", "accessToken": "ghp_secret"}


@pytest.fixture
def aead(kms: FakeKms) -> CloudKmsAead:
    return CloudKmsAead(client_for(kms.endpoint), FAKE_KMS_KEY, timeout=0.5)


def test_round_trip_through_the_real_client(aead, kms):
    ciphertext = aead.encrypt(b"data key", b"binding")

    assert aead.decrypt(ciphertext, b"binding") == b"data key"
    assert kms.calls == {"Encrypt": 1, "Decrypt": 1}


def test_other_associated_data_is_an_integrity_error(aead):
    ciphertext = aead.encrypt(b"data key", b"binding")

    with pytest.raises(IntegrityError):
        aead.decrypt(ciphertext, b"another record")


@pytest.mark.parametrize("fault", ["corrupt_response", "unverified"])
def test_checksum_problems_are_detected(aead, kms, fault):
    ciphertext = aead.encrypt(b"data key", b"binding")
    kms.fault = fault

    with pytest.raises(DependencyUnavailable):
        aead.encrypt(b"data key", b"binding")
    if fault == "corrupt_response":
        with pytest.raises(DependencyUnavailable):
            aead.decrypt(ciphertext, b"binding")


def test_unavailable_kms_is_retried_within_the_deadline_then_503(aead, kms):
    kms.fault = "unavailable"

    with pytest.raises(DependencyUnavailable):
        aead.encrypt(b"data key", b"binding")
    assert kms.calls["Encrypt"] > 1  # transient errors are retried


def test_slow_kms_is_cut_off_by_the_deadline(aead, kms):
    # The fake answers correctly, but only after 4 s: without the 0.5 s deadline this
    # call would succeed; with it, it fails as unavailable.
    kms.fault = "slow"
    kms.slow_seconds = 4.0

    with pytest.raises(DependencyUnavailable):
        aead.encrypt(b"data key", b"binding")


def test_envelope_over_cloud_kms_round_trips(aead):
    envelope = EnvelopeCipher(aead)
    sealed = envelope.seal(b"record", {"accessToken": b"secret"})

    assert envelope.open(b"record", "accessToken", sealed["accessToken"]) == b"secret"


@pytest.fixture
def gcp_client(firestore_emulator: Any, kms: FakeKms, issuer: Any) -> Any:
    os.environ.update(
        {
            "VAULT_GRANT_ISSUER": "https://issuer.grantex.test",
            "VAULT_GRANT_JWKS_URL": str(issuer.jwks_path),
            "VAULT_BACKEND": "gcp",
            "GOOGLE_CLOUD_PROJECT": "demo-kms-" + os.urandom(4).hex(),
            "FIRESTORE_EMULATOR_HOST": firestore_emulator.host,
            "VAULT_KMS_KEY": FAKE_KMS_KEY,
            "VAULT_KMS_ENDPOINT": kms.endpoint,
            "VAULT_RPC_TIMEOUT_SECONDS": "2",
        }
    )
    return make_client()


@pytest.mark.parametrize("fault", ["unavailable", "slow"])
def test_kms_down_is_503_with_retry_after_and_nothing_stored(gcp_client, kms, fault):
    # Set up and inspect through a vault with the default deadline: the 2 s one is for
    # the request under test, and a freshly started emulator on a loaded machine can
    # take longer than that for its first write.
    vault = build(Settings.from_env({**os.environ, "VAULT_RPC_TIMEOUT_SECONDS": "10"}))
    api_key = vault.keys.create("dev-1", "tests")[0]
    kms.fault = fault
    kms.slow_seconds = 4.0

    response = gcp_client.post(
        "/v1/vault/credentials", json=BODY, headers={"Authorization": f"Bearer {api_key}"}
    )

    assert response.status_code == 503
    assert response.get_json()["code"] == "SERVICE_UNAVAILABLE"
    assert int(response.headers["Retry-After"]) >= 1
    assert vault.credentials.audit_entries("dev-1") == []
    kms.fault = None
    assert vault.credentials.get("dev-1", _id()) is None


def _id() -> str:
    from vault.ids import credential_id

    return credential_id("dev-1", "user-1", "github")
