"""``python -m vault grants mint | revoke`` in a subprocess, against the same data the
in-process vault reads: mint prints the token alone on stdout and its jti and grant id
on stderr; revoke --token takes a jti or a whole grant token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.support.http_app import PATH, bearer, make_client
from tests.support.issuer import TestIssuer
from tests.support.served import ROOT, run_cli
from vault.bootstrap import get_vault

EXCHANGE = PATH + "/exchange"


def client_with_a_github_credential() -> Any:
    client = make_client()
    api_key = get_vault().keys.create("dev-1", "tests")[0]
    stored = client.post(
        PATH,
        json={"principalId": "user-1", "service": "github", "accessToken": "ghp_cli"},
        headers=bearer(api_key),
    )
    assert stored.status_code == 201
    return client


def exchange(client: Any, token: str) -> int:
    return int(client.post(EXCHANGE, json={"service": "github"}, headers=bearer(token)).status_code)


def test_mint_grants_the_exact_scope_and_names_the_jti_and_grant_on_stderr(tmp_path: Path):
    os.environ.update({"VAULT_BACKEND": "local", "VAULT_DATA_DIR": str(tmp_path / "data")})
    client = client_with_a_github_credential()

    minted = run_cli(
        *("grants", "mint", "--developer", "dev-1", "--principal", "user-1"),
        *("--service", "github", "--grant", "grnt_cli_1"),
    )

    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["scp"] == ["vault:github:exchange"]
    assert claims["jti"] in minted.stderr and "grnt_cli_1" in minted.stderr
    assert token not in minted.stderr
    assert exchange(client, token) == 200


def test_mint_needs_a_service_or_a_scope(tmp_path: Path):
    os.environ.update({"VAULT_BACKEND": "local", "VAULT_DATA_DIR": str(tmp_path / "data")})

    minted = run_cli("grants", "mint", "--developer", "d", "--principal", "p")
    bad_service = run_cli(
        "grants", "mint", "--developer", "d", "--principal", "p", "--service", "not valid"
    )

    assert minted.returncode == 2 and minted.stdout == ""
    assert "--service" in minted.stderr
    assert bad_service.returncode == 2 and bad_service.stdout == ""


def test_the_help_shows_the_exact_scope(tmp_path: Path):
    shown = run_cli("grants", "mint", "--help")

    assert "vault:github:exchange" in shown.stdout
    assert "vault:<service>:exchange" in shown.stdout


@pytest.mark.parametrize("given", ["jti", "jwt", "jwt on stdin"])
def test_revoke_token_takes_a_jti_or_a_whole_grant_token(
    backend_env, issuer: TestIssuer, given: str
):
    client = client_with_a_github_credential()
    token, other = issuer.mint(jti="tok_cli_revoke"), issuer.mint()
    assert exchange(client, token) == 200

    if given == "jti":
        revoked = run_cli("grants", "revoke", "--token", "tok_cli_revoke")
    elif given == "jwt":
        revoked = run_cli("grants", "revoke", "--token", token)
    else:
        revoked = subprocess.run(
            [sys.executable, "-m", "vault", "grants", "revoke", "--token", "-"],
            cwd=ROOT,
            env=dict(os.environ),
            input=token + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert revoked.returncode == 0, revoked.stderr
    assert "tok_cli_revoke" in revoked.stderr
    assert token not in revoked.stderr + revoked.stdout
    assert exchange(client, token) == 401
    assert exchange(client, other) == 200


def test_revoke_refuses_a_grant_token_without_a_jti_and_revokes_nothing(
    backend_env, issuer: TestIssuer
):
    client = client_with_a_github_credential()
    token = issuer.mint(jti="tok_kept")
    no_jti = issuer.mint(jti=None)

    revoked = run_cli("grants", "revoke", "--token", no_jti)

    assert revoked.returncode == 2
    assert "jti" in revoked.stderr and no_jti not in revoked.stderr
    assert exchange(client, token) == 200


def test_mint_refuses_a_ttl_the_vault_would_refuse(tmp_path: Path):
    # The vault refuses a token that outlives VAULT_GRANT_MAX_LIFETIME_SECONDS (its
    # denial would be dropped first): mint says so instead of printing a dead token.
    os.environ.update(
        {
            "VAULT_BACKEND": "local",
            "VAULT_DATA_DIR": str(tmp_path / "data"),
            "VAULT_GRANT_MAX_LIFETIME_SECONDS": "3600",
        }
    )

    minted = run_cli(
        *("grants", "mint", "--developer", "d", "--principal", "p", "--service", "github"),
        *("--ttl", "3601"),
    )

    assert minted.returncode == 2 and minted.stdout == ""
    assert "VAULT_GRANT_MAX_LIFETIME_SECONDS" in minted.stderr
