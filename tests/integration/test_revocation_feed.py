"""``python -m vault revocations sync`` against a revocation feed served on loopback,
through the grantex SDK's ``RevocationFeed``, on both backends: the snapshot and the
stream deny tokens; the cursor survives a restart; a stale feed fails loudly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.http_app import PATH, bearer, make_client
from tests.support.issuer import TestIssuer
from tests.support.revocation_feed import API_KEY, RevocationFeedServer
from tests.support.served import ROOT, run_cli
from vault.bootstrap import get_vault


@pytest.fixture
def feed(backend_env: dict[str, str]) -> Iterator[RevocationFeedServer]:
    server = RevocationFeedServer().start()
    os.environ["VAULT_GRANTEX_BASE_URL"] = server.base_url
    os.environ["VAULT_GRANTEX_API_KEY"] = API_KEY
    yield server
    server.stop()


@pytest.fixture
def client(feed: RevocationFeedServer) -> Any:
    client = make_client()
    api_key = get_vault().keys.create("dev-1", "tests")[0]
    client.post(
        PATH,
        json={"principalId": "user-1", "service": "github", "accessToken": "ghp_feed"},
        headers=bearer(api_key),
    )
    return client


def exchange(client: Any, issuer: TestIssuer, **claims: Any) -> int:
    token = issuer.mint(scp=["vault:github:exchange", "github:read"], **claims)
    response = client.post(PATH + "/exchange", json={"service": "github"}, headers=bearer(token))
    return int(response.status_code)


def test_the_snapshot_denies_revoked_grants_and_tokens(feed, client, issuer):
    feed.publish(action="revoked", grantId="grnt_snap")
    feed.publish(action="token_revoked", jti="tok_snap")
    feed.publish(action="suspended", grantId="grnt_paused")
    assert exchange(client, issuer, grnt="grnt_snap") == 200

    synced = run_cli("revocations", "sync", "--settle", "0.5")

    assert synced.returncode == 0, synced.stderr
    assert "applied 3 revocation entries; cursor 3" in synced.stderr
    assert exchange(client, issuer, grnt="grnt_snap") == 401
    assert exchange(client, issuer, jti="tok_snap") == 401
    assert exchange(client, issuer, grnt="grnt_paused") == 401
    assert exchange(client, issuer, grnt="grnt_fine") == 200
    assert API_KEY not in synced.stderr + synced.stdout


def test_a_streamed_revocation_is_denied_and_the_cursor_survives_a_restart(feed, client, issuer):
    feed.publish(action="suspended", grantId="grnt_first")  # resumed below
    assert run_cli("revocations", "sync", "--settle", "0.3").returncode == 0
    snapshots_before = sum(1 for path, _ in feed.requests if path == "/v1/revocations")

    follower = subprocess.Popen(
        [sys.executable, "-m", "vault", "revocations", "sync", "--follow"],
        cwd=ROOT,
        env=dict(os.environ),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: any(path.endswith("/stream") for path, _ in feed.requests[-3:]))
        feed.publish(action="revoked", grantId="grnt_streamed")
        _wait_for(lambda: exchange(client, issuer, grnt="grnt_streamed") == 401)
        feed.publish(action="resumed", grantId="grnt_first")
        _wait_for(lambda: exchange(client, issuer, grnt="grnt_first") == 200)
    finally:
        follower.terminate()
        _, stderr = follower.communicate(timeout=20)

    assert follower.returncode == 0, stderr
    # The restart resumed from the stored cursor: no new snapshot, the stream from seq 1.
    snapshots_after = sum(1 for path, _ in feed.requests if path == "/v1/revocations")
    assert snapshots_after == snapshots_before
    streams = [query for path, query in feed.requests if path == "/v1/revocations/stream"]
    assert streams[-1]["since"] == ["1"]
    assert get_vault().state.load("revocations.cursor") == {"cursor": 3}


def test_a_stale_feed_fails_loudly(feed, client):
    feed.heartbeats.clear()  # the issuer goes silent after the first sync

    stale = subprocess.run(
        [sys.executable, "-m", "vault", "revocations", "sync", "--follow", "--stale-after", "1"],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert stale.returncode == 1
    assert "STALE" in stale.stderr


def test_an_unreachable_or_refusing_feed_is_an_error(feed, client):
    os.environ["VAULT_GRANTEX_API_KEY"] = "wrong-key"

    refused = run_cli("revocations", "sync", "--timeout", "3")

    assert refused.returncode == 1
    assert "did not sync (unauthorized)" in refused.stderr
    assert "wrong-key" not in refused.stderr


def test_sync_needs_the_feed_settings(backend_env):
    result = run_cli("revocations", "sync")

    assert result.returncode == 2
    assert "VAULT_GRANTEX_BASE_URL" in result.stderr


def _wait_for(condition: Any, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.1)
