"""The refresh lease and the provider store: one contract suite, run on SQLite and on
the Firestore emulator. Of all readers of one version exactly one takes the lease; an
expired lease can be taken over; a result is written only while the lease holds; a
store clears lease and status."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from tests.support.service_level import store
from vault.bootstrap import Vault
from vault.oauth.ports import ProviderRecord
from vault.ports import AuditEntry, RefreshCommit, StoredCredential
from vault.timefmt import now_micros

SECOND = 1_000_000


def audit(action: str = "refresh") -> AuditEntry:
    return AuditEntry(
        f"au_{action}_{now_micros()}", action, "dev-1", "vault", None, "user-1", "github", "r", 0
    )


def read(vault: Vault, credential_id: str) -> StoredCredential:
    stored = vault.credentials.get("dev-1", credential_id)
    assert stored is not None
    return stored


def commit(stored: StoredCredential, holder: str, **changes: object) -> RefreshCommit:
    values: dict[str, object] = {
        "developer_id": "dev-1",
        "credential_id": stored.credential_id,
        "holder": holder,
        "status": "active",
        "last_error": None,
        "now": now_micros(),
        "access_token": b"new-ciphertext",
        "token_expires_at": now_micros() + 3600 * SECOND,
    }
    values.update(changes)
    return RefreshCommit(**values)  # type: ignore[arg-type]


def test_of_many_readers_of_one_version_exactly_one_takes_the_lease(vault, caller):
    summary = store(vault, caller, refreshToken="rt")
    seen = read(vault, summary.credential_id)
    won: list[str] = []
    start = threading.Barrier(8)

    def contend(index: int) -> None:
        start.wait()
        now = now_micros()
        if vault.credentials.begin_refresh(seen, f"h{index}", now, now + 20 * SECOND):
            won.append(f"h{index}")

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(won) == 1
    assert read(vault, summary.credential_id).lease_holder == won[0]


def test_a_live_lease_blocks_and_an_expired_one_is_taken_over(vault, caller):
    summary = store(vault, caller, refreshToken="rt")
    now = now_micros()
    assert vault.credentials.begin_refresh(read(vault, summary.credential_id), "a", now, now + 1)
    leased = read(vault, summary.credential_id)

    early = vault.credentials.begin_refresh(leased, "b", now, now + 20 * SECOND)
    later = vault.credentials.begin_refresh(leased, "b", now + 2, now + 20 * SECOND)

    assert early is None
    assert later is not None
    assert read(vault, summary.credential_id).lease_holder == "b"


def test_the_holder_writes_its_result_and_releases_the_lease(vault, caller):
    summary = store(vault, caller, refreshToken="rt")
    seen = read(vault, summary.credential_id)
    now = now_micros()
    revision = vault.credentials.begin_refresh(seen, "a", now, now + 20 * SECOND)

    written = vault.credentials.finish_refresh(commit(seen, "a"), revision, audit())

    after = read(vault, summary.credential_id)
    assert written is True
    assert after.access_token == b"new-ciphertext"
    assert after.refresh_token == seen.refresh_token  # none came back: kept
    assert after.lease_holder is None and after.last_refreshed_at is not None
    assert "refresh" in [e.action for e in vault.credentials.audit_entries("dev-1")]


def test_a_store_during_the_refresh_wins_and_resets_status(vault, caller):
    summary = store(vault, caller, refreshToken="rt")
    seen = read(vault, summary.credential_id)
    now = now_micros()
    revision = vault.credentials.begin_refresh(seen, "a", now, now + 20 * SECOND)
    failed = commit(seen, "a", access_token=None, status="needs_reauth", last_error="{}")
    assert vault.credentials.finish_refresh(failed, revision, audit())
    seen = read(vault, summary.credential_id)
    assert seen.status == "needs_reauth"
    revision = vault.credentials.begin_refresh(seen, "b", now_micros(), now + 20 * SECOND)

    store(vault, caller, accessToken="at-from-the-user")
    written = vault.credentials.finish_refresh(commit(seen, "b"), revision, audit())

    after = read(vault, summary.credential_id)
    assert written is False
    assert after.access_token != b"new-ciphertext"
    assert after.status == "active" and after.last_error is None and after.lease_holder is None


def test_a_stale_reader_cannot_take_the_lease(vault, caller):
    summary = store(vault, caller, refreshToken="rt")
    stale = read(vault, summary.credential_id)
    store(vault, caller, accessToken="at-2")

    assert vault.credentials.begin_refresh(stale, "a", now_micros(), now_micros() + SECOND) is None


def test_expiring_lists_across_developers_soonest_first(vault, caller):
    other = vault.keys.create("dev-2", "tests")[1]
    soon = store(vault, caller, tokenExpiresAt="2030-01-01T00:00:00Z")
    sooner = store(vault, other, tokenExpiresAt="2029-01-01T00:00:00Z")
    store(vault, caller, service="later", tokenExpiresAt="2040-01-01T00:00:00Z")
    store(vault, caller, service="never")
    cutoff = 2_000_000_000 * SECOND  # 2033

    first = vault.credentials.expiring(cutoff, 1, None)
    rest = vault.credentials.expiring(
        cutoff, 10, (first[0].token_expires_at or 0, first[0].credential_id)
    )

    assert [s.credential_id for s in [*first, *rest]] == [
        sooner.credential_id,
        soon.credential_id,
    ]


def provider(**changes: object) -> ProviderRecord:
    record = ProviderRecord(
        developer_id="dev-1",
        service="github",
        token_url="https://github.com/login/oauth/access_token",
        client_id="cid",
        token_auth_method="client_secret_post",
        revocation_url=None,
        authorization_url="https://github.com/login/oauth/authorize",
        scopes=("repo",),
        refresh_leeway_seconds=120,
        issuer=None,
        client_secret=b"\x01sealed",
        created_at=1,
        updated_at=2,
    )
    return replace(record, **changes)  # type: ignore[arg-type]


@pytest.fixture
def providers(vault: Vault):  # type: ignore[no-untyped-def]
    return vault.providers._store


def test_the_provider_store_round_trips_and_is_per_developer(providers):
    providers.put(provider(), audit("provider.put"))
    providers.put(provider(service="slack", client_secret=None), audit("provider.put"))
    providers.put(provider(developer_id="dev-2"), audit("provider.put"))

    assert providers.get("dev-1", "github") == provider()
    assert [p.service for p in providers.list("dev-1")] == ["github", "slack"]
    assert providers.get("dev-1", "slack").client_secret is None
    assert providers.get("dev-3", "github") is None


def test_the_provider_store_replaces_and_deletes(providers):
    providers.put(provider(), audit("provider.put"))
    providers.put(provider(client_id="cid-2", updated_at=3), audit("provider.put"))

    assert providers.get("dev-1", "github").client_id == "cid-2"
    assert providers.delete("dev-1", "github", audit("provider.delete")) is True
    assert providers.delete("dev-1", "github", audit("provider.delete")) is False
    assert providers.get("dev-1", "github") is None
