"""One Settings object, built from the environment; the only module that reads it.

Every variable the service reads is declared once in ``SETTINGS`` below, with its
default and whether a cloud deployment sets it. Terraform's function environment is
tested against that table, so the two cannot drift apart.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
    SettingSpec(
        "VAULT_GRANT_LEEWAY_SECONDS", "0", "clock leeway for grant-token times (at most 30)"
    ),
    SettingSpec(
        "VAULT_EXCHANGE_SCOPES",
        "exact",
        "`exact` (only `vault:<service>:exchange`) or `legacy` (also the older forms)",
    ),
    SettingSpec(
        "VAULT_PUBLIC_BASE_URL",
        None,
        "the vault's public URL (DPoP `htu`, the OAuth callback); no trailing slash",
    ),
    SettingSpec(
        "VAULT_GRANT_MAX_LIFETIME_SECONDS",
        "2592000",
        "how long a denylist entry (a revoked grant or token) is kept",
    ),
    SettingSpec(
        "VAULT_CREDENTIAL_REFERENCES_ENABLED", "true", "`false` refuses `delivery: reference`"
    ),
    SettingSpec(
        "VAULT_CREDENTIAL_REFERENCE_TTL_SECONDS", "300", "lifetime of a credential reference"
    ),
    SettingSpec(
        "VAULT_GRANTEX_WEBHOOK_SECRET",
        None,
        "secret of the Grantex webhook endpoint; unset: no webhook route (a secret)",
    ),
    SettingSpec("VAULT_GRANTEX_BASE_URL", None, "the Grantex API, for `revocations sync`'s feed"),
    SettingSpec(
        "VAULT_GRANTEX_API_KEY", None, "API key for the Grantex revocation feed (a secret)"
    ),
    SettingSpec(
        "VAULT_REFRESH_LEASE_SECONDS",
        "20",
        "how long one instance holds a credential's refresh lease before others may take it",
    ),
    SettingSpec(
        "VAULT_REFRESH_WAIT_SECONDS",
        "10",
        "how long an exchange waits for another instance's refresh of the same credential",
    ),
    SettingSpec(
        "VAULT_REQUEST_READ_TIMEOUT_SECONDS",
        "10",
        "`serve`: how long a client may take to send one request (line, headers, body)",
        False,
    ),
)

_DEFAULTS = {spec.name: spec.default for spec in SETTINGS}
_KMS_KEY_NAME = re.compile(
    r"projects/[^/\s]+/locations/[^/\s]+/keyRings/[^/\s]+/cryptoKeys/[^/\s]+", re.ASCII
)


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
    grant_leeway_seconds: int = 0
    exchange_scopes: Literal["exact", "legacy"] = "exact"
    public_base_url: str | None = None
    grant_max_lifetime_seconds: int = 2_592_000
    credential_references_enabled: bool = True
    credential_reference_ttl_seconds: int = 300
    grantex_webhook_secret: str | None = field(default=None, repr=False)
    grantex_base_url: str | None = None
    grantex_api_key: str | None = field(default=None, repr=False)
    refresh_lease_seconds: float = 20.0
    refresh_wait_seconds: float = 10.0
    request_read_timeout_seconds: float = 10.0

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
            grant_leeway_seconds=_bounded(get, "VAULT_GRANT_LEEWAY_SECONDS", int, 0, 30),
            exchange_scopes=_choice(get, "VAULT_EXCHANGE_SCOPES", ("exact", "legacy")),  # type: ignore[arg-type]
            public_base_url=_base_url(get("VAULT_PUBLIC_BASE_URL")),
            grant_max_lifetime_seconds=_bounded(
                get, "VAULT_GRANT_MAX_LIFETIME_SECONDS", int, 60, 10 * 365 * 86_400
            ),
            credential_references_enabled=_choice(
                get, "VAULT_CREDENTIAL_REFERENCES_ENABLED", ("true", "false")
            )
            == "true",
            credential_reference_ttl_seconds=_bounded(
                get, "VAULT_CREDENTIAL_REFERENCE_TTL_SECONDS", int, 30, 3600
            ),
            grantex_webhook_secret=get("VAULT_GRANTEX_WEBHOOK_SECRET"),
            # the feed sends VAULT_GRANTEX_API_KEY there: never over plain http
            grantex_base_url=_base_url(get("VAULT_GRANTEX_BASE_URL"), "VAULT_GRANTEX_BASE_URL"),
            grantex_api_key=get("VAULT_GRANTEX_API_KEY"),
            refresh_lease_seconds=_bounded(get, "VAULT_REFRESH_LEASE_SECONDS", float, 1.0, 300.0),
            refresh_wait_seconds=_bounded(get, "VAULT_REFRESH_WAIT_SECONDS", float, 0.0, 120.0),
            request_read_timeout_seconds=_bounded(
                get, "VAULT_REQUEST_READ_TIMEOUT_SECONDS", float, 0.5, 300.0
            ),
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
            if not _KMS_KEY_NAME.fullmatch(settings.kms_key or ""):
                raise ConfigurationError(
                    "VAULT_KMS_KEY must be a CryptoKey name, "
                    "projects/P/locations/L/keyRings/R/cryptoKeys/K"
                )
        return settings


def _number(get: Callable[[str], str | None], name: str, kind: Callable[[str], _N]) -> _N:
    raw = get(name) or ""
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):  # inf would make a cache or a limit last forever
        raise ConfigurationError(f"{name} must be a finite number, got {raw!r}")
    if value < 0:
        raise ConfigurationError(f"{name} must not be negative")
    return value


def _bounded(
    get: Callable[[str], str | None], name: str, kind: Callable[[str], _N], low: _N, high: _N
) -> _N:
    value = _number(get, name, kind)
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low} and {high}")
    return value


def _choice(get: Callable[[str], str | None], name: str, choices: tuple[str, ...]) -> str:
    value = (get(name) or "").lower()
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}")
    return value


def _base_url(value: str | None, name: str = "VAULT_PUBLIC_BASE_URL") -> str | None:
    """An https origin (plain http only on loopback), kept without a trailing slash."""
    if value is None:
        return None
    from vault.urls import parse_https_url

    try:
        parsed = parse_https_url(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.query or parsed.fragment:
        raise ConfigurationError(f"{name} must be an https URL (http only on loopback)")
    return value.rstrip("/")
