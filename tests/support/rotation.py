"""Key rotation on either backend, for the rewrap suites: rotate the key-encryption
key (the local ring, or the fake Cloud KMS key), run a rewrap pass, take the old
version out of service."""

from __future__ import annotations

import contextlib
import os
import random
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import FAKE_KMS_KEY
from tests.support.fake_kms import FakeKms
from tests.support.service_level import reveal, store
from vault.bootstrap import Vault, get_vault
from vault.errors import NotFound
from vault.ids import credential_id
from vault.keys.rewrap import Rewrap, RewrapPlan
from vault.keys.wiring import sealed_sources
from vault.ports import ApiKeyRecord


def rotating_vault(backend_env: dict[str, str]) -> Vault:
    """The process's Vault; on gcp over a KMS key of its own (tests rotate and disable
    its versions, which must not touch the shared key other suites use)."""
    if backend_env["VAULT_BACKEND"] == "gcp":
        os.environ["VAULT_KMS_KEY"] = f"{FAKE_KMS_KEY}-{uuid.uuid4().hex[:12]}"
    return get_vault()


def rotate(vault: Vault, kms: FakeKms | None) -> int:
    """A new primary version; returns its number."""
    if vault.settings.backend == "local":
        from vault.adapters.local_kms import rotate as rotate_ring

        return rotate_ring(vault.settings.data_dir / "master.key")
    assert kms is not None and vault.settings.kms_key is not None
    return kms.rotate(vault.settings.kms_key)


def take_out_of_service(vault: Vault, kms: FakeKms | None, version: int) -> None:
    """Local: retire the version (refused while a record uses it); gcp: disable it."""
    if vault.settings.backend == "local":
        from vault.__main__ import main

        assert main(["keys", "retire-master", str(version)]) == 0
    else:
        assert kms is not None and vault.settings.kms_key is not None
        kms.disable(vault.settings.kms_key, version)


def rewrap(vault: Vault, **plan: Any) -> dict[str, Any]:
    sources, state = sealed_sources(vault.settings)
    return Rewrap(vault.envelope, sources, state, vault.credentials.record).run(RewrapPlan(**plan))


def kms_of(vault: Vault, request: Any) -> FakeKms | None:
    return request.getfixturevalue("kms") if vault.settings.backend == "gcp" else None


@dataclass
class UnderWriters:
    """What a rewrap did while writers stored and deleted the same records."""

    writers: int
    records: int
    stores: int = 0
    deletes: int = 0
    survivors: int = 0
    lost_updates: int = 0  # a record whose token is not the last one stored
    resurrected: int = 0  # a record present after its last write deleted it
    passes: list[dict[str, Any]] = field(default_factory=list)  # first, second, dry check


def rewrap_under_writers(
    vault: Vault,
    caller: ApiKeyRecord,
    kms: FakeKms | None,
    writers: int = 8,
    records: int = 150,
    operations: int = 30,
    batch: int = 7,
) -> UnderWriters:
    """Store ``records`` records, rotate, then run a rewrap pass while ``writers``
    threads store and delete those same records; a second pass after they stop, and a
    dry run to see that every survivor is current. Writers hold a lock per record, so
    the order of their writes is known; the rewrap holds none."""
    principals = [f"user-{index:04d}" for index in range(records)]
    last: dict[str, str | None] = {}
    for principal in principals:
        store(vault, caller, principalId=principal, accessToken=f"{principal}-0", refreshToken="r0")
        last[principal] = f"{principal}-0"
    rotate(vault, kms)
    outcome = UnderWriters(writers=writers, records=records)
    locks = {principal: threading.Lock() for principal in principals}
    start = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def write(number: int) -> None:
        chooser = random.Random(number)
        start.wait()
        for step in range(operations):
            principal = chooser.choice(principals)
            with locks[principal]:
                try:
                    if chooser.random() < 0.3:
                        with contextlib.suppress(NotFound):
                            vault.service.delete(
                                caller, credential_id("dev-1", principal, "github"), "req"
                            )
                        last[principal] = None
                        outcome.deletes += 1
                    else:
                        value = f"{principal}-w{number}-{step}"
                        store(
                            vault,
                            caller,
                            principalId=principal,
                            accessToken=value,
                            refreshToken=f"r-{value}",
                        )
                        last[principal] = value
                        outcome.stores += 1
                except BaseException as error:  # reported below, never swallowed
                    errors.append(error)
                    raise

    threads = [threading.Thread(target=write, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    outcome.passes.append(rewrap(vault, batch=batch))
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    outcome.passes.append(rewrap(vault, batch=batch))
    outcome.passes.append(rewrap(vault, batch=batch, dry_run=True))
    for principal in principals:
        record = vault.credentials.get("dev-1", credential_id("dev-1", principal, "github"))
        expected = last[principal]
        if expected is None:
            outcome.resurrected += record is not None
            continue
        outcome.survivors += 1
        refresh = "r0" if expected == f"{principal}-0" else f"r-{expected}"
        if record is None or (
            reveal(vault, record, "accessToken"),
            reveal(vault, record, "refreshToken"),
        ) != (expected, refresh):
            outcome.lost_updates += 1
    return outcome
