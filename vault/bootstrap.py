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
from vault.dpop import ProofVerifier
from vault.envelope import EnvelopeCipher
from vault.errors import ConfigurationError
from vault.exchange import ExchangeService
from vault.grants import GrantVerifier, JwksCache, fetch_jwks
from vault.guard import RequestGuard
from vault.keys.ports import StateStore
from vault.oauth.connect import ConnectService, Services
from vault.oauth.connect_providers import StoredConnectProviders
from vault.oauth.connect_sessions import ConnectSessionStore
from vault.oauth.ports import ProviderStore
from vault.oauth.providers import ProviderService
from vault.oauth.refresh import Refresher
from vault.oauth.revocation import ProviderRevocation
from vault.ports import (
    Aead,
    ApiKeyStore,
    CredentialStore,
    ProofReplayStore,
    ReferenceStore,
    RevocationStore,
)
from vault.rate_limit import TokenBucketLimiter
from vault.references import ReferenceService
from vault.revocations.webhook import WebhookReceiver
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
    references: ReferenceService
    revocations: RevocationStore
    webhooks: WebhookReceiver | None  # None: no VAULT_GRANTEX_WEBHOOK_SECRET, no route
    proofs: ProofVerifier  # DPoP proofs of key-bound grant tokens
    state: StateStore  # the vault's own cursors and checkpoints
    providers: ProviderService
    refresher: Refresher
    connect_sessions: ConnectSessionStore
    connect: ConnectService


@dataclass(frozen=True)
class Adapters:
    """One backend's adapters for every port."""

    credentials: CredentialStore
    api_keys: ApiKeyStore
    key_encryption: Aead
    references: ReferenceStore
    revocations: RevocationStore
    proof_replays: ProofReplayStore
    state: StateStore
    providers: ProviderStore
    connect_sessions: ConnectSessionStore


