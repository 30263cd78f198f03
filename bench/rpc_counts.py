"""Remote calls per request on the gcp backend, on a warm instance.

Run as its own process (``python -m bench.rpc_counts --emulator HOST --out FILE``) so
the vault is built from a clean environment. The real functions-framework app serves
each request in process (Flask's test client); Firestore RPCs are counted at the
client's gRPC channel (tests.support.rpc_counter), KMS RPCs at the fake KMS server,
and API-key lookups at the adapter boundary (``FirestoreApiKeyStore.find``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PATH = "/v1/vault/credentials"
REPEATS = 20
BODY = {
    "principalId": "user-rpc",
    "service": "github",
    "accessToken": "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "refreshToken": "ghr_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "tokenExpiresAt": "2031-04-06T12:00:00.000Z",
    "metadata": {"scopes": ["repo", "read:org"]},
}


class KeyLookups:
    """Counts ``FirestoreApiKeyStore.find`` calls: the API-key check's remote reads."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def install(self) -> None:
        from vault.adapters.firestore_api_keys import FirestoreApiKeyStore

        original = FirestoreApiKeyStore.find
        lookups = self

        def find(store: Any, digest: str) -> Any:
            with lookups._lock:
                lookups.count += 1
            return original(store, digest)

        FirestoreApiKeyStore.find = find  # type: ignore[method-assign]


def measure(emulator_host: str, project: str) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.support.fake_kms import FakeKms
    from tests.support.issuer import ISSUER, TestIssuer
    from tests.support.rpc_counter import count_firestore_rpcs

    kms = FakeKms().start()
    scratch = tempfile.TemporaryDirectory(prefix="bench-issuer-")
    issuer = TestIssuer(Path(scratch.name))
    os.environ.update(
        {
            "VAULT_BACKEND": "gcp",
            "GOOGLE_CLOUD_PROJECT": project,
            "FIRESTORE_EMULATOR_HOST": emulator_host,
            "VAULT_KMS_KEY": "projects/demo/locations/global/keyRings/vault/cryptoKeys/tokens",
            "VAULT_KMS_ENDPOINT": kms.endpoint,
            "VAULT_GRANT_ISSUER": ISSUER,
            "VAULT_GRANT_JWKS_URL": str(issuer.jwks_path),
        }
    )
    try:
        from functions_framework import create_app
        from vault.bootstrap import get_vault

        lookups = KeyLookups()
        lookups.install()
        client = create_app("vault", str(ROOT / "main.py")).test_client()
        vault = get_vault()
        firestore = count_firestore_rpcs(vault.credentials._gw.client, emulator_host)  # type: ignore[attr-defined]
        api_key = vault.keys.create("bench", "rpc counts")[0]
        auth = {"Authorization": f"Bearer {api_key}"}

        def snapshot() -> tuple[Counter[str], Counter[str], int]:
            return Counter(firestore.calls), Counter(kms.calls), lookups.count

        def since(before: tuple[Counter[str], Counter[str], int], n: int) -> dict[str, Any]:
            fs = Counter(firestore.calls)
            fs.subtract(before[0])
            km = Counter(kms.calls)
            km.subtract(before[1])
            return {
                "requests": n,
                "firestore": {name: count / n for name, count in sorted(fs.items()) if count},
                "kms": {name: count / n for name, count in sorted(km.items()) if count},
                "api_key_lookups": (lookups.count - before[2]) / n,
                "firestore_total": sum(fs.values()) / n,
                "kms_total": sum(km.values()) / n,
            }

        def run(label: str, n: int, send: Any, expect: int) -> dict[str, Any]:
            before = snapshot()
            for index in range(n):
                status = send(index).status_code
                if status != expect:
                    raise RuntimeError(f"{label}: {status}, expected {expect}")
            return since(before, n)

        out: dict[str, Any] = {"project": project}
        # The first authenticated request of the instance: the key is looked up once.
        out["first_store_cold_key_cache"] = run(
            "first store", 1, lambda i: client.post(PATH, json=BODY, headers=auth), 201
        )
        out["store_distinct"] = run(
            "store",
            REPEATS,
            lambda i: client.post(PATH, json={**BODY, "principalId": f"u-{i}"}, headers=auth),
            201,
        )
        out["store_same"] = run(
            "upsert", REPEATS, lambda i: client.post(PATH, json=BODY, headers=auth), 201
        )
        exchange_body = {"service": "github"}
        out["exchange"] = run(
            "exchange",
            REPEATS,
            lambda i: client.post(
                PATH + "/exchange",
                json=exchange_body,
                headers={
                    "Authorization": "Bearer "
                    + issuer.mint(dev="bench", sub="user-rpc", scp=["vault:github:exchange"])
                },
            ),
            200,
        )
        out["list"] = run(
            "list",
            REPEATS,
            lambda i: client.get(PATH, query_string={"limit": "10"}, headers=auth),
            200,
        )
        out["get_absent"] = run(
            "get absent",
            REPEATS,
            lambda i: client.get(PATH + "/vc_" + "a" * 32, headers=auth),
            404,
        )
        absent = out["get_absent"]
        out["api_key_check"] = {
            "requests": REPEATS,
            # GET of an absent credential = the API-key check + one document read.
            "firestore_total": absent["firestore_total"] - 1,
            "kms_total": absent["kms_total"],
            "api_key_lookups": absent["api_key_lookups"],
            "cache_seconds": vault.settings.api_key_cache_seconds,
        }
        return out
    finally:
        kms.stop()
        scratch.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--out", required=True)
    arguments = parser.parse_args(argv)
    with contextlib.redirect_stdout(io.StringIO()):  # the request log lines
        result = measure(arguments.emulator, arguments.project)
    Path(arguments.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
