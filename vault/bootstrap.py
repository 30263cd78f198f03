"""The composition root: picks adapters from Settings and wires the service.

Built once per process, lazily, on the first request (or CLI command). The google
libraries are imported only when the ``gcp`` backend is chosen.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from vault.api_keys import ApiKeyAdmin, ApiKeyVerifier
from vault.config import Settings
from vault.envelope import EnvelopeCipher
from vault.guard import RequestGuard
from vault.ports import Aead, ApiKeyStore, CredentialStore
from vault.rate_limit import TokenBucketLimiter
from vault.service import VaultService


@dataclass(frozen=True)
class Vault:
    settings: Settings
    service: VaultService
    guard: RequestGuard
    keys: ApiKeyAdmin
    credentials: CredentialStore
    envelope: EnvelopeCipher


def build(settings: Settings) -> Vault:
    if settings.backend == "gcp":
        credentials, api_keys, key_encryption = _gcp_adapters(settings)
    else:
        credentials, api_keys, key_encryption = _local_adapters(settings)
    envelope = EnvelopeCipher(key_encryption)
    return Vault(
        settings=settings,
        service=VaultService(credentials, envelope),
        guard=RequestGuard(
            ApiKeyVerifier(api_keys, settings.api_key_cache_seconds),
            per_key=TokenBucketLimiter(settings.rate_limit_per_minute),
            auth_failures=TokenBucketLimiter(settings.auth_failures_per_minute),
        ),
        keys=ApiKeyAdmin(api_keys),
        credentials=credentials,
        envelope=envelope,
    )


def _local_adapters(settings: Settings) -> tuple[CredentialStore, ApiKeyStore, Aead]:
    from vault.adapters.local_kms import LocalKeyFileAead
    from vault.adapters.sqlite_store import (
        SqliteApiKeyStore,
        SqliteCredentialStore,
        SqliteDatabase,
    )

    database = SqliteDatabase(settings.data_dir / "vault.sqlite3")
    key_file = LocalKeyFileAead.from_file(settings.data_dir / "master.key")
    return SqliteCredentialStore(database), SqliteApiKeyStore(database), key_file


def _gcp_adapters(settings: Settings) -> tuple[CredentialStore, ApiKeyStore, Aead]:
    from google.cloud import firestore

    from vault.adapters.cloud_kms import CloudKmsAead, client_for
    from vault.adapters.firestore_store import (
        FirestoreApiKeyStore,
        FirestoreCredentialStore,
        FirestoreGateway,
    )

    assert settings.kms_key is not None  # Settings checked it
    gateway = FirestoreGateway(
        firestore.Client(project=settings.project, database=settings.firestore_database),
        settings.rpc_timeout_seconds,
    )
    key_encryption = CloudKmsAead(
        client_for(settings.kms_endpoint), settings.kms_key, settings.rpc_timeout_seconds
    )
    return FirestoreCredentialStore(gateway), FirestoreApiKeyStore(gateway), key_encryption


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
