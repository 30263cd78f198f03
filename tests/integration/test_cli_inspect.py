"""``python -m vault credentials list|get`` and ``audit list`` on both backends: the
right records, each filter, and never a token."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vault.__main__ import main
from vault.bootstrap import Vault, get_vault
from vault.ids import credential_id
from vault.models import StoreCredentialRequest
from vault.ports import ApiKeyRecord

SECRET = "ghp_cli_secret"
REFRESH = "ghr_cli_refresh"


def _store(caller: ApiKeyRecord, principal: str, service: str, expires: str | None) -> None:
    body: dict[str, Any] = {
        "principalId": principal,
        "service": service,
        "accessToken": SECRET,
        "refreshToken": REFRESH,
    }
    if expires is not None:
        body["tokenExpiresAt"] = expires
    get_vault().service.store(caller, StoreCredentialRequest.model_validate(body), "req-cli")


@pytest.fixture
def stored(backend_env: dict[str, str]) -> Vault:
    vault = get_vault()
    one = vault.keys.create("dev-1", "cli")[1]
    two = vault.keys.create("dev-2", "cli")[1]
    _store(one, "alice", "github", "2030-01-01T00:00:00Z")
    _store(one, "bob", "github", "2099-01-01T00:00:00Z")
    _store(two, "alice", "slack", None)
    return vault


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[Any], str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    for secret in (SECRET, REFRESH):
        assert secret not in captured.out + captured.err
    out = captured.out.strip()
    if out.startswith("{\n"):
        return code, [json.loads(out)], captured.err
    return code, [json.loads(line) for line in out.splitlines() if line], captured.err


def test_credentials_list_covers_every_developer_and_filters(
    stored: Vault, capsys: pytest.CaptureFixture[str]
) -> None:
    code, everything, _ = _run(capsys, "credentials", "list")
    _, mine, _ = _run(capsys, "credentials", "list", "--developer", "dev-1")
    _, alices, _ = _run(capsys, "credentials", "list", "--principal", "alice")
    _, soon, _ = _run(capsys, "credentials", "list", "--expiring-before", "2031-01-01T00:00:00Z")

    assert code == 0
    assert sorted((c["developerId"], c["principalId"]) for c in everything) == [
        ("dev-1", "alice"),
        ("dev-1", "bob"),
        ("dev-2", "alice"),
    ]
    assert {c["developerId"] for c in mine} == {"dev-1"} and len(mine) == 2
    assert sorted(c["developerId"] for c in alices) == ["dev-1", "dev-2"]
    assert [(c["principalId"], c["tokenExpiresAt"]) for c in soon] == [
        ("alice", "2030-01-01T00:00:00.000Z")
    ]
    assert all(c["hasRefreshToken"] is True for c in everything)


def test_credentials_get_shows_expiry_never_tokens(
    stored: Vault, capsys: pytest.CaptureFixture[str]
) -> None:
    record_id = credential_id("dev-2", "alice", "slack")

    code, (found,), _ = _run(capsys, "credentials", "get", record_id)
    missing, _, err = _run(capsys, "credentials", "get", credential_id("dev-9", "x", "y"))

    assert code == 0
    assert found["id"] == record_id and found["developerId"] == "dev-2"
    assert found["tokenExpiresAt"] is None and found["expired"] is False
    assert found["status"] == "active"
    assert "accessToken" not in found and "refreshToken" not in found
    assert missing == 1 and "no credential" in err


def test_audit_list_filters_by_developer_credential_and_time(
    stored: Vault, capsys: pytest.CaptureFixture[str]
) -> None:
    bob = credential_id("dev-1", "bob", "github")

    code, everything, _ = _run(capsys, "audit", "list")
    _, mine, _ = _run(capsys, "audit", "list", "--developer", "dev-1")
    _, about_bob, _ = _run(capsys, "audit", "list", "--credential", bob)
    _, future, _ = _run(capsys, "audit", "list", "--since", "2999-01-01T00:00:00Z")

    assert code == 0
    assert sorted(e["developerId"] for e in everything) == ["dev-1", "dev-1", "dev-2"]
    assert [e["principalId"] for e in mine] == ["bob", "alice"]  # newest first
    assert [(e["action"], e["credentialId"]) for e in about_bob] == [("store", bob)]
    assert future == []


def test_bad_arguments_are_one_line_errors(
    stored: Vault, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (
        ("credentials", "get", "vc_nope"),
        ("audit", "list", "--since", "yesterday"),
        ("credentials", "list", "--expiring-before", "soon"),
    ):
        capsys.readouterr()
        assert main(list(argv)) == 2
        assert capsys.readouterr().err.startswith("error: ")
