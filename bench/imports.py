"""What each backend imports, and what the imports cost (``python -X importtime``).

A child interpreter loads the app as functions-framework does, then serves a store, an
exchange and a list page in process; it reports ``sys.modules`` after loading and after
the requests, and its stderr carries ``-X importtime``'s lines.

Everything is counted beyond what ``import functions_framework`` loads by itself (the
bare function loads that too, including its own ``google.cloud.functions``). Checks:
the local backend adds no Google or gRPC module at all; the gcp backend adds nothing
it does not use (async clients, REST transports, other KMS services, admin and bundle
packages, ``requests``).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from bench.servers import MAIN, PYTHON, ROOT

GOOGLE_PREFIXES = ("google", "grpc", "proto", "google_crc32c")
# Loaded by the gcp backend yet never used by it: the vault's calls are synchronous gRPC
# to Firestore and to KMS's KeyManagementService only.
UNUSED_PATTERNS = {
    "async clients / grpc.aio": re.compile(r"(^|\.)(async_\w+|aio|\w+_async)(\.|$)|^grpc\.aio"),
    "REST transports": re.compile(r"\.transports\.rest"),
    "other KMS services": re.compile(
        r"^google\.cloud\.kms_v1\.services\.(?!key_management_service)"
    ),
    "firestore admin / bundle": re.compile(r"^google\.cloud\.(firestore_admin|firestore_bundle)"),
    "requests / urllib3": re.compile(r"^(requests|urllib3)(\.|$)"),
}

_CHILD = r"""
import json, os, sys, time
out = {}
t0 = time.perf_counter()
from functions_framework import create_app
import flask.testing  # the test client below; not the vault's
out["framework_ms"] = (time.perf_counter() - t0) * 1000
out["modules_framework"] = sorted(sys.modules)
app = create_app("vault", os.environ["BENCH_MAIN"])
out["load_ms"] = (time.perf_counter() - t0) * 1000
out["modules_after_load"] = sorted(sys.modules)
client = app.test_client()
auth = {"Authorization": "Bearer " + os.environ["BENCH_API_KEY"]}
body = {"principalId": "user-imports", "service": "github", "accessToken": "ghp_x"}
t1 = time.perf_counter()
statuses = [client.post("/v1/vault/credentials", json=body, headers=auth).status_code]
out["first_store_ms"] = (time.perf_counter() - t1) * 1000
statuses.append(client.post("/v1/vault/credentials/exchange", json={"service": "github"},
    headers={"Authorization": "Bearer " + os.environ["BENCH_GRANT"]}).status_code)
statuses.append(client.get("/v1/vault/credentials?limit=10", headers=auth).status_code)
out["statuses"] = statuses
out["modules_after_requests"] = sorted(sys.modules)
with open(os.environ["BENCH_OUT"], "w") as f:
    json.dump(out, f)
"""

_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def parse_importtime(stderr: str) -> list[tuple[str, int, int, int]]:
    """(module, self us, cumulative us, nesting level) for every import line."""
    rows = []
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match:
            level = (len(match.group(3)) - 1) // 2
            rows.append((match.group(4), int(match.group(1)), int(match.group(2)), level))
    return rows


def is_google(module: str) -> bool:
    return module.split(".", 1)[0] in GOOGLE_PREFIXES


def analyse(
    env: dict[str, str], api_key: str, grant: str, work_dir: Path, label: str
) -> dict[str, Any]:
    out_file = work_dir / f"imports-{label}.json"
    child_env = {**env, "BENCH_MAIN": MAIN, "BENCH_API_KEY": api_key, "BENCH_GRANT": grant}
    child_env["BENCH_OUT"] = str(out_file)
    done = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", _CHILD],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0 or not out_file.exists():
        raise RuntimeError(f"import analysis ({label}) failed:\n{done.stderr[-3000:]}")
    child = json.loads(out_file.read_text())
    rows = parse_importtime(done.stderr)
    framework = set(child["modules_framework"])  # what the bare function loads too
    after = set(child["modules_after_requests"])
    loaded_at_start = set(child["modules_after_load"])
    added = after - framework
    google = sorted(module for module in added if is_google(module))
    unused = {
        family: sorted(module for module in added if pattern.search(module))
        for family, pattern in UNUSED_PATTERNS.items()
    }
    self_us = {module: own for module, own, _, _ in rows}
    top_level = sorted(
        (
            (module, cumulative)
            for module, _, cumulative, level in rows
            if level == 0 and module in added
        ),
        key=lambda item: -item[1],
    )
    return {
        "statuses": child["statuses"],
        "framework_import_ms_with_importtime": round(child["framework_ms"], 1),
        "load_ms_with_importtime": round(child["load_ms"], 1),
        "first_store_ms_with_importtime": round(child["first_store_ms"], 1),
        "modules_total": len(after),
        "modules_added_to_framework": len(added),
        "modules_imported_by_first_requests": len(after - loaded_at_start),
        "import_ms_added_to_framework": round(
            sum(own for module, own in self_us.items() if module in added) / 1000, 1
        ),
        "google_modules": len(google),
        "google_modules_at_load": sum(
            1 for module in loaded_at_start - framework if is_google(module)
        ),
        "google_import_ms": round(
            sum(own for module, own in self_us.items() if module in added and is_google(module))
            / 1000,
            1,
        ),
        "import_ms_total": round(sum(self_us.values()) / 1000, 1),
        "top_level_added_cumulative_ms": [
            {"module": module, "ms": round(cumulative / 1000, 1)}
            for module, cumulative in top_level[:15]
        ],
        "unused_families": {
            family: {
                "modules": len(modules),
                "import_ms": round(sum(self_us.get(module, 0) for module in modules) / 1000, 1),
                "examples": modules[:5],
            }
            for family, modules in unused.items()
        },
    }
