"""The composition root: picks adapters from Settings and wires the service.

Built once per process, lazily, on the first request (or CLI command). The google
libraries are imported only when the ``gcp`` backend is chosen.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vault.api_keys import ApiKeyAdmin, ApiKeyVerifier
from vault.config import Settings
from vault.envelope import EnvelopeCipher
from vault.errors import ConfigurationError
from vault.exchange import ExchangeService
from vault.grants import GrantVerifier, JwksCache, fetch_jwks
from vault.guard import RequestGuard
from vault.oauth.connect import ConnectService, Services
from vault.oauth.connect_providers import StoredConnectProviders
from vault.oauth.connect_sessions import ConnectSessionStore
from vault.oauth.ports import ProviderStore
from vault.oauth.providers import ProviderService
from vault.oauth.refresh import Refresher
from vault.oauth.revocation import ProviderRevocation
from vault.ports import Aead, ApiKeyStore, CredentialStore
from vault.rate_limit import TokenBucketLimiter
from vault.service import VaultService

if TYPE_CHECKING:
    from vault.adapters.local_issuer import LocalDevIssuer

LOCAL_ISSUER = "urn:grantex:vault:local-dev"  # the iss of `grants mint` tokens


@dataclass(frozen=True)
class Vault:
    settings: Settings
    service: VaultService
    exchange: ExchangeService
    guard: RequestGuard
    keys: ApiKeyAdmin
    credentials: CredentialStore
    envelope: EnvelopeCipher
    providers: ProviderService
    refresher: Refresher
    connect_sessions: ConnectSessionStore
    connect: ConnectService


def build(settings: Settings) -> Vault:
    if settings.backend == "gcp":
        credentials, api_keys, key_encryption, provider_store, connect_sessions = _gcp_adapters(
            settings
        )
    else:
        credentials, api_keys, key_encryption, provider_store, connect_sessions = _local_adapters(
            settings
        )
    envelope = EnvelopeCipher(key_encryption)
    from vault.adapters.authlib_oauth import AuthlibOAuthClient  # authlib itself: on first use

    oauth = AuthlibOAuthClient(settings.rpc_timeout_seconds)
    providers = ProviderService(provider_store, envelope, oauth, settings.api_key_cache_seconds)
    refresher = Refresher(
        credentials,
        envelope,
        providers,
        oauth,
        settings.refresh_lease_seconds,
        settings.refresh_wait_seconds,
    )
    revocation = ProviderRevocation(
        provider_store, envelope, providers, oauth, 2 * settings.rpc_timeout_seconds
    )
    service = VaultService(credentials, envelope, revocation.revoke_all, refresher.status_of)
    return Vault(
        settings=settings,
        service=service,
        exchange=ExchangeService(credentials, envelope, refresher),
        guard=RequestGuard(
            ApiKeyVerifier(api_keys, settings.api_key_cache_seconds),
            _grant_verifier(settings),
            per_key=TokenBucketLimiter(settings.rate_limit_per_minute),
            per_grant=TokenBucketLimiter(settings.exchange_rate_limit_per_minute),
            auth_failures=TokenBucketLimiter(settings.auth_failures_per_minute),
        ),
        keys=ApiKeyAdmin(api_keys),
        credentials=credentials,
        envelope=envelope,
        providers=providers,
        refresher=refresher,
        connect_sessions=connect_sessions,
        connect=ConnectService(
            connect_sessions,
            Services(
                StoredConnectProviders(providers),
                envelope,
                service,
                credentials,
                settings.rpc_timeout_seconds,
            ),
        ),
    )


def _grant_verifier(settings: Settings) -> GrantVerifier:
    """The configured issuer's JWKS; on the local backend without one, the dev issuer."""
    if settings.grant_jwks_url is not None:
        if settings.grant_issuer is None:
            raise ConfigurationError("VAULT_GRANT_JWKS_URL needs VAULT_GRANT_ISSUER too")
        try:
            load = fetch_jwks(settings.grant_jwks_url, settings.rpc_timeout_seconds)
        except ValueError as error:
            raise ConfigurationError(str(error)) from None
        return GrantVerifier(JwksCache(load), settings.grant_issuer, settings.grant_audience)
    if settings.backend != "local":
        raise ConfigurationError(
            "the gcp backend needs VAULT_GRANT_ISSUER and VAULT_GRANT_JWKS_URL"
        )
    # The dev key is loaded (or made: an RSA key generation) on the first exchange, not
    # at start: most local processes only ever store.
    return GrantVerifier(
        JwksCache(lambda: local_dev_issuer(settings).jwks()),
        settings.grant_issuer or LOCAL_ISSUER,
        settings.grant_audience,
    )


def local_dev_issuer(settings: Settings) -> LocalDevIssuer:
    from vault.adapters.local_issuer import LocalDevIssuer

    if settings.backend != "local":
        raise ConfigurationError("the development grant issuer exists only on the local backend")
    return LocalDevIssuer(settings.data_dir, settings.grant_issuer or LOCAL_ISSUER)


_Adapters = tuple[CredentialStore, ApiKeyStore, Aead, ProviderStore, ConnectSessionStore]


def _local_adapters(settings: Settings) -> _Adapters:
    from vault.adapters.local_kms import LocalKeyFileAead
    from vault.adapters.sqlite_api_keys import SqliteApiKeyStore
    from vault.adapters.sqlite_connect_sessions import SqliteConnectSessionStore
    from vault.adapters.sqlite_database import SqliteDatabase
    from vault.adapters.sqlite_providers import SqliteProviderStore
    from vault.adapters.sqlite_store import SqliteCredentialStore

    database = SqliteDatabase(settings.data_dir / "vault.sqlite3")
    key_file = LocalKeyFileAead.from_file(settings.data_dir / "master.key")
    return (
        SqliteCredentialStore(database),
        SqliteApiKeyStore(database),
        key_file,
        SqliteProviderStore(database),
        SqliteConnectSessionStore(database),
    )


def _gcp_adapters(settings: Settings) -> _Adapters:
    from google.cloud import firestore

    from vault.adapters.cloud_kms import CloudKmsAead, client_for
    from vault.adapters.firestore_api_keys import FirestoreApiKeyStore
    from vault.adapters.firestore_connect_sessions import FirestoreConnectSessionStore
    from vault.adapters.firestore_gateway import FirestoreGateway
    from vault.adapters.firestore_providers import FirestoreProviderStore
    from vault.adapters.firestore_store import FirestoreCredentialStore

    assert settings.kms_key is not None  # Settings checked it
    gateway = FirestoreGateway(
        firestore.Client(project=settings.project, database=settings.firestore_database),
        settings.rpc_timeout_seconds,
    )
    key_encryption = CloudKmsAead(
        client_for(settings.kms_endpoint), settings.kms_key, settings.rpc_timeout_seconds
    )
    return (
        FirestoreCredentialStore(gateway),
        FirestoreApiKeyStore(gateway),
        key_encryption,
        FirestoreProviderStore(gateway),
        FirestoreConnectSessionStore(gateway),
    )


_vault: Vault | None = None
_lock = threading.Lock()


def get_vault() -> Vault:
    """The process's Vault, built on first use from the environment."""
    global _vault
    if _vault is None:
        with _lock:
            if _vault is None:
                _vault = build(Settings.from_env())
    return _vault


def reset() -> None:
    """Forget the process's Vault (tests change the environment between apps)."""
    global _vault
    with _lock:
        _vault = None
