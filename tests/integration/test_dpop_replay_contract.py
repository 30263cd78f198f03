"""The ProofReplayStore contract, run against both adapters (SQLite and the Firestore
emulator): a (thumbprint, jti) pair is accepted once, across instances that share the
store, also when they race; and a store that cannot answer raises, so DPoP fails closed."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.tcp_proxy import TcpProxy
from vault.adapters.sqlite_database import SqliteDatabase
from vault.errors import DependencyUnavailable
from vault.ports import ProofReplayStore
from vault.timefmt import now_micros

THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
LATER = now_micros() + 330 * 1_000_000


def firestore_instance(env: dict[str, str], host: str | None = None) -> ProofReplayStore:
    from google.cloud import firestore

    from vault.adapters.firestore_dpop import FirestoreProofReplayStore
    from vault.adapters.firestore_gateway import FirestoreGateway

    os.environ["FIRESTORE_EMULATOR_HOST"] = host or env["FIRESTORE_EMULATOR_HOST"]
    client = firestore.Client(project=env["GOOGLE_CLOUD_PROJECT"])
    return FirestoreProofReplayStore(FirestoreGateway(client, timeout=2.0))


@pytest.fixture
def instance(backend_env: dict[str, str]) -> Callable[[], ProofReplayStore]:
    """Makes another instance of the adapter on the same backing store."""
    if backend_env["VAULT_BACKEND"] == "local":
        from vault.adapters.sqlite_dpop import SqliteProofReplayStore

        path = Path(backend_env["VAULT_DATA_DIR"]) / "vault.sqlite3"
        return lambda: SqliteProofReplayStore(SqliteDatabase(path))
    return lambda: firestore_instance(backend_env)


def test_a_pair_is_accepted_once(instance):
    replays = instance()

    assert replays.remember(THUMBPRINT, "jti-0123456789abcdef", LATER) is True
    assert replays.remember(THUMBPRINT, "jti-0123456789abcdef", LATER) is False


def test_the_pair_is_the_key_not_its_parts(instance):
    replays = instance()
    assert replays.remember(THUMBPRINT, "jti-0123456789abcdef", LATER)

    assert replays.remember(THUMBPRINT, "jti-0123456789abcdeg", LATER) is True
    assert replays.remember(THUMBPRINT[:-1] + "t", "jti-0123456789abcdef", LATER) is True


@pytest.mark.parametrize(
    "jti", ["a/b/../c" + "x" * 8, "ünïcødé-and-emoji-🔑", "." * 16, "j" * 256, "__name__xxxxxxxx"]
)
def test_any_jti_text_can_be_recorded(instance, jti):
    replays = instance()

    assert replays.remember(THUMBPRINT, jti, LATER) is True
    assert replays.remember(THUMBPRINT, jti, LATER) is False


def test_a_second_instance_sharing_the_store_sees_the_first_ones_proofs(instance):
    first, second = instance(), instance()
    assert first is not second
    assert first.remember(THUMBPRINT, "shared-0123456789", LATER)

    assert second.remember(THUMBPRINT, "shared-0123456789", LATER) is False


def test_of_racing_instances_exactly_one_accepts_a_proof(instance):
    stores = [instance(), instance()]
    start = threading.Barrier(16)
    results: list[bool] = []
    lock = threading.Lock()

    def race(index: int) -> None:
        start.wait()
        accepted = stores[index % 2].remember(THUMBPRINT, "raced-0123456789", LATER)
        with lock:
            results.append(accepted)

    threads = [threading.Thread(target=race, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False] * 15 + [True]


# ----------------------------------------------------------------- per backend


@pytest.mark.parametrize("backend_env", ["local"], indirect=True)
def test_sqlite_store_that_cannot_answer_raises(instance, backend_env):
    replays = instance()
    database = replays._db  # type: ignore[attr-defined]
    with database.transaction() as connection:
        connection.execute("DROP TABLE dpop_proofs")  # the store breaks under us

    with pytest.raises(DependencyUnavailable):
        replays.remember(THUMBPRINT, "broken-0123456789", LATER)


@pytest.mark.parametrize("backend_env", ["local"], indirect=True)
def test_sqlite_sweeps_expired_rows(instance):
    replays = instance()
    replays.remember(THUMBPRINT, "expired-0123456789", now_micros() - 1)

    for index in range(128):  # one sweep's worth of proofs
        replays.remember(THUMBPRINT, f"filler-{index:016d}", LATER)

    rows = replays._db.query("SELECT jti FROM dpop_proofs")  # type: ignore[attr-defined]
    assert "expired-0123456789" not in {row[0] for row in rows}
    assert len(rows) == 128


@pytest.fixture
def proxy(firestore_emulator: Any) -> Iterator[TcpProxy]:
    server = TcpProxy(firestore_emulator.port)
    yield server
    server.close()


@pytest.mark.parametrize("backend_env", ["gcp"], indirect=True)
def test_firestore_documents_carry_a_ttl_timestamp_and_no_jti(backend_env):
    from vault.adapters.firestore_dpop import DPOP_PROOFS

    replays = firestore_instance(backend_env)
    jti = "visible-0123456789"
    assert replays.remember(THUMBPRINT, jti, LATER)

    documents = list(replays._gw.client.collection(DPOP_PROOFS).stream())  # type: ignore[attr-defined]
    assert len(documents) == 1
    data = documents[0].to_dict()
    assert isinstance(data["expiresAt"], datetime)
    assert abs(data["expiresAt"].timestamp() * 1_000_000 - LATER) < 1000
    assert jti not in documents[0].id and THUMBPRINT not in documents[0].id
    assert jti not in repr(data) and THUMBPRINT not in repr(data)


@pytest.mark.parametrize("backend_env", ["gcp"], indirect=True)
def test_firestore_unreachable_raises_and_records_nothing(backend_env, proxy):
    replays = firestore_instance(backend_env, host=proxy.host)
    assert replays.remember(THUMBPRINT, "warm-0123456789ab", LATER)  # connected
    proxy.cut()

    with pytest.raises(DependencyUnavailable):
        replays.remember(THUMBPRINT, "outage-0123456789", LATER)

    proxy.restore()
    assert firestore_instance(backend_env).remember(THUMBPRINT, "outage-0123456789", LATER)
