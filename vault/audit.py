"""``GET /v1/vault/audit``: the caller's developer's audit trail, newest first.

Filters: ``credentialId``, ``principalId``, ``action``, ``since`` (RFC 3339, inclusive);
``limit`` 1-1000 (default 100); ``cursor``. A cursor is bound like a list cursor
(``vault.cursors``): an HMAC, keyed by the caller's key's server-side secret, over the
developer, every filter, and the position (``at``, entry id) of the last entry returned,
so a cursor is good only for the query that made it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vault.cursors import cursor_secret, decode_position, encode_position
from vault.ids import encode_parts, is_credential_id
from vault.models import check_cursor, check_limit, check_principal, parse_rfc3339, validate
from vault.ports import AuditEntry, AuditQuery, CredentialStore
from vault.timefmt import format_micros

if TYPE_CHECKING:
    from vault.bootstrap import Vault
    from vault.ports import ApiKeyRecord
    from vault.routes import Call, Reply

ACTIONS = (
    "store",
    "delete",
    "erase",
    "exchange",
    "reference",
    "resolve",
    "refresh",
    "connect",
    "provider.put",
    "provider.delete",
    "grant.revoke",
    "rewrap",
)
MAX_AUDIT_PAGE = 1000
_ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)


def _is_entry_id(text: str) -> bool:
    return _ENTRY_ID.fullmatch(text) is not None


class AuditListQuery(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, defer_build=True)

    credential_id: str | None = Field(default=None, alias="credentialId")
    principal_id: str | None = Field(default=None, alias="principalId")
    action: str | None = None
    since: str | None = None
    limit: str = "100"
    cursor: str | None = None

    @field_validator("credential_id")
    @classmethod
    def _credential(cls, value: str | None) -> str | None:
        if value is not None and not is_credential_id(value):
            raise ValueError("must be a credential id (vc_ and 32 characters)")
        return value

    @field_validator("principal_id")
    @classmethod
    def _principal(cls, value: str | None) -> str | None:
        return None if value is None else check_principal(value)

    @field_validator("action")
    @classmethod
    def _action(cls, value: str | None) -> str | None:
        if value is not None and value not in ACTIONS:
            raise ValueError("must be one of " + ", ".join(ACTIONS))
        return value

    @field_validator("since")
    @classmethod
    def _since(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rfc3339(value)
        return value

    @field_validator("limit")
    @classmethod
    def _limit(cls, value: str) -> str:
        return check_limit(value, MAX_AUDIT_PAGE)

    @field_validator("cursor")
    @classmethod
    def _cursor(cls, value: str | None) -> str | None:
        return check_cursor(value)


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: str | None


def list_audit(store: CredentialStore, caller: ApiKeyRecord, query: AuditListQuery) -> AuditPage:
    since = None if query.since is None else parse_rfc3339(query.since)
    binding = encode_parts(
        "vault.audit-cursor.v1",
        caller.developer_id,
        query.credential_id or "\0",
        query.principal_id or "\0",
        query.action or "\0",
        "\0" if since is None else str(since),
    )
    secret = cursor_secret(caller)
    after = (
        None
        if query.cursor is None
        else decode_position(secret, binding, query.cursor, _is_entry_id)
    )
    size = int(query.limit)
    found = store.audit_page(
        AuditQuery(
            developer_id=caller.developer_id,
            credential_id=query.credential_id,
            principal_id=query.principal_id,
            action=query.action,
            since=since,
            limit=size + 1,  # one more, to learn whether another page follows
            after=after,
        )
    )
    page = list(found[:size])
    next_cursor = None
    if len(found) > size:
        next_cursor = encode_position(secret, binding, (page[-1].at, page[-1].entry_id))
    return AuditPage(page, next_cursor)


def audit_route(vault: Vault, call: Call) -> Reply:
    from vault.routes import Reply

    query = validate(AuditListQuery, call.query())
    page = list_audit(vault.credentials, call.key_record, query)
    return Reply(
        200,
        {"entries": [audit_item(entry) for entry in page.entries], "nextCursor": page.next_cursor},
    )


def audit_item(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.entry_id,
        "action": entry.action,
        "actor": entry.actor,
        "credentialId": entry.credential_id,
        "principalId": entry.principal_id,
        "service": entry.service,
        "outcome": entry.outcome,
        "requestId": entry.request_id,
        "at": format_micros(entry.at),
    }
