"""How vault records look as Firestore documents, and back."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from vault.ports import DEFAULT_CREDENTIAL_TYPE, AuditEntry, StoredCredential

CREDENTIALS = "vaultCredentials"
AUDIT = "vaultAudit"
API_KEYS = "apiKeys"
DENYLISTS = {"grant": "revokedGrants", "token": "revokedTokens"}
REFERENCES = "vaultCredentialRefs"
DELIVERIES = "vaultWebhookDeliveries"

_TYPE_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz._-"
_TYPE_BASE = len(_TYPE_ALPHABET) + 1  # 0 marks "no symbol"
_SYMBOLS_PER_CODE = 11  # 40**11 < 2**63
TYPE_CODE_FIELDS = ("typeCode0", "typeCode1", "typeCode2")


def type_codes(credential_type: str | None) -> list[int]:
    """Pack a credential type (<= 32 symbols) into three non-negative int64s."""
    text = credential_type or ""
    codes = []
    for start in range(0, len(TYPE_CODE_FIELDS) * _SYMBOLS_PER_CODE, _SYMBOLS_PER_CODE):
        code = 0
        for symbol in text[start : start + _SYMBOLS_PER_CODE].ljust(_SYMBOLS_PER_CODE, "\0"):
            code = code * _TYPE_BASE + (0 if symbol == "\0" else _TYPE_ALPHABET.index(symbol) + 1)
        codes.append(code)
    return codes


def type_from_codes(codes: Sequence[int]) -> str | None:
    symbols: list[str] = []
    for code in codes:
        chunk: list[str] = []
        for _ in range(_SYMBOLS_PER_CODE):
            code, digit = divmod(code, _TYPE_BASE)
            if digit:
                chunk.append(_TYPE_ALPHABET[digit - 1])
        symbols.extend(reversed(chunk))
    return "".join(symbols) or None


def denylist_id(identifier: str) -> str:
    # Grant ids and jti values are arbitrary strings; document ids may not be.
    return hashlib.sha256(identifier.encode("utf-8")).hexdigest()


def expiry_timestamp(micros: int) -> datetime:
    """A Timestamp field, so a Firestore TTL policy on it can drop the document."""
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)


def owned_credential(snapshot: Any, developer_id: str) -> StoredCredential | None:
    data = snapshot.to_dict() if snapshot.exists else None
    if data is None or data.get("developerId") != developer_id:
        return None
    return credential_from(snapshot.id, data, snapshot.update_time)


def credential_from(
    credential_id: str, data: dict[str, Any], update_time: Any = None
) -> StoredCredential:
    return StoredCredential(
        credential_id=credential_id,
        developer_id=data["developerId"],
        principal_id=data["principalId"],
        service=data["service"],
        credential_type=data.get("credentialType") or DEFAULT_CREDENTIAL_TYPE,
        access_token=data["accessToken"],
        refresh_token=data.get("refreshToken"),
        token_expires_at=data.get("tokenExpiresAt"),
        metadata_json=data.get("metadata"),
        created_at=data["createdAt"],
        updated_at=data["updatedAt"],
        status=data.get("status") or "active",
        last_refreshed_at=data.get("lastRefreshedAt"),
        last_error=data.get("lastError"),
        lease_holder=data.get("refreshLeaseHolder"),
        lease_until=data.get("refreshLeaseUntil"),
        revision=update_time,
    )


def audit_document(entry: AuditEntry) -> dict[str, Any]:
    return {
        "action": entry.action,
        "developerId": entry.developer_id,
        "actor": entry.actor,
        "credentialId": entry.credential_id,
        "principalId": entry.principal_id,
        "service": entry.service,
        "requestId": entry.request_id,
        "at": entry.at,
        "agent": entry.agent,
        "outcome": entry.outcome,
    }


def audit_entry_from(entry_id: str, data: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        entry_id=entry_id,
        action=data["action"],
        developer_id=data["developerId"],
        actor=data["actor"],
        credential_id=data.get("credentialId"),
        principal_id=data["principalId"],
        service=data.get("service"),
        request_id=data["requestId"],
        at=data["at"],
        agent=data.get("agent"),
        outcome=data.get("outcome"),
    )
