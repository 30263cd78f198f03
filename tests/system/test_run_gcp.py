"""``make run-gcp`` (``python -m vault.devstack``): the gcp backend on a laptop, brought
up in a subprocess and used through the Grantex SDK, then stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from grantex import ExchangeCredentialParams, Grantex, StoreCredentialParams

from tests.conftest import UNDER_CI
from tests.support.firestore_emulator import find_emulator, free_port
from tests.support.served import ROOT

_STARTUP_SECONDS = 120


@pytest.fixture
def devstack(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    if find_emulator() is None:
        if UNDER_CI:
            pytest.fail("the Firestore emulator is not installed", pytrace=False)
        pytest.skip("Firestore emulator not installed")
    port = free_port()
    data_dir = tmp_path / "gcp-dev"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "GOOGLE_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "vault.devstack", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=ROOT,
        env={k: v for k, v in env.items() if k != "FIRESTORE_EMULATOR_HOST"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        printed: list[str] = []
        deadline = time.monotonic() + _STARTUP_SECONDS
        while not any("listening" in line for line in printed):
            line = process.stderr.readline()
            assert line, "devstack exited: " + "".join(printed)
            assert time.monotonic() < deadline, "devstack did not start"
            printed.append(line)
        key_line = printed.index(next(p for p in printed if p.startswith("API key for"))) + 1
        api_key = printed[key_line].strip()
        assert "DEVELOPMENT STAND-INS" in printed[0]
        yield f"http://127.0.0.1:{port}", api_key, data_dir
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_run_gcp_serves_the_sdk_store_and_exchange(devstack: tuple[str, str, Path]) -> None:
    base_url, api_key, data_dir = devstack
    assert api_key.startswith("gx_live_")
    assert (data_dir / "dev-api-key").read_text().strip() == api_key
    client = Grantex(api_key=api_key, base_url=base_url)

    stored = client.vault.store(
        StoreCredentialParams(principal_id="alice", service="github", access_token="ghp_dev")
    )
    minted = subprocess.run(
        [
            *(sys.executable, "-m", "vault", "grants", "mint", "--developer", "local-dev"),
            *("--principal", "alice", "--scope", "vault:github:exchange"),
            *("--scope", "github:read"),  # the older form, for a vault in `legacy` mode
        ],
        cwd=ROOT,
        env={**os.environ, "VAULT_BACKEND": "local", "VAULT_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    released = client.vault.exchange(
        minted.stdout.strip(), ExchangeCredentialParams(service="github")
    )

    assert stored.id.startswith("vc_")
    assert released.access_token == "ghp_dev"
    # It is the gcp backend: the emulator's log shows the vault's requests.
    assert (data_dir / "firestore-emulator.log").stat().st_size > 0
    with urllib.request.urlopen(base_url + "/openapi.json", timeout=10) as reply:
        assert reply.status == 200
