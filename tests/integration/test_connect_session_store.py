"""One contract suite for the connect-session store, on SQLite and on the Firestore
emulator: create and read back, and single-use transitions (compare-and-set on the
revision) where of two writers holding the same read exactly one wins."""

from __future__ import annotations

import threading
from dataclasses import replace

from vault.bootstrap import Vault
from vault.oauth.connect_sessions import ConnectSession, new_session_id
from vault.timefmt import now_micros


def make_session(**fields: object) -> ConnectSession:
    now = now_micros()
    values: dict[str, object] = {
        "session_id": new_session_id(),
        "developer_id": "dev-1",
        "key_id": "key-1",
        "principal_id": "user-1",
        "service": "github",
        "scopes": ("openid", "offline_access"),
        "redirect_url": "https://app.example/done",
        "status": "pending",
        "created_at": now,
        "expires_at": now + 600_000_000,
    }
    values.update(fields)
    return ConnectSession(**values)  # type: ignore[arg-type]


def test_a_created_session_reads_back_whole(vault: Vault):
    session = make_session(redirect_url=None, scopes=())
    vault.connect_sessions.create(session)

    stored = vault.connect_sessions.get(session.session_id)

    assert stored is not None and stored.revision is not None
    assert replace(stored, revision=None) == session
    assert vault.connect_sessions.get(new_session_id()) is None


def test_a_transition_lands_and_every_field_round_trips(vault: Vault):
    session = make_session()
    vault.connect_sessions.create(session)
    before = vault.connect_sessions.get(session.session_id)
    assert before is not None
    after = replace(
        before,
        status="connected",
        credential_id="vc_" + "a" * 32,
        error=None,
        state_digest="d" * 64,
        sealed_verifier=b"\x01sealed\x00bytes",
        opened_at=before.created_at + 1,
        redeemed_at=before.created_at + 2,
    )

    written = vault.connect_sessions.replace(before, after)

    stored = vault.connect_sessions.get(session.session_id)
    assert written is not None and stored is not None
    assert replace(stored, revision=None) == replace(after, revision=None)
    assert stored.revision != before.revision
    assert written == stored  # the new revision comes back: no read needed for the next write


def test_a_write_from_a_stale_read_loses(vault: Vault):
    session = make_session()
    vault.connect_sessions.create(session)
    read = vault.connect_sessions.get(session.session_id)
    assert read is not None

    denied = vault.connect_sessions.replace(read, replace(read, status="denied"))
    assert denied is not None
    assert vault.connect_sessions.replace(read, replace(read, status="connected")) is None
    assert vault.connect_sessions.replace(denied, replace(denied, error="x")) is not None

    stored = vault.connect_sessions.get(session.session_id)
    assert stored is not None and (stored.status, stored.error) == ("denied", "x")


def test_racing_writers_from_one_read_exactly_one_wins(vault: Vault):
    session = make_session()
    vault.connect_sessions.create(session)
    read = vault.connect_sessions.get(session.session_id)
    assert read is not None
    results: list[tuple[str, bool]] = []
    barrier = threading.Barrier(4)

    def writer(error: str) -> None:
        barrier.wait()
        won = vault.connect_sessions.replace(read, replace(read, status="failed", error=error))
        results.append((error, won is not None))

    threads = [threading.Thread(target=writer, args=(f"e{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [error for error, won in results if won]
    assert len(winners) == 1
    stored = vault.connect_sessions.get(session.session_id)
    assert stored is not None and stored.error == winners[0]


def test_expiry_is_reported_from_the_stored_time():
    session = make_session(expires_at=1_000)

    assert session.status_at(999) == "pending"
    assert session.status_at(1_000) == "expired"
    assert replace(session, status="connected").status_at(2_000) == "connected"
