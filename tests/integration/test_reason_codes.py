"""Every 401 and 503 log line says why, in a reason code, while the response stays
uniform (a caller learns nothing from it) and no line holds a secret."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.support.fake_kms import FakeKms
from tests.support.http_app import PATH, bearer, make_client
from vault.api_keys import generate
from vault.bootstrap import get_vault

BODY = {"principalId": "user-1", "service": "github", "accessToken": "ghp_reason_secret"}


def _request_line(output: str, status: int) -> dict[str, Any]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    (line,) = [entry for entry in lines if entry.get("status") == status]
    return line


def _uniform(body: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in body.items() if name != "requestId"}


def test_each_kind_of_bad_api_key_logs_its_reason_and_answers_alike(
    client: Any, api_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    revoked_key, revoked = get_vault().keys.create("dev-1", "to revoke")
    get_vault().keys.revoke(revoked.key_id)
    unknown_key = generate()
    cases = {
        "missing": {},
        "malformed_key": bearer("gx_live_not-a-key"),
        "unknown_key": bearer(unknown_key),
        "revoked_key": bearer(revoked_key),
    }
    bodies = []
    for reason, headers in cases.items():
        capsys.readouterr()
        response = client.get(PATH, headers=headers)

        assert response.status_code == 401
        bodies.append(_uniform(response.get_json()))
        output = capsys.readouterr().out
        line = _request_line(output, 401)
        assert line["reason"] == reason
        for secret in (api_key, revoked_key, unknown_key, "gx_live_not-a-key"):
            assert secret not in output
    assert all(body == bodies[0] for body in bodies)


@pytest.mark.parametrize("backend_env", ["gcp"], indirect=True)
def test_kms_down_logs_kms_unavailable(
    backend_env: dict[str, str], kms: FakeKms, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client()
    api_key = get_vault().keys.create("dev-1", "tests")[0]
    kms.fault = "unavailable"
    os.environ["VAULT_RPC_TIMEOUT_SECONDS"] = "1"
    capsys.readouterr()

    response = client.post(PATH, json=BODY, headers=bearer(api_key))

    assert response.status_code == 503
    output = capsys.readouterr().out
    assert _request_line(output, 503)["reason"] == "kms_unavailable"
    assert "ghp_reason_secret" not in output and api_key not in output


@pytest.mark.parametrize("backend_env", ["gcp"], indirect=True)
def test_firestore_down_logs_firestore_unavailable(
    backend_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ["FIRESTORE_EMULATOR_HOST"] = "127.0.0.1:9"  # nothing listens there
    os.environ["VAULT_RPC_TIMEOUT_SECONDS"] = "1"
    client = make_client()
    capsys.readouterr()

    response = client.get(PATH, headers=bearer(generate()))

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert _request_line(capsys.readouterr().out, 503)["reason"] == "firestore_unavailable"


def test_an_exchange_without_a_grant_token_logs_missing(
    client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # (The grant-token reasons, expired, bad_signature, ..., come with vault/grants.py.)
    capsys.readouterr()

    response = client.post(PATH + "/exchange", json={"service": "github"})

    assert response.status_code == 401
    assert _request_line(capsys.readouterr().out, 401)["reason"] == "missing"
