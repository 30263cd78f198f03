"""Cloud KMS key versions through the real google-cloud-kms client and the fake KMS:
decryption across versions, ``used_primary``, and a disabled version refused as Cloud
KMS refuses it (FAILED_PRECONDITION), for the adapter, the exchange and the rewrap."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import FAKE_KMS_KEY
from tests.support.fake_kms import FakeKms
from tests.support.http_app import PATH, bearer, make_client
from tests.support.rotation import rotating_vault
from tests.support.service_level import store
from vault.adapters.cloud_kms import CloudKmsAead, client_for
from vault.errors import DependencyUnavailable
from vault.keys.ports import KeyVersionUnusable
from vault.progress import parse_summary


@pytest.fixture
def key_name() -> str:
    return f"{FAKE_KMS_KEY}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def aead(kms: FakeKms, key_name: str) -> CloudKmsAead:
    return CloudKmsAead(client_for(kms.endpoint), key_name, timeout=2.0)


def test_every_version_decrypts_and_says_whether_it_is_the_primary(aead, kms, key_name):
    old = aead.encrypt(b"data key 1", b"binding")
    assert kms.rotate(key_name) == 2
    new = aead.encrypt(b"data key 2", b"binding")

    assert aead.decrypt_reporting_primary(old, b"binding") == (b"data key 1", False)
    assert aead.decrypt_reporting_primary(new, b"binding") == (b"data key 2", True)
    assert aead.decrypt(old, b"binding") == b"data key 1"


def test_a_disabled_version_is_refused_and_enabling_it_again_restores_it(aead, kms, key_name):
    old = aead.encrypt(b"data key", b"binding")
    kms.rotate(key_name)
    kms.disable(key_name, 1)

    with pytest.raises(KeyVersionUnusable) as refused:
        aead.decrypt(old, b"binding")
    assert isinstance(refused.value, DependencyUnavailable)  # 503, never "tampered"
    assert kms.calls["Decrypt"] == 1  # FAILED_PRECONDITION is not retried
    kms.enable(key_name, 1)
    assert aead.decrypt(old, b"binding") == b"data key"


@pytest.mark.parametrize("backend_env", ["gcp"], indirect=True)
def test_a_credential_under_a_disabled_version_is_503_and_a_failed_rewrap(
    backend_env, kms, issuer, capsys
):
    from vault.__main__ import main

    vault = rotating_vault(backend_env)
    caller = vault.keys.create("dev-1", "tests")[1]
    store(vault, caller, principalId="user-1")
    store(vault, caller, principalId="user-2")
    assert vault.settings.kms_key is not None
    kms.rotate(vault.settings.kms_key)
    kms.disable(vault.settings.kms_key, 1)
    capsys.readouterr()

    response: Any = make_client().post(
        PATH + "/exchange", json={"service": "github"}, headers=bearer(issuer.mint())
    )
    status = main(["rewrap", "--batch", "10"])

    assert response.status_code == 503 and "Retry-After" in response.headers
    assert status == 1
    summary = parse_summary(capsys.readouterr().out)
    assert (summary["failed"], summary["rewrapped"]) == (2, 0)
