"""Injected failures: Firestore cut or black-holed (through a loopback proxy to the
emulator), Cloud KMS down (the fake), and tampered or moved ciphertext. Every failure
is a clear status, nothing is half-written, and a wrong token is never handed out."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.fake_kms import FakeKms
from tests.support.http_app import PATH, bearer, make_client
from tests.support.issuer import TestIssuer
from tests.support.tcp_proxy import TcpProxy
from vault.bootstrap import get_vault
from vault.errors import DependencyUnavailable
from vault.ids import credential_id

BODY = {"principalId": "user-1", "service": "github", "accessToken": "ghp_secret"}


@pytest.fixture
def proxy(firestore_emulator: Any) -> Iterator[TcpProxy]:
    server = TcpProxy(firestore_emulator.port)
    yield server
    server.close()


@pytest.fixture
def gcp(backend_env: dict[str, str], proxy: TcpProxy) -> tuple[Any, str]:
    if backend_env["VAULT_BACKEND"] != "gcp":
        pytest.skip("unreachable")  # parametrised to gcp below
    os.environ["FIRESTORE_EMULATOR_HOST"] = proxy.host
    os.environ["VAULT_RPC_TIMEOUT_SECONDS"] = "2"
    client = make_client()
    api_key = get_vault().keys.create("dev-1", "tests")[0]
    return client, api_key


def once_reachable(read: Callable[[], Any], attempts: int = 30) -> Any:
    """After a restore, gRPC reconnects with backoff; read again until it answers."""
    for _ in range(attempts - 1):
        try:
            return read()
        except DependencyUnavailable:
            time.sleep(0.5)
    return read()


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()["code"] == "SERVICE_UNAVAILABLE"
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("backend_env", ["gcp"], indirect=True)
@pytest.mark.parametrize("fault", ["cut", "blackhole"])
def test_firestore_down_during_store_is_503_and_writes_nothing(gcp, proxy, fault):
    client, api_key = gcp
    getattr(proxy, fault)()

    response = client.post(PATH, json=BODY, headers=bearer(api_key))

    assert_unavailable(response)
    proxy.restore()
    vault = get_vault()
    record_id = credential_id("dev-1", "user-1", "github")
    assert once_reachable(lambda: vault.credentials.get("dev-1", record_id)) is None
    assert vault.credentials.audit_entries("dev-1") == []
    assert client.post(PATH, json=BODY, headers=bearer(api_key)).status_code == 201


@pytest.mark.parametrize("backend_env", ["gcp"], indirect=True)
def test_firestore_down_during_list_get_delete_erase_and_exchange_is_503(
    gcp, proxy, issuer: TestIssuer
):
    client, api_key = gcp
    stored = client.post(PATH, json=BODY, headers=bearer(api_key)).get_json()
    proxy.cut()

    responses = [
        client.get(PATH, headers=bearer(api_key)),
        client.get(f"{PATH}/{stored['id']}", headers=bearer(api_key)),
        client.delete(f"{PATH}/{stored['id']}", headers=bearer(api_key)),
        client.delete(PATH, query_string={"principalId": "user-1"}, headers=bearer(api_key)),
        client.post(PATH + "/exchange", json={"service": "github"}, headers=bearer(issuer.mint())),
    ]

    for response in responses:
        assert_unavailable(response)
    proxy.restore()
    assert once_reachable(lambda: get_vault().credentials.get("dev-1", stored["id"])) is not None


@pytest.mark.parametrize("backend_env", ["gcp"], indirect=True)
def test_kms_down_during_exchange_is_503_and_releases_nothing(
    gcp, kms: FakeKms, issuer: TestIssuer
):
    client, api_key = gcp
    client.post(PATH, json=BODY, headers=bearer(api_key))
    kms.fault = "unavailable"

    response = client.post(
        PATH + "/exchange", json={"service": "github"}, headers=bearer(issuer.mint())
    )

    assert_unavailable(response)
    assert "ghp_secret" not in response.get_data(as_text=True)
    actions = [entry.action for entry in get_vault().credentials.audit_entries("dev-1")]
    assert actions == ["store"]


def overwrite_access_token(record_id: str, blob: bytes) -> None:
    """Reach past the service, as an attacker with database access would."""
    store: Any = get_vault().credentials
    if os.environ["VAULT_BACKEND"] == "gcp":
        store._credentials.document(record_id).update({"accessToken": blob})
    else:
        with store._db.transaction() as connection:
            connection.execute(
                "UPDATE credentials SET access_token = ? WHERE id = ?", (blob, record_id)
            )


@pytest.mark.parametrize("tamper", ["flip a byte", "copy from another record", "refresh token"])
def test_tampered_or_moved_ciphertext_fails_closed(
    backend_env, issuer: TestIssuer, capsys: pytest.CaptureFixture[str], tamper: str
):
    client = make_client()
    vault = get_vault()
    api_key = vault.keys.create("dev-1", "tests")[0]
    victim = client.post(
        PATH, json={**BODY, "refreshToken": "ghr_secret"}, headers=bearer(api_key)
    ).get_json()
    other = client.post(
        PATH,
        json={**BODY, "principalId": "user-2", "accessToken": "ghp_other"},
        headers=bearer(api_key),
    ).get_json()
    victim_record = vault.credentials.get("dev-1", victim["id"])
    other_record = vault.credentials.get("dev-1", other["id"])
    assert victim_record is not None and other_record is not None
    if tamper == "flip a byte":
        blob = bytearray(victim_record.access_token)
        blob[-5] ^= 0x40
        overwrite_access_token(victim["id"], bytes(blob))
    elif tamper == "copy from another record":
        overwrite_access_token(victim["id"], other_record.access_token)
    else:
        assert victim_record.refresh_token is not None
        overwrite_access_token(victim["id"], victim_record.refresh_token)
    capsys.readouterr()

    response = client.post(
        PATH + "/exchange", json={"service": "github"}, headers=bearer(issuer.mint())
    )

    assert response.status_code == 500
    assert response.get_json()["code"] == "INTERNAL_ERROR"
    text = response.get_data(as_text=True)
    assert "ghp_" not in text and "ghr_" not in text
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    errors = [line for line in logged if line.get("credentialId") == victim["id"]]
    assert errors and errors[0]["severity"] == "ERROR"


def copy_record(source_id: str, target_id: str) -> None:
    """Copy a whole stored record (fields and ciphertext) under another id."""
    store: Any = get_vault().credentials
    if os.environ["VAULT_BACKEND"] == "gcp":
        data = store._credentials.document(source_id).get().to_dict()
        store._credentials.document(target_id).set(data)
    else:
        with store._db.transaction() as connection:
            connection.execute(
                "INSERT INTO credentials (id, developer_id, principal_id, service,"
                " credential_type, access_token, refresh_token, token_expires_at,"
                " metadata_json, created_at, updated_at)"
                " SELECT ?, developer_id, principal_id, service,"
                " credential_type, access_token, refresh_token, token_expires_at,"
                " metadata_json, created_at, updated_at FROM credentials WHERE id = ?",
                (target_id, source_id),
            )


def test_a_record_copied_under_another_principals_id_is_never_released(
    backend_env, issuer: TestIssuer
):
    client = make_client()
    api_key = get_vault().keys.create("dev-1", "tests")[0]
    alice = client.post(
        PATH,
        json={**BODY, "principalId": "alice", "accessToken": "ghp_ALICE"},
        headers=bearer(api_key),
    ).get_json()
    copy_record(alice["id"], credential_id("dev-1", "bob", "github"))

    response = client.post(
        PATH + "/exchange", json={"service": "github"}, headers=bearer(issuer.mint(sub="bob"))
    )

    assert response.status_code == 500
    assert "ghp_ALICE" not in response.get_data(as_text=True)
