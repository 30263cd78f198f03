"""One Settings object, built from the environment; the only module that reads it.

Every variable the service reads is declared once in ``SETTINGS`` below, with its
default and whether a cloud deployment sets it. Terraform's function environment is
tested against that table, so the two cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from vault.errors import ConfigurationError

Backend = Literal["local", "gcp"]
_N = TypeVar("_N", int, float)


@dataclass(frozen=True)
class SettingSpec:
    name: str
    default: str | None
    description: str
    deployed: bool = True  # False: only for tests and laptops (emulators, fakes)


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("VAULT_BACKEND", "local", "`local` (SQLite + key file) or `gcp`"),
    SettingSpec("VAULT_DATA_DIR", "./.vault-data", "local backend: data directory", False),
    SettingSpec("GOOGLE_CLOUD_PROJECT", None, "gcp backend: project id"),
    SettingSpec("VAULT_FIRESTORE_DATABASE", "(default)", "gcp backend: Firestore database id"),
    SettingSpec("VAULT_KMS_KEY", None, "gcp backend: CryptoKey resource name"),
    SettingSpec("VAULT_KMS_ENDPOINT", None, "plaintext gRPC host:port of a fake KMS", False),
    SettingSpec("FIRESTORE_EMULATOR_HOST", None, "host:port of the Firestore emulator", False),
    SettingSpec("VAULT_API_KEY_CACHE_SECONDS", "30", "how long a verified API key is trusted"),
    SettingSpec("VAULT_RATE_LIMIT_PER_MINUTE", "1200", "requests per API key per instance"),
    SettingSpec("VAULT_EXCHANGE_RATE_LIMIT_PER_MINUTE", "120", "exchanges per grant"),
    SettingSpec("VAULT_AUTH_FAILURES_PER_MINUTE", "60", "failed authentications per client"),
    SettingSpec("VAULT_RPC_TIMEOUT_SECONDS", "5", "deadline of each Firestore or KMS call"),
    SettingSpec(
        "VAULT_TRUSTED_PROXY_HOPS", "0", "proxies whose X-Forwarded-For entries are trusted"
    ),
    SettingSpec("VAULT_GRANT_ISSUER", None, "the `iss` that grant tokens must carry"),
    SettingSpec("VAULT_GRANT_JWKS_URL", None, "https URL or file path of the issuer's JWKS"),
    SettingSpec("VAULT_GRANT_AUDIENCE", None, "the `aud` grant tokens must carry, if set"),
)

_DEFAULTS = {spec.name: spec.default for spec in SETTINGS}


@dataclass(frozen=True)
class Settings:
    backend: Backend
    data_dir: Path
    project: str | None
    firestore_database: str
    kms_key: str | None
    kms_endpoint: str | None
    firestore_emulator_host: str | None
    api_key_cache_seconds: float
    rate_limit_per_minute: int
    exchange_rate_limit_per_minute: int
    auth_failures_per_minute: int
    rpc_timeout_seconds: float
    trusted_proxy_hops: int
    grant_issuer: str | None
    grant_jwks_url: str | None
    grant_audience: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or _DEFAULTS[name]

        backend = (get("VAULT_BACKEND") or "local").lower()
        if backend not in ("local", "gcp"):
            raise ConfigurationError("VAULT_BACKEND must be 'local' or 'gcp'")
        settings = cls(
            backend=backend,  # type: ignore[arg-type]
            data_dir=Path(get("VAULT_DATA_DIR") or "."),
            project=get("GOOGLE_CLOUD_PROJECT"),
            firestore_database=get("VAULT_FIRESTORE_DATABASE") or "(default)",
            kms_key=get("VAULT_KMS_KEY"),
            kms_endpoint=get("VAULT_KMS_ENDPOINT"),
            firestore_emulator_host=get("FIRESTORE_EMULATOR_HOST"),
            api_key_cache_seconds=_number(get, "VAULT_API_KEY_CACHE_SECONDS", float),
            rate_limit_per_minute=_number(get, "VAULT_RATE_LIMIT_PER_MINUTE", int),
            exchange_rate_limit_per_minute=_number(
                get, "VAULT_EXCHANGE_RATE_LIMIT_PER_MINUTE", int
            ),
            auth_failures_per_minute=_number(get, "VAULT_AUTH_FAILURES_PER_MINUTE", int),
            rpc_timeout_seconds=_number(get, "VAULT_RPC_TIMEOUT_SECONDS", float),
            trusted_proxy_hops=_number(get, "VAULT_TRUSTED_PROXY_HOPS", int),
            grant_issuer=get("VAULT_GRANT_ISSUER"),
            grant_jwks_url=get("VAULT_GRANT_JWKS_URL"),
            grant_audience=get("VAULT_GRANT_AUDIENCE"),
        )
        if settings.rpc_timeout_seconds <= 0:
            raise ConfigurationError("VAULT_RPC_TIMEOUT_SECONDS must be greater than 0")
        if backend == "gcp":
            missing = [
                name
                for name, value in (
                    ("GOOGLE_CLOUD_PROJECT", settings.project),
                    ("VAULT_KMS_KEY", settings.kms_key),
                    ("VAULT_GRANT_ISSUER", settings.grant_issuer),
                    ("VAULT_GRANT_JWKS_URL", settings.grant_jwks_url),
                )
                if not value
            ]
            if missing:
                raise ConfigurationError(
                    "the gcp backend needs " + ", ".join(missing) + " to be set"
                )
        return settings


def _number(get: Callable[[str], str | None], name: str, kind: Callable[[str], _N]) -> _N:
    raw = get(name) or ""
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise ConfigurationError(f"{name} must not be negative")
    return value
