"""One contract suite for the credential store, run on SQLite and on the Firestore
emulator (with Cloud KMS faked on loopback), through the service and the envelope."""

from __future__ import annotations

import threading

import pytest

from tests.support.service_level import reveal, store
from vault.bootstrap import Vault
from vault.ids import credential_id
from vault.ports import ApiKeyRecord, StoredCredential
from vault.service import StoredSummary


def read(vault: Vault, caller: ApiKeyRecord, summary: StoredSummary) -> StoredCredential:
    stored = vault.credentials.get(caller.developer_id, summary.credential_id)
    assert stored is not None
    return stored


def test_create_stores_encrypted_tokens_and_reports_the_record(vault, caller):
    summary = store(
        vault,
        caller,
        service="GitHub",
        refreshToken="rt-1",
        tokenExpiresAt="2030-01-02T03:04:05+01:00",
        metadata={"scopes": ["repo"]},
    )

    stored = read(vault, caller, summary)
    assert summary.credential_id == credential_id("dev-1", "user-1", "github")
    assert summary.service == "github" and summary.credential_type == "oauth2"
    assert summary.created_at == summary.updated_at
    assert b"at-1" not in stored.access_token and b"rt-1" not in (stored.refresh_token or b"")
    assert reveal(vault, stored, "accessToken") == "at-1"
    assert reveal(vault, stored, "refreshToken") == "rt-1"
    assert stored.metadata_json == '{"scopes":["repo"]}'
    assert stored.token_expires_at == 1_893_549_845_000_000  # 2030-01-02T02:04:05Z


def test_update_keeps_id_and_created_at(vault, caller):
    first = store(vault, caller)
    second = store(vault, caller, accessToken="at-2")

    assert second.credential_id == first.credential_id
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at
    assert reveal(vault, read(vault, caller, second), "accessToken") == "at-2"


@pytest.mark.parametrize(
    ("field", "value", "column"),
    [
        ("refreshToken", "rt-1", "refresh_token"),
        ("metadata", {"team": "a"}, "metadata_json"),
        ("credentialType", "github_app", "credential_type"),
    ],
)
def test_absent_field_keeps_its_value_and_null_clears_it(vault, caller, field, value, column):
    store(vault, caller, **{field: value})
    kept = read(vault, caller, store(vault, caller, accessToken="at-2"))
    cleared_summary = store(vault, caller, accessToken="at-3", **{field: None})
    cleared = read(vault, caller, cleared_summary)

    assert getattr(kept, column) is not None
    if field == "credentialType":
        assert kept.credential_type == "github_app"
        assert cleared.credential_type == "oauth2"
        assert cleared_summary.credential_type == "oauth2"
    else:
        assert getattr(cleared, column) is None


def test_store_response_names_the_kept_credential_type(vault, caller):
    store(vault, caller, credentialType="personal.access-token_32_chars_x")
    again = store(vault, caller, accessToken="at-2")

    assert again.credential_type == "personal.access-token_32_chars_x"


def test_token_expiry_belongs_to_the_access_token_and_clears_when_absent(vault, caller):
    store(vault, caller, tokenExpiresAt="2030-01-01T00:00:00Z")
    stored = read(vault, caller, store(vault, caller, accessToken="at-2"))

    assert stored.token_expires_at is None


def test_concurrent_upserts_of_one_triple_leave_one_consistent_record(vault, caller):
    writers = 16
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            barrier.wait()
            store(vault, caller, accessToken=f"at-{index}", refreshToken=f"rt-{index}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(index,)) for index in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    stored = vault.credentials.get("dev-1", credential_id("dev-1", "user-1", "github"))
    assert stored is not None
    access = reveal(vault, stored, "accessToken")
    refresh = reveal(vault, stored, "refreshToken")
    assert access is not None and refresh is not None
    assert access.removeprefix("at-") == refresh.removeprefix("rt-")
    assert len([e for e in vault.credentials.audit_entries("dev-1")]) == writers


def test_distinct_triples_are_all_stored(vault, caller):
    summaries = [
        store(vault, caller, principalId=f"user-{index}", service=f"svc{index % 7}")
        for index in range(100)
    ]

    assert len({summary.credential_id for summary in summaries}) == 100
    for summary in summaries:
        stored = read(vault, caller, summary)
        assert stored.principal_id == summary.principal_id


def test_each_write_leaves_an_audit_entry_without_token_material(vault, caller):
    first = store(vault, caller, refreshToken="rt-secret")
    store(vault, caller, principalId="user-2", accessToken="at-secret")

    entries = vault.credentials.audit_entries("dev-1")
    assert [(entry.action, entry.principal_id) for entry in entries] == [
        ("store", "user-1"),
        ("store", "user-2"),
    ]
    assert entries[0].credential_id == first.credential_id
    assert entries[0].actor == caller.key_id and entries[0].request_id == "req-test"
    assert "secret" not in repr(entries)


def test_another_developer_cannot_read_the_record(vault, caller):
    summary = store(vault, caller)

    assert vault.credentials.get("dev-2", summary.credential_id) is None
