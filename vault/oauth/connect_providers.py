"""Where connect finds the OAuth client of a service: the registered providers
(``PUT /v1/vault/providers/{service}``), seen as connect needs them."""

from __future__ import annotations

from typing import Protocol

from vault.oauth.connect_client import ConnectProvider
from vault.oauth.providers import ProviderService


class ConnectProviders(Protocol):
    def for_connect(
        self, developer_id: str, service: str, *, secret: bool = False
    ) -> ConnectProvider | None:
        """The service's provider, or None when the developer has none with an
        ``authorizationUrl``. With ``secret`` its client secret is opened (memory only;
        a KMS call), which only the code redemption needs."""
        ...


class StoredConnectProviders:
    def __init__(self, providers: ProviderService) -> None:
        self._providers = providers

    def for_connect(
        self, developer_id: str, service: str, *, secret: bool = False
    ) -> ConnectProvider | None:
        record = self._providers.directory.find(developer_id, service)
        if record is None or record.authorization_url is None:
            return None
        client_secret = None
        if secret:
            client_secret = self._providers.client_config(record).client_secret
        return ConnectProvider(
            authorization_url=record.authorization_url,
            token_url=record.token_url,
            client_id=record.client_id,
            client_secret=client_secret,
            token_auth_method=record.token_auth_method,
            scopes=record.scopes,
        )
