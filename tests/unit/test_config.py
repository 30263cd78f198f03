from __future__ import annotations

import pytest

from vault.config import SETTINGS, Settings
from vault.errors import ConfigurationError


def test_defaults_are_the_embedded_backend():
    settings = Settings.from_env({})

    assert settings.backend == "local"
    assert str(settings.data_dir) == ".vault-data"
    assert settings.api_key_cache_seconds == 30
    assert settings.rate_limit_per_minute == 1200


def test_gcp_backend_names_each_missing_setting():
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"VAULT_BACKEND": "gcp"})

    assert "GOOGLE_CLOUD_PROJECT" in caught.value.message
    assert "VAULT_KMS_KEY" in caught.value.message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VAULT_BACKEND", "mysql"),
        ("VAULT_API_KEY_CACHE_SECONDS", "soon"),
        ("VAULT_RATE_LIMIT_PER_MINUTE", "-1"),
        ("VAULT_RPC_TIMEOUT_SECONDS", "0"),
        ("VAULT_API_KEY_CACHE_SECONDS", "inf"),
        ("VAULT_API_KEY_CACHE_SECONDS", "nan"),
        ("VAULT_RPC_TIMEOUT_SECONDS", "NaN"),
        ("VAULT_REFRESH_WAIT_SECONDS", "nan"),
        ("VAULT_REQUEST_READ_TIMEOUT_SECONDS", "Infinity"),
        ("VAULT_REQUEST_READ_TIMEOUT_SECONDS", "0.1"),
    ],
)
def test_bad_values_fail_at_start_naming_the_setting(name, value):
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({name: value})

    assert name in caught.value.message


def test_every_declared_setting_is_read():
    import inspect

    from vault import config

    source = inspect.getsource(config.Settings.from_env)
    assert all(f'"{spec.name}"' in source for spec in SETTINGS)


def test_readme_documents_every_setting():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()

    assert [spec.name for spec in SETTINGS if f"`{spec.name}`" not in readme] == []


_GCP = {
    "VAULT_BACKEND": "gcp",
    "GOOGLE_CLOUD_PROJECT": "demo",
    "VAULT_GRANT_ISSUER": "https://issuer.example",
    "VAULT_GRANT_JWKS_URL": "https://issuer.example/jwks.json",
}


@pytest.mark.parametrize(
    "key",
    [
        "tokens",
        "projects/p/locations/l/keyRings/r",
        "projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
        "projects/p/locations/l/keyRings/r/cryptoKeys/",
        "projects/p/locations/l/keyRings/r/cryptoKeys/k x",
    ],
)
def test_a_kms_key_that_is_not_a_crypto_key_name_is_refused(key):
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({**_GCP, "VAULT_KMS_KEY": key})

    assert "VAULT_KMS_KEY" in caught.value.message
    assert "projects/P/locations/L/keyRings/R/cryptoKeys/K" in caught.value.message


def test_a_crypto_key_name_is_accepted():
    name = "projects/demo-vault/locations/global/keyRings/vault/cryptoKeys/tokens"

    assert Settings.from_env({**_GCP, "VAULT_KMS_KEY": name}).kms_key == name


@pytest.mark.parametrize(
    "url", ["http://issuer.example", "ftp://issuer.example", "https://", "https://x/?a=1"]
)
def test_the_issuer_base_url_is_https_so_the_feed_api_key_never_travels_in_clear(url):
    # `revocations sync` sends VAULT_GRANTEX_API_KEY to this URL on every request.
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"VAULT_GRANTEX_BASE_URL": url})

    assert "VAULT_GRANTEX_BASE_URL" in caught.value.message


def test_the_issuer_base_url_may_be_loopback_http_and_loses_its_trailing_slash():
    settings = Settings.from_env({"VAULT_GRANTEX_BASE_URL": "http://127.0.0.1:8123/"})

    assert settings.grantex_base_url == "http://127.0.0.1:8123"
