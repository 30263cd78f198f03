"""``python -m vault serve`` refuses to start on a setting that would fail every request:
exit code 2, one line naming the setting, and no "listening" line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.support.firestore_emulator import free_port
from tests.support.served import ROOT

_KMS_KEY = "projects/demo/locations/global/keyRings/vault/cryptoKeys/tokens"


def _no_google_credentials(tmp_path: Path) -> dict[str, str]:
    # No ADC file, no key file, and the metadata-server probe off (and pointed at a
    # closed loopback port, should it run anyway).
    return {
        "HOME": str(tmp_path / "home"),
        "NO_GCE_CHECK": "true",
        "GCE_METADATA_HOST": "127.0.0.1:9",
        "GCE_METADATA_IP": "127.0.0.1:9",
    }


def _run(
    tmp_path: Path, env: Mapping[str, str], *arguments: str
) -> subprocess.CompletedProcess[str]:
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("VAULT_", "GOOGLE_", "FIRESTORE_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "vault", *arguments],
        cwd=ROOT,
        env={**base, "VAULT_DATA_DIR": str(tmp_path / "data"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _gcp(tmp_path: Path, jwks: Path, **overrides: str) -> dict[str, str]:
    return {
        "VAULT_BACKEND": "gcp",
        "GOOGLE_CLOUD_PROJECT": "demo-vault",
        "VAULT_KMS_KEY": _KMS_KEY,
        "VAULT_GRANT_ISSUER": "https://issuer.example",
        "VAULT_GRANT_JWKS_URL": str(jwks),
        **_no_google_credentials(tmp_path),
        **overrides,
    }


@pytest.fixture
def jwks(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text('{"keys": []}')
    return path


def _assert_refused(result: subprocess.CompletedProcess[str], *named: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "listening" not in result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for text in named:
        assert text in lines[0]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"VAULT_GRANT_JWKS_URL": "/no/issuer/jwks.json"}, ("VAULT_GRANT_ISSUER",)),
        (
            {"VAULT_GRANT_ISSUER": "https://i.example", "VAULT_GRANT_JWKS_URL": "ftp://i/jwks"},
            ("VAULT_GRANT_JWKS_URL",),
        ),
        ({"VAULT_API_KEY_CACHE_SECONDS": "inf"}, ("VAULT_API_KEY_CACHE_SECONDS",)),
        ({"VAULT_RATE_LIMIT_PER_MINUTE": "nan"}, ("VAULT_RATE_LIMIT_PER_MINUTE",)),
    ],
    ids=["jwks-without-issuer", "bad-jwks-url", "inf", "nan"],
)
def test_a_bad_local_setting_stops_serve(
    tmp_path: Path, env: dict[str, str], named: tuple[str, ...]
) -> None:
    _assert_refused(_run(tmp_path, env, "serve", "--port", str(free_port())), *named)


def test_an_unusable_data_dir_stops_serve(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")

    result = _run(
        tmp_path,
        {"VAULT_DATA_DIR": str(not_a_directory / "data")},
        "serve",
        "--port",
        str(free_port()),
    )

    _assert_refused(result, "VAULT_DATA_DIR")


def test_a_data_dir_others_can_write_stops_serve(tmp_path: Path) -> None:
    data_dir = tmp_path / "shared"
    data_dir.mkdir()
    data_dir.chmod(0o777)

    result = _run(tmp_path, {"VAULT_DATA_DIR": str(data_dir)}, "serve", "--port", str(free_port()))

    _assert_refused(result, "VAULT_DATA_DIR", "chmod 700")


def test_a_kms_key_of_the_wrong_form_stops_serve(tmp_path: Path, jwks: Path) -> None:
    env = _gcp(tmp_path, jwks, VAULT_KMS_KEY="tokens")

    _assert_refused(
        _run(tmp_path, env, "serve", "--port", str(free_port())),
        "VAULT_KMS_KEY",
        "projects/P/locations/L/keyRings/R/cryptoKeys/K",
    )


def test_gcp_without_application_default_credentials_stops_serve(
    tmp_path: Path, jwks: Path
) -> None:
    result = _run(tmp_path, _gcp(tmp_path, jwks), "serve", "--port", str(free_port()))

    _assert_refused(
        result, "application-default credentials", "gcloud auth application-default login"
    )


def test_the_gcp_cli_without_credentials_prints_one_line(tmp_path: Path, jwks: Path) -> None:
    result = _run(tmp_path, _gcp(tmp_path, jwks), "keys", "list")

    _assert_refused(result, "application-default credentials")


def test_a_busy_port_says_so_with_the_hint(tmp_path: Path) -> None:
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]

        result = _run(tmp_path, {}, "serve", "--port", str(port))

    _assert_refused(result, f"port {port}", "already in use", "PORT=", "--port")


def test_listening_is_printed_once_the_port_answers(tmp_path: Path) -> None:
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "GOOGLE_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "vault", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**base, "VAULT_DATA_DIR": str(tmp_path / "data")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line.strip() == f"vault listening on http://127.0.0.1:{port}"
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass  # bound before the line was printed
    finally:
        process.terminate()
        process.wait(timeout=10)
