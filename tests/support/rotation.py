"""Key rotation on either backend, for the rewrap suites: rotate the key-encryption
key (the local ring, or the fake Cloud KMS key), run a rewrap pass, take the old
version out of service."""

from __future__ import annotations

import os
import uuid
from typing import Any

from tests.conftest import FAKE_KMS_KEY
from tests.support.fake_kms import FakeKms
from vault.bootstrap import Vault, get_vault
from vault.keys.rewrap import Rewrap, RewrapPlan
from vault.keys.wiring import sealed_sources


def rotating_vault(backend_env: dict[str, str]) -> Vault:
    """The process's Vault; on gcp over a KMS key of its own (tests rotate and disable
    its versions, which must not touch the shared key other suites use)."""
    if backend_env["VAULT_BACKEND"] == "gcp":
        os.environ["VAULT_KMS_KEY"] = f"{FAKE_KMS_KEY}-{uuid.uuid4().hex[:12]}"
    return get_vault()


def rotate(vault: Vault, kms: FakeKms | None) -> int:
    """A new primary version; returns its number."""
    if vault.settings.backend == "local":
        from vault.adapters.local_kms import rotate as rotate_ring

        return rotate_ring(vault.settings.data_dir / "master.key")
    assert kms is not None and vault.settings.kms_key is not None
    return kms.rotate(vault.settings.kms_key)


def take_out_of_service(vault: Vault, kms: FakeKms | None, version: int) -> None:
    """Local: retire the version (refused while a record uses it); gcp: disable it."""
    if vault.settings.backend == "local":
        from vault.__main__ import main

        assert main(["keys", "retire-master", str(version)]) == 0
    else:
        assert kms is not None and vault.settings.kms_key is not None
        kms.disable(vault.settings.kms_key, version)


def rewrap(vault: Vault, **plan: Any) -> dict[str, Any]:
    sources, state = sealed_sources(vault.settings)
    return Rewrap(vault.envelope, sources, state, vault.credentials.record).run(RewrapPlan(**plan))


def kms_of(vault: Vault, request: Any) -> FakeKms | None:
    return request.getfixturevalue("kms") if vault.settings.backend == "gcp" else None
