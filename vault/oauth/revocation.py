"""Revocation at the provider (RFC 7009) before a delete or an erase: best effort and
bounded, so a provider that is down never blocks a delete. The outcome goes into the
delete's audit entry: ``revoked``, ``not_revoked`` or ``no_revocation_url``."""

from __future__ import annotations

import time

from vault import logs
from vault.envelope import EnvelopeCipher
from vault.errors import IntegrityError, VaultError
from vault.ids import record_binding
from vault.oauth.ports import OAuthClient, ProviderRefused, ProviderStore, ProviderUnreachable
from vault.oauth.providers import ProviderService
from vault.ports import StoredCredential
from vault.service import ACCESS_TOKEN, REFRESH_TOKEN

REVOKED = "revoked"
NOT_REVOKED = "not_revoked"
NO_REVOCATION_URL = "no_revocation_url"


class ProviderRevocation:
    def __init__(
        self,
        store: ProviderStore,
        envelope: EnvelopeCipher,
        providers: ProviderService,
        oauth: OAuthClient,
        budget_seconds: float,
    ) -> None:
        self._store = store
        self._envelope = envelope
        self._providers = providers
        self._oauth = oauth
        self._budget = budget_seconds

    def revoke_all(self, records: list[StoredCredential]) -> dict[str, str]:
        """Each record's outcome; once the time budget is spent, the rest are not tried."""
        deadline = time.monotonic() + self._budget
        outcomes = {}
        for stored in records:
            if time.monotonic() > deadline:
                outcomes[stored.credential_id] = NOT_REVOKED
                continue
            outcomes[stored.credential_id] = self.revoke(stored)
        return outcomes

    def revoke(self, stored: StoredCredential) -> str:
        """Refresh token first (that ends the grant at most providers), then the access
        token."""
        try:
            provider = self._store.get(stored.developer_id, stored.service)
        except VaultError:
            return NOT_REVOKED
        if provider is None or provider.revocation_url is None:
            return NO_REVOCATION_URL
        binding = record_binding(stored.developer_id, stored.principal_id, stored.service)
        try:
            config = self._providers.client_config(provider)
            if stored.refresh_token is not None:
                token = self._envelope.open(binding, REFRESH_TOKEN, stored.refresh_token)
                self._oauth.revoke(config, token.decode("utf-8"), "refresh_token")
            token = self._envelope.open(binding, ACCESS_TOKEN, stored.access_token)
            self._oauth.revoke(config, token.decode("utf-8"), "access_token")
        except (ProviderRefused, ProviderUnreachable, IntegrityError, VaultError) as error:
            logs.emit(
                "WARNING",
                "revocation at the provider failed; deleting anyway",
                credentialId=stored.credential_id,
                errorType=type(error).__name__,
                **({} if error.reason is None else {"reason": error.reason}),
            )
            return NOT_REVOKED
        return REVOKED
