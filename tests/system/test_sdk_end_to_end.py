"""End to end: ``python -m vault serve`` in a subprocess, a key from ``keys create``,
and the real Grantex SDK storing credentials over HTTP, on both backends."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from grantex import Grantex
from grantex._types import StoreCredentialParams

from tests.conftest import ROOT
from tests.support.firestore_emulator import free_port


def run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vault", *arguments],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def server(backend_env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vault", "serve", "--port", str(port)],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base_url + "/v1/vault/credentials", timeout=1)
            except urllib.error.HTTPError:
                break  # any HTTP answer means it is serving
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("python -m vault serve did not start") from None
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_sdk_stores_with_a_key_from_the_cli(server):
    created = run_cli("keys", "create", "--developer", "dev-e2e", "--name", "e2e")
    api_key = created.stdout.strip()
    assert created.returncode == 0 and api_key.startswith("gx_live_")
    assert api_key not in created.stderr

    client = Grantex(api_key=api_key, base_url=server)
    first = client.vault.store(
        StoreCredentialParams(
            principal_id="user_abc123",
            service="github",
            access_token="ghp_xxxxxxxxxxxx",
            refresh_token="ghr_xxxxxxxxxxxx",
            token_expires_at="2026-04-06T12:00:00.000Z",
            metadata={"scopes": ["repo", "read:org"]},
        )
    )
    again = client.vault.store(
        StoreCredentialParams(principal_id="user_abc123", service="github", access_token="ghp_2")
    )

    assert first.id.startswith("vc_") and first.id == again.id
    assert first.service == "github" and first.credential_type == "oauth2"
    assert first.created_at == again.created_at
    listing = run_cli("keys", "list", "--developer", "dev-e2e")
    assert "dev-e2e" in listing.stdout and api_key not in listing.stdout


def test_revoked_key_is_refused_through_the_sdk(server):
    api_key = run_cli("keys", "create", "--developer", "dev-e2e").stdout.strip()
    key_id = run_cli("keys", "list").stdout.split('"keyId": "')[1].split('"')[0]

    assert run_cli("keys", "revoke", key_id).returncode == 0
    assert run_cli("keys", "revoke", key_id).returncode == 1
    # A new server process has an empty key cache, so revocation shows at once here.
    client = Grantex(api_key=api_key, base_url=server)
    with pytest.raises(Exception) as caught:
        client.vault.store(
            StoreCredentialParams(principal_id="u", service="github", access_token="t")
        )
    assert "401" in repr(caught.value) or "invalid" in str(caught.value).lower()
