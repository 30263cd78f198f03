"""The denylists as the revocation feed writes them, on both backends: a ``resumed`` entry
lifts a suspension and nothing else (a revocation is never undone, whoever made it), and
an entry already there keeps the later of two expiries."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from grantex.revocations import RevocationEntry

from tests.support.http_app import PATH, bearer
from tests.support.issuer import TestIssuer
from vault.bootstrap import get_vault
from vault.ports import AuditEntry, Denial
from vault.revocations.feed import StoreSink
from vault.timefmt import now_micros

DAY = 86_400 * 1_000_000


@pytest.fixture
def stored(client: Any, api_key: str) -> None:
    response = client.post(
        PATH,
        json={"principalId": "user-1", "service": "github", "accessToken": "ghp_denylist"},
        headers=bearer(api_key),
    )
    assert response.status_code == 201


def exchange(client: Any, issuer: TestIssuer, grant_id: str) -> int:
    token = issuer.mint(scp=["vault:github:exchange"], grnt=grant_id)
    response = client.post(PATH + "/exchange", json={"service": "github"}, headers=bearer(token))
    return int(response.status_code)


def feed(*entries: tuple[str, str]) -> None:
    sink = StoreSink(get_vault().revocations, get_vault().state, 2_592_000)
    for seq, (action, grant_id) in enumerate(entries, start=1):
        sink.write([RevocationEntry(seq, action, grant_id, None, None)])  # type: ignore[arg-type]


def webhook_revocation(grant_id: str) -> None:
    now = now_micros()
    audit = AuditEntry(
        entry_id="au_" + grant_id,
        action="grant.revoke",
        developer_id="",
        actor="grantex-webhook",
        credential_id=None,
        principal_id="",
        service=None,
        request_id="req",
        at=now,
    )
    get_vault().revocations.apply_delivery(
        "whd_" + grant_id, [Denial("grant", grant_id, now + 30 * DAY)], now + 30 * DAY, audit
    )


def test_a_resumed_suspension_is_lifted(client, issuer, stored):
    feed(("suspended", "grnt_paused"))
    assert exchange(client, issuer, "grnt_paused") == 401

    feed(("resumed", "grnt_paused"))

    assert exchange(client, issuer, "grnt_paused") == 200


@pytest.mark.parametrize("revoked_by", ["webhook", "operator", "feed"])
def test_resumed_never_lifts_a_revocation(client, issuer, stored, revoked_by):
    # Suspended at the issuer, revoked meanwhile (by the issuer's webhook, by an operator
    # here, or as a feed entry), then resumed: the revocation stands.
    feed(("suspended", "grnt_both"))
    if revoked_by == "webhook":
        webhook_revocation("grnt_both")
    elif revoked_by == "operator":
        get_vault().exchange.revoke("grant", "grnt_both")
    else:
        feed(("revoked", "grnt_both"))
    feed(("suspended", "grnt_both"), ("resumed", "grnt_both"))

    assert exchange(client, issuer, "grnt_both") == 401


def test_a_revocation_made_before_a_suspension_survives_its_resumption(client, issuer, stored):
    get_vault().exchange.revoke("grant", "grnt_first")
    feed(("suspended", "grnt_first"), ("resumed", "grnt_first"))

    assert exchange(client, issuer, "grnt_first") == 401


def stored_expiry(backend: str, identifier: str) -> int:
    if backend == "local":
        database = get_vault().revocations._db  # type: ignore[attr-defined]
        ((expires_at,),) = database.query(
            "SELECT expires_at FROM revoked WHERE kind = 'grant' AND identifier = ?",
            (identifier,),
        )
        return int(expires_at)
    from vault.adapters.firestore_codec import DENYLISTS, denylist_id

    gateway = get_vault().revocations._gw  # type: ignore[attr-defined]
    snapshot = gateway.client.collection(DENYLISTS["grant"]).document(denylist_id(identifier)).get()
    return int(snapshot.to_dict()["expiresAt"].timestamp()) * 1_000_000


def test_an_entry_keeps_the_later_expiry(backend_env, client):
    store = get_vault().revocations
    later = (now_micros() // 1_000_000 + 20 * 86_400) * 1_000_000

    store.deny([Denial("grant", "grnt_long", later)])
    store.deny([Denial("grant", "grnt_long", later - 19 * DAY)])

    assert stored_expiry(backend_env["VAULT_BACKEND"], "grnt_long") == later


def test_racing_deliveries_of_one_id_on_two_instances_apply_exactly_once(backend_env):
    # Grantex retries a delivery it thinks failed; two instances may get it at once.
    from vault.bootstrap import build
    from vault.config import Settings

    instances = [build(Settings.from_env()).revocations for _ in range(2)]
    start = threading.Barrier(12)
    applied: list[bool] = []
    lock = threading.Lock()
    now = now_micros()

    def deliver(index: int) -> None:
        audit = AuditEntry(
            entry_id=f"au_race_{index}",
            action="grant.revoke",
            developer_id="",
            actor="grantex-webhook",
            credential_id=None,
            principal_id="",
            service=None,
            request_id=f"req_{index}",
            at=now,
        )
        start.wait()
        result = instances[index % 2].apply_delivery(
            "whd_raced", [Denial("grant", "grnt_raced", now + DAY)], now + DAY, audit
        )
        with lock:
            applied.append(result)

    threads = [threading.Thread(target=deliver, args=(index,)) for index in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(applied) == [False] * 11 + [True]
    audits = [
        entry
        for entry in get_vault().credentials.audit_entries("")
        if entry.entry_id.startswith("au_race_")
    ]
    assert len(audits) == 1  # the losers wrote nothing


def test_concurrent_resolutions_are_each_counted(client, issuer, api_key, stored):
    token = issuer.mint(scp=["vault:github:exchange"], grnt="grnt_counted")
    reference = client.post(
        PATH + "/exchange",
        json={"service": "github", "delivery": "reference"},
        headers=bearer(token),
    ).get_json()["credentialRef"]
    start = threading.Barrier(8)
    statuses: list[int] = []
    lock = threading.Lock()

    def resolve() -> None:
        start.wait()
        response = client.post(
            PATH + "/resolve",
            json={"credentialRef": reference, "grantId": "grnt_counted"},
            headers=bearer(api_key),
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=resolve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 8
    lookup = get_vault().references._references.resolve_lookup(  # type: ignore[attr-defined]
        "dev-1", reference, "grnt_counted"
    )
    assert lookup.reference is not None and lookup.reference.resolved_count == 8
