"""The rewrap's ports on both backends: sealed-record sources (ordered scans, counts,
and replaces that lose to any write in between) and the state store."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.service_level import reveal, store
from vault.bootstrap import Vault
from vault.ids import credential_id
from vault.keys.wiring import sealed_sources


@pytest.fixture
def parts(vault: Vault) -> Any:
    return sealed_sources(vault.settings)


def sealed_again(vault: Vault, record: Any, token: bytes) -> dict[str, bytes]:
    return vault.envelope.seal(record.binding, {"accessToken": token})


def test_scan_walks_every_record_in_key_order_in_pages(vault, caller, parts):
    other = vault.keys.create("dev-2", "tests")[1]
    for index in range(7):
        store(vault, caller, principalId=f"user-{index}")
    store(vault, other, principalId="user-x")
    source = parts[0][0]

    seen, after = [], None
    while page := source.scan(after, 3, None):
        assert len(page) <= 3
        seen += [record.key for record in page]
        after = page[-1].key
    only_dev_2 = source.scan(None, 10, "dev-2")

    assert seen == sorted(seen) and len(seen) == 8 == source.count(None)
    assert [record.key for record in only_dev_2] == [credential_id("dev-2", "user-x", "github")]
    assert source.count("dev-1") == 7
    assert set(source.scan(None, 10, "dev-1")[0].blobs) == {"accessToken"}


def test_replace_writes_the_new_blobs_when_nothing_changed(vault, caller, parts):
    summary = store(vault, caller, refreshToken="rt")
    source = parts[0][0]
    (record,) = source.scan(None, 10, None)
    blobs = vault.envelope.seal(record.binding, {"accessToken": b"at-1", "refreshToken": b"rt"})

    assert source.replace(record, blobs) is True

    stored = vault.credentials.get("dev-1", summary.credential_id)
    assert stored.access_token == blobs["accessToken"]
    assert reveal(vault, stored, "refreshToken") == "rt"
    assert stored.updated_at == summary.updated_at  # re-sealing is no change of the token


def test_a_store_between_read_and_replace_wins(vault, caller, parts):
    summary = store(vault, caller, accessToken="first")
    source = parts[0][0]
    (record,) = source.scan(None, 10, None)
    store(vault, caller, accessToken="second")

    assert source.replace(record, sealed_again(vault, record, b"first")) is False
    stored = vault.credentials.get("dev-1", summary.credential_id)
    assert reveal(vault, stored, "accessToken") == "second"


def test_a_delete_between_read_and_replace_stays_deleted(vault, caller, parts):
    summary = store(vault, caller)
    source = parts[0][0]
    (record,) = source.scan(None, 10, None)
    vault.service.delete(caller, summary.credential_id, "req")

    assert source.replace(record, sealed_again(vault, record, b"at-1")) is False
    assert vault.credentials.get("dev-1", summary.credential_id) is None


def test_state_store_saves_overwrites_and_clears(parts):
    state = parts[1]

    assert state.load("rewrap") is None
    state.save("rewrap", {"after": "vc_a", "counts": {"scanned": 3}})
    state.save("rewrap", {"after": "vc_b", "counts": {"scanned": 6}})
    state.save("other", {"x": 1})

    assert state.load("rewrap") == {"after": "vc_b", "counts": {"scanned": 6}}
    state.clear("rewrap")
    assert state.load("rewrap") is None
    assert state.load("other") == {"x": 1}
