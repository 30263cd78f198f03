"""Driving the vault below HTTP: the service with real adapters, for store suites."""

from __future__ import annotations

from typing import Any

from vault.bootstrap import Vault
from vault.ids import record_binding
from vault.models import StoreCredentialRequest, validate
from vault.ports import ApiKeyRecord, StoredCredential
from vault.service import StoredSummary


def store(vault: Vault, caller: ApiKeyRecord, **fields: Any) -> StoredSummary:
    body = {"principalId": "user-1", "service": "github", "accessToken": "at-1", **fields}
    return vault.service.store(caller, validate(StoreCredentialRequest, body), "req-test")


def reveal(vault: Vault, stored: StoredCredential, field: str) -> str | None:
    """Decrypt one token field the way the exchange does."""
    blob = stored.access_token if field == "accessToken" else stored.refresh_token
    if blob is None:
        return None
    binding = record_binding(stored.developer_id, stored.principal_id, stored.service)
    return vault.envelope.open(binding, field, blob).decode()
