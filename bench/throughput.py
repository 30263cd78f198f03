"""Throughput, latency and memory: the vault's endpoints beside a bare function.

One settings profile (the framework's defaults, or ``WORKERS=2``) at a time: first the
bare function under wrk, then one vault server (local backend, fresh data dir) that
takes, in order, distinct-triple stores, same-triple upserts, exchanges and list pages.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.load import LoadShape, measure
from bench.servers import BARE, MAIN, NO_LIMITS, Server, clean_env, cli, request

STORE_PATH = "/v1/vault/credentials"
EXCHANGE_PRINCIPAL = "user-exchange"
LIST_PAGE_SIZE = "10"
SCENARIOS = ("store_distinct", "store_same", "exchange", "list")


def load_average() -> list[float]:
    return [float(part) for part in Path("/proc/loadavg").read_text().split()[:3]]


def local_env(data_dir: Path, settings: dict[str, str], limits_off: bool) -> dict[str, str]:
    env = {"VAULT_BACKEND": "local", "VAULT_DATA_DIR": str(data_dir), **settings}
    if limits_off:
        env.update(NO_LIMITS)
    return clean_env(env)


def _expect(status: int, body: bytes, wanted: int, what: str) -> None:
    if status != wanted:
        raise RuntimeError(f"{what}: expected {wanted}, got {status}: {body[:300]!r}")


def run_profile(
    label: str,
    settings: dict[str, str],
    shape: LoadShape,
    work_dir: Path,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    workers = int(settings.get("WORKERS", "1"))
    logs = work_dir / "logs" / label.replace("=", "")
    result: dict[str, Any] = {"label": label, "settings": settings, "endpoints": {}}

    log(f"  [{label}] bare function ...")
    bare = Server(f"bare-{label}", "bare", BARE, clean_env(settings), logs)
    with bare:
        bare.start()
        bare.wait_ready(workers=workers)
        result["bare"] = {"load_avg_before": load_average()}
        result["bare"].update(measure(bare.base_url + "/", "bare", [], shape, server=bare))
        result["bare_memory"] = bare.memory()
    log(
        f"  [{label}] bare: {result['bare']['rps']:.0f} req/s, "
        f"{result['bare']['server_cpu_ms_per_req']:.2f} CPU ms/req"
    )

    data_dir = Path(tempfile.mkdtemp(prefix=f"vault-{label.replace('=', '')}-", dir=work_dir))
    env = local_env(data_dir, settings, limits_off=True)
    api_key = cli(["keys", "create", "--developer", "bench", "--name", "bench"], env)
    grant = cli(
        [
            "grants",
            "mint",
            "--developer",
            "bench",
            "--principal",
            EXCHANGE_PRINCIPAL,
            "--scope",
            "vault:github:exchange",
            "--ttl",
            "3600",
        ],
        env,
    )
    vault = Server(f"vault-{label}", "vault", MAIN, env, logs)
    with vault:
        vault.start()
        vault.wait_ready(workers=workers)
        auth = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        body = json.dumps(
            {"principalId": EXCHANGE_PRINCIPAL, "service": "github", "accessToken": "ghp_x" * 8}
        ).encode()
        status, reply = request(vault.port, "POST", STORE_PATH, body, auth)
        _expect(status, reply, 201, "store")
        status, reply = request(
            vault.port,
            "POST",
            STORE_PATH + "/exchange",
            b'{"service":"github"}',
            {"Authorization": f"Bearer {grant}", "Content-Type": "application/json"},
        )
        _expect(status, reply, 200, "exchange")
        status, reply = request(
            vault.port, "GET", f"{STORE_PATH}?limit={LIST_PAGE_SIZE}", None, auth
        )
        _expect(status, reply, 200, "list")

        tag = uuid.uuid4().hex[:8]
        plans: dict[str, tuple[str, list[str], list[str]]] = {
            "store_distinct": (STORE_PATH, [api_key, tag], [api_key, tag + "w"]),
            "store_same": (STORE_PATH, [api_key, tag], [api_key, tag]),
            "exchange": (STORE_PATH + "/exchange", [grant], [grant]),
            "list": (STORE_PATH, [api_key, LIST_PAGE_SIZE], [api_key, LIST_PAGE_SIZE]),
        }
        for scenario in SCENARIOS:
            path, args, warmup_args = plans[scenario]
            before = load_average()
            started = time.monotonic()
            measured = measure(vault.base_url + path, scenario, args, shape, warmup_args, vault)
            measured["load_avg_before"] = before
            measured["rps_vs_bare"] = round(measured["rps"] / result["bare"]["rps"], 3)
            result["endpoints"][scenario] = measured
            log(
                f"  [{label}] {scenario}: {measured['rps']:.0f} req/s, "
                f"p99 {measured['p99_ms']:.1f} ms, {measured['server_cpu_ms_per_req']:.2f} "
                f"CPU ms/req, errors {measured['error_count']} "
                f"({time.monotonic() - started:.0f}s)"
            )
        result["vault_memory"] = vault.memory()
    log_file = logs / f"vault-{label}.stdout.log"
    result["vault_log_lines"] = sum(1 for _ in log_file.open("rb")) if log_file.exists() else 0
    return result