def build(settings: Settings) -> Vault:
    adapters = _gcp_adapters(settings) if settings.backend == "gcp" else _local_adapters(settings)
    credentials, api_keys = adapters.credentials, adapters.api_keys
    envelope = EnvelopeCipher(adapters.key_encryption)
    from vault.adapters.authlib_oauth import AuthlibOAuthClient  # authlib itself: on first use

    oauth = AuthlibOAuthClient(settings.rpc_timeout_seconds)
    providers = ProviderService(adapters.providers, envelope, oauth, settings.api_key_cache_seconds)
    refresher = Refresher(
        credentials,
        envelope,
        providers,
        oauth,
        settings.refresh_lease_seconds,
        settings.refresh_wait_seconds,
    )
    revocation = ProviderRevocation(
        adapters.providers, envelope, providers, oauth, 2 * settings.rpc_timeout_seconds
    )
    service = VaultService(credentials, envelope, revocation.revoke_all, refresher.status_of)
    return Vault(
        settings=settings,
        service=service,
        exchange=ExchangeService(
            credentials,
            envelope,
            adapters.references if settings.credential_references_enabled else None,
            reference_ttl_seconds=settings.credential_reference_ttl_seconds,
            denylist_keep_seconds=settings.grant_max_lifetime_seconds,
            scopes=settings.exchange_scopes,
            refresher=refresher,
        ),
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
        references=ReferenceService(adapters.references, credentials, envelope, refresher),
        revocations=adapters.revocations,
        webhooks=None
        if settings.grantex_webhook_secret is None
        else WebhookReceiver(adapters.revocations, settings.grant_max_lifetime_seconds),
        proofs=ProofVerifier(adapters.proof_replays, settings.public_base_url),
        state=adapters.state,
        providers=providers,
        refresher=refresher,
        connect_sessions=adapters.connect_sessions,
        connect=ConnectService(
            adapters.connect_sessions,
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
        # A request that needs the fetch in flight waits for it as long as the fetch
        # itself may take: its connection, then its whole body, each within the timeout.
        keys = JwksCache(load, wait_seconds=2 * settings.rpc_timeout_seconds)
        return GrantVerifier(
            keys,
            settings.grant_issuer,
            settings.grant_audience,
            leeway_seconds=settings.grant_leeway_seconds,
            max_lifetime_seconds=settings.grant_max_lifetime_seconds,
        )
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
        leeway_seconds=settings.grant_leeway_seconds,
        max_lifetime_seconds=settings.grant_max_lifetime_seconds,
    )


def local_dev_issuer(settings: Settings) -> LocalDevIssuer:
    from vault.adapters.local_issuer import LocalDevIssuer

    if settings.backend != "local":
        raise ConfigurationError("the development grant issuer exists only on the local backend")
    return LocalDevIssuer(settings.data_dir, settings.grant_issuer or LOCAL_ISSUER)


def _local_adapters(settings: Settings) -> Adapters:
    from vault.adapters.local_kms import LocalKeyFileAead
    from vault.adapters.sqlite_api_keys import SqliteApiKeyStore
    from vault.adapters.sqlite_connect_sessions import SqliteConnectSessionStore
    from vault.adapters.sqlite_database import SqliteDatabase
    from vault.adapters.sqlite_dpop import SqliteProofReplayStore
    from vault.adapters.sqlite_providers import SqliteProviderStore
    from vault.adapters.sqlite_references import SqliteReferenceStore
    from vault.adapters.sqlite_revocations import SqliteRevocationStore
    from vault.adapters.sqlite_sealed import SqliteStateStore
    from vault.adapters.sqlite_store import SqliteCredentialStore

    database = SqliteDatabase(settings.data_dir / "vault.sqlite3")
    key_path = settings.data_dir / "master.key"
    if not key_path.exists() and database.query("SELECT 1 FROM credentials LIMIT 1"):
        # A new key would make every stored credential unreadable, silently.
        raise ConfigurationError(
            f"{key_path} is missing but the database holds credentials: restore the key"
            " ring from the backup taken with the database"
        )
    key_file = LocalKeyFileAead.from_file(key_path)
    return Adapters(
        credentials=SqliteCredentialStore(database),
        api_keys=SqliteApiKeyStore(database),
        key_encryption=key_file,
        references=SqliteReferenceStore(database),
        revocations=SqliteRevocationStore(database),
        proof_replays=SqliteProofReplayStore(database),
        providers=SqliteProviderStore(database),
        connect_sessions=SqliteConnectSessionStore(database),
        state=SqliteStateStore(database),
    )


def _gcp_adapters(settings: Settings) -> Adapters:
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import firestore

    from vault.adapters.cloud_kms import CloudKmsAead, client_for
    from vault.adapters.firestore_api_keys import FirestoreApiKeyStore
    from vault.adapters.firestore_connect_sessions import FirestoreConnectSessionStore
    from vault.adapters.firestore_dpop import FirestoreProofReplayStore
    from vault.adapters.firestore_gateway import FirestoreGateway
    from vault.adapters.firestore_providers import FirestoreProviderStore
    from vault.adapters.firestore_references import FirestoreReferenceStore
    from vault.adapters.firestore_revocations import FirestoreRevocationStore
    from vault.adapters.firestore_sealed import FirestoreStateStore
    from vault.adapters.firestore_store import FirestoreCredentialStore

    assert settings.kms_key is not None  # Settings checked it
    try:
        database = firestore.Client(project=settings.project, database=settings.firestore_database)
        kms_client = client_for(settings.kms_endpoint)
    except DefaultCredentialsError:
        raise ConfigurationError(
            "the gcp backend found no Google application-default credentials: run "
            "`gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS"
            " (on Cloud Run the service account provides them)"
        ) from None
    gateway = FirestoreGateway(database, settings.rpc_timeout_seconds)
    key_encryption = CloudKmsAead(kms_client, settings.kms_key, settings.rpc_timeout_seconds)
    return Adapters(
        credentials=FirestoreCredentialStore(gateway),
        api_keys=FirestoreApiKeyStore(gateway),
        key_encryption=key_encryption,
        references=FirestoreReferenceStore(gateway),
        revocations=FirestoreRevocationStore(gateway),
        proof_replays=FirestoreProofReplayStore(gateway),
        providers=FirestoreProviderStore(gateway),
        connect_sessions=FirestoreConnectSessionStore(gateway),
        state=FirestoreStateStore(gateway),
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
