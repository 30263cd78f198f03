"""Cold start: from just before Popen to the first good answer, polled in a tight loop.

The vault's first answer is a 201 to a store (the API key made beforehand with
``python -m vault keys create``, outside the timed window); the bare function's is a
200 to ``GET /``. Each kind is spawned once untimed first (bytecode and page caches),
then ``repeats`` times; the median is reported.
"""

from __future__ import annotations

import http.client
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.servers import BARE, MAIN, Server, clean_env, cli, request

STORE_BODY = json.dumps(
    {
        "principalId": "user-cold",
        "service": "github",
        "accessToken": "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "refreshToken": "ghr_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "tokenExpiresAt": "2031-04-06T12:00:00.000Z",
        "metadata": {"scopes": ["repo", "read:org"]},
    }
).encode()
_RETRY = (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected)


def first_answer(
    server: Server,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    expect: int,
    timeout: float = 60.0,
) -> float:
    """perf_counter() when the first response arrives; it must carry ``expect``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, reply = request(server.port, method, path, body, headers, timeout=timeout)
        except _RETRY:
            time.sleep(0.001)
            continue
        answered = time.perf_counter()
        if status != expect:
            raise RuntimeError(
                f"{server.name}: first answer {status}, not {expect}: {reply[:300]!r}"
            )
        return answered
    raise RuntimeError(f"{server.name}: no answer within {timeout:.0f}s")


def _spawn_once(
    name: str,
    target: str,
    source: str,
    env: dict[str, str],
    probe: tuple[str, str, bytes | None, dict[str, str], int],
    log_dir: Path,
) -> float:
    server = Server(name, target, source, env, log_dir)
    with server:
        started = server.start()
        answered = first_answer(server, *probe)
    return (answered - started) * 1000


def summarise(samples: list[float]) -> dict[str, Any]:
    return {
        "median_ms": round(statistics.median(samples), 1),
        "min_ms": round(min(samples), 1),
        "max_ms": round(max(samples), 1),
        "samples_ms": [round(sample, 1) for sample in samples],
    }


def cold_bare(settings: dict[str, str], repeats: int, log_dir: Path) -> dict[str, Any]:
    probe = ("GET", "/", None, {}, 200)
    env = clean_env(settings)
    samples = [
        _spawn_once("cold-bare", "bare", BARE, env, probe, log_dir) for _ in range(repeats + 1)
    ]
    return summarise(samples[1:])


def cold_vault(
    env_for_run: Callable[[int], dict[str, str]],
    repeats: int,
    log_dir: Path,
    name: str,
) -> dict[str, Any]:
    """``env_for_run(i)`` gives the server's environment; its API key is made here."""
    samples = []
    for index in range(repeats + 1):
        env = env_for_run(index)
        api_key = cli(["keys", "create", "--developer", "bench", "--name", "cold"], env)
        headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        probe = ("POST", "/v1/vault/credentials", STORE_BODY, headers, 201)
        samples.append(_spawn_once(name, "vault", MAIN, env, probe, log_dir))
    return summarise(samples[1:])


def fresh_local_env(settings: dict[str, str], work_dir: Path) -> Callable[[int], dict[str, str]]:
    """A fresh data dir per spawn; the framework's default limits stay on."""

    def env_for_run(_index: int) -> dict[str, str]:
        data_dir = tempfile.mkdtemp(prefix="vault-cold-", dir=work_dir)
        return clean_env({"VAULT_BACKEND": "local", "VAULT_DATA_DIR": data_dir, **settings})

    return env_for_run
