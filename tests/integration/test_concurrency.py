"""Concurrent writers, on SQLite and on the Firestore emulator: one record per triple,
tokens never mixed between requests, every audit entry present."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.support.service_level import reveal, store
from vault.ids import credential_id
from vault.models import validate


def run_together(tasks: list[Callable[[], None]], workers: int) -> list[BaseException]:
    barrier = threading.Barrier(min(workers, len(tasks)))
    errors: list[BaseException] = []

    def start(task: Callable[[], None]) -> None:
        try:
            if len(tasks) <= workers:
                barrier.wait()
            task()
        except BaseException as error:
            errors.append(error)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(start, tasks))
    return errors


def test_32_concurrent_upserts_of_one_triple(vault, caller):
    tasks = [
        (lambda i=i: store(vault, caller, accessToken=f"at-{i}", refreshToken=f"rt-{i}"))
        for i in range(32)
    ]

    assert run_together(tasks, workers=32) == []

    page = vault.service.list(caller, validate_query())
    assert len(page.credentials) == 1
    stored = page.credentials[0]
    winner = reveal(vault, stored, "accessToken").removeprefix("at-")
    assert reveal(vault, stored, "refreshToken") == f"rt-{winner}"
    audit = vault.credentials.audit_entries("dev-1")
    assert len(audit) == 32 and {entry.action for entry in audit} == {"store"}


def validate_query(**query: str) -> Any:
    from vault.models import ListCredentialsQuery

    return validate(ListCredentialsQuery, query)


def test_200_concurrent_distinct_stores(vault, caller):
    tasks = [(lambda i=i: store(vault, caller, principalId=f"user-{i:03d}")) for i in range(200)]

    assert run_together(tasks, workers=50) == []

    seen = 0
    cursor = None
    while True:
        page = vault.service.list(caller, validate_query(**({"cursor": cursor} if cursor else {})))
        seen += len(page.credentials)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == 200
    assert len(vault.credentials.audit_entries("dev-1")) == 200


def test_concurrent_delete_and_store_of_one_triple_end_consistent(vault, caller):
    record_id = credential_id("dev-1", "user-1", "github")
    for round_number in range(8):
        store(vault, caller, accessToken=f"before-{round_number}")

        def delete() -> None:
            vault.service.delete(caller, record_id, "req")  # the record exists: never 404

        errors = run_together(
            [delete, lambda n=round_number: store(vault, caller, accessToken=f"after-{n}")],
            workers=2,
        )

        assert errors == []
        stored = vault.credentials.get("dev-1", record_id)
        listed = vault.service.list(caller, validate_query()).credentials
        if stored is None:
            assert listed == []
        else:
            assert [item.credential_id for item in listed] == [record_id]
            # Only "store, then delete" removes it; any other order keeps the new token.
            assert reveal(vault, stored, "accessToken") == f"after-{round_number}"
