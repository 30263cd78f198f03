"""How long from a Grantex webhook delivery to the first refused exchange, on another
instance: two ``python -m vault serve`` processes share one store (one SQLite file, or
the Firestore emulator with the fake KMS); the delivery goes to the first, exchanges go
to the second as fast as they can until one is refused. Prints the figures.

    .venv/bin/python -m bench.revocation_latency [--rounds 20]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

SECRET = "whsec_bench"  # noqa: S105 - a benchmark value


def _signed(grant_id: str, delivery: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"id": delivery, "type": "grant.revoked", "data": {"grantId": grant_id}})
    stamp = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return body.encode(), {
        "Content-Type": "application/json",
        "X-Grantex-Timestamp": stamp,
        "X-Grantex-Signature-V2": "sha256=" + mac,
    }


def measure(env: dict[str, str], issuer: Any, rounds: int) -> list[float]:
    from tests.support.served import run_cli, serving

    os.environ.clear()
    os.environ.update(env)
    created = run_cli("keys", "create", "--developer", "dev-1")
    api_key = created.stdout.strip()
    if not api_key:
        raise RuntimeError(created.stderr + repr(sorted(env.items())))
    with serving(env) as first, serving(env) as second:
        httpx.post(
            second + "/v1/vault/credentials",
            json={"principalId": "user-1", "service": "github", "accessToken": "ghp_bench"},
            headers={"Authorization": f"Bearer {api_key}"},
        ).raise_for_status()
        waits: list[float] = []
        for round_number in range(rounds):
            grant_id = f"grnt_bench_{round_number}_{os.getpid()}"
            token = issuer.mint(scp=["vault:github:exchange"], grnt=grant_id)
            headers = {"Authorization": f"Bearer {token}"}
            body = {"service": "github"}
            assert (
                httpx.post(
                    second + "/v1/vault/credentials/exchange", json=body, headers=headers
                ).status_code
                == 200
            )
            payload, signed = _signed(grant_id, f"evt_{grant_id}")
            started = time.perf_counter()
            httpx.post(
                first + "/v1/vault/webhooks/grantex", content=payload, headers=signed
            ).raise_for_status()
            while (
                httpx.post(
                    second + "/v1/vault/credentials/exchange", json=body, headers=headers
                ).status_code
                == 200
            ):
                pass
            waits.append((time.perf_counter() - started) * 1000)
    return waits


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    arguments = parser.parse_args()
    from tests.support.issuer import ISSUER, TestIssuer

    from bench.gcp import GcpStack
    from bench.servers import clean_env

    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        issuer_dir = work_dir / "issuer"
        issuer_dir.mkdir()
        issuer = TestIssuer(issuer_dir)
        local = clean_env(
            {
                "VAULT_BACKEND": "local",
                "VAULT_DATA_DIR": str(work_dir / "data"),
                "VAULT_GRANT_ISSUER": ISSUER,
                "VAULT_GRANT_JWKS_URL": str(issuer.jwks_path),
                "VAULT_GRANTEX_WEBHOOK_SECRET": SECRET,
                "VAULT_AUTH_FAILURES_PER_MINUTE": "0",
            }
        )
        results = {"local (one SQLite file)": measure(local, issuer, arguments.rounds)}
        stack = GcpStack(work_dir / "gcp")
        try:
            gcp = stack.env(VAULT_GRANTEX_WEBHOOK_SECRET=SECRET)
            results["gcp (Firestore emulator)"] = measure(gcp, stack.issuer, arguments.rounds)
        finally:
            stack.stop()
    print("webhook delivery (instance A) -> first refused exchange (instance B), ms,")
    print("measured from sending the delivery, so it includes the delivery's own round trip:")
    for name, waits in results.items():
        print(
            f"  {name}: p50 {statistics.median(waits):.1f}, max {max(waits):.1f}, "
            f"min {min(waits):.1f} over {len(waits)} revocations"
        )


if __name__ == "__main__":
    main()
