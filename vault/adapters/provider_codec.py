"""A provider's configuration as both stores keep it: the same camelCase fields (a JSON
column on SQLite, document fields on Firestore). The sealed client secret, the owner
and the timestamps are stored beside it by each adapter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vault.oauth.ports import ProviderRecord


def provider_config(record: ProviderRecord) -> dict[str, Any]:
    return {
        "tokenUrl": record.token_url,
        "clientId": record.client_id,
        "tokenAuthMethod": record.token_auth_method,
        "revocationUrl": record.revocation_url,
        "authorizationUrl": record.authorization_url,
        "scopes": list(record.scopes),
        "refreshLeewaySeconds": record.refresh_leeway_seconds,
        "issuer": record.issuer,
    }


def provider_from(
    config: Mapping[str, Any],
    *,
    developer_id: str,
    service: str,
    client_secret: bytes | None,
    created_at: int,
    updated_at: int,
) -> ProviderRecord:
    return ProviderRecord(
        developer_id=developer_id,
        service=service,
        token_url=config["tokenUrl"],
        client_id=config["clientId"],
        token_auth_method=config["tokenAuthMethod"],
        revocation_url=config.get("revocationUrl"),
        authorization_url=config.get("authorizationUrl"),
        scopes=tuple(config.get("scopes") or ()),
        refresh_leeway_seconds=int(config["refreshLeewaySeconds"]),
        issuer=config.get("issuer"),
        client_secret=client_secret,
        created_at=created_at,
        updated_at=updated_at,
    )
