"""The ports of managed refresh: where provider configurations live, and how the vault
talks to an authorization server. Adapters: ``vault.adapters.sqlite_providers``,
``firestore_providers`` and ``authlib_oauth``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from vault.errors import VaultError
from vault.ports import AuditEntry

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
DEFAULT_LEEWAY_SECONDS = 120
MAX_LEEWAY_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class ProviderRecord:
    developer_id: str
    service: str
    token_url: str
    client_id: str
    token_auth_method: str
    revocation_url: str | None
    authorization_url: str | None
    scopes: tuple[str, ...]
    refresh_leeway_seconds: int
    issuer: str | None
    client_secret: bytes | None  # ciphertext, sealed for (developer, service, field)
    created_at: int
    updated_at: int


class ProviderStore(Protocol):
    def put(self, record: ProviderRecord, audit: AuditEntry) -> None:
        """Create or replace the whole record, with the audit entry, atomically."""
        ...

    def get(self, developer_id: str, service: str) -> ProviderRecord | None: ...

    def list(self, developer_id: str) -> Sequence[ProviderRecord]: ...

    def delete(self, developer_id: str, service: str, audit: AuditEntry) -> bool: ...


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """What the OAuth client needs of a provider, the secret in the clear (memory only)."""

    token_url: str
    client_id: str
    client_secret: str | None
    token_auth_method: str
    revocation_url: str | None


@dataclass(frozen=True, slots=True)
class TokenSet:
    access_token: str
    refresh_token: str | None  # None: the provider did not rotate it
    expires_in: int | None


class ProviderRefused(VaultError):
    """The provider answered with an OAuth error (``invalid_grant``, ``invalid_client``);
    ``oauth_error`` is its code, safe to show (never token material)."""

    def __init__(self, oauth_error: str) -> None:
        super().__init__(f"the provider refused the refresh: {oauth_error}", reason=oauth_error)
        self.oauth_error = oauth_error


class ProviderUnreachable(VaultError):
    """No usable answer in time: a network error, a 5xx, a timeout, an unparsable body."""

    def __init__(self, what: str = "provider_unreachable") -> None:
        super().__init__("the provider could not be reached", reason=what)


class OAuthClient(Protocol):
    def refresh(self, config: ClientConfig, refresh_token: str) -> TokenSet: ...

    def revoke(self, config: ClientConfig, token: str, hint: str) -> None:
        """RFC 7009. Raises ``ProviderRefused`` or ``ProviderUnreachable``."""
        ...

    def discover(self, issuer: str) -> dict[str, object]:
        """The RFC 8414 (or OpenID discovery) metadata of ``issuer``."""
        ...
