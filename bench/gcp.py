"""The gcp backend on this machine: the Firestore emulator, the fake Cloud KMS (gRPC,
served from this process) and a test grant issuer with a JWKS file, as the tests use.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from bench.servers import clean_env

KMS_KEY = "projects/demo/locations/global/keyRings/vault/cryptoKeys/tokens"


class GcpStack:
    def __init__(self, work_dir: Path) -> None:
        from tests.support.fake_kms import FakeKms
        from tests.support.firestore_emulator import FirestoreEmulator, find_emulator
        from tests.support.issuer import ISSUER, TestIssuer

        executable = find_emulator()
        if executable is None:
            raise RuntimeError(
                "the Cloud Firestore emulator is not installed "
                "(Debian package google-cloud-cli-firestore-emulator, and Java)"
            )
        issuer_dir = work_dir / "issuer"
        issuer_dir.mkdir(parents=True, exist_ok=True)
        self.issuer: Any = TestIssuer(issuer_dir)
        self.issuer_name = ISSUER
        self.kms: Any = FakeKms().start()
        self.emulator: Any = FirestoreEmulator(executable, work_dir / "firestore-emulator.log")
        try:
            self.emulator.wait_ready()
        except BaseException:
            self.stop()
            raise

    def env(self, project: str | None = None, **settings: str) -> dict[str, str]:
        return clean_env(
            {
                "VAULT_BACKEND": "gcp",
                "GOOGLE_CLOUD_PROJECT": project or new_project(),
                "FIRESTORE_EMULATOR_HOST": self.emulator.host,
                "VAULT_KMS_KEY": KMS_KEY,
                "VAULT_KMS_ENDPOINT": self.kms.endpoint,
                "VAULT_GRANT_ISSUER": self.issuer_name,
                "VAULT_GRANT_JWKS_URL": str(self.issuer.jwks_path),
                **settings,
            }
        )

    def stop(self) -> None:
        self.kms.stop()
        self.emulator.stop()


def new_project() -> str:
    return "demo-bench-" + uuid.uuid4().hex[:12]
