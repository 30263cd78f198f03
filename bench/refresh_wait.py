"""How long exchanges wait while one refresh runs: two vault processes on one SQLite
file, panva's oidc-provider as the authorization server, 24 concurrent exchanges of a
credential that is due for refresh, several rounds; and, for comparison, the same burst
when no refresh is due. Prints p50 and max per kind (milliseconds).

    .venv/bin/python -m bench.refresh_wait [--rounds 5] [--exchanges 24]

Needs node and tests/node/node_modules (``npm ci`` there). Only loopback traffic; every
server it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.issuer import ISSUER, TestIssuer  # noqa: E402
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider, find_node  # noqa: E402

from bench.servers import clean_env, free_port  # noqa: E402

SERVICE = "acme"


@contextlib.contextmanager
def vault(env: dict[str, str]) -> Iterator[str]:
    import subprocess

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vault", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(url + "/openapi.json", timeout=1)
                break
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def burst(urls: list[str], issuer: TestIssuer, count: int) -> list[float]:
    start = threading.Barrier(count)

    def one(index: int) -> float:
        token = issuer.mint(sub="user-1", dev="dev-1", scp=[f"vault:{SERVICE}:exchange"])
        start.wait()
        began = time.perf_counter()
        response = httpx.post(
            urls[index % len(urls)] + "/v1/vault/credentials/exchange",
            json={"service": SERVICE},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"exchange answered {response.status_code}")
        return elapsed

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def store(url: str, api_key: str, oidc: OidcProvider, expires_in: float) -> None:
    tokens = oidc.tokens()
    expiry = (datetime.now(UTC) + timedelta(seconds=expires_in)).isoformat()
    response = httpx.post(
        url + "/v1/vault/credentials",
        json={
            "principalId": "user-1",
            "service": SERVICE,
            "accessToken": tokens.access_token,
            "refreshToken": tokens.refresh_token,
            "tokenExpiresAt": expiry,
        },
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    response.raise_for_status()


def summary(name: str, samples: list[float]) -> str:
    p50, worst = statistics.median(samples), max(samples)
    return f"{name:<28} n={len(samples):<4} p50={p50:8.1f} ms  max={worst:8.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--exchanges", type=int, default=24)
    arguments = parser.parse_args()
    node = find_node()
    if node is None:
        print("needs node and tests/node/node_modules", file=sys.stderr)
        return 1
    oidc = OidcProvider.start(node)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            issuer = TestIssuer(Path(scratch))
            env = clean_env(
                {
                    "VAULT_BACKEND": "local",
                    "VAULT_DATA_DIR": str(Path(scratch) / "data"),
                    "VAULT_GRANT_ISSUER": ISSUER,
                    "VAULT_GRANT_JWKS_URL": str(issuer.jwks_path),
                    "VAULT_EXCHANGE_RATE_LIMIT_PER_MINUTE": "0",
                    "VAULT_RATE_LIMIT_PER_MINUTE": "0",
                }
            )
            import subprocess

            api_key = subprocess.run(
                [sys.executable, "-m", "vault", "keys", "create", "--developer", "dev-1"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            with vault(env) as first, vault(env) as second:
                urls = [first, second]
                httpx.put(
                    f"{first}/v1/vault/providers/{SERVICE}",
                    json={
                        "tokenUrl": oidc.token_url,
                        "clientId": CLIENT_ID,
                        "clientSecret": CLIENT_SECRET,
                    },
                    headers={"Authorization": f"Bearer {api_key}"},
                    timeout=10,
                ).raise_for_status()
                store(first, api_key, oidc, expires_in=3600)
                for url in urls:  # build each vault and load the issuer keys, one by one
                    burst([url], issuer, 1)
                warm: list[float] = []
                refreshing: list[float] = []
                refreshes = 0
                for _ in range(arguments.rounds):
                    store(first, api_key, oidc, expires_in=3600)
                    burst(urls, issuer, arguments.exchanges)  # warm both instances
                    warm += burst(urls, issuer, arguments.exchanges)
                    store(first, api_key, oidc, expires_in=30)  # inside the leeway
                    before = int(oidc.stats()["refreshRequests"])
                    refreshing += burst(urls, issuer, arguments.exchanges)
                    refreshes += int(oidc.stats()["refreshRequests"]) - before
    finally:
        oidc.stop()
    shape = f"{arguments.rounds} rounds x {arguments.exchanges} concurrent exchanges"
    print(shape + ", 2 instances, SQLite")
    print(summary("no refresh due", warm))
    print(summary("during one refresh", refreshing))
    print(f"refresh requests at the provider: {refreshes} for {arguments.rounds} rounds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
