"""Rewrap on both backends: rotate, rewrap, take the old version out of service, and
every credential still exchanges; current records are skipped; dry runs write nothing;
retirement waits for the last record; concurrent writers never lose an update."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.http_app import PATH, bearer, make_client
from tests.support.rotation import (
    kms_of,
    rewrap,
    rewrap_under_writers,
    rotate,
    rotating_vault,
    take_out_of_service,
)
from tests.support.service_level import reveal, store
from vault.adapters.local_kms import LocalKeyFileAead
from vault.bootstrap import Vault
from vault.ids import credential_id


@pytest.fixture
def vault(backend_env: dict[str, str]) -> Vault:
    return rotating_vault(backend_env)


@pytest.fixture
def caller(vault: Vault) -> Any:
    return vault.keys.create("dev-1", "tests")[1]


def stored(vault: Vault, principal: str, developer: str = "dev-1") -> Any:
    record = vault.credentials.get(developer, credential_id(developer, principal, "github"))
    assert record is not None
    return record


def exchanged(client: Any, issuer: Any, principal: str) -> str:
    response = client.post(
        PATH + "/exchange", json={"service": "github"}, headers=bearer(issuer.mint(sub=principal))
    )
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["accessToken"])


def test_rotate_store_rewrap_retire_and_every_credential_still_exchanges(
    vault, caller, issuer, request
):
    kms = kms_of(vault, request)
    for index in range(12):
        refresh = {"refreshToken": f"rt-{index}"} if index % 3 else {}
        store(vault, caller, principalId=f"old-{index}", accessToken=f"at-{index}", **refresh)
    # One record whose refresh token was sealed by an earlier write than its access token.
    store(vault, caller, principalId="mixed", accessToken="at-first", refreshToken="rt-first")
    rotate(vault, kms)
    store(vault, caller, principalId="mixed", accessToken="at-second")
    for index in range(3):
        store(vault, caller, principalId=f"new-{index}", accessToken=f"at-new-{index}")

    summary = rewrap(vault, batch=5)

    assert summary["scanned"] == 16
    assert (summary["rewrapped"], summary["already_current"]) == (13, 3)
    assert (summary["skipped_changed"], summary["failed"]) == (0, 0)
    take_out_of_service(vault, kms, 1)
    client = make_client()
    for index in range(12):
        assert exchanged(client, issuer, f"old-{index}") == f"at-{index}"
        expected = f"rt-{index}" if index % 3 else None
        assert reveal(vault, stored(vault, f"old-{index}"), "refreshToken") == expected
    assert exchanged(client, issuer, "mixed") == "at-second"
    assert reveal(vault, stored(vault, "mixed"), "refreshToken") == "rt-first"
    for index in range(3):
        assert exchanged(client, issuer, f"new-{index}") == f"at-new-{index}"
    entries = [e for e in vault.credentials.audit_entries("") if e.action == "rewrap"]
    assert len(entries) == 1 and entries[0].actor == "vault"
    assert entries[0].outcome == (
        "scanned=16 rewrapped=13 already_current=3 skipped_changed=0 failed=0"
    )


def test_current_records_are_skipped_at_one_unwrap_each(vault, caller, request):
    kms = kms_of(vault, request)
    for index in range(6):
        store(vault, caller, principalId=f"user-{index}", refreshToken="rt")
    rotate(vault, kms)
    if kms is not None:
        kms.calls.clear()

    first = rewrap(vault, batch=4)
    if kms is not None:
        # Both fields of a record share one wrapped key: one Decrypt, then one Encrypt.
        assert dict(kms.calls) == {"Decrypt": 6, "Encrypt": 6}
        kms.calls.clear()
    second = rewrap(vault, batch=4)

    assert (first["rewrapped"], first["already_current"]) == (6, 0)
    assert (second["rewrapped"], second["already_current"]) == (0, 6)
    if kms is not None:
        assert dict(kms.calls) == {"Decrypt": 6}  # used_primary: nothing re-sealed


def test_dry_run_counts_and_writes_nothing(vault, caller, request):
    kms = kms_of(vault, request)
    for index in range(4):
        store(vault, caller, principalId=f"user-{index}")
    rotate(vault, kms)
    before = [stored(vault, f"user-{index}") for index in range(4)]

    summary = rewrap(vault, batch=3, dry_run=True)

    assert (summary["rewrapped"], summary["dry_run"]) == (4, True)
    assert [stored(vault, f"user-{index}") for index in range(4)] == before
    assert [e for e in vault.credentials.audit_entries("") if e.action == "rewrap"] == []
    from vault.keys.wiring import sealed_sources

    assert sealed_sources(vault.settings)[1].load("rewrap") is None


def test_a_failed_record_is_counted_and_the_walk_goes_on(vault, caller, request):
    kms = kms_of(vault, request)
    for index in range(3):
        store(vault, caller, principalId=f"user-{index}")
    rotate(vault, kms)
    damaged = stored(vault, "user-1")
    blob = bytearray(damaged.access_token)
    blob[-1] ^= 1
    from vault.keys.wiring import sealed_sources

    source = sealed_sources(vault.settings)[0][0]
    record = next(r for r in source.scan(None, 10, None) if r.key == damaged.credential_id)
    assert source.replace(record, {**record.blobs, "accessToken": bytes(blob)})

    summary = rewrap(vault, batch=10)

    assert (summary["rewrapped"], summary["failed"]) == (2, 1)


@pytest.mark.parametrize("backend_env", ["local"], indirect=True)
def test_retire_is_refused_while_one_record_uses_the_version(vault, caller, capsys):
    from vault.__main__ import main

    store(vault, caller, principalId="user-1")
    other = vault.keys.create("dev-2", "tests")[1]
    store(vault, other, principalId="user-2")
    rotate(vault, None)
    assert rewrap(vault, developer_id="dev-1")["rewrapped"] == 1
    capsys.readouterr()

    assert main(["keys", "retire-master", "1"]) == 1
    assert "still wraps 1 record" in capsys.readouterr().err
    ring = LocalKeyFileAead(vault.settings.data_dir / "master.key").ring
    assert [version.version for version in ring.versions] == [1, 2]

    assert rewrap(vault)["rewrapped"] == 1
    assert main(["keys", "retire-master", "1"]) == 0
    assert main(["keys", "list-master"]) == 0
    listed = capsys.readouterr().out.strip().splitlines()
    assert listed[-1] == (
        '{"version": 2, "primary": true, "createdAt": '
        + listed[-1].split('"createdAt": ')[1].split(",")[0]
        + ', "records": 2}'
    )


def test_rewrap_while_8_writers_store_and_delete_the_same_records(vault, caller, request):
    outcome = rewrap_under_writers(vault, caller, kms_of(vault, request), writers=8, records=150)

    first, second, check = outcome.passes
    assert outcome.stores > 0 and outcome.deletes > 0
    assert outcome.lost_updates == 0
    assert outcome.resurrected == 0
    assert first["failed"] == second["failed"] == 0
    # After the second pass every surviving record is readable and under the primary.
    assert (check["scanned"], check["already_current"]) == (outcome.survivors,) * 2
