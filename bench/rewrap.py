"""Rewrap throughput on both backends, and the concurrency figures.

    .venv/bin/python -m bench.rewrap [--records 2000] [--gcp-records 500] [--batch 100]
                                     [--skip-gcp] [--json PATH]

For each backend: store N credentials (access and refresh token), rotate the key
(local ring / fake Cloud KMS), then time one rewrap pass (every record re-sealed) and a
second pass (every record already current), in records per second, with the KMS calls
per record counted at the fake KMS. Then the concurrency scenario of the test suite (8
writers storing and deleting the same records during a pass): writers, records, lost
updates, resurrected deletes. Progress bars go to stderr, the table to stdout.
Storage is the real thing on this machine: SQLite in a scratch dir, the Firestore
emulator over loopback (much slower than Firestore itself; the gcp rate is a floor).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _env(backend: str, scratch: Path, stack: Any) -> dict[str, str]:
    if backend == "local":
        from tests.support.issuer import ISSUER, TestIssuer

        issuer = TestIssuer(scratch)
        return {
            "VAULT_BACKEND": "local",
            "VAULT_DATA_DIR": str(scratch / "data"),
            "VAULT_GRANT_ISSUER": ISSUER,
            "VAULT_GRANT_JWKS_URL": str(issuer.jwks_path),
        }
    import uuid

    env: dict[str, str] = stack.env()
    env["VAULT_KMS_KEY"] = f"{env['VAULT_KMS_KEY']}-{uuid.uuid4().hex[:8]}"
    env["VAULT_RPC_TIMEOUT_SECONDS"] = "30"
    return env


def _fresh_vault(env: dict[str, str]) -> Any:
    from vault import bootstrap

    for name in list(os.environ):
        if name.startswith(("VAULT_", "FIRESTORE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT")):
            del os.environ[name]
    os.environ.update(env)
    bootstrap.reset()
    return bootstrap.get_vault()


def _quiet(run: Any) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):  # the JSON summaries
        return run()


def measure(backend: str, records: int, batch: int, stack: Any) -> dict[str, Any]:
    from tests.support.rotation import rewrap, rotate
    from tests.support.service_level import store

    with tempfile.TemporaryDirectory(prefix="bench-rewrap-") as scratch:
        vault = _fresh_vault(_env(backend, Path(scratch), stack))
        kms = stack.kms if stack is not None else None
        caller = vault.keys.create("dev-1", "bench")[1]
        print(f"{backend}: storing {records} credentials", file=sys.stderr)
        for index in range(records):
            store(vault, caller, principalId=f"user-{index:06d}", refreshToken="rt")
        rotate(vault, kms)
        result: dict[str, Any] = {"backend": backend, "records": records, "batch": batch}
        for label in ("rewrap", "current"):
            if kms is not None:
                kms.calls.clear()
            started = time.perf_counter()
            summary = _quiet(lambda: rewrap(vault, batch=batch))
            seconds = time.perf_counter() - started
            expected = "rewrapped" if label == "rewrap" else "already_current"
            if summary[expected] != records or summary["failed"]:
                raise RuntimeError(f"{backend} {label} pass: unexpected summary {summary}")
            result[f"{label}_records_per_second"] = round(records / seconds, 1)
            if kms is not None:
                result[f"{label}_kms_calls_per_record"] = {
                    name: round(count / records, 2) for name, count in sorted(kms.calls.items())
                }
        return result


def concurrency(backend: str, stack: Any, records: int) -> dict[str, Any]:
    from tests.support.rotation import rewrap_under_writers

    with tempfile.TemporaryDirectory(prefix="bench-rewrap-") as scratch:
        vault = _fresh_vault(_env(backend, Path(scratch), stack))
        caller = vault.keys.create("dev-1", "bench")[1]
        kms = stack.kms if stack is not None else None
        outcome = _quiet(lambda: rewrap_under_writers(vault, caller, kms, 8, records))
        first = outcome.passes[0]
        return {
            "backend": backend,
            "writers": outcome.writers,
            "records": outcome.records,
            "stores": outcome.stores,
            "deletes": outcome.deletes,
            "skipped_as_changed_in_first_pass": first["skipped_changed"],
            "lost_updates": outcome.lost_updates,
            "resurrected_deletes": outcome.resurrected,
            "current_after_second_pass": outcome.passes[2]["already_current"],
            "survivors": outcome.survivors,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rewrap", description=__doc__)
    parser.add_argument("--records", type=int, default=2000, help="local backend")
    parser.add_argument("--gcp-records", type=int, default=500, help="gcp backend")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--skip-gcp", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    arguments = parser.parse_args(argv)

    stack = None
    results: dict[str, Any] = {"throughput": [], "concurrency": []}
    try:
        backends = [("local", arguments.records)]
        if not arguments.skip_gcp:
            from bench.gcp import GcpStack

            stack = GcpStack(Path(tempfile.mkdtemp(prefix="bench-rewrap-gcp-")))
            backends.append(("gcp", arguments.gcp_records))
        for backend, records in backends:
            used = stack if backend == "gcp" else None
            results["throughput"].append(measure(backend, records, arguments.batch, used))
            results["concurrency"].append(concurrency(backend, used, 150))
    finally:
        if stack is not None:
            stack.stop()

    print("rewrap throughput (records/s; one pass that re-seals all, one that finds all current)")
    for row in results["throughput"]:
        line = (
            f"  {row['backend']:5}  {row['records']:5} records, batch {row['batch']}:"
            f"  rewrap {row['rewrap_records_per_second']:>8}/s"
            f"  already current {row['current_records_per_second']:>8}/s"
        )
        if "rewrap_kms_calls_per_record" in row:
            line += (
                f"  KMS calls/record: rewrap {row['rewrap_kms_calls_per_record']},"
                f" current {row['current_kms_calls_per_record']}"
            )
        print(line)
    print("rewrap under 8 concurrent writers (store and delete of the same records)")
    for row in results["concurrency"]:
        print(
            f"  {row['backend']:5}  writers {row['writers']}, records {row['records']},"
            f" stores {row['stores']}, deletes {row['deletes']},"
            f" skipped as changed {row['skipped_as_changed_in_first_pass']},"
            f" lost updates {row['lost_updates']},"
            f" resurrected deletes {row['resurrected_deletes']},"
            f" current after 2nd pass {row['current_after_second_pass']}/{row['survivors']}"
        )
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(results, indent=2) + "\n")
    failed = any(
        row["lost_updates"] or row["resurrected_deletes"] for row in results["concurrency"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
